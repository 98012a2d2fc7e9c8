"""Query spectra: read and bin the spectra to rank, predict their fingerprints, choose the adducts to query.

Spectra are read with :func:`specvae.readers.read_spectra` (MGF, MSP, mzML, JSON; one or many per file) and binned
onto the model's grid. A record the reader marks unusable, or a spectrum with no peak on the grid (m/z 0-1100), is
reported and skipped. A spectrum whose ion mode differs from the model's training ion mode is ranked with a warning.
Each spectrum gets a file-safe ``label``: its id, name or title, else ``spectrum-<n>``, with ``<n>`` its record number
(counted from 0, like every record number specvae writes). Labels are unique within a file, ignoring case (a file
system may): a label already taken gets ``-<n>`` appended. ``summary.tsv`` pairs each label with its record.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from specvae.errors import InputError
from specvae.retrieval.adducts import Adduct, default_adduct, parse_adduct

log = logging.getLogger("specvae.query")
SAMPLES = 16  # posterior samples averaged with mode="sample"


@dataclass
class QuerySpectrum:
    """A usable query spectrum: its position, a file-safe label, metadata, and the sparse binned peaks."""

    record: int
    label: str
    metadata: dict
    bins: np.ndarray
    values: np.ndarray
    ion_mode: str | None = None
    mz: np.ndarray | None = None  # the peaks as read (m/z and intensity), for reports
    intensity: np.ndarray | None = None

    @property
    def title(self) -> str:
        """The spectrum's title, name or id as the file gives it (empty when it has none)."""
        return next((str(self.metadata[k]) for k in ("title", "name", "id") if str(self.metadata.get(k) or "").strip()),
                    "")

    @property
    def retention_time(self) -> str:
        """The retention time with its unit as the file states it: MGF ``RTINSECONDS`` in seconds, an MSP
        ``RETENTIONTIME`` in minutes (the NIST/MS-DIAL convention) unless its text names the unit; else empty."""
        meta = self.metadata
        if meta.get("rtinseconds") not in (None, ""):
            return f"{meta['rtinseconds']} s"
        for key in ("retention_time", "retentiontime", "rt", "rtinminutes", "scan_start_time"):
            text = str(meta.get(key) or "").strip()
            if text:
                return text if re.search(r"[a-z]", text, re.I) else f"{text} min"
        return ""

    @property
    def scan(self) -> str:
        """The scan number(s) the file states (MGF ``SCANS``, ``scan``), else empty."""
        return next((str(self.metadata[k]) for k in ("scans", "scan", "scan_number", "scannumber")
                     if str(self.metadata.get(k) or "").strip()), "")

    @property
    def precursor_mz(self) -> float | None:
        value = self.metadata.get("precursor_mz")
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return value if np.isfinite(value) and value > 0 else None


class Skipped(NamedTuple):
    """A spectrum that was not ranked: its position, label and why."""

    record: int
    label: str
    reason: str


class QuerySet(NamedTuple):
    """The spectra of a query file: the usable ones (in file order) and the skipped ones."""

    spectra: list[QuerySpectrum]
    skipped: list[Skipped]


def _label(metadata: dict, record: int, used: set[str]) -> str:
    text = next((str(metadata[k]) for k in ("id", "name", "title") if str(metadata.get(k) or "").strip()), "")
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:80] or f"spectrum-{record}"
    base, k = label, 0
    while label.lower() in used:
        label = f"{base}-{record}" + (f"-{k}" if k else "")
        k += 1
    used.add(label.lower())
    return label


