"""Query spectra -> predicted fingerprints -> ranked candidates: the library side of ``specvae rank``.

Spectra are read with :func:`specvae.ingest.read_spectra` (MGF, MSP, mzML, JSON; one or many per file) and binned
onto the model's grid. A record the reader marks unusable, or a spectrum with no peak on the grid (m/z 0-1100), is
reported and skipped. A spectrum whose ion mode differs from the model's training ion mode is ranked with a warning.

Output layout (:func:`rank_spectra`):

- ``--out NAME.tsv``: exactly one usable spectrum; its ranking goes to ``NAME.tsv`` and, when asked for,
  ``NAME.casmi.tsv`` (CASMI submission) and ``NAME.fingerprint.tsv`` (predicted bit probabilities); rejected candidate
  rows go to ``NAME.rejects.tsv``.
- ``--out DIR`` (anything not ending in ``.tsv``): one ``<label>.tsv`` (and ``.casmi.tsv``/``.fingerprint.tsv``) per
  spectrum, ``summary.tsv`` (one line per spectrum: candidates, best hit, or why it was skipped) and ``rejects.tsv``.
  ``<label>`` is the spectrum's id, name or title made file-safe, else ``spectrum-<n>`` (1-based record number).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specvae.errors import InputError
from specvae.retrieval.adducts import Adduct, default_adduct, parse_adduct

log = logging.getLogger("specvae.query")


@dataclass
class QuerySpectrum:
    """A usable query spectrum: its position, a file-safe label, metadata, and the sparse binned peaks."""

    record: int
    label: str
    metadata: dict
    bins: np.ndarray
    values: np.ndarray
    ion_mode: str | None = None

    @property
    def precursor_mz(self) -> float | None:
        value = self.metadata.get("precursor_mz")
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return value if np.isfinite(value) and value > 0 else None


@dataclass
class Skipped:
    """A spectrum that was not ranked, and why."""

    record: int
    label: str
    reason: str


@dataclass
class QuerySet:
    spectra: list[QuerySpectrum] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _label(metadata: dict, record: int, used: set[str]) -> str:
    text = next((str(metadata[k]) for k in ("id", "name", "title") if str(metadata.get(k) or "").strip()), "")
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")[:80] or f"spectrum-{record + 1}"
    if label in used:
        label = f"{label}-{record + 1}"
    used.add(label)
    return label


def load_query_spectra(path: str | Path, ion_mode: str | None = None) -> QuerySet:
    """Read and bin the spectra of ``path``; ``ion_mode`` overrides the file's polarity (e.g. from a solutions file)."""
    from specvae.ingest import bin_spectrum, read_spectra

    out, used = QuerySet(), set()
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
        out.spectra.append(QuerySpectrum(rec.record, label, meta, bins, values, ion_mode or meta.get("ion_mode")))
    for s in out.skipped:
        log.warning("%s: spectrum %s (record %d) skipped: %s", path, s.label, s.record + 1, s.reason)
    return out


def predict(predictor, queries: QuerySet, mode: str = "mean", n_samples: int = 1, seed: int = 0,
            chunk: int = 4096) -> np.ndarray:
    """Predicted bit probabilities ``(n_spectra, n_bits)``, warning about ion modes unlike the model's training data.

    Spectra are densified and predicted ``chunk`` at a time (default 4096); with ``mode="sample"`` chunk ``i`` uses
    seed ``seed + i * chunk`` so that results do not depend on how many spectra a file holds before the chunk.
    """
    trained = getattr(predictor, "ion_mode", None)
    other = [s.label for s in queries.spectra if trained and s.ion_mode and s.ion_mode != trained]
    if other:
        log.warning("%d spectra are not %s mode like the model's training data (first: %s); their ranks are less "
                    "reliable", len(other), trained, other[0])
    if not queries.spectra:
        return np.zeros((0, predictor.spec.n_bits), np.float32)
    from specvae.ingest import densify

    out = []
    for start in range(0, len(queries.spectra), chunk):  # dense spectra take 44 kB each: densify a chunk at a time
        part = queries.spectra[start:start + chunk]
        dense = densify([s.bins for s in part], [s.values for s in part])
        out.append(predictor.predict_bits(dense, mode=mode, n_samples=n_samples, seed=seed + start))
    return np.concatenate(out)


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


def _prepare_out(out: Path, overwrite: bool) -> Path:
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it or choose another --out")
    tmp = out.with_name(out.name + ".tmp-rank")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def _finish(tmp: Path, out: Path) -> None:
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    os.replace(tmp, out)


