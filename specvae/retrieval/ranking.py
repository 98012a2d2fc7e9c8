"""The one per-spectrum ranking loop (:func:`rank_each`) and ``specvae rank`` on top of it (:func:`rank_spectra`).

``rank``, ``evaluate casmi`` and the demo all rank the same way: the query spectra's fingerprints are predicted in one
pass (:func:`~specvae.retrieval.queries.predict`), then each spectrum gets its candidates from a *candidate source*
and they are scored by :func:`~specvae.retrieval.scoring.rank_candidates`. The sources:

- :class:`OneList`: the same candidate list for every spectrum (``rank --candidates FILE``);
- :class:`ListPerSpectrum`: a list per spectrum label (``evaluate --candidates DIR``: one file per challenge);
- :class:`FromDatabase`: the structures of a database within ``ppm`` of the spectrum's precursor m/z, for its adducts
  (``--db``).

With a candidate list (``OneList``), candidates whose monoisotopic mass does not fit the spectrum's precursor m/z are
left out (:class:`MassChecked`, on by default in ``rank``): within ``ppm`` for the spectrum's adduct or the given
ones, and for a spectrum that states none, for any common adduct of its ion mode. How many were left out is noted per
spectrum in ``summary.tsv``.

Output layout of :func:`rank_spectra`:

- ``--out NAME.tsv``: exactly one usable spectrum; its ranking goes to ``NAME.tsv`` and, when asked for,
  ``NAME.casmi.tsv`` (CASMI submission) and ``NAME.fingerprint.tsv`` (predicted bit probabilities); rejected candidate
  rows go to ``NAME.rejects.tsv``.
- ``--out DIR`` (anything not ending in ``.tsv``): the rankings in ``DIR/rankings/``, one ``<label>.tsv`` (and
  ``.casmi.tsv``/``.fingerprint.tsv``) per spectrum, so that no spectrum title can name one of the run's own files;
  ``DIR/summary.tsv`` (one row per spectrum, :data:`SUMMARY_COLUMNS`: its record number and label, candidates, best
  hit, or why it was skipped, and notes), ``DIR/rejects.tsv`` and ``DIR/settings.yaml``. ``<label>``: see
  :mod:`specvae.retrieval.queries` (unique within the file; a title that repeats gets the record number appended).

Outputs are written whole or not at all: into a staging directory that replaces ``DIR`` at the end, by one process
at a time (:mod:`specvae.outputs`); ``--overwrite`` replaces only an earlier ``rank`` output.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from specvae import outputs
from specvae.errors import InputError
from specvae.retrieval.adducts import ADDUCTS, Adduct
from specvae.retrieval.candidates import Candidates
from specvae.retrieval.db import PPM, check_ppm
from specvae.retrieval.queries import (
    SAMPLES,
    QuerySet,
    QuerySpectrum,
    adducts_for,
    load_query_spectra,
    predict,
    predict_latent,
)
from specvae.retrieval.scoring import Ranking, check_score, latent_nll, rank_candidates

log = logging.getLogger("specvae.rank")
SUMMARY_COLUMNS = ("label", "record", "title", "precursor_mz", "retention_time", "scan", "ion_mode", "adducts",
                   "n_candidates", "top_name", "top_inchikey", "top_smiles", "top_cross_entropy_nats",
                   "top_probability", "confidence", "status", "notes")
RANKINGS = "rankings"  # the subdirectory of a directory output that holds one ranking per spectrum
KIND = "rank"  # the kind of output directory (specvae.outputs)


class Found(NamedTuple):
    """The candidates of one spectrum, their packed fingerprints, the adducts they were queried for and notes."""

    candidates: Candidates
    packed: np.ndarray
    adducts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


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


class MassChecked:
    """A candidate source whose candidates must fit the spectrum's precursor m/z: a candidate is kept when its ion
    under one of the spectrum's adducts (:func:`mass_check_adducts`) lies within ``ppm`` of the precursor m/z (the
    arithmetic of :mod:`specvae.retrieval.adducts`; ``[M]+``/``[M]-`` only for charged molecules, as in database
    queries). How many were left out is a note of the spectrum; without a precursor m/z nothing is checked."""

    def __init__(self, source, adducts: Sequence[str] | None, ppm: float):
        self.source, self.adducts, self.ppm = source, adducts, ppm
        self._arrays: tuple = (None, None, None)  # (candidates, masses, charges) of the last list seen

    def __call__(self, spectrum: QuerySpectrum) -> Found | str:
        found = self.source(spectrum)
        if isinstance(found, str):
            return found
        mz = spectrum.precursor_mz
        if mz is None:
            return found._replace(notes=(*found.notes, "no precursor m/z: candidate masses not checked"))
        chosen = mass_check_adducts(spectrum, self.adducts)
        masses, charges = self._masses(found.candidates)
        keep = np.zeros(len(masses), dtype=bool)
        for adduct in chosen:
            lo, hi = adduct.mass_window(mz, self.ppm)
            keep |= (masses >= lo) & (masses <= hi) & (charges == adduct.molecule_charge)
        if keep.all():
            return found
        names = ", ".join(a.name for a in chosen) if len(chosen) <= 3 else (
            f"any of {len(chosen)} common {chosen[0].ion_mode}-mode adducts")
        note = (f"{int((~keep).sum())} of {len(keep)} candidates left out: their mass does not fit precursor m/z "
                f"{mz:g} within {self.ppm:g} ppm as {names}")
        kept = np.flatnonzero(keep)
        return Found(found.candidates.subset(kept), found.packed[kept], found.adducts, (*found.notes, note))

    def _masses(self, candidates: Candidates) -> tuple[np.ndarray, np.ndarray]:
        """Masses (Da) and charges of ``candidates`` as arrays, computed once for a list used for every spectrum."""
        if self._arrays[0] is not candidates:
            self._arrays = (candidates, np.array([s.mass for s in candidates.structures], dtype=np.float64),
                            np.array([s.charge for s in candidates.structures], dtype=np.int64))
        return self._arrays[1], self._arrays[2]


def mass_check_adducts(spectrum: QuerySpectrum, adducts: Sequence[str] | None = None) -> list[Adduct]:
    """The adducts a candidate's mass is checked for: the given ones, else the spectrum's own when it states one,
    else every common adduct of its ion mode (positive when unknown)."""
    if adducts or spectrum.metadata.get("adduct"):
        return adducts_for(spectrum, list(adducts) if adducts else None)
    mode = "negative" if spectrum.ion_mode == "negative" else "positive"
    return [a for a in ADDUCTS.values() if a.ion_mode == mode]


@dataclass
class Ranked:
    """One spectrum after the loop: its predicted bit probabilities and its ranking, or why it has none."""

    spectrum: QuerySpectrum
    probs: np.ndarray
    ranking: Ranking | None = None
    adducts: tuple[str, ...] = field(default_factory=tuple)
    skipped: str = ""  # the reason, when there is no ranking
    notes: tuple[str, ...] = field(default_factory=tuple)


class LatentScorer:
    """The latent score (:mod:`specvae.retrieval.scoring`) of each query spectrum's candidates: the spectra's
    posteriors come from one pass, the candidates' codes are encoded per list (kept for a list every spectrum uses)."""

    def __init__(self, predictor, queries: QuerySet):
        self.predictor = predictor
        self.mu, self.logvar = predict_latent(predictor, queries)
        self._last: tuple = (None, None)  # (packed, codes) of the last candidate list

    def __call__(self, index: int, packed: np.ndarray) -> np.ndarray:
        """Latent scores (nats) of ``packed`` candidate fingerprints for query spectrum ``index``."""
        if self._last[0] is not packed:
            self._last = (packed, self.predictor.fingerprint_codes(packed))
        return latent_nll(self.mu[index], self.logvar[index], self._last[1])


