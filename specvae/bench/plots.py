"""PNG figures of the benchmarks (matplotlib with the Agg backend, imported only here and only when drawing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from specvae.bench import metrics
from specvae.bench.oracle import to_float


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100, bbox_inches="tight")
    tmp.replace(path)


def first_per_digit(labels, per_digit: int = 1) -> np.ndarray:
    """Row indices of the first ``per_digit`` items of each digit 0-9 (as many as exist), digit order."""
    labels = np.asarray(labels)
    return np.concatenate([np.flatnonzero(labels == d)[:per_digit] for d in range(10)]).astype(np.int64)


@torch.no_grad()
def split_grid(model, images, labels, path: Path, device="cpu") -> None:
    """One column per digit: the original, then the full image reconstructed from all parts and from each part."""
    rows = first_per_digit(labels)
    x = to_float(images[rows]).to(device)
    n_parts = len(model.names)
    parts = dict(zip(model.names, metrics.split_rows(x, n_parts)))
    sets = metrics.observed_sets(model.names, n_parts)
    panels = [("original", x)] + [(f"from {k}", metrics.reconstruct_full(model, parts, v, x.shape[-2]))
                                  for k, v in sets.items()]
    _image_grid(panels, len(rows), path)


@torch.no_grad()
def pair_grid(originals: dict[str, torch.Tensor], recons: dict[str, torch.Tensor], path: Path) -> None:
    """Rows of images: each original modality, then each reconstruction (``name -> (n, C, H, W)`` in [0, 1])."""
    panels = [(f"{k}", v) for k, v in originals.items()] + [(k, v) for k, v in recons.items()]
    n = min(len(v) for _, v in panels)
    _image_grid(panels, n, path)


def _image_grid(panels: list[tuple[str, torch.Tensor]], n: int, path: Path) -> None:
    """One row per ``(title, images (>= n, C, H, W) in [0, 1])`` panel, ``n`` images each, grey or colour."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(panels), n, figsize=(n * 0.9, len(panels) * 0.95), squeeze=False)
    for r, (title, imgs) in enumerate(panels):
        for c in range(n):
            img = imgs[c].float().cpu().clamp(0, 1)
            ax = axes[r][c]
            if img.shape[0] == 1:
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(img.permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(title, fontsize=7)
    _save(fig, path)
    plt.close(fig)


def caption_sheet(lines: list[str], path: Path) -> None:
    """A PNG of text lines (CUB: captions and their reconstructions)."""
    plt = _pyplot()
    fig = plt.figure(figsize=(10, 0.22 * max(len(lines), 1) + 0.3))
    fig.text(0.01, 0.99, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=7)
    _save(fig, path)
    plt.close(fig)


__all__ = ["caption_sheet", "first_per_digit", "pair_grid", "split_grid"]
