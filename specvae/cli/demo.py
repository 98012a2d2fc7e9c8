"""``specvae demo``: ingest -> train -> rank on the MassBank sample shipped with the package."""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli._app import command, show_progress
from specvae.cli._options import given


@command(name="demo")
def demo_cmd(
    out: Path = typer.Option(Path("specvae-demo"), "--out", "-o", help="Directory for every stage's output."),
    epochs: int = typer.Option(None, "--epochs", help="Training epochs (default 10; a few seconds each on a CPU)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it is not empty."),
):
    """Run the whole pipeline on 2,000 packaged MassBank spectra and report how well test spectra are annotated."""
    from specvae.demo import run_demo

    s = run_demo(out, overwrite=overwrite, progress=show_progress(), **given(epochs=epochs))
    typer.echo(f"\ningested {s['spectra']:,} spectra of {s['structures']} structures; trained SVAE, best epoch "
               f"{s['best_epoch']} of {s['epochs']}")
    typer.echo(f"validation fingerprint cross-entropy {s['val_fp_ce']:.1f} nats per spectrum (predicting each bit's "
               f"training frequency instead: {s['baseline_val_fp_ce']:.1f}; lower is better)")
    typer.echo(f"ranked all {s['structures']} structures for each of {s['test_spectra']} test spectra "
               f"(structures never seen in training):")
    typer.echo(f"  Top-1 {s['top1']}, Top-5 {s['top5']}, Top-10 {s['top10']}; median rank of the true structure "
               f"{s['median_rank']:g} (random ordering: {s['random_median_rank']:g})")
    typer.echo(f"outputs: {out}/data (ingest), {out}/run (model), {out}/ranked (one ranking per test spectrum)")
