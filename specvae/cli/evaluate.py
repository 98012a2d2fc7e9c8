"""``specvae evaluate casmi``: rank of the correct structure per challenge, Top-k, per ion mode."""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli import _options as opt
from specvae.cli._app import command, evaluate_app, show_progress


@command(evaluate_app, name="casmi")
def casmi_cmd(
    challenges: Path = typer.Option(None, "--challenges", help="Directory of Challenge-NNN.mgf files."),
    solutions: Path = typer.Option(None, "--solutions", help="Solutions CSV (ChallengeName, ION_MODE, SMILES, ...)."),
    model: Path = opt.MODEL,
    out: Path = typer.Option(None, "--out", "-o", help="Directory for results.tsv, summary.json/.md, topk.png."),
    candidates: Path = typer.Option(None, "--candidates", help="Directory of Challenge-NNN.csv[.gz] lists."),
    db: Path = typer.Option(None, "--db", help="Structure database (instead of --candidates)."),
    ion_mode: str = typer.Option(None, "--ion-mode", help="Only positive or negative challenges."),
    limit: int = typer.Option(None, "--limit", help="Only the first N challenges (sorted by name)."),
    ppm: float = opt.PPM, adducts: list[str] = opt.ADDUCTS,
    mode: str = opt.MODE, samples: int = opt.SAMPLES, seed: int = opt.SEED, score: str = opt.SCORE,
    checkpoint: str = opt.CHECKPOINT, calibration: str = opt.CALIBRATION, gpu: int = opt.GPU,
    workers: int = opt.WORKERS, threads: int = opt.THREADS,
    cache: Path = opt.CACHE, no_cache: bool = opt.NO_CACHE, config: Path = opt.CONFIG,
    overwrite: bool = opt.OVERWRITE,
):
    """Evaluate a model on CASMI-style challenges (polarity from the solutions file)."""
    from specvae.retrieval.casmi import evaluate_casmi

    n_threads = opt.use_threads(threads)
    s = opt.settings(config, [(opt.ModelChoice, ()), (evaluate_casmi, ("predictor", "settings"))], dict(
        model=model, checkpoint=checkpoint, gpu=gpu, calibration=calibration, challenges=challenges,
        solutions=solutions, out=out, candidates=candidates, db=db, ion_mode=ion_mode, limit=limit, ppm=ppm,
        adducts=adducts or None, mode=mode, n_samples=samples, seed=seed, score=score,
        workers=opt.workers_or_threads(workers, n_threads, config)), required=opt.REQUIRED)
    evaluation = {k: v for k, v in s.items() if k not in ("model", "checkpoint", "gpu", "calibration")}
    predictor = opt.load_predictor(s["model"], s["checkpoint"], s["gpu"], s["calibration"])
    summary = evaluate_casmi(predictor=predictor, **evaluation, cache=opt.cache_from(cache, no_cache),
                             overwrite=overwrite, progress=show_progress(), record_settings=s,
                             settings={"model": str(s["model"] or "default (packaged)"), "checkpoint": s["checkpoint"],
                                       "calibration": s["calibration"], "command": opt.command_line()})
    for group, m in summary["metrics"].items():
        typer.echo(f"{group}: {m['challenges']} challenges, Top-1 {m['top1']}, Top-3 {m['top3']}, "
                   f"Top-10 {m['top10']}, median rank {m['median_rank']}")
    typer.echo(f"reports in {s['out']}")


@command(evaluate_app, name="split")
def split_cmd(
    model: Path = typer.Option(..., "--model", "-m", help="Run directory written by `specvae train`."),
    split: str = typer.Option("test", "--split", help="test (never used in training or to choose the best epoch) "
                                                      "or validation."),
    data: Path = typer.Option(None, "--data", "-d", help="Dataset (default: the one the run was trained on)."),
    checkpoint: str = typer.Option("best", "--checkpoint", help="Weights to evaluate: best, last or epoch-N."),
    candidates: int = typer.Option(100, "--candidates", help="Candidates per spectrum: its structure and the "
                                                             "nearest others in mass."),
    out: Path = typer.Option(None, "--out", "-o", help="Also write the metrics to this JSON file."),
    gpu: int = opt.GPU, threads: int = opt.THREADS,
):
    """Score a run on a held-out split of its dataset: fingerprint cross-entropy and the rank of each spectrum's
    structure among the structures nearest in mass, beside the bit-frequency baseline."""
    import json

    from specvae.training.spectra import split_metrics

    opt.use_threads(threads)
    result = split_metrics(model, split, data, checkpoint=checkpoint, gpu=gpu, n_candidates=candidates)
    typer.echo(f"{result['split']} split: {result['spectra']} spectra of {result['structures']} structures, each "
               f"ranking its structure among {result['candidates']} candidates")
    for name, m in (("model", result["model"]), ("bit-frequency baseline", result["baseline"])):
        typer.echo(f"{name}: cross-entropy {m['fp_ce']:.1f} nats, Top-1 {m['top1']:.3f}, Top-10 {m['top10']:.3f}, "
                   f"median rank {m['median_rank']:g}")
    if out is not None:
        out.write_text(json.dumps({**result, "model_run": str(model), "checkpoint": checkpoint}, indent=2) + "\n",
                       encoding="utf-8")
