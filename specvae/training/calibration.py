"""Calibrated bit probabilities: a temperature, or per-bit Platt scaling, fitted on held-out spectra.

A model's predicted bit probabilities ``p`` are mapped to ``sigmoid(a_k * logit(p_k) + b_k)``:

- ``temperature``: one ``a = 1/T`` for every bit, ``b = 0``. It changes the cross-entropy of the predictions, never the
  order of candidates: two candidates' scores differ by ``sum_k (c_k - c'_k) logit(p_k)``, which a common factor only
  rescales.
- ``platt``: ``a_k, b_k`` per bit (Platt scaling), fitted by regularised logistic regression on each bit (an L2
  penalty ``strength/2 * ((a_k - 1)^2 + b_k^2)`` keeps rare bits near the model's own probabilities). It re-weights
  bits by how reliable they are on held-out spectra, so it can change the ranking, for better or worse.

:func:`calibrate_run` fits both on the validation split of the dataset a run was trained on and writes
``calibration.safetensors`` and ``calibration.json`` into the run: the fitted parameters, and the cross-entropy,
expected calibration error and validation retrieval before and after, measured out of fold (two halves of the
validation *structures*: fitted on one half, measured on the other, and the other way round), so that the numbers are
not flattered by fitting and measuring on the same spectra. ``rank`` and ``evaluate`` apply the calibration the run
recommends unless told otherwise.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from specvae.chem.bits import VALIDATION_EPS, bit_cross_entropy

log = logging.getLogger("specvae.calibration")

KINDS = ("none", "temperature", "platt")
CALIBRATION_FILE = "calibration.safetensors"
CALIBRATION_REPORT = "calibration.json"
CLIP = VALIDATION_EPS  # probabilities are clipped to [CLIP, 1 - CLIP] before logits


@dataclass(frozen=True)
class Calibration:
    """``p -> sigmoid(scale * logit(p) + shift)`` with per-bit ``scale`` and ``shift`` (``(n_bits,)`` each)."""

    kind: str
    scale: np.ndarray
    shift: np.ndarray

    def apply(self, p: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for predicted probabilities ``p`` (``(n, n_bits)``)."""
        if self.kind == "none":
            return p
        logit = np.log(np.clip(p, CLIP, 1 - CLIP)) - np.log1p(-np.clip(p, CLIP, 1 - CLIP))
        return (1 / (1 + np.exp(-(self.scale * logit + self.shift)))).astype(np.float32)

    @classmethod
    def identity(cls, n_bits: int) -> Calibration:
        return cls("none", np.ones(n_bits, np.float32), np.zeros(n_bits, np.float32))


def _logit(p: torch.Tensor) -> torch.Tensor:
    return torch.logit(p.double().clamp(CLIP, 1 - CLIP))


def fit_temperature(p: np.ndarray, bits: np.ndarray, iterations: int = 60, chunk: int = 256) -> float:
    """The temperature ``T`` minimising the cross-entropy of ``sigmoid(logit(p) / T)`` (Newton's method on ``1/T``;
    the sums run over ``chunk`` bits at a time to bound the memory used)."""
    a = 1.0
    for _ in range(iterations):
        grad = hess = 0.0
        for start in range(0, p.shape[1], chunk):
            x = _logit(torch.as_tensor(p[:, start:start + chunk]))
            y = torch.as_tensor(bits[:, start:start + chunk]).double()
            s = torch.sigmoid(a * x)
            grad += float(((s - y) * x).sum())
            hess += float((s * (1 - s) * x * x).sum())
        step = grad / max(hess, 1e-12)
        a = min(max(a - step, 1e-3), 1e3)
        if abs(step) < 1e-9:
            break
    return float(1 / a)


