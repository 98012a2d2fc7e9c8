"""Command-line interface: ``specvae <command>``; one thin module per command over the library API."""
# ruff: noqa: I001 (the command modules are imported in pipeline order, not sorted)

from __future__ import annotations

# Importing a command module registers its commands on ``app``, in this order (the order of ``--help``: the
# pipeline's). Keep these imports cheap (typer + stdlib only).
from specvae.cli import demo as _demo  # noqa: E402,F401
from specvae.cli import ingest as _ingest  # noqa: E402,F401
from specvae.cli import fingerprint as _fingerprint  # noqa: E402,F401
from specvae.cli import train as _train  # noqa: E402,F401
from specvae.cli import rank as _rank  # noqa: E402,F401
from specvae.cli import evaluate as _evaluate  # noqa: E402,F401
from specvae.cli import db as _db  # noqa: E402,F401
from specvae.cli import export as _export  # noqa: E402,F401
from specvae.cli import bench as _bench  # noqa: E402,F401
from specvae.cli import data as _data  # noqa: E402,F401
from specvae.cli import cache as _cache  # noqa: E402,F401
from specvae.cli import version as _version  # noqa: E402,F401
from specvae.cli._app import app


def main() -> None:
    """Entry point of the ``specvae`` console script."""
    app(prog_name="specvae")


__all__ = ["app", "main"]
