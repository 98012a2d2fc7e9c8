"""The one per-spectrum ranking loop (:func:`rank_each`) and ``specvae rank`` on top of it (:func:`rank_spectra`).

``rank``, ``evaluate casmi`` and the demo all rank the same way: the query spectra's fingerprints are predicted in one
pass (:func:`~specvae.retrieval.queries.predict`), then each spectrum gets its candidates from a *candidate source*
and they are scored by :func:`~specvae.retrieval.scoring.rank_candidates`. The sources:

- :class:`OneList`: the same candidate list for every spectrum (``rank --candidates FILE``);
- :class:`ListPerSpectrum`: a list per spectrum label (``evaluate --candidates DIR``: one file per challenge);
- :class:`FromDatabase`: the structures of a database within ``ppm`` of the spectrum's precursor m/z, for its adducts
  (``--db``).

Output layout of :func:`rank_spectra`:

- ``--out NAME.tsv``: exactly one usable spectrum; its ranking goes to ``NAME.tsv`` and, when asked for,
  ``NAME.casmi.tsv`` (CASMI submission) and ``NAME.fingerprint.tsv`` (predicted bit probabilities); rejected candidate
  rows go to ``NAME.rejects.tsv``.
- ``--out DIR`` (anything not ending in ``.tsv``): one ``<label>.tsv`` (and ``.casmi.tsv``/``.fingerprint.tsv``) per
  spectrum, ``summary.tsv`` (one row per spectrum, :data:`SUMMARY_COLUMNS`: candidates, best hit, or why it was
  skipped) and ``rejects.tsv``. ``<label>``: see :mod:`specvae.retrieval.queries`.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from specvae.errors import InputError
from specvae.retrieval.candidates import Candidates
from specvae.retrieval.db import PPM
from specvae.retrieval.queries import SAMPLES, QuerySet, QuerySpectrum, adducts_for, load_query_spectra, predict
from specvae.retrieval.scoring import Ranking, rank_candidates

SUMMARY_COLUMNS = ("label", "record", "precursor_mz", "ion_mode", "adducts", "n_candidates", "top_inchikey",
                   "top_smiles", "top_score", "status")


class Found(NamedTuple):
    """The candidates of one spectrum, their packed fingerprints and the adducts they were queried for."""

    candidates: Candidates
    packed: np.ndarray
    adducts: tuple[str, ...] = ()


class OneList:
    """The same candidates (and packed fingerprints) for every spectrum."""

    def __init__(self, candidates: Candidates, packed: np.ndarray):
        self.found = Found(candidates, packed)

    def __call__(self, spectrum: QuerySpectrum) -> Found | str:
        return self.found


class ListPerSpectrum:
    """A candidate list per spectrum label (or the reason it has none), fingerprints packed once for all lists."""

    def __init__(self, lists: Mapping[str, Candidates | str], packed: np.ndarray, row_of: Mapping[str, int]):
        self.lists, self.packed, self.row_of = lists, packed, row_of

    def __call__(self, spectrum: QuerySpectrum) -> Found | str:
        cands = self.lists[spectrum.label]
        if isinstance(cands, str):
            return cands
        return Found(cands, self.packed[[self.row_of[s.inchikey] for s in cands.structures]])


class FromDatabase:
    """Structures of a :class:`~specvae.retrieval.db.StructureDB` whose ion lies within ``ppm`` of the precursor m/z,
    for ``adducts`` (default: the spectrum's own adduct, else the ion mode's; :func:`adducts_for`)."""

    def __init__(self, store, adducts: Sequence[str] | None, ppm: float):
        self.store, self.adducts, self.ppm = store, adducts, ppm

    def __call__(self, spectrum: QuerySpectrum) -> Found | str:
        if spectrum.precursor_mz is None:
            return "no precursor m/z for the database query"
        chosen = adducts_for(spectrum, self.adducts)
        cands, packed = self.store.query(spectrum.precursor_mz, chosen, ppm=self.ppm)
        return Found(cands, packed, tuple(a.name for a in chosen))


@dataclass
class Ranked:
    """One spectrum after the loop: its predicted bit probabilities and its ranking, or why it has none."""

    spectrum: QuerySpectrum
    probs: np.ndarray
    ranking: Ranking | None = None
    adducts: tuple[str, ...] = field(default_factory=tuple)
    skipped: str = ""  # the reason, when there is no ranking


def rank_each(queries: QuerySet, probs: np.ndarray, candidates_for, progress: bool = False,
              description: str = "ranking") -> Iterator[Ranked]:
    """Rank the candidates of every usable spectrum of ``queries`` (``probs``: their predicted bits, in order).

    ``candidates_for(spectrum)`` is a candidate source (module docstring): it returns a :class:`Found` or the reason
    the spectrum has no candidates.
    """
    from specvae.progress import track

    for spectrum, p in track(zip(queries.spectra, probs), description, total=len(probs), enabled=progress):
        found = candidates_for(spectrum)
        if isinstance(found, str):
            yield Ranked(spectrum, p, skipped=found)
        else:
            yield Ranked(spectrum, p, rank_candidates(p, found.candidates, found.packed), found.adducts)


def summary_row(item: Ranked) -> dict:
    """The :data:`SUMMARY_COLUMNS` of a ranked (or skipped) spectrum."""
    s = item.spectrum
    best = item.ranking.best() if item.ranking is not None else None
    status = f"skipped: {item.skipped}" if item.skipped else "ranked" if best is not None else "no candidates"
    return {"label": s.label, "record": s.record + 1, "precursor_mz": s.precursor_mz, "ion_mode": s.ion_mode,
            "adducts": ";".join(item.adducts), "n_candidates": len(item.ranking) if item.ranking is not None else 0,
            "top_inchikey": best[0].inchikey if best else None, "top_smiles": best[0].smiles if best else None,
            "top_score": f"{best[1]:.6g}" if best else None, "status": status}


def write_summary(rows: list[dict], path: Path) -> None:
    """``summary.tsv``: a header and one tab-separated row per spectrum (empty cells for missing values)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, SUMMARY_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)


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


