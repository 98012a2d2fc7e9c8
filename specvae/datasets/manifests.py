"""Data manifests: where an external dataset comes from and how to check a local copy.

The manifests ship with the package (``specvae/data/manifests/NAME.yaml``; ``data-manifests/`` at the top of the
repository points there) and are found by name: ``specvae data verify massbank --root DIR``. A manifest names the
dataset's source, version and licence and lists its files with size, sha256 and record counts. :func:`verify` checks
a local directory against it, so that a benchmark can say precisely which file is missing or differs instead of
failing half-way.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specvae.errors import InputError


@dataclass(frozen=True)
class FileCheck:
    path: Path
    status: str  # ok | missing | size | sha256
    detail: str = ""


MANIFEST_DIR = Path(__file__).resolve().parents[1] / "data" / "manifests"


def shipped_manifests() -> dict[str, Path]:
    """The manifests shipped with the package, by name (the file name without ``.yaml``)."""
    return {p.stem: p for p in sorted(MANIFEST_DIR.glob("*.yaml"))}


def find_manifest(name_or_path: str | Path) -> Path:
    """A shipped manifest by ``name`` (``massbank``), else the YAML file at that path; :class:`InputError` naming the
    shipped ones when it is neither."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_manifests()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    raise InputError(f"no data manifest {str(name_or_path)!r}: give one of {', '.join(shipped)} or a manifest file")


def load_manifest(path: str | Path) -> dict[str, Any]:
    """Read a manifest (a shipped one by name, or a file); raises :class:`InputError` when it is not a mapping with
    ``name`` and ``files``."""
    import yaml

    path = find_manifest(path)
    with open(path) as fh:  # FileNotFoundError propagates as a one-line CLI error
        data = yaml.safe_load(fh)
    if not isinstance(data, dict) or "name" not in data or not isinstance(data.get("files"), list):
        raise InputError(f"{path} is not a data manifest (needs 'name' and a 'files' list)")
    return data


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify(manifest: dict[str, Any], root: str | Path, checksums: bool = True) -> list[FileCheck]:
    """Check every file of ``manifest`` under ``root``: presence, byte size, and (with ``checksums``) sha256."""
    out = []
    for entry in manifest["files"]:
        path = Path(root) / entry["path"]
        if not path.is_file():
            out.append(FileCheck(path, "missing"))
        elif "bytes" in entry and path.stat().st_size != int(entry["bytes"]):
            out.append(FileCheck(path, "size", f"{path.stat().st_size} bytes, expected {entry['bytes']}"))
        elif checksums and "sha256" in entry and sha256(path) != entry["sha256"]:
            out.append(FileCheck(path, "sha256", "content differs from the manifest"))
        else:
            out.append(FileCheck(path, "ok"))
    return out
