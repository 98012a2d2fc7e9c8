"""``specvae db build`` / ``specvae db query``: a local structure database for candidate retrieval."""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli import _options as opt
from specvae.cli._app import command, db_app, show_progress


@command(db_app, name="build")
def build_cmd(
    inputs: list[Path] = typer.Argument(..., help="SMILES, InChI, CSV, TSV or SDF files (.gz accepted)."),
    out: Path = typer.Option(..., "--out", "-o", help="The database to write (Parquet)."),
    fingerprint: str = typer.Option(None, "--fingerprint", help="Fingerprint name (default: specvae's default); "
                                                                "must match the models you rank with."),
    licence: str = typer.Option(None, "--licence", help="Licence note recorded for the inputs (notes in a "
                                                        "SOURCE.md beside an input are recorded anyway)."),
    workers: int = opt.WORKERS, threads: int = opt.THREADS, cache: Path = opt.CACHE, no_cache: bool = opt.NO_CACHE,
    overwrite: bool = opt.OVERWRITE,
):
    """Build a structure database: canonical structures, masses and fingerprints, sorted by mass."""
    from specvae.retrieval.db import build_db

    workers = opt.workers_or_threads(workers, opt.use_threads(threads, torch_too=False))
    record = build_db(inputs, out, cache=opt.cache_from(cache, no_cache), licence=licence, overwrite=overwrite,
                      progress=show_progress(), **opt.given(fingerprint=fingerprint, workers=workers))
    typer.echo(f"{out}: {record['n_structures']:,} structures from {record['rows_read']:,} rows "
               f"({record['merged']:,} duplicates merged, {record['rejected']:,} rejected: {out}.rejects.tsv)")


@command(db_app, name="query")
def query_cmd(
    db: Path = typer.Argument(..., help="Structure database from `specvae db build`."),
    mz: float = typer.Option(..., "--mz", help="Precursor m/z."),
    adducts: list[str] = typer.Option(["[M+H]+"], "--adduct", help="Adduct(s), repeatable."),
    ppm: float = opt.PPM,
):
    """List the structures whose ion lies within --ppm of --mz (TSV on stdout)."""
    import csv
    import io

    from specvae.retrieval.db import StructureDB

    cands, _ = StructureDB(db).query(mz, adducts, **opt.given(ppm=ppm))
    text = io.StringIO()
    writer = csv.writer(text, delimiter="\t", lineterminator="\n")
    writer.writerow(("id", "name", "inchikey", "smiles", "formula", "monoisotopic_mass", "adduct"))
    writer.writerows((i, n, s.inchikey, s.smiles, s.formula, f"{s.mass:.6f}", a)
                     for s, i, n, a in zip(cands.structures, cands.ids, cands.names, cands.adducts))
    typer.echo(text.getvalue(), nl=False)
