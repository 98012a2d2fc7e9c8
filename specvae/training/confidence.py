"""How far to trust a ranking: a probability for every candidate and a confidence that the top hit is right.

Two small models, fitted on held-out spectra (the validation split of the run's dataset, each spectrum ranking its own
structure among decoys of similar mass, :mod:`specvae.datasets.decoys`) and stored in the run as ``confidence.json``:

- **candidate probability**: ``softmax(-cross_entropy / T)`` over a spectrum's candidates, with the temperature ``T``
  (nats) that maximises the likelihood of the right answer on the validation lists. It sums to 1 over the candidates
  of one spectrum: it says how the model's belief is shared among *these* candidates, assuming the answer is one of
  them.
- **confidence that the top hit is right** (the idea of CSI:FingerID's COSMIC score): a logistic regression on
  :data:`FEATURES` -- the cross-entropy gap between the first and second candidate, the same gap per fingerprint bit
  in which the two differ, the top candidate's probability and the log of the number of candidates. It is fitted on
  candidate lists of varied length (the answer and its ``k - 1`` nearest decoys in mass, ``k`` drawn log-uniformly
  from 2 to :data:`MAX_CANDIDATES`), so that it has seen short and long lists; label: the answer ranked strictly
  first. Its out-of-fold reliability (two halves of the validation structures) is part of the report.

Without ``confidence.json`` (a run trained before this existed, the bit-frequency baseline), the temperature is 1 and
there is no confidence; ``rank`` says so in its log.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specvae.chem.bits import RANKING_EPS, clipped_log_probs

log = logging.getLogger("specvae.confidence")

CONFIDENCE_FILE = "confidence.json"
FEATURES = ("score_gap", "gap_per_differing_bit", "top_probability", "log_candidates")
MAX_CANDIDATES = 1000  # the longest validation candidate lists the confidence is fitted on
DRAWS = 4  # candidate-list lengths drawn per validation spectrum
L2 = 1.0  # ridge penalty of the logistic regression (on standardised features)


def candidate_probabilities(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(-scores / temperature)`` over one spectrum's candidates (scores: cross-entropies, nats)."""
    s = np.asarray(scores, dtype=np.float64)
    if not s.size:
        return s
    e = np.exp(-(s - s.min()) / temperature)
    return e / e.sum()


def feature_vector(best: float, second: float | None, n_differ: int, top_probability: float,
                   n_candidates: int) -> np.ndarray:
    """:data:`FEATURES` of one ranking: scores of the first and second candidate (``second`` ``None`` for a single
    candidate, gap 0), the number of bits in which their fingerprints differ, the top probability and the number of
    candidates."""
    gap = 0.0 if second is None else float(second - best)
    return np.array([gap, gap / max(n_differ, 1), top_probability, np.log(max(n_candidates, 1))], dtype=np.float64)


@dataclass(frozen=True)
class ConfidenceModel:
    """The temperature of the candidate probabilities and the logistic confidence of the top hit (``None``: none)."""

    temperature: float = 1.0
    weights: tuple[float, ...] | None = None  # on standardised features
    intercept: float = 0.0
    mean: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()
    report: dict = field(default_factory=dict, compare=False)

    @property
    def has_confidence(self) -> bool:
        return self.weights is not None

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        return candidate_probabilities(scores, self.temperature)

    def confidence(self, features: np.ndarray) -> np.ndarray | float | None:
        """Probability that the top hit is right for feature rows (:func:`feature_vector`); ``None`` without a
        fitted model."""
        if self.weights is None:
            return None
        x = (np.asarray(features, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1 / (1 + np.exp(-(x @ np.asarray(self.weights) + self.intercept)))

    def to_json(self) -> dict:
        return {"temperature": self.temperature, "features": list(FEATURES),
                "weights": None if self.weights is None else list(self.weights), "intercept": self.intercept,
                "mean": list(self.mean), "scale": list(self.scale), **self.report}


def load(run: str | Path | None) -> ConfidenceModel:
    """The ``confidence.json`` of ``run``; the default (temperature 1, no confidence) when it has none."""
    from specvae.errors import CheckpointError

    path = Path(run) / CONFIDENCE_FILE if run is not None else None
    if path is None or not path.exists():
        return ConfidenceModel()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        weights = data.get("weights")
        model = ConfidenceModel(float(data["temperature"]), None if weights is None else tuple(map(float, weights)),
                                float(data.get("intercept", 0.0)), tuple(map(float, data.get("mean", ()))),
                                tuple(map(float, data.get("scale", ()))))
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is damaged ({exc}); fit it again with `specvae calibrate`") from None
    if model.temperature <= 0 or (weights is not None and not (len(weights) == len(model.mean) == len(model.scale)
                                                              == len(FEATURES))):
        raise CheckpointError(f"{path} does not describe a confidence model of this specvae; fit it again with "
                              "`specvae calibrate`")
    return model


# --- fitting ------------------------------------------------------------------------------------------------------

def _fit_temperature(lists: list[np.ndarray]) -> float:
    """The ``T`` maximising the mean log-probability of the answer (index 0 of every score list)."""
    from scipy.optimize import minimize_scalar

    def nll(log_t):
        t = np.exp(log_t)
        total = 0.0
        for s in lists:
            z = -(s - s.min()) / t
            total += np.log(np.exp(z).sum()) - z[0]
        return total / len(lists)

    return float(np.exp(minimize_scalar(nll, bounds=(np.log(0.05), np.log(1e4)), method="bounded",
                                        options={"xatol": 1e-4}).x))


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, iterations: int = 50):
    """Ridge logistic regression by Newton's method; returns (weights, intercept, mean, scale)."""
    mean, scale = x.mean(0), x.std(0)
    scale = np.where(scale > 0, scale, 1.0)
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0  # no penalty on the intercept
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + penalty * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1]), mean, scale