def scorer_for(predictor, queries: QuerySet, score: str) -> LatentScorer | None:
    """What ranks the candidates of ``queries``: ``None`` for the cross-entropy, a :class:`LatentScorer` for
    ``score="latent"`` (a one-line error for a model without a latent space)."""
    return LatentScorer(predictor, queries) if check_score(score) == "latent" else None


def rank_each(queries: QuerySet, probs: np.ndarray, candidates_for, progress: bool = False,
              description: str = "ranking", model=None, latent: LatentScorer | None = None) -> Iterator[Ranked]:
    """Rank the candidates of every usable spectrum of ``queries`` (``probs``: their predicted bits, in order).

    ``candidates_for(spectrum)`` is a candidate source (module docstring): it returns a :class:`Found` or the reason
    the spectrum has no candidates. ``model``: the run's confidence model
    (:class:`~specvae.training.confidence.ConfidenceModel`: candidate probabilities and the top hit's confidence).
    ``latent``: rank by the latent score instead of the cross-entropy (:func:`scorer_for`).
    """
    from specvae.progress import track

    for i, (spectrum, p) in enumerate(track(zip(queries.spectra, probs), description, total=len(probs),
                                            enabled=progress)):
        found = candidates_for(spectrum)
        if isinstance(found, str):
            yield Ranked(spectrum, p, skipped=found)
        else:
            scores = None if latent is None else latent(i, found.packed)
            yield Ranked(spectrum, p, rank_candidates(p, found.candidates, found.packed, model=model, latent=scores),
                         found.adducts, notes=found.notes)