def fit_platt(p: np.ndarray, bits: np.ndarray, strength: float = 100.0, iterations: int = 30,
              chunk: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Per-bit ``(scale, shift)``: Newton's method on ``chunk`` bits at a time (2 x 2 systems, L2 towards (1, 0)),
    with the step halved for the bits whose objective it would not lower (plain Newton diverges on very confident
    logits). Bits are independent, so the chunks only bound the memory used."""
    scale, shift = np.ones(p.shape[1], np.float32), np.zeros(p.shape[1], np.float32)
    for start in range(0, p.shape[1], chunk):
        cols = slice(start, start + chunk)
        a, b = _platt_chunk(_logit(torch.as_tensor(p[:, cols])), torch.as_tensor(bits[:, cols]).double(), strength,
                            iterations)
        scale[cols], shift[cols] = a.numpy(), b.numpy()
    return scale, shift


def _platt_chunk(x: torch.Tensor, y: torch.Tensor, strength: float, iterations: int):
    a = torch.ones(x.shape[1], dtype=torch.float64)
    b = torch.zeros(x.shape[1], dtype=torch.float64)

    def objective(a, b):
        nll = torch.nn.functional.binary_cross_entropy_with_logits(a * x + b, y, reduction="none").sum(0)
        return nll + 0.5 * strength * ((a - 1) ** 2 + b**2)

    current = objective(a, b)
    for _ in range(iterations):
        s = torch.sigmoid(a * x + b)
        r, w = s - y, s * (1 - s)
        ga = (r * x).sum(0) + strength * (a - 1)
        gb = r.sum(0) + strength * b
        haa = (w * x * x).sum(0) + strength
        hab = (w * x).sum(0)
        hbb = w.sum(0) + strength
        det = (haa * hbb - hab * hab).clamp_min(1e-12)
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        t = torch.ones_like(a)
        trial = objective(a - da, b - db)
        for _ in range(12):  # backtracking, per bit
            worse = trial > current
            if not worse.any():
                break
            t = torch.where(worse, t / 2, t)
            trial = objective(a - t * da, b - t * db)
        accept = trial <= current
        a = torch.where(accept, a - t * da, a)
        b = torch.where(accept, b - t * db, b)
        gain = (current - torch.where(accept, trial, current)).max()
        current = torch.where(accept, trial, current)
        if float(gain) < 1e-6:
            break
    return a.float(), b.float()


def fit(kind: str, p: np.ndarray, bits: np.ndarray, strength: float = 100.0) -> Calibration:
    """A :class:`Calibration` of ``kind`` fitted on predictions ``p`` and true ``bits`` (``(n, n_bits)`` each)."""
    n_bits = p.shape[1]
    if kind == "none":
        return Calibration.identity(n_bits)
    if kind == "temperature":
        t = fit_temperature(p, bits)
        return Calibration(kind, np.full(n_bits, 1 / t, np.float32), np.zeros(n_bits, np.float32))
    if kind == "platt":
        return Calibration(kind, *fit_platt(p, bits, strength))
    raise ValueError(f"unknown calibration {kind!r}; choose one of {', '.join(KINDS)}")


def cross_entropy(p: np.ndarray, bits: np.ndarray) -> float:
    """Mean over spectra of the cross-entropy summed over bits (nats per spectrum), as the training metric."""
    return float(bit_cross_entropy(p.astype(np.float64), bits, VALIDATION_EPS).mean())


def reliability(p: np.ndarray, bits: np.ndarray, n_bins: int = 10) -> tuple[float, list[dict]]:
    """Expected calibration error over all (spectrum, bit) pairs and the reliability table behind it.

    Predictions fall into ``n_bins`` equal-width probability bins; ECE is the count-weighted mean of
    ``|mean predicted - observed frequency|`` over the bins.
    """
    p, bits = p.ravel(), bits.ravel()
    which = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    pred = np.bincount(which, weights=p, minlength=n_bins)
    true = np.bincount(which, weights=bits, minlength=n_bins)
    rows, ece = [], 0.0
    for i in range(n_bins):
        if count[i]:
            mp, fq = pred[i] / count[i], true[i] / count[i]
            ece += count[i] / len(p) * abs(mp - fq)
            rows.append({"bin": [i / n_bins, (i + 1) / n_bins], "count": int(count[i]), "predicted": float(mp),
                         "observed": float(fq)})
    return float(ece), rows


def save(run: str | Path, calibrations: dict[str, Calibration], report: dict) -> None:
    """Write ``calibration.safetensors`` (every fitted kind) and ``calibration.json`` (the report) into ``run``."""
    from specvae.training import checkpoint as ckpt

    tensors = {}
    for kind, c in calibrations.items():
        tensors[f"{kind}.scale"] = torch.as_tensor(c.scale, dtype=torch.float32)
        tensors[f"{kind}.shift"] = torch.as_tensor(c.shift, dtype=torch.float32)
    ckpt.save_tensors(Path(run) / CALIBRATION_FILE, tensors)
    ckpt.write_json(Path(run) / CALIBRATION_REPORT, report)


def load(run: str | Path, kind: str = "auto", n_bits: int | None = None) -> Calibration:
    """The calibration ``kind`` of ``run`` (``auto``: the one its report recommends; identity when it has none)."""
    from specvae.errors import CheckpointError, InputError
    from specvae.training import checkpoint as ckpt

    run = Path(run)
    if kind not in ("auto", *KINDS):
        raise InputError(f"unknown calibration {kind!r}; choose auto, {', '.join(KINDS)}")
    if not (run / CALIBRATION_REPORT).exists():
        if kind not in ("auto", "none"):
            raise InputError(f"{run} has no calibration (run `specvae calibrate --model {run}`)")
        return Calibration.identity(n_bits or 0)
    if kind == "auto":
        report = ckpt.read_json(run / CALIBRATION_REPORT)
        kind = report.get("recommended", "none") if isinstance(report, dict) else None
        if kind not in KINDS:
            raise CheckpointError(f"{run / CALIBRATION_REPORT} recommends no known calibration ({kind!r}; known: "
                                  f"{', '.join(KINDS)}); run `specvae calibrate --model {run}` again")
    if kind == "none":
        return Calibration.identity(n_bits or 0)
    tensors = ckpt.load_tensors(run / CALIBRATION_FILE)
    scale, shift = tensors.get(f"{kind}.scale"), tensors.get(f"{kind}.shift")
    if scale is None or shift is None or scale.shape != shift.shape or (n_bits and scale.shape != (n_bits,)):
        raise CheckpointError(f"{run / CALIBRATION_FILE} holds no {kind} calibration for {n_bits or 'these'} bits; "
                              f"run `specvae calibrate --model {run}` again")
    return Calibration(kind, scale.numpy(), shift.numpy())


def plot_reliability(report: dict, path: str | Path) -> None:
    """Reliability diagram (observed frequency against predicted probability) before and after calibration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.8, 4.5), dpi=120)
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfectly calibrated")
    for kind, style in (("none", "o-"), ("temperature", "s-"), ("platt", "^-")):
        entry = report["out_of_fold"].get(kind)
        if entry:
            t = entry["reliability"]
            ax.plot([r["predicted"] for r in t], [r["observed"] for r in t], style, ms=4,
                    label=f"{'uncalibrated' if kind == 'none' else kind} (ECE {entry['ece']:.4f})")
    ax.set_xlabel("predicted bit probability")
    ax.set_ylabel("observed frequency of the bit")
    ax.set_title("Fingerprint bits, validation spectra (out of fold)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def describe(report: dict) -> str:
    """One line per kind: cross-entropy, ECE and validation Top-1/Top-10, out of fold."""
    lines = []
    for kind, e in report["out_of_fold"].items():
        lines.append(f"{kind:>11}: CE {e['fp_ce']:.1f} nats/spectrum, ECE {e['ece']:.4f}"
                     + (f", val Top-1 {e['top1']:.3f}, Top-10 {e['top10']:.3f}" if "top1" in e else ""))
    return "\n".join(lines)


def report_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True)
