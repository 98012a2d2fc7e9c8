"""What every multimodal VAE shares: decoders, likelihoods, the semi-supervised loss and prediction.

A training step hands the model a list of *groups*: dictionaries ``{modality name: (B, *shape) tensor}``. A group
holding every modality is paired data; a group holding one modality is unpaired data. The model computes its own
loss over all groups in one call (so that DistributedDataParallel sees a single forward per step) and returns
``(loss, metrics)``, where ``metrics`` holds detached scalars for logging.

Subclasses say how posteriors are formed (:meth:`MultimodalVAE.encode_subsets`): SVAE multiplies experts, VAEVAE
has a joint network, MMVAE mixes unimodal experts. The loss follows the paper:

- two modalities, paired (Algorithm 1; eq. 19): reconstruct both modalities from ``z ~ q(z|x1,x2)``, plus
  ``KL(q(z|x1,x2) || q(z|x1)) + KL(q(z|x1) || p(z))`` and the same for ``x2``; the *SVAE loss* adds the unimodal
  reconstructions ``log p1(x1|z1) + log p2(x2|z2)`` with ``zi ~ q(z|xi)`` (the terms in bold in Algorithm 1),
  the *VAEVAE loss* (Wu & Goodman) does not;
- n >= 3 modalities, paired (section 3.5, eq. 29-30): for every subset S of two or more modalities, reconstruct the
  modalities of S from q(z|x_S); the full set adds KL to every posterior of n-1 modalities, smaller subsets add KL
  to every unimodal posterior and to the prior; where SVAE forms several posteriors for one subset (eq. 35-36) each
  term is summed over them;
- unpaired (eq. 20-21, 31): the unimodal ELBO ``log p_i(x_i|z) - KL(q(z|x_i) || p(z))``.

All terms are summed over data and latent dimensions and averaged over the batch; the loss is the negative ELBO.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from specvae.models import likelihoods
from specvae.models.config import ModelConfig
from specvae.models.experts import Gaussian, kl_divergence, kl_standard_normal
from specvae.models.nets import build_decoder

Subset = frozenset


class MultimodalVAE(nn.Module):
    """Base class. ``loss_kind`` is ``"svae"`` or ``"vaevae"`` (see the module docstring)."""

    def __init__(self, config: ModelConfig, loss_kind: str = "svae"):
        super().__init__()
        if loss_kind not in ("svae", "vaevae"):
            raise ValueError(f"loss_kind must be 'svae' or 'vaevae', got {loss_kind!r}")
        self.config = config
        self.loss_kind = loss_kind
        self.names: list[str] = [m.name for m in config.modalities]
        self.decoders = nn.ModuleDict({m.name: build_decoder(m, config.latent_dim) for m in config.modalities})

    # --- to be provided by each architecture ---------------------------------------------------------------------
    def encode_subsets(self, inputs: dict[str, Tensor], subsets: Iterable[Subset]) -> dict[Subset, list[Gaussian]]:
        """For each subset S of the modalities in ``inputs``, the posterior(s) q(z | x_S)."""
        raise NotImplementedError

    # --- shared parts --------------------------------------------------------------------------------------------
    def log_likelihood(self, name: str, z: Tensor, x: Tensor) -> Tensor:
        """``log p_name(x | z)`` for ``z`` of shape ``(..., B, L)``: returns ``(..., B)``."""
        cfg = self.config.modality(name)
        return likelihoods.log_likelihood(cfg.likelihood, self.decoders[name](z), x, cfg.likelihood_options)

    def forward(self, groups: Sequence[dict[str, Tensor]], generator: torch.Generator | None = None,
                kl_scale: float = 1.0):
        """Negative ELBO over paired and unpaired groups: ``(loss, metrics)``.

        ``kl_scale`` multiplies every KL term on top of the configured ``kl_weight`` (a KL warm-up passes values
        rising from 0 to 1; MMVAE's importance-weighted bound has no separate KL term and ignores it).
        """
        beta = self.config.kl_weight * kl_scale
        total = None
        metrics: dict[str, Tensor] = {}
        for group in groups:
            if not group or next(iter(group.values())).shape[0] == 0:
                continue
            present = [n for n in self.names if n in group]
            if len(present) == len(self.names):
                loss, parts = self.paired_loss(group, generator, beta)
                prefix = "paired"
            elif len(present) == 1:
                loss, parts = self.unpaired_loss(group, present[0], generator, beta)
                prefix = f"{present[0]}_only"
            else:
                raise ValueError(f"a group must hold one modality or all of them, got {sorted(group)}")
            total = loss if total is None else total + loss
            metrics.update({f"{prefix}/{k}": v.detach() for k, v in parts.items()})
        if total is None:
            raise ValueError("no data in any group")
        metrics["loss"] = total.detach()
        return total, metrics

    def unpaired_loss(self, inputs: dict[str, Tensor], name: str, generator=None,
                      beta: float | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """Unimodal ELBO (eq. 20, 21, 31); ``beta`` weights the KL term (default: the config's ``kl_weight``)."""
        beta = self.config.kl_weight if beta is None else beta
        (q,) = self.encode_subsets(inputs, [Subset([name])])[Subset([name])]
        rec = -self.log_likelihood(name, q.rsample(generator), inputs[name])
        kl = kl_standard_normal(q)
        return (rec + beta * kl).mean(), {"rec": rec.mean(), "kl": kl.mean()}

    def paired_loss(self, inputs: dict[str, Tensor], generator=None,
                    beta: float | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """The paired loss of the module docstring; ``beta`` weights the KL terms (default: ``kl_weight``)."""
        beta = self.config.kl_weight if beta is None else beta
        if len(self.names) == 2:
            return self._paired_loss_bimodal(inputs, generator, beta)
        return self._paired_loss_nmodal(inputs, generator, beta)

    def _paired_loss_bimodal(self, inputs, generator, beta):
        a, b = self.names
        sa, sb, sab = Subset([a]), Subset([b]), Subset([a, b])
        post = self.encode_subsets(inputs, [sab, sa, sb])
        q_ab, q_a, q_b = post[sab][0], post[sa][0], post[sb][0]
        z = q_ab.rsample(generator)
        rec_joint = -(self.log_likelihood(a, z, inputs[a]) + self.log_likelihood(b, z, inputs[b]))
        kl = kl_divergence(q_ab, q_a) + kl_divergence(q_ab, q_b) + kl_standard_normal(q_a) + kl_standard_normal(q_b)
        loss = rec_joint + beta * kl
        parts = {"rec_joint": rec_joint.mean(), "kl": kl.mean()}
        cross = self.config.cross_reconstruction
        if self.loss_kind == "svae" or cross:
            z_a, z_b = q_a.rsample(generator), q_b.rsample(generator)
        if self.loss_kind == "svae":
            rec_uni = -(self.log_likelihood(a, z_a, inputs[a]) + self.log_likelihood(b, z_b, inputs[b]))
            loss = loss + rec_uni
            parts["rec_unimodal"] = rec_uni.mean()
        if cross:  # not in the paper: each modality decoded from the other's unimodal posterior
            if self.config.cross_from_mean:  # the code predict() decodes: a supervised path through the means
                z_a, z_b = q_a.mu, q_b.mu
            rec_cross = -(self.log_likelihood(b, z_a, inputs[b]) + self.log_likelihood(a, z_b, inputs[a]))
            loss = loss + cross * rec_cross
            parts["rec_cross"] = rec_cross.mean()
        return loss.mean(), parts

    def _paired_loss_nmodal(self, inputs, generator, beta):
        n = len(self.names)
        subsets = [Subset(c) for r in range(1, n + 1) for c in itertools.combinations(self.names, r)]
        post = self.encode_subsets(inputs, subsets)
        full = Subset(self.names)
        rec_total, kl_total = 0.0, 0.0
        for s in subsets:
            if len(s) < 2:
                continue
            if s == full:  # eq. 29: KL to every posterior of n - 1 modalities
                targets = [p for t in subsets if len(t) == n - 1 for p in post[t]]
            else:  # eq. 30: KL to every unimodal posterior and to the prior
                targets = [p for t in subsets if len(t) == 1 for p in post[t]]
            for q in post[s]:  # SVAE: f(q(z|xi,xj)) = f(q^i) + f(q^j)
                z = q.rsample(generator)
                rec_total = rec_total - sum(self.log_likelihood(m, z, inputs[m]) for m in s)
                kl_total = kl_total + sum(kl_divergence(q, p) for p in targets)
                if s != full:
                    kl_total = kl_total + kl_standard_normal(q)
        loss = rec_total + beta * kl_total
        return loss.mean(), {"rec": rec_total.mean(), "kl": kl_total.mean()}

    # --- inference -----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, inputs: dict[str, Tensor], targets: Sequence[str] | None = None, n_samples: int = 0,
                generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Mean of each target modality's likelihood given the observed ``inputs``.

        ``n_samples = 0`` decodes the posterior mean; ``n_samples > 0`` averages the decoded means of that many
        posterior samples. Where the architecture forms several posteriors for the observed subset (MMVAE's mixture,
        SVAE's eq. 35-36), their predictions are averaged with equal weight.
        """
        subset = Subset(n for n in self.names if n in inputs)
        posteriors = self.encode_subsets(inputs, [subset])[subset]
        out: dict[str, Tensor] = {}
        for name in targets or self.names:
            cfg = self.config.modality(name)
            acc = 0.0
            for q in posteriors:
                z = q.mu if n_samples == 0 else q.rsample_n(n_samples, generator)
                acc = acc + likelihoods.mean(cfg.likelihood, self.decoders[name](z), cfg.likelihood_options)
            mean = acc / len(posteriors)
            out[name] = mean if n_samples == 0 else mean.mean(0)
        return out
