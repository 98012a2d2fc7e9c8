"""Rank candidate structures against predicted fingerprint bit probabilities.

The score of a candidate with fingerprint ``c`` (0/1 bits) given predicted probabilities ``p`` is the cross-entropy::

    score = -sum_k [ c_k log p_k + (1 - c_k) log(1 - p_k) ]        (nats; lower is better)

with ``p`` clipped to ``[eps, 1 - eps]`` (default ``eps = 1e-6``, so one confidently wrong bit costs at most 13.8
nats). Written as ``-(c . w + sum_k log(1 - p_k))`` with ``w = log p - log(1 - p)``, it is one dot product per
candidate. :func:`score_packed` evaluates it on packed fingerprints without unpacking: for each byte position a
256-entry table holds the sum of ``w`` over the bits set in every byte value, and a candidate's score is the sum of
its bytes' table entries (10,000 candidates x 2149 bits: a few milliseconds). Candidates with identical fingerprints
get bit-identical scores, because every candidate is summed in the same order.

Ranks are 1-based; tied scores get the average of the ranks they span (two candidates tied for first both get 1.5).

**Latent score** (``--score latent``, multimodal VAEs only). A VAE also places every candidate in its latent space:
``c_z``, the mean of the fingerprint-only posterior q(z | c). The latent score is the negative log density of that
code under the spectrum-only posterior q(z | x) = N(mu, diag(exp(logvar)))::

    latent = 0.5 * sum_l [ log(2 pi) + logvar_l + (c_z,l - mu_l)^2 / exp(logvar_l) ]      (nats; lower is better)

It uses what the SVAE loss trains directly (the KL terms pull the two unimodal posteriors of a pair together) rather
than only the decoded bits; :func:`latent_nll` computes it. The cross-entropy is still computed and reported.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from specvae.chem.bits import RANKING_EPS, clipped_log_probs

EPS = RANKING_EPS

SCORES = ("cross-entropy", "latent")  # what candidates can be ranked by (module docstring)
# the columns of a ranking (ranking.tsv), best first; see docs/ranking.md for what each means. Ranked by the latent
# score, a ranking has the column LATENT_COLUMN after the cross-entropy.
RANK_COLUMNS = ("rank", "cross_entropy_nats", "probability", "tanimoto", "adduct", "ppm", "formula",
                "monoisotopic_mass", "inchikey", "smiles", "id", "name", "merged_ids")
LATENT_COLUMN = "latent_nats"
_POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(1).astype(np.int64)


def _weights(probs: np.ndarray, eps: float) -> tuple[np.ndarray, float]:
    """The cross-entropy (:func:`specvae.chem.bits.bit_cross_entropy`) as ``-(c . w + base)``."""
    log_p, log_q = clipped_log_probs(np.asarray(probs), eps)
    if log_p.ndim != 1:
        raise ValueError(f"expected one vector of bit probabilities, got shape {log_p.shape}")
    return log_p - log_q, float(log_q.sum())


def score_bits(probs: np.ndarray, bits: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Cross-entropy of each candidate (rows of 0/1 ``bits``, shape ``(n, n_bits)``) against ``probs`` (``n_bits``).

    The reference implementation (unpacked bits, float64); :func:`score_packed` is the fast path.
    """
    w, base = _weights(probs, eps)
    bits = np.asarray(bits)
    if bits.ndim != 2 or bits.shape[1] != w.shape[0]:
        raise ValueError(f"fingerprints of shape {bits.shape} do not match {w.shape[0]} predicted bits")
    return -(bits.astype(np.float64) @ w + base)


