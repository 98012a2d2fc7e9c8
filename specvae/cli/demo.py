"""``specvae demo``: ingest -> train -> rank on the MassBank sample shipped with the package."""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli import _options as opt
from specvae.cli._app import command, show_progress
from specvae.cli._options import given


@command(name="demo")
def demo_cmd(
    out: Path = typer.Option(Path("specvae-demo"), "--out", "-o", help="Directory for every stage's output."),
    epochs: int = typer.Option(None, "--epochs", help="Training epochs (default 10; a few seconds each on a CPU)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it is not empty."),
    threads: int = opt.THREADS,
):
    """Run the whole pipeline on 2,000 packaged MassBank spectra and report how well test spectra are annotated."""
    from specvae.demo import run_demo

    opt.use_threads(threads)
    s = run_demo(out, overwrite=overwrite, progress=show_progress(), **given(epochs=epochs))
    v, b, r = s["validation"], s["baseline"], s["ranking"]
    typer.echo(f"\ningested {s['spectra']:,} spectra of {s['structures']} structures; trained an SVAE, best epoch "
               f"{s['best_epoch']} of {s['epochs']} by {s['select']}")
    if "val_top1" in v and "val_top1" in b:
        typer.echo(f"validation spectra, each ranking its structure among 100 of similar mass: Top-1 "
                   f"{v['val_top1']:.0%} (bit-frequency baseline {b['val_top1']:.0%}), Top-10 {v['val_top10']:.0%} "
                   f"({b['val_top10']:.0%})")
    ce = s["calibrated_val_fp_ce"] or v.get("val_fp_ce")
    if ce is not None and "val_fp_ce" in b:
        typer.echo(f"validation fingerprint cross-entropy {ce:.1f} nats per spectrum"
                   f"{' (calibrated)' if s['calibrated_val_fp_ce'] else ''}; predicting each bit's training "
                   f"frequency instead: {b['val_fp_ce']:.1f}; lower is better")
    typer.echo(f"ranked all {s['structures']} structures for each of {s['test_spectra']} test spectra "
               f"(structures never seen in training); where the true structure ranks:")
    names = {"svae": "SVAE trained here", "default": "default model (packaged)", "bit_frequency":
             "bit-frequency baseline"}
    for key, m in r.items():
        typer.echo(f"  {names[key]:<26} Top-1 {m['top1']:>3}, Top-5 {m['top5']:>3}, Top-10 {m['top10']:>3}; "
                   f"median rank {m['median_rank']:g}")
    typer.echo(f"  {'random ordering':<26} median rank {s['random_median_rank']:g}")
    typer.echo(f"outputs: {out}/data (ingest), {out}/run (model), {out}/ranked (one ranking per test spectrum), "
               f"{out}/ranked-default-model, {out}/ranked-bit-frequency")
