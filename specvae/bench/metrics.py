"""Benchmark metrics: oracle accuracy of reconstructions (MNIST-Split) and coherence (MNIST-SVHN), as in the paper.

- :func:`split_accuracies`: MNIST-Split(-3) (section 4.1). For each set of observed parts (all of them, then each
  part alone), every part is reconstructed from the posterior mean of q(z | observed parts), the parts are joined
  into a full image and the oracle classifies it; the accuracy against the true digit is "both" (or "all" for three
  parts), "top", "bottom" (and "middle"). Synergy = accuracy from all parts, cross-coherence = from one part.
- :func:`coherence`: share of equal labels (predicted vs true, or two predictions against each other).
- :func:`cross_coherence` / :func:`joint_coherence`: MNIST-SVHN (section 4.2, MMVAE's definitions): the target
  modality reconstructed from the source is classified by the target's oracle and compared with the true digit;
  ``n`` latent vectors from the prior are decoded into both modalities, and the share whose two oracle
  predictions agree is the joint coherence.

The CCA correlation of CUB lives in :mod:`specvae.bench.cca`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from specvae.bench import oracle as oracles
from specvae.datasets.images import join_rows, split_rows
from specvae.models import likelihoods


def part_names(n_parts: int) -> tuple[str, ...]:
    return {2: ("top", "bottom"), 3: ("top", "middle", "bottom")}[n_parts]


def all_key(n_parts: int) -> str:
    return "both" if n_parts == 2 else "all"


def coherence(a, b) -> float:
    """Share of positions where the labels ``a`` and ``b`` agree (1.0 for identical labels)."""
    a, b = torch.as_tensor(a), torch.as_tensor(b)
    if a.shape != b.shape:
        raise ValueError(f"label arrays differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    return float((a == b).float().mean()) if a.numel() else float("nan")


def observed_sets(names: Sequence[str], n_parts: int) -> dict[str, tuple[str, ...]]:
    """``{"both": (all names), "top": ("top",), ...}``: the inputs each accuracy is measured from."""
    return {all_key(n_parts): tuple(names), **{n: (n,) for n in names}}


@torch.no_grad()
def reconstruct_full(model, parts: dict[str, Tensor], observed: Sequence[str], height: int = 28) -> Tensor:
    """Full images ``(B, 1, height, W)`` reconstructed from the ``observed`` parts (posterior mean decoding)."""
    names = model.names
    out = model.predict({n: parts[n] for n in observed}, names)
    return join_rows([out[n].float() for n in names], height)


@torch.no_grad()
def split_accuracies(model, oracle, images, labels, device: torch.device | str = "cpu", batch_size: int = 500,
                     which: Sequence[str] | None = None, prefix: str = "acc") -> dict[str, float]:
    """Oracle accuracy of full images reconstructed from all parts and from each part alone.

    ``images``: ``(N, 1, 28, 28)`` ``uint8`` (or float in [0, 1]); the model's modality names give the parts
    (``top``/``bottom`` or ``top``/``middle``/``bottom``). ``which`` limits the observed sets (e.g. ``["top"]``
    during training). Returns ``{f"{prefix}_{key}": accuracy}``.
    """
    model.eval()
    n_parts = len(model.names)
    sets = observed_sets(model.names, n_parts)
    if which is not None:
        sets = {k: v for k, v in sets.items() if k in which}
    labels = torch.as_tensor(labels)
    correct = dict.fromkeys(sets, 0)
    height = images.shape[-2]
    for start in range(0, len(labels), batch_size):
        x = oracles.to_float(images[start:start + batch_size]).to(device)
        parts = dict(zip(model.names, split_rows(x, n_parts)))
        y = labels[start:start + batch_size]
        for key, observed in sets.items():
            full = reconstruct_full(model, parts, observed, height)
            correct[key] += int((oracles.predict(oracle, full) == y).sum())
    return {f"{prefix}_{k}": v / max(len(labels), 1) for k, v in correct.items()}


@torch.no_grad()
def decode_mean(model, name: str, z: Tensor) -> Tensor:
    """The mean of modality ``name``'s likelihood given latent vectors ``z`` ``(..., L)``."""
    cfg = model.config.modality(name)
    return likelihoods.mean(cfg.likelihood, model.decoders[name](z), cfg.likelihood_options)


@torch.no_grad()
def cross_coherence(model, target_oracle, source: str, target: str, source_x, labels, device="cpu",
                    batch_size: int = 500) -> float:
    """Share of ``target`` reconstructions from ``source`` alone that the target's oracle labels correctly."""
    model.eval()
    preds = []
    for start in range(0, len(labels), batch_size):
        x = oracles.to_float(source_x[start:start + batch_size]).to(device)
        recon = model.predict({source: x}, [target])[target]
        preds.append(oracles.predict(target_oracle, recon))
    return coherence(torch.cat(preds), torch.as_tensor(labels))


@torch.no_grad()
def joint_coherence(model, oracle_by_name: dict, n: int = 1000, seed: int = 0, device="cpu") -> float:
    """Share of ``n`` prior samples whose decoded modalities get the same digit from their oracles."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, model.config.latent_dim, generator=gen).to(device)
    (a, oa), (b, ob) = list(oracle_by_name.items())[:2]
    return coherence(oracles.predict(oa, decode_mean(model, a, z)), oracles.predict(ob, decode_mean(model, b, z)))


__all__ = ["all_key", "coherence", "cross_coherence", "decode_mean", "joint_coherence", "observed_sets",
           "part_names", "reconstruct_full", "split_accuracies"]
