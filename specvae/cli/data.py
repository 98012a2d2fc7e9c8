"""``specvae data verify``: check local copies of external datasets against their manifests."""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli._app import PANELS, _typer, app, command

data_app = _typer(help="External datasets: manifests and checks.")
app.add_typer(data_app, name="data", rich_help_panel=PANELS["data"])


@command(data_app, name="verify")
def verify_cmd(
    manifest: str = typer.Argument(..., help="A shipped manifest's name (see `specvae data list`), or a manifest "
                                              "file (YAML)."),
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


@command(data_app, name="list")
def list_cmd():
    """List the data manifests shipped with specvae: name, description, where to get the files."""
    from specvae.datasets.manifests import load_manifest, shipped_manifests

    for name, path in shipped_manifests().items():
        m = load_manifest(path)
        typer.echo(f"{name:22} {m.get('description', '')}")
        typer.echo(f"{'':22} source: {m.get('source', '?')}; licence: {m.get('licence', '?')}")