def rank_spectra(spectra: str | Path, predictor, out: str | Path, candidates: str | Path | None = None,
                 db: str | Path | None = None, ppm: float = 10.0, adducts: list[str] | None = None,
                 mode: str = "mean", n_samples: int = 1, seed: int = 0, casmi: bool = False,
                 fingerprint_tsv: bool = False, top: int | None = None, ion_mode: str | None = None, cache=None,
                 workers: int = 1, overwrite: bool = False, progress: bool = False) -> dict:
    """Rank candidates for every spectrum of ``spectra`` (layout of the outputs: module docstring).

    Candidates come from a ``candidates`` file (the same list for every spectrum) or from a structure database
    ``db`` (per spectrum, by precursor m/z within ``ppm`` for ``adducts``; default the spectrum's adduct or
    ``[M+H]+`` / ``[M-H]-``). ``mode`` ``"mean"`` uses the posterior mean, ``"sample"`` averages ``n_samples``
    posterior samples. ``ion_mode`` overrides the polarity the files state (for files such as the CASMI 2016 MGFs,
    which say ``CHARGE=1+`` for negative spectra). Returns counts: spectra read, ranked, skipped, candidate rows read
    and rejected.
    """
    from specvae.progress import track
    from specvae.retrieval.candidates import candidate_fingerprints, load_candidates, write_rejects
    from specvae.retrieval.db import StructureDB
    from specvae.retrieval.scoring import rank_candidates, write_casmi_submission, write_fingerprint, write_ranking

    if (candidates is None) == (db is None):
        raise InputError("give exactly one candidate source: --candidates FILE or --db STRUCTURES.parquet")
    if ion_mode not in (None, "positive", "negative"):
        raise InputError(f"ion mode must be positive or negative, not {ion_mode!r}")
    out = Path(out)
    single = out.suffix.lower() == ".tsv"
    queries = load_query_spectra(spectra, ion_mode=ion_mode)
    if single and len(queries.spectra) + len(queries.skipped) != 1:
        raise InputError(f"{spectra} holds {len(queries.spectra) + len(queries.skipped)} spectra; --out {out} names "
                         "one file: give a directory instead")
    if not queries.spectra:
        reasons = "; ".join(f"{s.label}: {s.reason}" for s in queries.skipped[:3])
        raise InputError(f"no usable spectrum in {spectra}" + (f" ({reasons})" if reasons else ""))
    probs = predict(predictor, queries, mode=mode, n_samples=n_samples, seed=seed)
    fixed = store = None
    if candidates is not None:
        fixed = load_candidates(candidates, workers=workers, progress=progress, cache=cache)
        fixed_packed = candidate_fingerprints(fixed.structures, predictor.spec, cache=cache, workers=workers,
                                              progress=progress)
    else:
        store = StructureDB(db)
        store.check_spec(predictor.spec)
    tmp = _prepare_out(out, overwrite)
    stem = out.stem if single else None
    summary = ["label\trecord\tprecursor_mz\tion_mode\tadducts\tn_candidates\ttop_inchikey\ttop_smiles\ttop_score\t"
               "status"]
    for s in queries.skipped:
        summary.append(f"{s.label}\t{s.record + 1}\t\t\t\t0\t\t\t\tskipped: {s.reason}")
    n_rejected = 0
    if fixed is not None and fixed.rejects:
        n_rejected = write_rejects(fixed.rejects, tmp / (f"{stem}.rejects.tsv" if stem else "rejects.tsv"))
    for spectrum, p in track(zip(queries.spectra, probs), "ranking", total=len(probs), enabled=progress):
        names = [a.name for a in adducts_for(spectrum, adducts)] if store else []
        if store is not None:
            if spectrum.precursor_mz is None:
                summary.append(f"{spectrum.label}\t{spectrum.record + 1}\t\t{spectrum.ion_mode or ''}\t\t0\t\t\t\t"
                               "skipped: no precursor m/z for the database query")
                continue
            cands, packed = store.query(spectrum.precursor_mz, names, ppm=ppm)
        else:
            cands, packed = fixed, fixed_packed
        ranking = rank_candidates(p, cands, packed)
        base = tmp / (stem or spectrum.label)
        write_ranking(ranking, base.with_name(base.name + ".tsv"), top=top)
        if casmi:
            write_casmi_submission(ranking, base.with_name(base.name + ".casmi.tsv"))
        if fingerprint_tsv:
            write_fingerprint(p, base.with_name(base.name + ".fingerprint.tsv"))
        best = ranking.best()
        summary.append("\t".join(map(str, [
            spectrum.label, spectrum.record + 1, spectrum.precursor_mz or "", spectrum.ion_mode or "", ";".join(names),
            len(ranking), "" if best is None else best[0].inchikey, "" if best is None else best[0].smiles,
            "" if best is None else f"{best[1]:.6g}", "ranked" if len(ranking) else "no candidates"])))
    if single:
        if not (tmp / f"{stem}.tsv").exists():
            shutil.rmtree(tmp)
            raise InputError(f"nothing ranked for {spectra}: {summary[-1].rsplit(chr(9), 1)[-1]}")
        for f in tmp.iterdir():
            target = out.with_name(f.name)
            if target.exists() and not overwrite:
                raise FileExistsError(f"{target} exists; pass --overwrite to replace it")
            os.replace(f, target)
        tmp.rmdir()
    else:
        (tmp / "summary.tsv").write_text("\n".join(summary) + "\n")
        _finish(tmp, out)
    return {"spectra": len(queries.spectra) + len(queries.skipped), "ranked": len(queries.spectra),
            "skipped": len(queries.skipped), "candidate_rows": fixed.n_read if fixed else None,
            "rejected_candidates": n_rejected, "out": str(out)}