def confidence_model(predictor, score: str = "cross-entropy"):
    """The confidence model of a predictor, logging what the probabilities and the confidence rest on. Ranked by
    the latent score, there is none: the run's ``confidence.json`` is fitted on cross-entropies."""
    from specvae.training.confidence import ConfidenceModel

    if score == "latent":
        log.info("ranked by the latent score: candidate probabilities use temperature 1 and no confidence is given "
                 "(the run's confidence is fitted on cross-entropies)")
        return ConfidenceModel()
    model = getattr(predictor, "confidence_model", None) or ConfidenceModel()
    if model.has_confidence:
        log.info("candidate probabilities: softmax of -cross_entropy / %.3g nats; confidence of the top hit from "
                 "the run's confidence.json (fitted on its validation spectra)", model.temperature)
    else:
        log.info("this model has no confidence.json (fit one with `specvae calibrate`): candidate probabilities use "
                 "temperature 1 and no confidence is given")
    return model


def summary_row(item: Ranked, notes: Sequence[str] = (), min_confidence: float | None = None) -> dict:
    """The :data:`SUMMARY_COLUMNS` of a ranked (or skipped) spectrum; ``notes`` are added to its own. A top hit whose
    confidence is below ``min_confidence`` is not given: the status says it is low-confidence."""
    s = item.spectrum
    ranking = item.ranking
    best = ranking.best() if ranking is not None else None
    status = f"skipped: {item.skipped}" if item.skipped else RANKED if best is not None else NO_CANDIDATES
    confidence = ranking.confidence if best is not None else None
    row = {"label": s.label, "record": s.record, "title": s.title, "precursor_mz": s.precursor_mz,
           "retention_time": s.retention_time, "scan": s.scan, "ion_mode": s.ion_mode,
           "adducts": ";".join(item.adducts), "n_candidates": len(ranking) if ranking is not None else 0,
           "confidence": None if confidence is None else f"{confidence:.3f}", "status": status,
           "notes": "; ".join((*notes, *item.notes))}
    if best is not None:
        first = int(ranking.order[0])
        row.update(top_name=ranking.candidates.names[first], top_inchikey=best[0].inchikey, top_smiles=best[0].smiles,
                   top_cross_entropy_nats=f"{ranking.cross_entropy[first]:.6g}",
                   top_probability=f"{ranking.probability[first]:.3g}")
        if min_confidence is not None and confidence is not None and confidence < min_confidence:
            row["status"] = f"{LOW_CONFIDENCE} ({confidence:.3f} < {min_confidence:g}): top hit not given"
            for key in ("top_name", "top_inchikey", "top_smiles", "top_cross_entropy_nats", "top_probability"):
                row[key] = None
    return row


RANKED, NO_CANDIDATES, LOW_CONFIDENCE = "ranked", "no candidates", "low confidence"


def write_summary(rows: list[dict], path: Path) -> None:
    """``summary.tsv``: a header and one tab-separated row per spectrum (empty cells for missing values)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, SUMMARY_COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)


def ranking_path(out: str | Path, label: str, suffix: str = ".tsv") -> Path:
    """Where a directory output ``out`` holds the ranking (``.tsv``; ``.casmi.tsv``, ``.fingerprint.tsv``) of the
    spectrum labelled ``label``."""
    return Path(out) / RANKINGS / f"{label}{suffix}"


SINGLE_SUFFIXES = (".tsv", ".casmi.tsv", ".fingerprint.tsv", ".rejects.tsv", ".report.html")  # of --out NAME.tsv
REPORT = "report.html"  # the HTML report of a directory output (its further pages in report/)


def _check_out(out: Path, single: bool, overwrite: bool) -> None:
    if not single:
        outputs.check_replaceable(out, KIND, overwrite)
        return
    for suffix in SINGLE_SUFFIXES:
        target = out.with_name(out.name[: -len(".tsv")] + suffix)
        if target.exists() and (not overwrite or target.is_dir()):
            raise FileExistsError(f"{target} exists; pass --overwrite to replace it or choose another --out"
                                  if not target.is_dir() else f"{target} is a directory; choose another --out")


def _publish_single(tmp: Path, out: Path) -> None:
    """Move the files of a single-spectrum output into place; the names of this kind that the run did not write
    (a rejects file of an earlier run) are removed, so that what is there afterwards is this run's."""
    stem = out.name[: -len(".tsv")]
    for suffix in SINGLE_SUFFIXES:
        made, target = tmp / f"{stem}{suffix}", out.with_name(stem + suffix)
        if made.exists():
            os.replace(made, target)
        elif target.is_file():
            target.unlink()


