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
    from specvae.demo import run_demo, summary_text

    opt.use_threads(threads)
    s = run_demo(out, overwrite=overwrite, progress=show_progress(), **given(epochs=epochs))
    typer.echo("\n" + summary_text(s))
