"""``training_curve.png``: a run's per-epoch metrics (``metrics.jsonl``) as one picture.

Three panels over the epochs: the training and validation loss; the validation fingerprint cross-entropy (nats per
spectrum) with the bit-frequency baseline as a horizontal line; and, when the validation retrieval ran, Top-1 and
Top-10 (share of validation spectra whose structure ranks first / in the first ten among decoys of similar mass) with
the baseline's. The best epoch is marked. matplotlib is imported here only; without it the picture is skipped with a
log line.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger("specvae.train")

CURVE_FILE = "training_curve.png"


def plot_training_curve(run: str | Path, path: str | Path | None = None) -> Path | None:
    """Draw ``run``'s ``metrics.jsonl`` into ``path`` (default ``RUN/training_curve.png``); returns the path, or
    ``None`` when matplotlib is missing or the run has no epochs yet."""
    from specvae import outputs
    from specvae.training import checkpoint as ckpt

    run = Path(run)
    records = ckpt.read_metrics(run)
    if not records:
        return None
    try:
        import matplotlib
    except ImportError:
        log.info("matplotlib is not installed: no %s (pip install matplotlib)", CURVE_FILE)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = ckpt.read_json(run / ckpt.CONFIG_FILE) if (run / ckpt.CONFIG_FILE).exists() else {}
    baseline = config.get("bit_frequency_baseline") or {}
    epochs = [r["epoch"] for r in records]
    best = records[-1].get("best_epoch")

    def series(key):
        return [r.get(key) for r in records]

    retrieval = any(r.get("val_top1") is not None for r in records)
    fig, axes = plt.subplots(1, 3 if retrieval else 2, figsize=(13 if retrieval else 9, 3.6), dpi=110)
    ax = axes[0]
    ax.plot(epochs, series("train/loss"), "o-", ms=3, label="training loss")
    if any(v is not None for v in series("val_loss")):
        ax.plot(epochs, series("val_loss"), "s-", ms=3, label="validation loss")
    ax.set_title("Loss", fontsize=10)
    ax = axes[1]
    ax.plot(epochs, series("val_fp_ce"), "o-", ms=3, color="C2", label="model")
    if baseline.get("val_fp_ce") is not None:
        ax.axhline(baseline["val_fp_ce"], color="0.4", ls="--", lw=1, label="bit-frequency baseline")
    ax.set_title("Validation fingerprint cross-entropy\n(nats per spectrum, lower is better)", fontsize=10)
    if retrieval:
        ax = axes[2]
        for key, colour in (("val_top1", "C3"), ("val_top10", "C4")):
            ax.plot(epochs, [None if v is None else 100 * v for v in series(key)], "o-", ms=3, color=colour,
                    label=f"Top-{key.removeprefix('val_top')}")
            if baseline.get(key) is not None:
                ax.axhline(100 * baseline[key], color=colour, ls="--", lw=1,
                           label=f"Top-{key.removeprefix('val_top')}, bit-frequency baseline")
        ax.set_title("Validation retrieval among decoys of similar mass\n(% of spectra, higher is better)",
                     fontsize=10)
        ax.set_ylim(0, 100)
    for ax in axes:
        ax.set_xlabel("epoch")
        if best:
            ax.axvline(best, color="0.7", lw=0.8, ls=":")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{run.name}: {config.get('model', {}).get('model', '')} (best epoch {best}, dotted)", fontsize=10)
    fig.tight_layout()
    path = Path(path) if path is not None else run / CURVE_FILE
    outputs.write_atomically(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
    return path
