"""``specvae fingerprint`` (structures -> Parquet of fingerprints) and ``specvae fingerprint-mask`` (the mask)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from specvae.cli import _options as opt
from specvae.cli._app import command, show_progress
from specvae.cli._options import given


@command()
def fingerprint(
    input_file: Annotated[Path, typer.Argument(metavar="INPUT",
                                               help="SMILES (.smi/.txt), CSV/TSV, SDF or MSP; .gz ok.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write (rejects: OUT.rejects.tsv).")],
    name: Annotated[str | None, typer.Option("--fingerprint", "-f",
                                             help="specvae (default), specvae-pool, morgan2, maccs.")] = None,
    n_bits: Annotated[int | None, typer.Option("--n-bits", help="Width where the fingerprint allows it.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-j", min=1,
                                                help="Processes for uncached structures (default: "
                                                     "--threads).")] = None,
    threads: int = opt.THREADS,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the fingerprint cache.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT and its rejects file.")] = False,
):
    """Compute fingerprints of every structure in INPUT: InChIKey, canonical SMILES and packed bits per record."""
    from specvae.chem.fingerprint_file import fingerprint_file

    workers = opt.workers_or_threads(workers, opt.use_threads(threads, torch_too=False))
    report = fingerprint_file(input_file, out, cache=not no_cache, overwrite=overwrite, progress=show_progress(),
                              **given(fingerprint=name, n_bits=n_bits, workers=workers))
    typer.echo(report.summary())
    if report.rejected:
        typer.echo(f"rejects: {report.rejects}")


@command(name="fingerprint-mask")
def fingerprint_mask(
    reference: Annotated[list[Path], typer.Argument(help="Reference structure files (SMILES, CSV/TSV, SDF, MSP).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Mask TSV to write (and its .json companion).")],
    n_bits: Annotated[int | None, typer.Option("--n-bits", help="Default width (default 2149); this many bits must "
                                                                "pass the rule.")] = None,
    min_frequency: Annotated[float | None, typer.Option("--min-frequency", help="Drop bits on or off in fewer "
                                                                                "structures (a share).")] = None,
    sample: Annotated[int | None, typer.Option("--sample", help="Use this many distinct texts (--seed).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of --sample.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", "-j", min=1,
                                                help="Processes computing the pool bits.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT if it exists.")] = False,
):
    """Rebuild the specvae fingerprint mask from reference structures (the rule is in docs/fingerprint.md)."""
    from specvae.chem.substructure.build import build_mask
    from specvae.chem.substructure.mask import DEFAULT_N_BITS

    mask = build_mask(reference, out, overwrite=overwrite, progress=show_progress(),
                      **given(n_bits=n_bits, min_frequency=min_frequency, sample=sample, seed=seed, workers=workers))
    ref = mask.meta["reference"]
    typer.echo(f"{mask.max_bits} bits ranked on {ref['distinct_structures']} distinct structures "
               f"({ref['texts_used']} of {ref['distinct_texts']} distinct texts); default {n_bits or DEFAULT_N_BITS}: "
               f"{mask.meta['ranked_by_family_in_default']} -> {out}")