def load_query_spectra(path: str | Path, ion_mode: str | None = None) -> QuerySet:
    """Read and bin the spectra of ``path``; ``ion_mode`` overrides the file's polarity (e.g. from a solutions file)."""
    from specvae.ingest.binning import bin_spectrum
    from specvae.readers import read_spectra

    out, used = QuerySet([], []), set()
    for rec in read_spectra(path):
        meta = dict(rec.metadata or {})
        label = _label(meta, rec.record, used)
        if rec.error:
            out.skipped.append(Skipped(rec.record, label, f"unreadable record: {rec.error}"))
            continue
        bins, values, n_off = bin_spectrum(rec.mz, rec.intensity)
        if len(bins) == 0:
            out.skipped.append(Skipped(rec.record, label, "no peaks on the m/z grid (0-1100)"
                                       + (f"; {n_off} off the grid" if n_off else "")))
            continue
        out.spectra.append(QuerySpectrum(rec.record, label, meta, bins, values, ion_mode or meta.get("ion_mode"),
                                         np.asarray(rec.mz, dtype=np.float64),
                                         np.asarray(rec.intensity, dtype=np.float64)))
    for s in out.skipped:
        log.warning("%s: spectrum %s (record %d) skipped: %s", path, s.label, s.record, s.reason)
    return out


def predict(predictor, queries: QuerySet, mode: str = "mean", n_samples: int = SAMPLES, seed: int = 0,
            chunk: int = 4096) -> np.ndarray:
    """Predicted bit probabilities ``(n_spectra, n_bits)``, warning about ion modes unlike the model's training data.

    Spectra are densified and predicted ``chunk`` at a time (default 4096); with ``mode="sample"`` chunk ``i`` uses
    seed ``seed + i * chunk`` so that results do not depend on how many spectra a file holds before the chunk.
    ``n_samples`` (default :data:`SAMPLES`) counts only with ``mode="sample"``: the posterior mean takes no sample.
    """
    n_samples = n_samples if mode == "sample" else 1
    trained = getattr(predictor, "ion_mode", None)
    other = [s.label for s in queries.spectra if trained and s.ion_mode and s.ion_mode != trained]
    if other:
        log.warning("%d spectra are not %s mode like the model's training data (first: %s); their ranks are less "
                    "reliable", len(other), trained, other[0])
    if not queries.spectra:
        return np.zeros((0, predictor.spec.n_bits), np.float32)
    return np.concatenate([predictor.predict_bits(dense, mode=mode, n_samples=n_samples, seed=seed + start)
                           for start, dense in _dense_chunks(queries, chunk)])


def predict_latent(predictor, queries: QuerySet, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """The spectrum-only posteriors ``(mu, logvar)`` of the query spectra, for the latent score (``--score latent``);
    a one-line error for a predictor without a latent space (the MLP, the bit-frequency baseline)."""
    if not hasattr(predictor, "predict_latent"):
        raise InputError("--score latent needs a trained multimodal VAE (svae, vaevae, ...), not the bit-frequency "
                         "baseline; use --score cross-entropy")
    parts = [predictor.predict_latent(dense) for _, dense in _dense_chunks(queries, chunk)]
    if not parts:
        return predictor.predict_latent(np.zeros((0, 0), np.float32))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _dense_chunks(queries: QuerySet, chunk: int):
    """``(start, dense spectra)`` of ``chunk`` query spectra at a time (dense spectra take 44 kB each)."""
    from specvae.ingest.binning import densify

    for start in range(0, len(queries.spectra), chunk):
        part = queries.spectra[start:start + chunk]
        yield start, densify([s.bins for s in part], [s.values for s in part])


def adducts_for(spectrum: QuerySpectrum, adducts: list[str] | None = None) -> list[Adduct]:
    """Adducts to query for a spectrum: ``adducts`` if given, else its own (when readable), else the mode default."""
    if adducts:
        chosen = [parse_adduct(a) for a in adducts]
        mode = spectrum.ion_mode
        return [a for a in chosen if mode is None or a.ion_mode == mode] or chosen
    text = spectrum.metadata.get("adduct")
    if text:
        try:
            return [parse_adduct(str(text))]
        except InputError:
            log.warning("spectrum %s: cannot read adduct %r; using the ion mode's default", spectrum.label, text)
    return [default_adduct(spectrum.ion_mode)]
