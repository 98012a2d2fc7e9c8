"""Data manifests (``data-manifests/*.yaml``): where an external dataset comes from and how to check a local copy.

A manifest names the dataset's source, version and licence and lists its files with size, sha256 and record
counts. :func:`verify` checks a local directory against it, so that a benchmark can say precisely which file is
missing or differs instead of failing half-way.
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


def load_manifest(path: str | Path) -> dict[str, Any]:
    """Read a manifest; raises :class:`InputError` when it is not a mapping with ``name`` and ``files``."""
    import yaml

    path = Path(path)
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