def rank_spectra(spectra: str | Path, predictor, out: str | Path | None = None, candidates: str | Path | None = None,
                 db: str | Path | None = None, ppm: float = PPM, adducts: list[str] | None = None,
                 mode: str = "mean", n_samples: int = SAMPLES, seed: int = 0, casmi: bool = False,
                 fingerprint_tsv: bool = False, top: int | None = None, ion_mode: str | None = None, cache=None,
                 workers: int = 1, overwrite: bool = False, progress: bool = False) -> dict:
    """Rank candidates for every spectrum of ``spectra`` (layout of the outputs: module docstring).

    ``out`` defaults to ``<name of spectra up to its first dot>.ranked`` in the working directory. Candidates come
    from a ``candidates`` file (the same list for every spectrum) or from a structure database ``db`` (per spectrum,
    by precursor m/z within ``ppm`` for ``adducts``; default the spectrum's adduct or ``[M+H]+`` / ``[M-H]-``).
    ``mode`` ``"mean"`` uses the posterior mean, ``"sample"`` averages ``n_samples`` posterior samples. ``ion_mode``
    overrides the polarity the files state (for files such as the CASMI 2016 MGFs, which say ``CHARGE=1+`` for
    negative spectra). Returns counts: spectra read, ranked, skipped, candidate rows read and rejected.
    """
    from specvae.retrieval.candidates import candidate_fingerprints, load_candidates, write_rejects
    from specvae.retrieval.db import StructureDB
    from specvae.retrieval.scoring import write_casmi_submission, write_fingerprint, write_ranking

    if (candidates is None) == (db is None):
        raise InputError("give exactly one candidate source: --candidates FILE or --db STRUCTURES.parquet")
    if ion_mode not in (None, "positive", "negative"):
        raise InputError(f"ion mode must be positive or negative, not {ion_mode!r}")
    out = Path(out) if out is not None else Path(Path(spectra).name.split(".")[0] + ".ranked")
    single = out.suffix.lower() == ".tsv"
    queries = load_query_spectra(spectra, ion_mode=ion_mode)
    if single and len(queries.spectra) + len(queries.skipped) != 1:
        raise InputError(f"{spectra} holds {len(queries.spectra) + len(queries.skipped)} spectra; --out {out} names "
                         "one file: give a directory instead")
    if not queries.spectra:
        reasons = "; ".join(f"{s.label}: {s.reason}" for s in queries.skipped[:3])
        raise InputError(f"no usable spectrum in {spectra}" + (f" ({reasons})" if reasons else ""))
    probs = predict(predictor, queries, mode=mode, n_samples=n_samples, seed=seed)
    fixed = None
    if candidates is not None:
        fixed = load_candidates(candidates, workers=workers, progress=progress, cache=cache)
        source = OneList(fixed, candidate_fingerprints(fixed.structures, predictor.spec, cache=cache, workers=workers,
                                                       progress=progress))
    else:
        store = StructureDB(db)
        store.check_spec(predictor.spec)
        source = FromDatabase(store, adducts, ppm)
    tmp = _prepare_out(out, overwrite)
    stem = out.stem if single else None
    summary = [{"label": s.label, "record": s.record + 1, "n_candidates": 0, "status": f"skipped: {s.reason}"}
               for s in queries.skipped]
    n_rejected = 0
    if fixed is not None and fixed.rejects:
        n_rejected = write_rejects(fixed.rejects, tmp / (f"{stem}.rejects.tsv" if stem else "rejects.tsv"))
    for item in rank_each(queries, probs, source, progress=progress):
        summary.append(summary_row(item))
        if item.ranking is None:
            continue
        base = tmp / (stem or item.spectrum.label)
        write_ranking(item.ranking, base.with_name(base.name + ".tsv"), top=top)
        if casmi:
            write_casmi_submission(item.ranking, base.with_name(base.name + ".casmi.tsv"))
        if fingerprint_tsv:
            write_fingerprint(item.probs, base.with_name(base.name + ".fingerprint.tsv"))
    if single:
        if not (tmp / f"{stem}.tsv").exists():
            shutil.rmtree(tmp)
            raise InputError(f"nothing ranked for {spectra}: {summary[-1]['status']}")
        for f in tmp.iterdir():
            target = out.with_name(f.name)
            if target.exists() and not overwrite:
                raise FileExistsError(f"{target} exists; pass --overwrite to replace it")
            os.replace(f, target)
        tmp.rmdir()
    else:
        write_summary(summary, tmp / "summary.tsv")
        _finish(tmp, out)
    return {"spectra": len(queries.spectra) + len(queries.skipped), "ranked": len(queries.spectra),
            "skipped": len(queries.skipped), "candidate_rows": fixed.n_read if fixed else None,
            "rejected_candidates": n_rejected, "out": str(out)}
