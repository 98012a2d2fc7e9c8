"""``specvae rank``: rank candidate structures for each spectrum of a file."""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli import _options as opt
from specvae.cli._app import command, show_progress


@command(name="rank")
def rank_cmd(
    spectra: Path = typer.Argument(None, help="MGF, MSP, mzML or JSON file with one or many spectra."),
    model: Path = opt.MODEL,
    candidates: Path = typer.Option(None, "--candidates", "-c", help="CSV/TSV (.gz) with a SMILES or InChI column "
                                                                     "and optional id / name columns."),
    db: Path = typer.Option(None, "--db", help="Structure database from `specvae db build` (instead of --candidates)."),
    ppm: float = opt.PPM,
    adducts: list[str] = opt.ADDUCTS,
    out: Path = typer.Option(None, "--out", "-o", help="NAME.tsv for a single spectrum, else a directory "
                                                       "(default: <SPECTRA>.ranked)."),
    casmi: bool = typer.Option(None, "--casmi", help="Also write CASMI submission files (SMILES, score)."),
    fingerprint_tsv: bool = typer.Option(None, "--fingerprint-tsv", help="Also write the predicted fingerprint."),
    top: int = typer.Option(None, "--top", help="Write only the best N candidates per spectrum."),
    ion_mode: str = typer.Option(None, "--ion-mode", help="positive or negative: overrides the polarity in the file."),
    mass_check: bool = typer.Option(None, "--mass-check/--no-mass-check", help="With --candidates: rank only the "
                                    "candidates whose mass fits the precursor m/z within --ppm (default: on)."),
    min_confidence: float = typer.Option(None, "--min-confidence", help="Give a top hit only when the confidence "
                                         "that it is right is at least this (0-1); the others are listed as "
                                         "low-confidence in summary.tsv."),
    mode: str = opt.MODE, samples: int = opt.SAMPLES, seed: int = opt.SEED, score: str = opt.SCORE,
    checkpoint: str = opt.CHECKPOINT, calibration: str = opt.CALIBRATION, gpu: int = opt.GPU,
    workers: int = opt.WORKERS, threads: int = opt.THREADS,
    cache: Path = opt.CACHE, no_cache: bool = opt.NO_CACHE, config: Path = opt.CONFIG,
    overwrite: bool = opt.OVERWRITE,
):
    """Rank candidates by the cross-entropy between their fingerprints and the one predicted from each spectrum
    (or, for a multimodal VAE with --score latent, by how well their latent codes fit the spectrum)."""
    from specvae.retrieval.ranking import rank_spectra

    n_threads = opt.use_threads(threads)
    s = opt.settings(config, [(opt.ModelChoice, ()), (rank_spectra, ("predictor",))], dict(
        model=model, checkpoint=checkpoint, gpu=gpu, calibration=calibration, spectra=spectra, out=out,
        candidates=candidates, db=db, ppm=ppm,
        adducts=adducts or None, mode=mode, n_samples=samples, seed=seed, score=score, casmi=casmi,
        fingerprint_tsv=fingerprint_tsv,
        top=top, ion_mode=ion_mode, mass_check=mass_check, min_confidence=min_confidence,
        workers=opt.workers_or_threads(workers, n_threads, config)), required=opt.REQUIRED)
    predictor = opt.load_predictor(s["model"], s["checkpoint"], s["gpu"], s["calibration"])
    ranking = {k: v for k, v in s.items() if k not in ("model", "checkpoint", "gpu", "calibration")}
    counts = rank_spectra(predictor=predictor, **ranking, cache=opt.cache_from(cache, no_cache), overwrite=overwrite,
                          progress=show_progress(), record_settings=s)
    n_rejected = counts["rejected_candidates"]
    rejected = f"; {n_rejected} invalid candidate rows skipped" if n_rejected else ""
    none = f"; {counts['no_candidates']} had no candidates" if counts["no_candidates"] else ""
    skipped = f"; {counts['skipped']} spectra skipped" if counts["skipped"] else ""
    low = f"; {counts['low_confidence']} below --min-confidence" if counts["low_confidence"] else ""
    see = " (see summary.tsv)" if (none or skipped or low) and not str(counts["out"]).endswith(".tsv") else ""
    typer.echo(f"ranked {counts['ranked']} of {counts['spectra']} spectra into {counts['out']}{low}{none}{skipped}"
               f"{see}{rejected}")
    if counts.get("report"):
        typer.echo(f"report: {counts['report']}")
