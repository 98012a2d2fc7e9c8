"""``specvae export DATASET --format mgf|msp --out FILE``: an ingested dataset's cleaned spectra as MGF or MSP."""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli._app import command, show_progress


@command(name="export")
def export_cmd(
    dataset: Path = typer.Argument(..., help="Dataset directory written by `specvae ingest`."),
    out: Path = typer.Option(..., "--out", "-o", help="The file to write (.mgf or .msp)."),
    fmt: str = typer.Option(None, "--format", "-f", help="mgf or msp (default: the suffix of --out)."),
    split: str = typer.Option("all", "--split", help="Only this split: train, validation, test, or all."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
):
    """Write the dataset's cleaned spectra (measured peaks, not bins) with their metadata as MGF or MSP."""
    from specvae.datasets.export import export_spectra

    done = export_spectra(dataset, out, fmt=fmt, split=split, overwrite=overwrite, progress=show_progress())
    typer.echo(f"wrote {done['spectra']:,} spectra ({done['peaks']:,} peaks) to {done['out']} ({done['format']})")