def rank_spectra(spectra: str | Path, predictor, out: str | Path | None = None, candidates: str | Path | None = None,
                 db: str | Path | None = None, ppm: float = PPM, adducts: list[str] | None = None,
                 mode: str = "mean", n_samples: int = SAMPLES, seed: int = 0, casmi: bool = False,
                 fingerprint_tsv: bool = False, top: int | None = None, ion_mode: str | None = None,
                 mass_check: bool = True, min_confidence: float | None = None, score: str = "cross-entropy",
                 report: bool = True, cache=None, workers: int = 1, overwrite: bool = False, progress: bool = False,
                 record_settings: dict | None = None) -> dict:
    """Rank candidates for every spectrum of ``spectra`` (layout of the outputs: module docstring).

    ``out`` defaults to ``<name of spectra up to its first dot>.ranked`` in the working directory. Candidates come
    from a ``candidates`` file (the same list for every spectrum; with ``mass_check``, the default, only those whose
    mass fits the precursor m/z within ``ppm``) or from a structure database ``db`` (per spectrum, by precursor m/z
    within ``ppm`` for ``adducts``; default the spectrum's adduct or ``[M+H]+`` / ``[M-H]-``). ``mode`` ``"mean"``
    uses the posterior mean, ``"sample"`` averages ``n_samples`` posterior samples. ``ion_mode`` overrides the
    polarity the files state (for files such as the CASMI 2016 MGFs, which say ``CHARGE=1+`` for negative spectra).
    ``record_settings`` are written as ``settings.yaml`` into a directory output. ``min_confidence`` (0-1): the top
    hit of a spectrum whose confidence is lower is not given (its ranking is not written; ``summary.tsv`` lists it as
    low-confidence); it needs a model with a confidence (``confidence.json``). ``score``: what candidates are ranked
    by, ``"cross-entropy"`` or ``"latent"`` (multimodal VAEs; :mod:`specvae.retrieval.scoring`). ``report``: also
    write the HTML report
    (:mod:`specvae.retrieval.report`). Returns counts: spectra read, ranked (at least one candidate), low-confidence,
    without candidates, skipped, candidate rows read and rejected.
    """
    check_score(score)
    if min_confidence is not None and score == "latent":
        raise InputError("--min-confidence needs --score cross-entropy: the confidence is fitted on cross-entropies")
    if min_confidence is not None and not 0 <= min_confidence <= 1:
        raise InputError(f"--min-confidence must lie between 0 and 1, not {min_confidence:g}")
    if min_confidence is not None and not getattr(getattr(predictor, "confidence_model", None), "has_confidence",
                                                  False):
        raise InputError("--min-confidence needs a model with a confidence (confidence.json, written by `specvae "
                         "train` and `specvae calibrate`); this one has none")
    if (candidates is None) == (db is None):
        raise InputError("give exactly one candidate source: --candidates FILE or --db STRUCTURES.parquet")
    if ion_mode not in (None, "positive", "negative"):
        raise InputError(f"ion mode must be positive or negative, not {ion_mode!r}")
    check_ppm(ppm)
    if candidates is not None and not mass_check and ppm != PPM:
        log.warning("--ppm %g has no effect: with --candidates it is the tolerance of the mass check, which is off",
                    ppm)
    out = Path(out) if out is not None else Path(Path(spectra).name.split(".")[0] + ".ranked")
    single = out.suffix.lower() == ".tsv"
    _check_out(out, single, overwrite)  # before any work; again under the lock
    with outputs.locked(out):
        _check_out(out, single, overwrite)
        return _rank_into(spectra, predictor, out, single, candidates=candidates, db=db, ppm=ppm, adducts=adducts,
                          mode=mode, n_samples=n_samples, seed=seed, casmi=casmi, fingerprint_tsv=fingerprint_tsv,
                          top=top, ion_mode=ion_mode, mass_check=mass_check, min_confidence=min_confidence,
                          score=score, report=report, cache=cache, workers=workers, progress=progress,
                          record_settings=record_settings)


