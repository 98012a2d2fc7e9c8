"""``specvae fingerprint`` (structures -> Parquet of fingerprints) and ``specvae fingerprint-mask`` (rebuild the mask)."""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli._app import command, show_progress


@command()
def fingerprint(
    input_file: Path = typer.Argument(..., metavar="INPUT", help="SMILES (.smi/.txt), CSV/TSV, SDF or MSP; .gz ok."),
    out: Path = typer.Option(..., "--out", "-o", help="Parquet file to write (rejects go to OUT.rejects.tsv)."),
    name: str = typer.Option("specvae", "--fingerprint", "-f", help="Fingerprint name (specvae, morgan2, maccs, ...)."),
    n_bits: int = typer.Option(None, "--n-bits", help="Width, where the fingerprint allows (default: its own)."),
    workers: int = typer.Option(1, "--workers", "-j", min=1, help="Processes for structures not in the cache."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the fingerprint cache."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT and its rejects file if they exist."),
):
    """Compute fingerprints of every structure in INPUT: InChIKey, canonical SMILES and packed bits per record."""
    from specvae.chem.fingerprint_file import fingerprint_file

    report = fingerprint_file(input_file, out, fingerprint=name, n_bits=n_bits, workers=workers,
                              cache=not no_cache, overwrite=overwrite, progress=show_progress())
    typer.echo(report.summary())
    if report.rejected:
        typer.echo(f"rejects: {report.rejects}")


@command(name="fingerprint-mask")
def fingerprint_mask(
    reference: list[Path] = typer.Argument(..., help="Reference structure files (SMILES, CSV/TSV, SDF, MSP; .gz ok)."),
    out: Path = typer.Option(..., "--out", "-o", help="Mask TSV to write (a .json companion is written beside it)."),
    n_bits: int = typer.Option(2149, "--n-bits", help="Default width; at least this many bits must pass the rule."),
    min_frequency: float = typer.Option(0.001, "--min-frequency", help="Drop bits on (or off) in fewer structures."),
    sample: int = typer.Option(None, "--sample", help="Use this many distinct structure texts, drawn with --seed."),
    seed: int = typer.Option(0, "--seed", help="Seed of --sample."),
    workers: int = typer.Option(1, "--workers", "-j", min=1, help="Processes computing the pool bits."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
):
    """Rebuild the specvae fingerprint mask from reference structures (the rule is in docs/fingerprint.md)."""
    from specvae.chem.substructure.build import build_mask

    mask = build_mask(reference, out, n_bits=n_bits, min_frequency=min_frequency, sample=sample, seed=seed,
                      workers=workers, overwrite=overwrite, progress=show_progress())
    ref = mask.meta["reference"]
    typer.echo(f"{mask.max_bits} bits ranked on {ref['distinct_structures']} distinct structures "
               f"({ref['texts_used']} of {ref['distinct_texts']} distinct texts); default {n_bits}: "
               f"{mask.meta['ranked_by_family_in_default']} -> {out}")
