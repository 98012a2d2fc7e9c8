"""CASMI-style evaluation: the rank of the correct structure per challenge, Top-k, mean and median rank, per ion mode.

Inputs are laid out as in CASMI 2016 (``shared/data/casmi2016``): challenge spectra ``Challenge-NNN.mgf`` (one
spectrum each), a solutions CSV (``ChallengeName``, ``ION_MODE`` -- written with a leading space -- and the answer's
``SMILES``/``INCHI``), and either one candidate list per challenge (``Challenge-NNN.csv.gz`` or ``.csv``) or a structure
database queried by the precursor m/z (``[M+H]+`` for positive, ``[M-H]-`` for negative challenges unless adducts are
given). The ion mode always comes from the solutions file: the CASMI 2016 MGFs say ``CHARGE=1+`` even for negative
challenges.

Conventions: the answer is identified by the first InChIKey block computed by RDKit from its SMILES (InChI as the
fallback); its rank among the challenge's candidates has ties averaged; Top-k counts challenges with rank <= k out of
*all* challenges evaluated, so a challenge whose answer is not among its candidates (or whose spectrum is unusable)
counts as a miss; mean and median rank are over the challenges whose answer was ranked.

Outputs in the ``out`` directory: ``results.tsv`` (one line per challenge, with the confidence of its top hit),
``summary.json`` (with the reliability of the confidence), ``summary.md``, ``topk.png``, ``report.html``
(:mod:`specvae.retrieval.report`) and ``settings.yaml``, written together (:mod:`specvae.outputs`: a staging
directory replaces ``out`` at the end, one process at a time; ``--overwrite`` replaces only an earlier evaluation).
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specvae import outputs
from specvae.errors import InputError
from specvae.retrieval.casmi_report import TOP_K, write_reports
from specvae.retrieval.db import PPM, check_ppm
from specvae.retrieval.queries import SAMPLES
from specvae.retrieval.scoring import check_score

log = logging.getLogger("specvae.evaluate")


def casmi2016_layout(root: str | Path) -> dict[str, Path]:
    """``challenges``, ``solutions`` and ``candidates`` of a folder laid out as ``shared/data/casmi2016`` (the
    organisers' layout), named as :func:`evaluate_casmi`'s arguments: ``evaluate_casmi(**casmi2016_layout(root),
    predictor=..., out=...)``."""
    root = Path(root)
    return {"challenges": root / "spectra_raw_mgf" / "challenge",
            "solutions": root / "solutions" / "casmi_2016_challenge_test.csv", "candidates": root / "candidates"}

# Published CASMI 2016 category 2 results on the 127 positive challenges (NOTES.md): correct structure ranked first /
# within the top 10.
ANCHORS = {"CSI:FingerID": {"top1": 70, "top10": 100, "of": 127}}


@dataclass(frozen=True)
class Solution:
    challenge: str
    ion_mode: str  # "positive" | "negative"
    inchikey14: str
    smiles: str
    name: str = ""


def read_solutions(path: str | Path) -> dict[str, Solution]:
    """Challenge name -> :class:`Solution` from a CASMI solutions CSV (column names matched case-insensitively)."""
    import pandas as pd

    from specvae.chem.structures import StructureError, parse_structure

    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    cols = {c.strip().lower(): c for c in table.columns}
    need = {"challengename", "ion_mode"}
    if not need <= cols.keys() or not ({"smiles", "inchi", "iupac"} & cols.keys()):
        raise InputError(f"{path} is not a CASMI solutions file: it needs ChallengeName, ION_MODE and SMILES or INCHI "
                         f"columns (found: {', '.join(table.columns)})")
    inchi_col = cols.get("inchi", cols.get("iupac"))
    out = {}
    for _, row in table.iterrows():
        name = row[cols["challengename"]].strip()
        mode = row[cols["ion_mode"]].strip().lower()
        if mode not in ("positive", "negative"):
            raise InputError(f"{path}: challenge {name} has ion mode {mode!r}; expected POSITIVE or NEGATIVE")
        try:
            _, canon = parse_structure(row.get(cols.get("smiles", ""), ""), row[inchi_col] if inchi_col else None)
        except StructureError as exc:
            raise InputError(f"{path}: the answer of {name} cannot be parsed ({exc})") from None
        out[name] = Solution(name, mode, canon.inchikey14, canon.smiles, row.get(cols.get("name", ""), ""))
    return out


def find_challenges(directory: str | Path, solutions: dict[str, Solution], ion_mode: str | None = None,
                    limit: int | None = None) -> dict[str, Path]:
    """Challenge name -> MGF path for the challenges of ``directory`` that have a solution (and the ion mode)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(20, "challenge directory not found", str(directory))
    found = {}
    for path in sorted(directory.iterdir()):
        match = re.match(r"^(.+?)\.mgf(\.gz)?$", path.name, flags=re.I)
        if match and match.group(1) in solutions and ion_mode in (None, solutions[match.group(1)].ion_mode):
            found[match.group(1)] = path
    if not found:
        raise InputError(f"no challenge MGF in {directory} matches the solutions" +
                         (f" in {ion_mode} mode" if ion_mode else ""))
    return dict(list(found.items())[:limit]) if limit else found


def topk_counts(ranks: list[float | None], ks=TOP_K) -> dict[str, int]:
    """Number of challenges with rank <= k (missing answers are misses)."""
    return {f"top{k}": int(sum(r is not None and r <= k for r in ranks)) for k in ks}


def summarize(results: list[dict]) -> dict:
    """Metrics over all challenges and per ion mode (keys ``all``, ``positive``, ``negative``)."""
    out = {}
    for group in ("all", "positive", "negative"):
        rows = [r for r in results if group == "all" or r["ion_mode"] == group]
        if not rows:
            continue
        ranks = [r["rank"] for r in rows]
        ranked = np.array([r for r in ranks if r is not None], dtype=float)
        out[group] = {"challenges": len(rows), "answer_ranked": int(len(ranked)),
                      "answer_missing": int(sum(not r["answer_in_candidates"] for r in rows)),
                      "spectrum_skipped": int(sum(r["status"].startswith("skipped") for r in rows)),
                      **topk_counts(ranks),
                      "mean_rank": float(ranked.mean()) if len(ranked) else None,
                      "median_rank": float(np.median(ranked)) if len(ranked) else None,
                      "median_candidates": float(np.median([r["n_candidates"] for r in rows]))}
    return out


def evaluate_casmi(challenges: str | Path, solutions: str | Path, predictor, out: str | Path,
                   candidates: str | Path | None = None, db: str | Path | None = None, ppm: float = PPM,
                   adducts: list[str] | None = None, ion_mode: str | None = None, limit: int | None = None,
                   mode: str = "mean", n_samples: int = SAMPLES, seed: int = 0, score: str = "cross-entropy",
                   cache=None, workers: int = 1, overwrite: bool = False, progress: bool = False,
                   settings: dict | None = None, record_settings: dict | None = None) -> dict:
    """Evaluate ``predictor`` on CASMI-style challenges and write the reports (module docstring); returns the summary.

    Candidates come from ``candidates`` (a directory of ``<challenge>.csv[.gz]``) or the database ``db``.
    ``ion_mode`` restricts to one mode, ``limit`` to the first challenges (sorted by name). ``settings`` are added to
    ``summary.json``; ``record_settings`` are written as ``settings.yaml``.
    """
    if (candidates is None) == (db is None):
        raise InputError("give exactly one candidate source: --candidates DIR or --db STRUCTURES.parquet")
    if ion_mode not in (None, "positive", "negative"):
        raise InputError(f"--ion-mode must be positive or negative, not {ion_mode!r}")
    check_ppm(ppm)
    check_score(score)
    if candidates is not None and ppm != PPM:
        log.warning("--ppm %g has no effect with --candidates (it is the tolerance of --db queries)", ppm)
    out = Path(out)
    outputs.check_replaceable(out, KIND, overwrite)
    with outputs.locked(out):
        outputs.check_replaceable(out, KIND, overwrite)
        return _evaluate(challenges, solutions, predictor, out, candidates, db, ppm, adducts, ion_mode, limit, mode,
                         n_samples, seed, score, cache, workers, progress, settings, record_settings)


KIND = "evaluate"  # the kind of output directory (specvae.outputs)


def _evaluate(challenges, solutions, predictor, out: Path, candidates, db, ppm, adducts, ion_mode, limit, mode,
              n_samples, seed, score, cache, workers, progress, settings, record_settings) -> dict:
    """The body of :func:`evaluate_casmi`, run while holding the lock of ``out``."""
    started = time.perf_counter()
    sols = read_solutions(solutions)
    paths = find_challenges(challenges, sols, ion_mode, limit)
    items: dict = {}
    results, timings = gather_rankings(paths, sols, predictor, candidates=candidates, db=db, ppm=ppm, adducts=adducts,
                                       mode=mode, n_samples=n_samples, seed=seed, score=score, cache=cache,
                                       workers=workers, progress=progress, keep=items)
    summary = {"metrics": summarize(results), "confidence": confidence_summary(results), "anchors": ANCHORS,
               "settings": {"challenges": str(challenges), "solutions": str(solutions),
                            "candidates": str(candidates) if candidates else None, "db": str(db) if db else None,
                            "ppm": ppm if db else None, "adducts": adducts, "ion_mode": ion_mode, "limit": limit,
                            "mode": mode, "n_samples": n_samples if mode == "sample" else None, "seed": seed,
                            "score": score,
                            "fingerprint": json.loads(predictor.spec.to_json()),
                            "model_ion_mode": getattr(predictor, "ion_mode", None), **(settings or {})},
               "seconds": {**timings, "total": round(time.perf_counter() - started, 2)}}
    tmp = outputs.staging(out, KIND)
    try:
        write_reports(results, summary, tmp)
        clock = time.perf_counter()
        _write_html(items, results, sols, predictor, tmp / "report.html", adducts, str(challenges))
        summary["seconds"]["report"] = round(time.perf_counter() - clock, 2)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        if record_settings is not None:
            from specvae.settings import SETTINGS_FILE, write_settings

            write_settings(tmp / SETTINGS_FILE, record_settings, "evaluate casmi")
        outputs.publish(tmp, out, KIND)
    finally:
        outputs.discard(tmp)
    return summary


def _load_candidate_lists(names: list[str], directory: Path, workers: int, progress: bool, cache=None):
    """Per challenge: merged :class:`Candidates` (or a reason string); all files canonicalised in one parallel pass."""
    from specvae.chem.structures import parse_many
    from specvae.readers.structures import read_structures
    from specvae.retrieval.candidates import merge_rows

    rows, missing = {}, {}
    for name in names:
        path = next((p for p in (directory / f"{name}.csv.gz", directory / f"{name}.csv") if p.is_file()), None)
        if path is None:
            missing[name] = f"no candidate file {name}.csv[.gz] in {directory}"
            continue
        try:
            rows[name] = list(read_structures(path))
        except InputError as exc:
            missing[name] = str(exc)
    flat = [r for name in rows for r in rows[name]]
    canon = parse_many([(r.smiles, r.inchi) for r in flat], workers=workers, progress=progress, cache=cache)
    out, start = dict(missing), 0
    for name, these in rows.items():
        out[name] = merge_rows(these, canon[start:start + len(these)])
        start += len(these)
    return out


def load_challenge_spectra(paths: dict[str, Path], sols: dict[str, Solution]):
    """The binned spectrum of every challenge (the first of its file, labelled with the challenge's name, in the ion
    mode of its solution) as a :class:`~specvae.retrieval.queries.QuerySet`, and challenge name -> why it has none."""
    from specvae.retrieval.queries import QuerySet, load_query_spectra

    queries, skipped = QuerySet([], []), {}
    for name, path in paths.items():
        q = load_query_spectra(path, ion_mode=sols[name].ion_mode)
        if q.spectra:
            q.spectra[0].label = name
            queries.spectra.append(q.spectra[0])
        else:
            skipped[name] = q.skipped[0].reason if q.skipped else "no spectrum in the file"
    return queries, skipped


def gather_rankings(paths: dict[str, Path], sols: dict[str, Solution], predictor, *, candidates, db, ppm: float,
                    adducts, mode: str, n_samples: int, seed: int, cache, workers: int,
                    progress: bool, keep: dict | None = None, score: str = "cross-entropy") -> tuple[list[dict], dict]:
    """Rank every challenge's candidates with the ranking loop of :mod:`specvae.retrieval.ranking`; returns one
    result dict per challenge (:data:`~specvae.retrieval.casmi_report.RESULT_COLUMNS`) and the timings. ``keep``
    (a dict) receives the :class:`~specvae.retrieval.ranking.Ranked` item of every challenge, for the HTML report."""
    from specvae.retrieval.candidates import candidate_fingerprints
    from specvae.retrieval.db import StructureDB
    from specvae.retrieval.queries import predict
    from specvae.retrieval.ranking import FromDatabase, ListPerSpectrum, confidence_model, rank_each, scorer_for

    clock, seconds = time.perf_counter(), {}
    queries, skipped = load_challenge_spectra(paths, sols)
    probs = predict(predictor, queries, mode, n_samples, seed)
    latent = scorer_for(predictor, queries, score)
    seconds["spectra_and_prediction"] = round(time.perf_counter() - clock, 2)
    clock = time.perf_counter()
    if candidates is not None:
        lists = _load_candidate_lists([s.label for s in queries.spectra], Path(candidates), workers, progress, cache)
        unique = {s.inchikey: s for c in lists.values() if not isinstance(c, str) for s in c.structures}
        seconds["candidate_parsing"] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()
        packed = candidate_fingerprints(list(unique.values()), predictor.spec, cache=cache, workers=workers,
                                        progress=progress)
        source = ListPerSpectrum(lists, packed, {key: i for i, key in enumerate(unique)})
        seconds["candidate_fingerprints"] = round(time.perf_counter() - clock, 2)
    else:
        store = StructureDB(db)
        store.check_spec(predictor.spec)
        source = FromDatabase(store, adducts, ppm)
    clock = time.perf_counter()
    ranked = {item.spectrum.label: item for item in rank_each(queries, probs, source, progress=progress,
                                                              description="ranking challenges",
                                                              model=confidence_model(predictor, score),
                                                              latent=latent)}
    seconds["ranking"] = round(time.perf_counter() - clock, 2)
    if keep is not None:
        keep.update(ranked)
    return [_result(sols[name], ranked.get(name), skipped.get(name)) for name in paths], seconds


def _result(sol: Solution, item, spectrum_skipped: str | None) -> dict:
    """The result row of one challenge: where its answer ranks, or why it was not ranked."""
    row = {"challenge": sol.challenge, "ion_mode": sol.ion_mode, "precursor_mz": None, "adducts": "",
           "n_candidates": 0, "n_rejected": 0, "answer_inchikey14": sol.inchikey14, "answer_in_candidates": False,
           "rank": None, "answer_score": None, "best_score": None, "top_inchikey14": "", "top_smiles": "",
           "top_probability": None, "confidence": None, "top1_right": False, "status": "ranked"}
    if item is None:
        row["status"] = f"skipped: {spectrum_skipped}"
        return row
    row.update(precursor_mz=item.spectrum.precursor_mz, adducts=";".join(item.adducts))
    if item.ranking is None:
        row["status"] = f"skipped: {item.skipped}"
        return row
    ranking = item.ranking
    rank = ranking.rank_of(sol.inchikey14)
    best = ranking.best()
    row.update(n_candidates=len(ranking), n_rejected=len(ranking.candidates.rejects),
               answer_in_candidates=rank is not None, rank=rank, answer_score=ranking.score_of(sol.inchikey14),
               best_score=None if best is None else best[1],
               top_inchikey14="" if best is None else best[0].inchikey14,
               top_smiles="" if best is None else best[0].smiles,
               top_probability=None if best is None else float(ranking.probability[int(ranking.order[0])]),
               confidence=ranking.confidence, top1_right=best is not None and best[0].inchikey14 == sol.inchikey14
               and rank == 1,
               status="ranked" if rank is not None else "answer not among the candidates")
    return row


CONFIDENCE_BINS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


def confidence_summary(results: list[dict], bins=CONFIDENCE_BINS) -> dict | None:
    """How well the confidence of the top hit predicts that it is right: per confidence bin, the challenges and the
    share whose top hit is right, and of the top hits given confidence >= 0.5, how many are right (``None`` when the
    model has no confidence)."""
    rows = [r for r in results if r["confidence"] is not None]
    if not rows:
        return None
    conf = np.array([r["confidence"] for r in rows])
    right = np.array([bool(r["top1_right"]) for r in rows])
    table = []
    for lo, hi in zip(bins[:-1], bins[1:]):
        inside = (conf >= lo) & ((conf < hi) if hi < 1 else (conf <= hi))
        table.append({"bin": [lo, hi], "challenges": int(inside.sum()), "top1_right": int(right[inside].sum()),
                      "mean_confidence": float(conf[inside].mean()) if inside.any() else None})
    confident = conf >= 0.5
    return {"challenges": len(rows), "top1_right": int(right.sum()), "bins": table,
            "confident": int(confident.sum()), "confident_right": int(right[confident].sum()),
            "mean_confidence": float(conf.mean())}


def _write_html(items: dict, results: list[dict], sols: dict, predictor, path: Path, adducts, title: str) -> None:
    """The HTML report of an evaluation (:mod:`specvae.retrieval.report`): every ranked challenge, answer marked."""
    from specvae.chem.fingerprints import bit_names
    from specvae.retrieval.ranking import mass_check_adducts
    from specvae.retrieval.report import ReportWriter

    writer = ReportWriter(path, bit_names(predictor.spec), title=f"specvae evaluate casmi: {title}",
                          model=getattr(predictor, "source", ""),
                          answers={name: sol.inchikey14 for name, sol in sols.items()})
    for r in results:
        item = items.get(r["challenge"])
        if item is None:
            continue
        row = {"n_candidates": r["n_candidates"], "adducts": r["adducts"], "status": r["status"],
               "confidence": None if r["confidence"] is None else f"{r['confidence']:.3f}",
               "top_probability": r["top_probability"],
               "notes": f"answer rank {r['rank']:g}" if r["rank"] is not None else ""}
        writer.add(item, row, mass_check_adducts(item.spectrum, adducts))
    writer.close()
