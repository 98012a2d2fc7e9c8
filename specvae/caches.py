"""specvae's cache folder: where it is, what specvae keeps there, how big it is, and removing it.

specvae caches results that are costly to compute and identical every time: fingerprints and canonical structure
forms (``fingerprints.sqlite``, :mod:`specvae.chem.cache`) and the image benchmarks' oracle classifiers
(``oracles/*.safetensors``, :mod:`specvae.bench.oracle`). They live in ``$SPECVAE_CACHE_DIR``, else
``~/.cache/specvae``. Removing them loses nothing but time: each is computed again when next needed.

:func:`clear` removes only the files specvae writes there (by name), never anything else a user put in the folder.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from specvae.errors import InputError

log = logging.getLogger("specvae")

FINGERPRINT_FILE = "fingerprints.sqlite"
ORACLE_DIR = "oracles"
# SQLite's companions of the database file (write-ahead log, shared memory, rollback journal)
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
NOTE_VARIABLE = "SPECVAE_CACHE_NOTE_GB"
NOTE_DEFAULT_GB = 1.0


def cache_dir() -> Path:
    """``$SPECVAE_CACHE_DIR``, else ``~/.cache/specvae``."""
    root = os.environ.get("SPECVAE_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "specvae"


@dataclass(frozen=True)
class CacheFile:
    kind: str  # fingerprints | oracle
    path: Path
    bytes: int


def cache_files(root: str | Path | None = None) -> list[CacheFile]:
    """The files specvae keeps in ``root`` (default :func:`cache_dir`), with their sizes; nothing else."""
    root = Path(root) if root is not None else cache_dir()
    names = [FINGERPRINT_FILE + suffix for suffix in ("", *SQLITE_COMPANIONS)]
    found = [("fingerprints", root / name) for name in names]
    oracles = root / ORACLE_DIR
    if oracles.is_dir():
        found += [("oracle", p) for p in sorted(oracles.iterdir())
                  if p.suffix == ".safetensors" or p.name.endswith(".safetensors.lock")]
    return [CacheFile(kind, path, path.stat().st_size) for kind, path in found if path.is_file()]


def cache_size(root: str | Path | None = None) -> int:
    """Bytes of the files :func:`cache_files` lists."""
    return sum(f.bytes for f in cache_files(root))


def clear(root: str | Path | None = None) -> tuple[int, int]:
    """Remove the files specvae keeps in ``root`` (default :func:`cache_dir`), then the ``oracles`` folder and
    ``root`` itself if that left them empty; returns ``(files removed, bytes freed)``.

    Another process using the fingerprint cache at the same moment may fail; run it when no specvae command runs.
    """
    files = cache_files(root)
    for f in files:
        f.path.unlink(missing_ok=True)
    root = Path(root) if root is not None else cache_dir()
    for folder in (root / ORACLE_DIR, root):
        try:
            folder.rmdir()  # only when empty: a user's own files stay, and so does the folder holding them
        except OSError:
            pass
    return len(files), sum(f.bytes for f in files)


def note_threshold() -> float:
    """Size in bytes past which the fingerprint cache earns a note: ``$SPECVAE_CACHE_NOTE_GB`` gigabytes (default 1;
    0 turns the note off)."""
    text = os.environ.get(NOTE_VARIABLE, "").strip()
    try:
        gigabytes = float(text) if text else NOTE_DEFAULT_GB
    except ValueError:
        raise InputError(f"{NOTE_VARIABLE} must be a number of gigabytes, not {text!r}") from None
    return gigabytes * 1e9


_NOTED: set[str] = set()


def note_if_large(path: str | Path) -> bool:
    """Log one line (once per file and process) when the cache database ``path`` and its companions have grown past
    :func:`note_threshold`; returns whether it did."""
    path = Path(path)
    limit = note_threshold()
    if limit <= 0 or str(path) in _NOTED:
        return False
    size = sum(p.stat().st_size for p in (path, *(Path(f"{path}{s}") for s in SQLITE_COMPANIONS)) if p.is_file())
    if size <= limit:
        return False
    _NOTED.add(str(path))
    log.warning("the fingerprint cache %s holds %s (more than %s, set by $%s): `specvae cache info` shows what is in "
                "it, `specvae cache clear --yes` empties it", path, human_bytes(size), human_bytes(limit),
                NOTE_VARIABLE)
    return True


def human_bytes(n: float) -> str:
    """``n`` bytes as ``1.2 GB`` (powers of 1000)."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover
