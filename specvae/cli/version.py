"""``specvae version``: package and dependency versions (what a bug report needs)."""

from __future__ import annotations

import typer

from specvae.cli._app import command


@command()
def version(deps: bool = typer.Option(False, "--deps", help="Also import and list torch, RDKit, matchms versions.")):
    """Print the specvae version."""
    from specvae import __version__

    typer.echo(f"specvae {__version__}")
    if deps:
        import importlib.metadata as md

        for dist in ("torch", "rdkit", "matchms", "pyteomics", "pyarrow", "pandas", "numpy", "scikit-fingerprints"):
            try:
                typer.echo(f"{dist} {md.version(dist)}")
            except md.PackageNotFoundError:
                typer.echo(f"{dist} (not installed)")
