"""Gaussian experts: the product of experts, KL divergences and sampling, written once for every model.

A diagonal Gaussian is held as ``(mu, logvar)``, each ``(B, L)``. The product of Gaussian experts is again Gaussian
with precision ``T = sum_i 1/sigma_i^2`` and mean ``sum_i mu_i / sigma_i^2 / T`` (paper eq. 3, 11; the reference
library weighted by 1/sigma instead, a bug we do not repeat). Whether the prior N(0, I) joins the product is an
explicit argument (the reference code always included it; the paper's equations 3-5 do not).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


def bound_logvar(logvar: Tensor, bound: float) -> Tensor:
    """``bound * tanh(logvar / bound)``: smooth, the identity near 0, never beyond ``(-bound, bound)``.

    ``bound <= 0`` leaves ``logvar`` as it is. A product of k bounded experts lies within ``(-bound - ln k, bound)``.
    Keeps a rare batch from sending a precision ``exp(-logvar)`` out of float range.
    """
    return bound * torch.tanh(logvar / bound) if bound > 0 else logvar


class Gaussian(NamedTuple):
    """Diagonal Gaussian ``N(mu, exp(logvar))``; ``mu`` and ``logvar`` are ``(B, L)``."""

    mu: Tensor
    logvar: Tensor

    def rsample(self, generator: torch.Generator | None = None) -> Tensor:
        """Reparameterised sample ``mu + sigma * eps`` (differentiable in ``mu`` and ``logvar``)."""
        eps = torch.randn(self.mu.shape, device=self.mu.device, dtype=self.mu.dtype, generator=generator)
        return self.mu + torch.exp(0.5 * self.logvar) * eps

    def rsample_n(self, k: int, generator: torch.Generator | None = None) -> Tensor:
        """``k`` reparameterised samples: ``(k, B, L)``."""
        shape = (k, *self.mu.shape)
        eps = torch.randn(shape, device=self.mu.device, dtype=self.mu.dtype, generator=generator)
        return self.mu + torch.exp(0.5 * self.logvar) * eps

    def log_prob(self, z: Tensor) -> Tensor:
        """Log density of ``z`` (``(..., B, L)``), summed over the latent dimensions: ``(..., B)``."""
        return -0.5 * (LOG_2PI + self.logvar + (z - self.mu) ** 2 * torch.exp(-self.logvar)).sum(-1)

    def detach(self) -> Gaussian:
        return Gaussian(self.mu.detach(), self.logvar.detach())


def standard_normal_like(g: Gaussian) -> Gaussian:
    """The prior N(0, I) with the shape, dtype and device of ``g``."""
    return Gaussian(torch.zeros_like(g.mu), torch.zeros_like(g.logvar))


def product_of_experts(experts: Sequence[Gaussian], prior_expert: bool = False) -> Gaussian:
    """Normalised product of Gaussian experts (precision-weighted), optionally with the prior N(0, I) as an expert.

    Computed in log-precision space: ``log T = logsumexp_i(-logvar_i)``, so that very confident or very vague
    experts neither overflow nor underflow.
    """
    if not experts:
        raise ValueError("product_of_experts needs at least one expert")
    mus = torch.stack([e.mu for e in experts])  # (E, B, L)
    logvars = torch.stack([e.logvar for e in experts])  # (E, B, L)
    if prior_expert:
        mus = torch.cat([mus, torch.zeros_like(mus[:1])])
        logvars = torch.cat([logvars, torch.zeros_like(logvars[:1])])
    log_precision = torch.logsumexp(-logvars, dim=0)  # (B, L)
    weights = torch.exp(-logvars - log_precision)  # precision_i / T, sums to 1 over experts
    return Gaussian((weights * mus).sum(0), -log_precision)


def kl_divergence(q: Gaussian, p: Gaussian) -> Tensor:
    """KL(q || p) between diagonal Gaussians, summed over the latent dimensions: ``(B,)``."""
    return 0.5 * (p.logvar - q.logvar + (torch.exp(q.logvar) + (q.mu - p.mu) ** 2) * torch.exp(-p.logvar) - 1).sum(-1)


def kl_standard_normal(q: Gaussian) -> Tensor:
    """KL(q || N(0, I)), summed over the latent dimensions: ``(B,)``."""
    return 0.5 * (torch.exp(q.logvar) + q.mu**2 - 1 - q.logvar).sum(-1)
