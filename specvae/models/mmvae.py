"""MMVAE: the mixture-of-experts multimodal VAE of Shi et al. (2019), the paper's baseline (section 2).

The joint posterior is the uniform mixture ``q(z|x_1..x_M) = 1/M sum_m q_m(z|x_m)``. Training maximises the
stratified importance-weighted bound with K samples from each expert,

    L = 1/M sum_m E[ log 1/K sum_k w_mk ],   log w_mk = log p(z_mk) + sum_n log p_n(x_n|z_mk) - log q(z_mk|x),
    z_mk ~ q_m(z|x_m),

with the doubly reparameterised gradient (DReG, Tucker et al. 2018): the encoder's parameters are detached inside
``log q`` and the gradient reaching each ``z_mk`` is scaled by its normalised weight, so that the encoder receives
``sum_k w~_mk^2 d log w_mk / d z_mk dz_mk / dphi`` and the decoder ``sum_k w~_mk d log w_mk``. An unpaired sample
(its missing modality given weight 0, section 2) uses its own expert alone. Experts and prior are Gaussian here.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from specvae.models.base import MultimodalVAE
from specvae.models.config import ModelConfig
from specvae.models.experts import Gaussian, standard_normal_like
from specvae.models.nets import build_encoder


class MMVAE(MultimodalVAE):
    def __init__(self, config: ModelConfig, loss_kind: str = "vaevae"):
        super().__init__(config, loss_kind)
        self.encoders = nn.ModuleDict({m.name: build_encoder(m, config.latent_dim) for m in config.modalities})

    def encode_subsets(self, inputs, subsets):
        experts = {n: self.encoders[n](inputs[n]) for n in self.names if n in inputs}
        return {s: [experts[n] for n in self.names if n in s] for s in subsets}

    def _dreg_iwae(self, inputs: dict[str, Tensor], names: list[str], generator) -> tuple[Tensor, Tensor]:
        """Surrogate loss with DReG gradients and the IWAE bound, for the modalities ``names`` (all observed)."""
        k = self.config.iwae_samples
        experts = {n: self.encoders[n](inputs[n]) for n in names}
        frozen = [Gaussian(e.mu.detach(), e.logvar.detach()) for e in experts.values()]
        log_ws = []
        for n in names:
            z = experts[n].rsample_n(k, generator)  # (K, B, L)
            log_prior = standard_normal_like(experts[n]).log_prob(z)  # (K, B)
            log_q = torch.logsumexp(torch.stack([q.log_prob(z) for q in frozen]), 0) - math.log(len(frozen))
            log_lik = sum(self.log_likelihood(m, z, inputs[m]) for m in names)
            log_w = log_prior + log_lik - log_q  # (K, B)
            if z.requires_grad:
                weight = torch.softmax(log_w.detach(), dim=0)
                z.register_hook(lambda grad, w=weight: grad * w.unsqueeze(-1))
            log_ws.append(log_w)
        log_w = torch.stack(log_ws)  # (M, K, B)
        weight = torch.softmax(log_w.detach(), dim=1)
        surrogate = -(weight * log_w).sum(1).mean(0)  # (B,)
        bound = (torch.logsumexp(log_w.detach(), dim=1) - math.log(k)).mean(0)  # (B,)
        return surrogate.mean(), bound.mean()

    def paired_loss(self, inputs, generator=None, beta=None):  # the IWAE bound has no separate KL term to weight
        loss, bound = self._dreg_iwae(inputs, self.names, generator)
        return loss, {"iwae": bound}

    def unpaired_loss(self, inputs, name, generator=None, beta=None):
        loss, bound = self._dreg_iwae(inputs, [name], generator)
        return loss, {"iwae": bound}
