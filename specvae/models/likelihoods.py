"""Decoder likelihoods, chosen by name: log-probabilities per sample and the mean used for prediction.

A decoder outputs the distribution's natural parameter with the modality's shape:

==============  =========================================  =========================================
name            decoder output                             used for
==============  =========================================  =========================================
``gaussian``    mean (clamped to ``[low, high]``), unit    binned log-intensity spectra (clamp to
                variance                                   ``[0, ln 101]``, the range of the data)
``bernoulli``   logits                                     fingerprint bits, image pixels
``laplace``     location; fixed ``scale``                  CUB image features (scale 0.01)
``categorical`` logits ``(..., vocabulary)``               caption words
``multinomial`` logits over the bins; the observation's    binned spectra as a bag of fragments: the
                non-negative values are pseudo-counts      log-intensity of each bin counts as its
                                                           weight (not in the paper; an option)
==============  =========================================  =========================================

Every log-probability is summed over all non-batch dimensions and multiplied by the modality's ``weight``
(default 1), giving a ``(B,)`` tensor (or ``(K, B)`` for ``K`` latent samples).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from specvae.models.config import LIKELIHOODS


def _sum_event(t: Tensor, event_dims: int) -> Tensor:
    return t.flatten(start_dim=t.dim() - event_dims).sum(-1) if event_dims else t


def log_likelihood(kind: str, params: Tensor, x: Tensor, options: Mapping[str, Any] | None = None) -> Tensor:
    """``log p(x | params)`` summed over the event dimensions of ``x`` (all but the first), times ``weight``.

    ``params`` may carry extra leading sample dimensions (``(K, B, ...)``); ``x`` is broadcast against them.
    """
    options = dict(options or {})
    weight = float(options.get("weight", 1.0))
    params = params.float()  # sums over thousands of dimensions need float32 under bfloat16 autocast
    if kind == "categorical":
        tokens = x.long().expand(params.shape[:-1])
        ignore = tokens == int(options.get("ignore_index", -100))
        logp = torch.log_softmax(params, dim=-1).gather(-1, tokens.clamp_min(0).unsqueeze(-1)).squeeze(-1)
        return weight * _sum_event(logp.masked_fill(ignore, 0.0), x.dim() - 1)
    event_dims = x.dim() - 1
    x = x.to(params.dtype).expand_as(params)
    if kind == "gaussian":
        mean = params.clamp(float(options.get("low", -math.inf)), float(options.get("high", math.inf)))
        logp = -0.5 * ((x - mean) ** 2 + math.log(2 * math.pi))
    elif kind == "bernoulli":
        logp = -F.binary_cross_entropy_with_logits(params, x, reduction="none")
    elif kind == "laplace":
        scale = float(options.get("scale", 0.01))
        logp = -(x - params).abs() / scale - math.log(2 * scale)
    elif kind == "multinomial":  # sum_i x_i log softmax(params)_i; the constant multinomial coefficient is left out
        logp = x * torch.log_softmax(params.flatten(start_dim=params.dim() - event_dims), -1).view_as(params)
    else:
        raise ValueError(f"unknown likelihood {kind!r}; choose one of {', '.join(LIKELIHOODS)}")
    return weight * _sum_event(logp, event_dims)


def mean(kind: str, params: Tensor, options: Mapping[str, Any] | None = None) -> Tensor:
    """The distribution's mean (probabilities for ``bernoulli`` and ``categorical``)."""
    options = dict(options or {})
    if kind == "gaussian":
        return params.clamp(float(options.get("low", -math.inf)), float(options.get("high", math.inf)))
    if kind == "bernoulli":
        return torch.sigmoid(params)
    if kind == "laplace":
        return params
    if kind == "categorical":
        return torch.softmax(params, dim=-1)
    if kind == "multinomial":  # the share of the total weight expected in each bin
        flat = params.flatten(start_dim=params.dim() - 1)
        return torch.softmax(flat, -1).view_as(params)
    raise ValueError(f"unknown likelihood {kind!r}; choose one of {', '.join(LIKELIHOODS)}")