def score_packed(probs: np.ndarray, packed: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Cross-entropy of packed fingerprints (``(n, ceil(n_bits / 8))`` uint8, big bit order) against ``probs``.

    Equal to :func:`score_bits` on the unpacked bits (to float64 rounding).
    """
    w, base = _weights(probs, eps)
    packed = np.asarray(packed, dtype=np.uint8)
    n_bytes = (w.shape[0] + 7) // 8
    if packed.ndim != 2 or packed.shape[1] != n_bytes:
        raise ValueError(f"packed fingerprints of shape {packed.shape} do not match {w.shape[0]} predicted bits "
                         f"({n_bytes} bytes per row)")
    padded = np.zeros(n_bytes * 8)
    padded[: w.shape[0]] = w
    byte_bits = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).astype(np.float64)  # (256, 8)
    table = np.ascontiguousarray(padded.reshape(n_bytes, 8) @ byte_bits.T)  # (n_bytes, 256)
    columns = np.ascontiguousarray(packed.T)  # (n_bytes, n): one contiguous column per byte position
    total = np.zeros(packed.shape[0])
    for j in range(n_bytes):
        total += table[j].take(columns[j])
    return -(total + base)


def check_score(score: str) -> str:
    """``score`` if it is one of :data:`SCORES`, else a one-line error."""
    from specvae.errors import InputError

    if score not in SCORES:
        raise InputError(f"--score must be one of {', '.join(SCORES)}, not {score!r}")
    return score


def latent_nll(mu: np.ndarray, logvar: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The latent score of each candidate code (rows of ``codes``, ``(n, L)``) under the spectrum's posterior
    N(``mu``, diag(exp(``logvar``))) (``(L,)`` each): its negative log density in nats (module docstring)."""
    mu, logvar = np.asarray(mu, dtype=np.float64), np.asarray(logvar, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] != mu.shape[0]:
        raise ValueError(f"candidate codes of shape {codes.shape} do not match a {mu.shape[0]}-d posterior")
    constant = 0.5 * float((np.log(2 * np.pi) + logvar).sum())
    return constant + 0.5 * ((codes - mu) ** 2) @ np.exp(-logvar)


def average_ranks(scores: np.ndarray) -> np.ndarray:
    """1-based ranks of ``scores`` (lower score = better rank); ties get the average of the ranks they span."""
    from scipy.stats import rankdata

    scores = np.asarray(scores, dtype=np.float64)
    return rankdata(scores, method="average") if scores.size else np.zeros(0)


class Ranking:
    """Scored candidates: ``scores`` (nats, lower is better: the cross-entropies, or the latent scores when
    ``cross_entropy`` is given separately) and ``ranks`` in candidate order, ``order`` = candidate indices best first;
    ``cross_entropy`` (the scores unless given); with the prediction ``probs`` and the candidates' ``packed``
    fingerprints also the Tanimoto of each candidate with the thresholded prediction, and with a ``model``
    (:class:`~specvae.training.confidence.ConfidenceModel`, fitted on cross-entropies: give one only for them) the
    candidate probabilities and the confidence that the top hit is right.

    The readable table (:meth:`table`) is built only when asked for, so that evaluation over many challenges pays
    only for scores, ranks and a sort.
    """

    def __init__(self, candidates, scores: np.ndarray, probs: np.ndarray | None = None,
                 packed: np.ndarray | None = None, model=None, cross_entropy: np.ndarray | None = None):
        from specvae.training.confidence import ConfidenceModel

        self.candidates = candidates
        self.scores = scores
        self.latent = cross_entropy is not None  # ranked by the latent score
        self.cross_entropy = scores if cross_entropy is None else cross_entropy
        self.ranks = average_ranks(scores)
        self.order = np.argsort(scores, kind="stable")  # equal scores keep the input order
        self.probs, self.packed = probs, packed
        self.model = model or ConfidenceModel()
        self._probability = None

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def probability(self) -> np.ndarray:
        """Per candidate: ``softmax(-cross_entropy / T)`` with the model's temperature ``T`` (1 without one)."""
        if self._probability is None:
            self._probability = self.model.probabilities(self.scores)
        return self._probability

    def features(self) -> np.ndarray | None:
        """The confidence features (:func:`~specvae.training.confidence.feature_vector`); ``None`` without
        candidates."""
        from specvae.training.confidence import feature_vector

        if not len(self):
            return None
        first = int(self.order[0])
        if len(self) == 1:
            return feature_vector(self.scores[first], None, 0, 1.0, 1)
        second = int(self.order[1])
        differ = 0
        if self.packed is not None:
            differ = int(_POPCOUNT[np.bitwise_xor(self.packed[first], self.packed[second])].sum())
        return feature_vector(self.scores[first], self.scores[second], differ, float(self.probability[first]),
                              len(self))

    @property
    def confidence(self) -> float | None:
        """Probability that the top hit is right (``None`` without a fitted confidence model or candidates)."""
        features = self.features()
        if features is None or not self.model.has_confidence:
            return None
        return float(self.model.confidence(features))

    def tanimoto(self, idx: np.ndarray) -> np.ndarray:
        """Tanimoto similarity of candidates ``idx`` with the prediction thresholded at 0.5 (NaN when unknown)."""
        if self.probs is None or self.packed is None:
            return np.full(len(idx), np.nan)
        predicted = np.packbits(np.asarray(self.probs) > 0.5)
        rows = self.packed[idx]
        both = _POPCOUNT[rows & predicted].sum(1)
        either = _POPCOUNT[rows | predicted].sum(1)
        return np.where(either > 0, both / np.maximum(either, 1), 1.0)

    def rank_of(self, inchikey14: str) -> float | None:
        """Rank of the candidate with first InChIKey block ``inchikey14`` (``None`` when it is not a candidate)."""
        i = self.index_of(inchikey14)
        return None if i is None else float(self.ranks[i])

    def index_of(self, inchikey14: str) -> int | None:
        """Position of the candidate with first InChIKey block ``inchikey14`` (``None`` when absent)."""
        key = inchikey14[:14]
        return next((i for i, s in enumerate(self.candidates.structures) if s.inchikey.startswith(key)), None)

    def score_of(self, inchikey14: str) -> float | None:
        """Score of the candidate with first InChIKey block ``inchikey14`` (``None`` when absent)."""
        i = self.index_of(inchikey14)
        return None if i is None else float(self.scores[i])

    def best(self):
        """``(structure, score)`` of the best candidate, or ``None`` when there are no candidates."""
        if not len(self):
            return None
        i = int(self.order[0])
        return self.candidates.structures[i], float(self.scores[i])

    def table(self, top: int | None = None, precursor_mz: float | None = None, adducts=()):
        """The ranking as a pandas DataFrame with :data:`RANK_COLUMNS` (and :data:`LATENT_COLUMN` when ranked by the
        latent score), best first (``top`` rows if given).

        ``adduct`` and ``ppm``: for database hits the adduct each was found as, else the one of ``adducts``
        (:class:`~specvae.retrieval.adducts.Adduct`) whose ion is closest to ``precursor_mz``; ``ppm`` is
        ``(precursor m/z - ion m/z) / ion m/z * 1e6`` (empty without a precursor m/z or adduct).
        """
        import pandas as pd

        c = self.candidates
        idx = self.order if top is None else self.order[:top]
        structures = [c.structures[i] for i in idx]
        names, ppm = _adduct_ppm(structures, [c.adducts[i] for i in idx] if c.adducts else None, precursor_mz,
                                 adducts)
        columns = list(RANK_COLUMNS)
        if self.latent:
            columns.insert(columns.index("cross_entropy_nats") + 1, LATENT_COLUMN)
        return pd.DataFrame({
            "rank": self.ranks[idx], "cross_entropy_nats": self.cross_entropy[idx], LATENT_COLUMN: self.scores[idx],
            "probability": self.probability[idx],
            "tanimoto": self.tanimoto(idx), "adduct": names, "ppm": ppm, "formula": [s.formula for s in structures],
            "monoisotopic_mass": [s.mass for s in structures], "inchikey": [s.inchikey for s in structures],
            "smiles": [s.smiles for s in structures], "id": [c.ids[i] for i in idx],
            "name": [c.names[i] for i in idx], "merged_ids": [";".join(c.merged_ids[i]) for i in idx]},
            columns=columns)


def _adduct_ppm(structures, found_as, precursor_mz, adducts) -> tuple[list[str], list[float]]:
    """The adduct of every structure and its m/z error in ppm (see :meth:`Ranking.table`)."""
    from specvae.retrieval.adducts import parse_adduct

    names, ppm = [], []
    for j, s in enumerate(structures):
        options = [parse_adduct(found_as[j])] if found_as and found_as[j] else \
            [a for a in adducts if a.molecule_charge == s.charge] or list(adducts)
        if precursor_mz is None or not options:
            names.append(options[0].name if len(options) == 1 else "")
            ppm.append(np.nan)
            continue
        errors = [(precursor_mz - a.mz(s.mass)) / a.mz(s.mass) * 1e6 for a in options]
        best = int(np.argmin(np.abs(errors)))
        names.append(options[best].name)
        ppm.append(errors[best])
    return names, ppm


def rank_candidates(probs: np.ndarray, candidates, packed: np.ndarray, eps: float = EPS, model=None,
                    latent: np.ndarray | None = None) -> Ranking:
    """Score and rank ``candidates`` (:class:`~specvae.retrieval.candidates.Candidates`) by packed fingerprints;
    ``model``: the run's :class:`~specvae.training.confidence.ConfidenceModel` (probabilities, confidence).
    ``latent``: the candidates' latent scores (:func:`latent_nll`), to rank by them instead of the cross-entropy."""
    if len(candidates.structures) != len(packed):
        raise ValueError(f"{len(candidates.structures)} candidates but {len(packed)} fingerprints")
    ce = score_packed(probs, packed, eps=eps)
    if latent is None:
        return Ranking(candidates, ce, probs, packed, model)
    if len(latent) != len(packed):
        raise ValueError(f"{len(latent)} latent scores for {len(packed)} candidates")
    return Ranking(candidates, np.asarray(latent, dtype=np.float64), probs, packed, model, cross_entropy=ce)


def write_ranking(ranking: Ranking, path: str | Path, top: int | None = None, precursor_mz: float | None = None,
                  adducts=()) -> None:
    """The readable ranking: TSV with a header, best first (``top`` rows if given); columns :data:`RANK_COLUMNS`."""
    table = ranking.table(top, precursor_mz, adducts)
    table["monoisotopic_mass"] = table["monoisotopic_mass"].map("{:.5f}".format)  # Da: 0.01 mDa, not 6 digits
    table["ppm"] = table["ppm"].map(lambda v: "" if not np.isfinite(v) else f"{v:.2f}")
    table.to_csv(path, sep="\t", index=False, float_format="%.6g")


def write_casmi_submission(ranking: Ranking, path: str | Path) -> None:
    """A CASMI submission file: ``SMILES<TAB>score`` per candidate, no header, score >= 0 and higher is better.

    The score is ``max(cross-entropy) - cross-entropy``, which keeps the order and the ties.
    """
    worst = float(ranking.scores.max()) if len(ranking) else 0.0
    structures = ranking.candidates.structures
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter="\t", lineterminator="\n").writerows(
            (structures[i].smiles, f"{worst - ranking.scores[i]:.6f}") for i in ranking.order)


def write_fingerprint(probs: np.ndarray, path: str | Path, names: list[str] | None = None) -> None:
    """The predicted fingerprint: TSV ``bit, probability, substructure`` (bit index 0-based; ``substructure``: the
    bit's name from the fingerprint definition, :func:`specvae.chem.fingerprints.bit_names`)."""
    probs = np.asarray(probs, dtype=np.float64)
    names = names or [""] * len(probs)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(("bit", "probability", "substructure"))
        writer.writerows((i, f"{p:.6g}", n) for i, (p, n) in enumerate(zip(probs, names)))
