"""``specvae cache info`` and ``specvae cache clear``: specvae's cache folder (see :mod:`specvae.caches`)."""

from __future__ import annotations

import typer

from specvae.cli._app import PANELS, _typer, app, command

cache_app = _typer(help="specvae's cache of fingerprints, canonical structures and oracles: show or empty it.")
app.add_typer(cache_app, name="cache", rich_help_panel=PANELS["cache"])


@command(cache_app, name="info")
def info_cmd():
    """Where the cache is ($SPECVAE_CACHE_DIR, else ~/.cache/specvae), how big, and what it holds."""
    from specvae.caches import human_bytes
    from specvae.chem.cache import cache_report

    r = cache_report()
    typer.echo(f"location: {r['location']}{' (from $SPECVAE_CACHE_DIR)' if r['from_environment'] else ''}")
    typer.echo(f"size: {human_bytes(r['bytes'])} in {r['files']} file(s)")
    for name, n in r["fingerprints"].items():
        typer.echo(f"  fingerprints {name}: {n:,}")
    if r["canonical"]:
        typer.echo(f"  canonical structure forms: {r['canonical']:,}")
    if r["oracles"]:
        typer.echo(f"  image-benchmark oracles: {r['oracles']} ({human_bytes(r['oracle_bytes'])})")


@command(cache_app, name="clear")
def clear_cmd(yes: bool = typer.Option(False, "--yes", "-y", help="Really remove the cache files (required).")):
    """Remove specvae's cache files (only those; each is computed again when next needed)."""
    from specvae import caches

    root = caches.cache_dir()
    if not yes:
        files = caches.cache_files(root)
        raise ValueError(f"this would remove {len(files)} file(s), {caches.human_bytes(sum(f.bytes for f in files))}, "
                         f"from {root}: run again with --yes")
    n, freed = caches.clear(root)
    typer.echo(f"removed {n} file(s), {caches.human_bytes(freed)}, from {root}")