def reliability_table(confidence: np.ndarray, correct: np.ndarray, edges=(0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)):
    """Per confidence bin: spectra, mean confidence, share of top hits right."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence >= lo) & ((confidence < hi) if hi < 1 else (confidence <= hi))
        if inside.any():
            rows.append({"bin": [lo, hi], "count": int(inside.sum()),
                         "mean_confidence": float(confidence[inside].mean()),
                         "top1_right": float(correct[inside].mean())})
    return rows


def validation_lists(probs: np.ndarray, fingerprints: np.ndarray, candidates: np.ndarray, n_bits: int,
                     seed: int = 0, draws: int = DRAWS):
    """Score the candidate lists of validation spectra and draw the lists the confidence is fitted on.

    ``probs``: predicted bit probabilities ``(N, n_bits)`` as ``rank`` computes them (calibrated); ``fingerprints``:
    packed fingerprints of every dataset row; ``candidates``: ``(N, K)`` row indices, the answer first (-1: none).
    Returns ``(score_lists, features, correct, spectrum)``: one entry per drawn list.
    """
    rng = np.random.default_rng(seed)
    lists, feats, correct, which = [], [], [], []
    for i in np.flatnonzero(candidates[:, 0] >= 0):
        rows = candidates[i]
        rows = rows[rows >= 0]
        if len(rows) < 2:
            continue
        log_p, log_q = clipped_log_probs(np.asarray(probs[i], dtype=np.float64), RANKING_EPS)
        bits = np.unpackbits(fingerprints[rows], axis=1)[:, :n_bits]
        scores = -(bits.astype(np.float64) @ (log_p - log_q) + log_q.sum())  # cross-entropy, nats
        for k in np.unique(np.round(np.exp(rng.uniform(np.log(2), np.log(len(rows)), draws))).astype(int)):
            s = scores[:k]
            order = np.argsort(s, kind="stable")
            first, second = int(order[0]), int(order[1])
            top_p = 0.0  # filled in after the temperature is known
            n_differ = int((bits[first] != bits[second]).sum())
            lists.append(s)
            feats.append(feature_vector(s[first], s[second], n_differ, top_p, k))
            correct.append(bool(s[0] < s[1:].min()))
            which.append(i)
    return lists, np.array(feats).reshape(-1, len(FEATURES)), np.array(correct, dtype=float), np.array(which)


def fit_confidence(probs: np.ndarray, fingerprints: np.ndarray, candidates: np.ndarray, keys: np.ndarray,
                   n_bits: int, seed: int = 0) -> ConfidenceModel:
    """Fit the temperature and the confidence on validation spectra (see :func:`validation_lists`; ``keys``: their
    structures, for the two out-of-fold halves of the reliability table)."""
    lists, x, y, which = validation_lists(probs, fingerprints, candidates, n_bits, seed)
    if len(lists) < 20 or y.min() == y.max():
        log.warning("too few validation rankings (%d) or no variation in whether the top hit is right: no confidence "
                    "model fitted", len(lists))
        return ConfidenceModel(report={"spectra": int(len(set(which.tolist()))), "lists": len(lists)})
    temperature = _fit_temperature(lists)
    x[:, 2] = [candidate_probabilities(s, temperature).max() for s in lists]
    fold = np.array([zlib.crc32(str(k).encode()) % 2 for k in keys[which]])  # halves of the structures
    oof = np.empty(len(y))
    for f in (0, 1):
        if (fold != f).sum() < 10 or y[fold != f].min() == y[fold != f].max():
            oof[fold == f] = y[fold != f].mean() if (fold != f).any() else y.mean()
            continue
        w, b, m, s = _fit_logistic(x[fold != f], y[fold != f])
        oof[fold == f] = 1 / (1 + np.exp(-(((x[fold == f] - m) / s) @ w + b)))
    w, b, m, s = _fit_logistic(x, y)
    confident = oof >= 0.5
    report = {"fitted_on": "validation split, answer + nearest decoys in mass, list lengths 2-"
                           f"{max(len(s) for s in lists)} drawn log-uniformly",
              "spectra": int(len(set(which.tolist()))), "lists": len(lists), "top1_right": float(y.mean()),
              "out_of_fold": {"reliability": reliability_table(oof, y), "brier": float(((oof - y) ** 2).mean()),
                              "brier_constant": float(((y.mean() - y) ** 2).mean()),
                              "confident": int(confident.sum()),
                              "confident_right": float(y[confident].mean()) if confident.any() else None}}
    model = ConfidenceModel(temperature, tuple(map(float, w)), b, tuple(map(float, m)), tuple(map(float, s)), report)
    log.info("confidence: temperature %.3g nats; top hit right in %.1f %% of %d validation lists; out of fold, "
             "Brier %.4f (constant: %.4f)", temperature, 100 * y.mean(), len(lists), report["out_of_fold"]["brier"],
             report["out_of_fold"]["brier_constant"])
    return model


def save(run: str | Path, model: ConfidenceModel) -> None:
    from specvae.training import checkpoint as ckpt

    ckpt.write_json(Path(run) / CONFIDENCE_FILE, model.to_json())
