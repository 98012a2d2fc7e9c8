"""Output directories: a marker saying specvae wrote them, one writer at a time, atomic replacement, durable files.

Every output directory specvae creates (a dataset of ``ingest``, a run of ``train`` and ``bench``, the outputs of
``rank``, ``evaluate casmi`` and ``demo``) holds :data:`MARKER`, a small JSON file naming the kind of output and the
specvae version. The rules every command follows (docs/guarantees.md):

- **Overwrite only our own.** An existing non-empty ``--out`` is replaced only with ``--overwrite`` and only when it
  holds the marker, or, for outputs of earlier versions, the files that kind of output always held
  (:data:`LEGACY`); anything else is refused with one line (:func:`check_replaceable`).
- **One writer per output.** A writer holds a lock file ``.<name>.lock`` beside the output (:func:`locked`); a second
  writer fails at once with one line instead of mixing its files into the first one's.
- **Whole outputs only.** New contents are written into a staging directory ``.<name>.tmp-<random>`` beside the
  output (:func:`staging`) and moved into place with one ``os.replace`` (:func:`publish`): a reader sees the previous
  output or the new one, never a mixture. Staging directories left behind by killed runs are removed by the next
  writer of the same output (only those carrying the marker, while holding the lock).
- **Durable files.** :func:`write_atomically` writes a file beside its target, fsyncs it, renames it into place
  and fsyncs the directory, so that a completed write survives a power loss. ``SPECVAE_FSYNC=0`` in the environment
  skips the fsync calls (for scratch file systems and the test suite): a killed process still leaves whole files,
  only a power cut may lose the last writes.

This module sits below every room: it imports only the standard library, ``filelock`` and specvae's errors.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from specvae.errors import SpecvaeError

MARKER = ".specvae-output"
KINDS = ("dataset", "run", "rank", "evaluate", "demo")
# What an output of each kind written before the marker existed always held (paths inside the directory).
LEGACY = {"dataset": ("dataset.parquet", "report.json"), "run": ("config.json", "state.json"),
          "rank": ("summary.tsv",), "evaluate": ("results.tsv", "summary.json"),
          "demo": ("data/report.json", "run/config.json")}


class OutputBusy(SpecvaeError):
    """Another process is writing the same output right now."""


def marker(directory: str | Path) -> dict | None:
    """The marker of ``directory`` (``{"kind": ..., "specvae": ...}``), or ``None`` when it has none."""
    try:
        data = json.loads((Path(directory) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("written_by") == "specvae" else None


def write_marker(directory: str | Path, kind: str) -> None:
    """Mark ``directory`` as a specvae output of ``kind`` (one of :data:`KINDS`)."""
    from specvae import __version__

    if kind not in KINDS:
        raise ValueError(f"unknown output kind {kind!r}")
    data = {"written_by": "specvae", "kind": kind, "specvae": __version__}
    write_atomically(Path(directory) / MARKER, json.dumps(data, sort_keys=True) + "\n")


def is_ours(directory: str | Path, kind: str) -> bool:
    """Whether ``directory`` is a specvae output of ``kind``: it has the marker, or the files of :data:`LEGACY`."""
    directory = Path(directory)
    found = marker(directory)
    if found is not None:
        return found.get("kind") == kind
    return all((directory / name).is_file() for name in LEGACY[kind])


def check_replaceable(out: str | Path, kind: str, overwrite: bool, option: str = "--out") -> None:
    """Raise ``FileExistsError`` unless ``out`` may be written: absent, an empty directory, or (with ``overwrite``)
    a specvae output of ``kind`` (:func:`is_ours`)."""
    out = Path(out)
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir() or out.is_symlink():
        raise FileExistsError(f"{out} exists and is not a directory; choose another {option}")
    if not any(out.iterdir()):
        return
    if not overwrite:
        raise FileExistsError(f"{out} already exists; pass --overwrite to replace it, or choose another {option}")
    if not is_ours(out, kind):
        found = marker(out)
        what = (f"it is a specvae {found.get('kind')} output, not a {kind} output" if found else
                f"it holds no {MARKER} file, so specvae did not write it")
        raise FileExistsError(f"refusing to replace {out}: {what}; remove it yourself or choose another {option}")


def remove_ours(out: str | Path, kind: str) -> None:
    """Delete the specvae output ``out`` of ``kind`` (checked again here: never a directory specvae did not write)."""
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not is_ours(out, kind):
        raise FileExistsError(f"refusing to delete {out}: it is not a specvae {kind} output")
    shutil.rmtree(out, ignore_errors=False) if out.is_dir() else out.unlink(missing_ok=True)


def lock_path(out: str | Path) -> Path:
    """The lock file of output ``out``: ``.<name>.lock`` beside it."""
    out = Path(out)
    return out.parent / f".{out.name}.lock"


@contextlib.contextmanager
def locked(out: str | Path) -> Iterator[None]:
    """Hold the lock of output ``out`` (created beside it); :class:`OutputBusy` at once if another process holds it.

    While the lock is held, staging directories of ``out`` left by killed runs are removed (:func:`remove_stale`).
    """
    from filelock import FileLock, Timeout

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(out)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutputBusy(f"{out} is being written by another specvae process right now; wait for it to finish or "
                         "choose another --out") from None
    try:
        remove_stale(out)
        yield
    finally:
        lock.release()


def remove_stale(out: str | Path) -> list[Path]:
    """Remove the staging directories of ``out`` that killed runs left (``.<name>.tmp-*`` holding :data:`MARKER`),
    and previous outputs set aside by a :func:`publish` that was killed before deleting them (``.<name>.old-*``, once
    ``out`` exists again).

    Call only while holding :func:`locked`: a live writer holds the lock, so any staging directory found then is
    stale. Directories without the marker are left alone. Returns the removed paths.
    """
    out = Path(out)
    removed = []
    if not out.parent.is_dir():
        return removed
    leftovers = list(out.parent.glob(f".{out.name}.tmp-*"))
    if out.exists():
        leftovers += out.parent.glob(f".{out.name}.old-*")
    for path in leftovers:
        if path.is_dir() and not path.is_symlink() and marker(path) is not None:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def staging(out: str | Path, kind: str) -> Path:
    """A fresh, marked staging directory ``.<name>.tmp-<random>`` beside ``out`` (unique per call)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; the output gets the usual permissions
    write_marker(tmp, kind)
    return tmp


