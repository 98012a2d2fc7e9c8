"""A persistent fingerprint cache keyed by InChIKey, shared by ingest, ranking and evaluation.

The same file also remembers the canonical form of candidate structure texts (:meth:`FingerprintCache.get_canonical`),
so that a second evaluation over the same candidate lists parses nothing either.

One SQLite file holds packed bits keyed by (fingerprint name, version, width, full InChIKey), so a structure is
computed once per fingerprint spec however many commands meet it. Several processes may read and write the same file
at once: the database runs in write-ahead-log mode (readers never block the writer), waits up to ``timeout`` seconds for
a lock instead of failing, and writes each batch in one transaction with ``INSERT OR IGNORE`` (every process computes
the same bits for the same key, so the first writer wins and nothing is lost).

Location: ``path`` if given, else ``$SPECVAE_CACHE_DIR/fingerprints.sqlite``, else
``~/.cache/specvae/fingerprints.sqlite`` (:mod:`specvae.caches`: ``specvae cache info`` and ``cache clear``). When the
file grows past ``$SPECVAE_CACHE_NOTE_GB`` (default 1 GB) a write logs one line saying so.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from specvae import caches

log = logging.getLogger("specvae.chem")

CACHE_FILE = caches.FINGERPRINT_FILE
_CHUNK = 900  # keys per SELECT (below SQLite's bound-parameter limit everywhere)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    n_bits INTEGER NOT NULL,
    inchikey TEXT NOT NULL,
    bits BLOB NOT NULL,
    PRIMARY KEY (name, version, n_bits, inchikey)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS canonical (
    version TEXT NOT NULL,
    text TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (version, text)
) WITHOUT ROWID
"""


def default_cache_path() -> Path:
    """``$SPECVAE_CACHE_DIR/fingerprints.sqlite`` or ``~/.cache/specvae/fingerprints.sqlite``."""
    return caches.cache_dir() / CACHE_FILE


def _retry_while_locked(statement, timeout: float) -> None:
    """Run ``statement``, retrying while another process holds the database.

    SQLite does not call its busy handler for every statement: switching a fresh database to WAL while a second
    process does the same fails at once with "database is locked", whatever ``busy_timeout`` says.
    """
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


class FingerprintCache:
    """Packed fingerprint bits by (spec, InChIKey) in an SQLite file; safe for concurrent processes.

    Parameters
    ----------
    path
        The database file (created with its folder when missing); default :func:`default_cache_path`.
    timeout
        Seconds to wait for another process's write lock before giving up (default 60).
    """

    def __init__(self, path: str | Path | None = None, timeout: float = 60.0):
        self.path = Path(path) if path is not None else default_cache_path()
        self.timeout = timeout
        self._connection: sqlite3.Connection | None = None
        self._pid: int | None = None

    def __repr__(self) -> str:
        return f"FingerprintCache({str(self.path)!r})"

    @property
    def connection(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():  # never share a connection across fork
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            _retry_while_locked(lambda: connection.execute("PRAGMA journal_mode = WAL"), self.timeout)
            connection.execute("PRAGMA synchronous = NORMAL")
            _retry_while_locked(lambda: connection.executescript(_SCHEMA), self.timeout)
            self._connection, self._pid = connection, os.getpid()
        return self._connection

    def close(self) -> None:
        if self._connection is not None and self._pid == os.getpid():
            self._connection.close()
        self._connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get_many(self, spec, inchikeys: Sequence[str]) -> dict[str, bytes]:
        """Cached packed bits of the keys that are present (``{inchikey: bytes}``) for fingerprint ``spec``."""
        found: dict[str, bytes] = {}
        keys = list(dict.fromkeys(inchikeys))
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self.connection.execute(
                f"SELECT inchikey, bits FROM fingerprints WHERE name = ? AND version = ? AND n_bits = ? "
                f"AND inchikey IN ({marks})", (spec.name, spec.version, spec.n_bits, *chunk))
            found.update((key, bytes(bits)) for key, bits in rows)
        return found

    def put_many(self, spec, items: Iterable[tuple[str, bytes]]) -> int:
        """Store ``(inchikey, packed bits)`` pairs for ``spec`` in one transaction; returns the rows written."""
        expected = (spec.n_bits + 7) // 8
        rows = []
        for key, bits in items:
            bits = bytes(bits)
            if len(bits) != expected:
                raise ValueError(f"{len(bits)} bytes for {key}, expected {expected} for {spec}")
            rows.append((spec.name, spec.version, spec.n_bits, key, bits))
        if not rows:
            return 0
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            before = connection.total_changes
            connection.executemany("INSERT OR IGNORE INTO fingerprints VALUES (?, ?, ?, ?, ?)", rows)
            written = connection.total_changes - before
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        if written:
            caches.note_if_large(self.path)
        return written

    def get_canonical(self, version: str, texts: Sequence[str]) -> dict[str, str]:
        """Stored canonical forms (JSON text) of structure ``texts`` under the standardisation ``version``."""
        found: dict[str, str] = {}
        keys = list(dict.fromkeys(texts))
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            rows = self.connection.execute(
                f"SELECT text, value FROM canonical WHERE version = ? AND text IN ({','.join('?' * len(chunk))})",
                (version, *chunk))
            found.update(rows)
        return found

    def put_canonical(self, version: str, items: Iterable[tuple[str, str]]) -> None:
        """Store ``(text, JSON value)`` pairs under ``version`` in one transaction."""
        rows = [(version, text, value) for text, value in items]
        if not rows:
            return
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany("INSERT OR IGNORE INTO canonical VALUES (?, ?, ?)", rows)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def summary(self) -> dict:
        """What the cache holds: ``{"fingerprints": {"name v<version> <n_bits> bits": rows}, "canonical": rows}``."""
        rows = self.connection.execute(
            "SELECT name, version, n_bits, COUNT(*) FROM fingerprints GROUP BY name, version, n_bits ORDER BY name")
        fingerprints = {f"{name} v{version} ({n_bits} bits)": n for name, version, n_bits, n in rows}
        canonical = self.connection.execute("SELECT COUNT(*) FROM canonical").fetchone()[0]
        return {"fingerprints": fingerprints, "canonical": canonical}

    def count(self, spec=None) -> int:
        """Rows in the cache (for ``spec`` only when given)."""
        if spec is None:
            return self.connection.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0]
        return self.connection.execute(
            "SELECT COUNT(*) FROM fingerprints WHERE name = ? AND version = ? AND n_bits = ?",
            (spec.name, spec.version, spec.n_bits)).fetchone()[0]


def cache_report(root: str | Path | None = None) -> dict:
    """What specvae's cache folder (default :func:`specvae.caches.cache_dir`) holds: its ``location``, whether
    ``$SPECVAE_CACHE_DIR`` chose it, ``bytes`` and ``files``, fingerprints by spec, canonical forms and oracles."""
    from_environment = root is None and bool(os.environ.get("SPECVAE_CACHE_DIR"))
    root = Path(root) if root is not None else caches.cache_dir()
    files = caches.cache_files(root)
    report = {"location": str(root), "from_environment": from_environment,
              "bytes": sum(f.bytes for f in files), "files": len(files), "fingerprints": {}, "canonical": 0}
    if (root / CACHE_FILE).is_file():
        with FingerprintCache(root / CACHE_FILE) as cache:
            report.update(cache.summary())
    oracles = [f for f in files if f.kind == "oracle" and f.path.suffix == ".safetensors"]
    report["oracles"], report["oracle_bytes"] = len(oracles), sum(f.bytes for f in oracles)
    return report
