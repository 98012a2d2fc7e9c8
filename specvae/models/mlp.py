"""The supervised reference: a plain network from the first modality to the second, no latent variable.

Not a model of the paper: the bar the generative models have to clear on the task they are used for here, predicting
a fingerprint from a spectrum. The network is the first modality's encoder body (``encoder_widths``, ``dropout``,
``sparse_input``, ``batchnorm`` of that modality) followed by one linear layer to the second modality's likelihood
parameters; the loss is the negative log-likelihood of the second modality (binary cross-entropy summed over the
bits for fingerprints), averaged over the batch:

    L = -1/B sum_b log p_2(x_2b | f(x_1b))

Only paired groups carry information for it; unpaired groups in a step are ignored. It has the interface of
:class:`~specvae.models.base.MultimodalVAE` (``forward(groups) -> (loss, metrics)``, ``predict``), so the training
loop, checkpoints, ranking and evaluation treat it like every other model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from specvae.errors import InputError
from specvae.models import likelihoods
from specvae.models.config import ModelConfig
from specvae.models.nets import mlp


class SupervisedMLP(nn.Module):
    def __init__(self, config: ModelConfig, loss_kind: str = "supervised"):
        super().__init__()
        if len(config.modalities) != 2:
            raise InputError("the supervised MLP maps one modality to one other: give exactly two modalities")
        self.config = config
        self.loss_kind = loss_kind
        self.source, self.target = config.modalities
        self.names = [self.source.name, self.target.name]
        widths = (self.source.size, *self.source.encoder_widths)
        self.body = nn.Sequential(nn.Flatten(), mlp(widths, self.source.batchnorm, self.source.activation,
                                                    dropout=self.source.dropout,
                                                    sparse_input=self.source.sparse_input))
        self.head = nn.Linear(widths[-1], self.target.size)

    def log_likelihood(self, x_source: Tensor, x_target: Tensor) -> Tensor:
        """``log p(x_target | f(x_source))``: ``(B,)``."""
        params = self.head(self.body(x_source)).reshape(-1, *self.target.shape)
        return likelihoods.log_likelihood(self.target.likelihood, params, x_target, self.target.likelihood_options)

    def forward(self, groups: Sequence[dict[str, Tensor]], generator: torch.Generator | None = None,
                kl_scale: float = 1.0):
        """Negative log-likelihood of the paired groups: ``(loss, metrics)`` (no sampling, no KL term)."""
        paired = [g for g in groups if self.source.name in g and self.target.name in g and len(g[self.source.name])]
        if not paired:
            raise ValueError("the supervised MLP needs a paired group in every step")
        nll = torch.cat([-self.log_likelihood(g[self.source.name], g[self.target.name]) for g in paired])
        loss = nll.mean()
        return loss, {"paired/rec": loss.detach(), "loss": loss.detach()}

    @torch.no_grad()
    def predict(self, inputs: dict[str, Tensor], targets: Sequence[str] | None = None, n_samples: int = 0,
                generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """The mean of the target's likelihood given the source (deterministic: ``n_samples`` has no effect)."""
        if self.source.name not in inputs:
            raise InputError(f"the supervised MLP predicts from {self.source.name!r} only")
        params = self.head(self.body(inputs[self.source.name])).reshape(-1, *self.target.shape)
        mean = likelihoods.mean(self.target.likelihood, params, self.target.likelihood_options)
        return {name: mean for name in (targets or [self.target.name]) if name == self.target.name}


__all__ = ["SupervisedMLP"]