def _rank_into(spectra, predictor, out: Path, single: bool, *, candidates, db, ppm, adducts, mode, n_samples, seed,
               casmi, fingerprint_tsv, top, ion_mode, mass_check, min_confidence, score, report, cache, workers,
               progress, record_settings) -> dict:
    """The body of :func:`rank_spectra`, run while holding the lock of ``out``."""
    from specvae.chem.fingerprints import bit_names
    from specvae.retrieval.candidates import candidate_fingerprints, load_candidates, write_rejects
    from specvae.retrieval.db import StructureDB
    from specvae.retrieval.report import ReportWriter
    from specvae.retrieval.scoring import write_casmi_submission, write_fingerprint, write_ranking

    queries = load_query_spectra(spectra, ion_mode=ion_mode)
    if single and len(queries.spectra) + len(queries.skipped) != 1:
        raise InputError(f"{spectra} holds {len(queries.spectra) + len(queries.skipped)} spectra; --out {out} names "
                         "one file: give a directory instead")
    if not queries.spectra:
        reasons = "; ".join(f"{s.label}: {s.reason}" for s in queries.skipped[:3])
        raise InputError(f"no usable spectrum in {spectra}" + (f" ({reasons})" if reasons else ""))
    probs = predict(predictor, queries, mode=mode, n_samples=n_samples, seed=seed)
    latent = scorer_for(predictor, queries, score)
    fixed = None
    if candidates is not None:
        fixed = load_candidates(candidates, workers=workers, progress=progress, cache=cache)
        source = OneList(fixed, candidate_fingerprints(fixed.structures, predictor.spec, cache=cache, workers=workers,
                                                       progress=progress))
        if mass_check:
            source = MassChecked(source, adducts, ppm)
    else:
        store = StructureDB(db)
        store.check_spec(predictor.spec)
        source = FromDatabase(store, adducts, ppm)
    tmp = outputs.staging(out, KIND)
    try:
        stem = out.name[: -len(".tsv")] if single else None
        rankings = tmp if single else tmp / RANKINGS
        rankings.mkdir(exist_ok=True)
        summary = [{"label": s.label, "record": s.record, "n_candidates": 0, "status": f"skipped: {s.reason}"}
                   for s in queries.skipped]
        n_rejected = 0
        if fixed is not None and fixed.rejects:
            n_rejected = write_rejects(fixed.rejects, tmp / (f"{stem}.rejects.tsv" if stem else "rejects.tsv"))
        trained = getattr(predictor, "ion_mode", None)
        model = confidence_model(predictor, score)
        names = bit_names(predictor.spec) if fingerprint_tsv or report else None
        pages = ReportWriter(tmp / (f"{stem}.report.html" if stem else REPORT), names, title=f"specvae rank: "
                             f"{Path(spectra).name}", model=getattr(predictor, "source", "")) if report else None
        for item in rank_each(queries, probs, source, progress=progress, model=model, latent=latent):
            mode_note = [f"{item.spectrum.ion_mode}-mode spectrum; the model was trained on {trained} spectra"] if (
                trained and item.spectrum.ion_mode and item.spectrum.ion_mode != trained) else []
            row = summary_row(item, mode_note, min_confidence)
            summary.append(row)
            if pages is not None:
                pages.add(item, row, mass_check_adducts(item.spectrum, adducts))
            if item.ranking is None or row["status"] != RANKED:
                continue
            base = rankings / (stem or item.spectrum.label)
            write_ranking(item.ranking, base.with_name(base.name + ".tsv"), top=top,
                          precursor_mz=item.spectrum.precursor_mz, adducts=mass_check_adducts(item.spectrum, adducts))
            if casmi:
                write_casmi_submission(item.ranking, base.with_name(base.name + ".casmi.tsv"))
            if fingerprint_tsv:
                write_fingerprint(item.probs, base.with_name(base.name + ".fingerprint.tsv"), names)
        if pages is not None:
            pages.close()
        statuses = [row["status"] for row in summary]
        counts = {"spectra": len(summary), "ranked": statuses.count(RANKED),
                  "low_confidence": sum(status.startswith(LOW_CONFIDENCE) for status in statuses),
                  "no_candidates": statuses.count(NO_CANDIDATES),
                  "skipped": sum(status.startswith("skipped") for status in statuses),
                  "candidate_rows": fixed.n_read if fixed else None, "rejected_candidates": n_rejected,
                  "out": str(out), "report": str(out.with_name(f"{stem}.report.html") if single else out / REPORT)
                  if report else None}
        if single:
            if not (tmp / f"{stem}.tsv").exists():
                raise InputError(f"nothing ranked for {spectra}: {summary[-1]['status']}")
            _publish_single(tmp, out)
        else:
            write_summary(summary, tmp / "summary.tsv")
            if record_settings is not None:
                from specvae.settings import SETTINGS_FILE, write_settings

                write_settings(tmp / SETTINGS_FILE, record_settings, "rank")
            outputs.publish(tmp, out, KIND, durable=False)
    finally:
        outputs.discard(tmp)
    return counts
