"""Structure-disjoint train/validation/test splits, and InChIKey exclusion lists.

A structure's split is a pure function of the seed and its InChIKey first block (connectivity only: stereoisomers
and isotopologues share it): ``u = blake2b(f"{seed}:{block}") / 2**64`` is compared with the cumulative fractions.
So every spectrum of a structure lands in the same split, and a structure's split never moves when data are added
or removed. Rows without a structure (unpaired spectra) get their split from the same hash of their row id.

Exclusion lists (e.g. benchmark answers) are read by :func:`read_inchikeys`: plain lines of InChIKeys or first blocks,
or a CSV/TSV with an InChIKey column such as CASMI 2016's ``solutions/casmi_2016_challenge_test.csv``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
from collections.abc import Iterable, Sequence

from specvae.errors import InputError
from specvae.schema import SPLITS

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
_KEY = re.compile(r"^([A-Z]{14})(?:-[A-Z]{10}-[A-Z])?$")


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Validate (train, validation, test) fractions: three numbers >= 0 summing to 1."""
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or any(not math.isfinite(f) or f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise InputError(f"split fractions must be three numbers >= 0 that sum to 1 (train, validation, test), "
                         f"not {list(fractions)}")
    return fr


def unit_hash(seed: int, key: str) -> float:
    """A deterministic number in [0, 1) from ``seed`` and ``key`` (stable across runs, machines and Python)."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def split_of(key: str, seed: int = 0, fractions: Sequence[float] = DEFAULT_FRACTIONS) -> str:
    """The split (``"train"``, ``"validation"``, ``"test"``) of one key (an InChIKey first block or a row id)."""
    train, validation, _ = fractions
    u = unit_hash(seed, key)
    if u < train:
        return SPLITS[0]
    if u < train + validation:
        return SPLITS[1]
    return SPLITS[2]


def assign_splits(inchikey14s: Iterable[str | None], ids: Iterable[str], seed: int = 0,
                  fractions: Sequence[float] = DEFAULT_FRACTIONS) -> list[str]:
    """Split of each row: by InChIKey first block where the row has a structure, else by its id.

    Parameters
    ----------
    inchikey14s
        First InChIKey block of each row, ``None`` for rows without a structure.
    ids
        Row ids (used for rows without a structure).
    seed
        Changes the assignment as a whole; default 0.
    fractions
        (train, validation, test), summing to 1; default (0.8, 0.1, 0.1).
    """
    fractions = check_fractions(fractions)
    cache: dict[str, str] = {}
    out = []
    for block, row_id in zip(inchikey14s, ids):
        if block:
            split = cache.get(block)
            if split is None:
                split = cache[block] = split_of(block, seed, fractions)
        else:
            split = split_of("id:" + row_id, seed, fractions)
        out.append(split)
    return out


def read_inchikeys(path) -> set[str]:
    """InChIKey first blocks listed in ``path``.

    Accepts plain text (one InChIKey or 14-letter first block per line; blank lines and ``#`` comments ignored; the
    first whitespace-separated token counts) or a CSV/TSV whose header has a column named like ``inchikey``
    (case-insensitive; ``InChIKey``, ``INCHIKEY``, ``inchikey14``...). Empty cells in such a column are skipped.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    specvae.errors.InputError
        When a line or cell is not an InChIKey, naming the line.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(2, "InChIKey list not found", path)
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        text = fh.read()
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")), "")
    delimiter = "\t" if "\t" in first else "," if "," in first else None
    header = [c.strip().strip('"').lower() for c in next(csv.reader([first], delimiter=delimiter))] \
        if delimiter else [first.strip().lower()]
    column = next((i for i, name in enumerate(header) if "inchikey" in name.replace("_", "").replace(" ", "")), None)
    keys: set[str] = set()
    if column is not None:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter or ",")
        for lineno, row in enumerate(reader, start=1):
            if lineno == 1 or not row or column >= len(row) or not row[column].strip():
                continue
            keys.add(_block(row[column], path, lineno))
        return keys
    for lineno, line in enumerate(lines, start=1):
        token = line.split("#", 1)[0].strip()
        if token:
            keys.add(_block(token.split()[0], path, lineno))
    return keys


def _block(text: str, path: str, lineno: int) -> str:
    key = text.strip().strip('"').upper()
    m = _KEY.match(key)
    if not m:
        raise InputError(f"{path}, line {lineno}: {text.strip()[:40]!r} is not an InChIKey or InChIKey first block")
    return m.group(1)