def publish(tmp: str | Path, out: str | Path, kind: str, durable: bool = True) -> None:
    """Move the complete staging directory ``tmp`` into place as ``out``, replacing a previous output of ``kind``.

    The previous output is first renamed aside (``.<name>.old-*``), so that ``out`` is at every moment either the
    previous complete output or the new one; the old one is deleted afterwards. ``durable`` (default) fsyncs
    every file first, so that the new output survives a power loss once this returns (``rank``, whose outputs can be
    many thousand files, publishes without: the swap is still atomic).
    """
    tmp, out = Path(tmp), Path(out)
    if durable:
        fsync_tree(tmp)
    old = None
    if out.exists():
        check_replaceable(out, kind, overwrite=True)
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:  # put the previous output back
            os.replace(old, out)
        raise
    fsync_dir(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def discard(tmp: str | Path) -> None:
    """Remove a staging directory after a failure (nothing was published)."""
    shutil.rmtree(tmp, ignore_errors=True)


def write_atomically(path: str | Path, content: str | bytes | Callable[[Path], None]) -> None:
    """Write ``path`` durably: ``content`` (text, bytes, or a function writing a given path) goes to a temporary
    sibling, which is fsynced and renamed over ``path``; then the directory is fsynced."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        if callable(content):
            content(tmp)
        elif isinstance(content, bytes):
            tmp.write_bytes(content)
        else:
            tmp.write_text(content, encoding="utf-8")
        fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_dir(path.parent)


def _fsync_wanted() -> bool:
    return os.environ.get("SPECVAE_FSYNC", "1") != "0"


def fsync_file(path: str | Path) -> None:
    """Flush a file's data to the disk."""
    if not _fsync_wanted():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | Path) -> None:
    """Flush a directory's entries (renames, new files) to the disk, where the platform allows it."""
    if not _fsync_wanted():
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # Windows cannot open directories; its renames are durable on their own
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(directory: str | Path) -> None:
    """``fsync`` every file and directory under ``directory`` (before it is renamed into place)."""
    for root, dirs, files in os.walk(directory):
        for name in files:
            fsync_file(Path(root) / name)
        fsync_dir(root)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
