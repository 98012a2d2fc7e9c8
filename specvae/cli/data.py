"""``specvae data verify``: check local copies of external datasets against their manifests."""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli._app import PANELS, app, command

data_app = typer.Typer(help="External datasets: manifests and checks.", no_args_is_help=True)
app.add_typer(data_app, name="data", rich_help_panel=PANELS["data"])


@command(data_app, name="verify")
def verify_cmd(
    manifest: Path = typer.Argument(..., help="A manifest from data-manifests/ (YAML)."),
    root: Path = typer.Option(..., "--root", "-r", help="Directory holding the dataset's files."),
    fast: bool = typer.Option(False, "--fast", help="Check presence and size only, no sha256."),
):
    """Check that the files a manifest lists are present and unchanged."""
    from specvae.datasets.manifests import load_manifest, verify

    checks = verify(load_manifest(manifest), root, checksums=not fast)
    for c in checks:
        typer.echo(f"{c.status:8} {c.path}{'  ' + c.detail if c.detail else ''}")
    bad = [c for c in checks if c.status != "ok"]
    if bad:
        raise typer.Exit(1)
