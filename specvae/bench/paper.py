"""The paper's published numbers, printed beside ours.

Only Table 1 (MNIST-Split, full supervision) is numeric; every other setting of section 4.1-4.3 (MNIST-Split at
lower supervision, MNIST-Split-3, MNIST-SVHN, CUB) is shown in figures 6-9 only, which we do not read off.
"""

from __future__ import annotations

NOT_REPORTED = "not reported numerically"

# Table 1: oracle accuracy of the full image reconstructed from both halves / the top half / the bottom half.
TABLE_1 = {
    "mmvae": {"both": 0.539, "top": 0.221, "bottom": 0.283},
    "svae": {"both": 0.948, "top": 0.872, "bottom": 0.816},
    "vaevae": {"both": 0.956, "top": 0.887, "bottom": 0.830},
    "vaevae_star": {"both": 0.958, "top": 0.863, "bottom": 0.778},
}

FIGURES = {"mnist-split": "figure 6", "mnist-split-3": "figure 7", "mnist-svhn": "figure 8", "cub": "figure 9"}


def published(bench: str, model: str, supervision: float) -> tuple[dict[str, float] | None, str]:
    """``(values, note)``: the paper's numbers for this setting, or ``None`` and where the paper shows it."""
    if bench == "mnist-split" and supervision == 1.0 and model in TABLE_1:
        return TABLE_1[model], "paper Table 1"
    return None, f"{NOT_REPORTED} (paper {FIGURES.get(bench, 'figures')})"


def format_table(bench: str, model: str, supervision: float, ours: dict[str, float], keys: list[str]) -> str:
    """A small text table: one row for ours, one for the paper (or a note where it has no numbers)."""
    values, note = published(bench, model, supervision)
    width = max(10, *(len(k) for k in keys))
    head = f"{'':<22}" + "".join(f"{k:>{width + 2}}" for k in keys)
    row = f"{'specvae (test split)':<22}" + "".join(f"{ours.get(k, float('nan')):>{width + 2}.3f}" for k in keys)
    if values is None:
        paper = f"{'paper':<22}  {note}"
    else:
        paper = f"{'paper':<22}" + "".join(
            f"{values[k]:>{width + 2}.3f}" if k in values else f"{'-':>{width + 2}}" for k in keys) + f"  ({note})"
    return "\n".join([f"{bench}, {model}, supervision {supervision:g}", head, row, paper])


__all__ = ["FIGURES", "NOT_REPORTED", "TABLE_1", "format_table", "published"]
