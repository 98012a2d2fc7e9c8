"""Structure-only inputs (``--molecules FILE``): unpaired fingerprints for semi-supervised training.

Two layouts are accepted (optionally gzip-compressed):

- plain SMILES, one per line: the first whitespace-separated token is the SMILES, the rest of the line an optional
  name; blank lines and ``#`` comments are skipped, and so is a first line that is just ``SMILES`` (a header);
- CSV/TSV with a header naming a ``smiles`` column (case-insensitive), and optionally ``inchi``, ``id`` and ``name``
  columns (e.g. ``svae_spectra_examples/unsupervised.csv``).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from dataclasses import dataclass

from specvae.errors import InputError
from specvae.ingest.textio import check_readable, is_gzip


@dataclass(slots=True)
class MoleculeRow:
    """One structure-only input row: position (0-based row, 1-based line) and its text."""

    record: int
    line: int
    id: str | None
    name: str | None
    smiles: str | None
    inchi: str | None


def read_molecules(path) -> list[MoleculeRow]:
    """Rows of a SMILES list or CSV/TSV file (see the module docstring)."""
    check_readable(path)
    raw = gzip.open(path, "rb").read() if is_gzip(path) else open(path, "rb").read()
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    first_i = next((i for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")), None)
    if first_i is None:
        return []
    first = lines[first_i]
    delimiter = "\t" if "\t" in first else "," if "," in first else None
    name = os.fspath(path).lower().removesuffix(".gz")
    header = [c.strip().strip('"').lower() for c in next(csv.reader([first], delimiter=delimiter or ","))]
    if "smiles" in header and (delimiter or name.endswith((".csv", ".tsv"))):
        return _read_table(text, first_i, delimiter or ",", header, path)
    if any(h in ("inchi", "id", "name") for h in header) and delimiter:
        raise InputError(f"{os.fspath(path)}: the header has no 'smiles' column (found {', '.join(header)})")
    rows = []
    for i, ln in enumerate(lines):
        stripped = ln.strip()
        if not stripped or stripped.startswith("#") or (i == first_i and stripped.lower() == "smiles"):
            continue
        parts = stripped.split(None, 1)
        rows.append(MoleculeRow(len(rows), i + 1, None, parts[1].strip() if len(parts) > 1 else None, parts[0], None))
    return rows


def _read_table(text: str, first_i: int, delimiter: str, header: list[str], path) -> list[MoleculeRow]:
    col = {h: i for i, h in reversed(list(enumerate(header)))}
    reader = csv.reader(io.StringIO("\n".join(text.split("\n")[first_i + 1:])), delimiter=delimiter)
    rows = []
    for offset, cells in enumerate(reader):
        if not cells or not any(c.strip() for c in cells):
            continue
        values = {key: _cell(cells, col.get(key)) for key in ("id", "name", "smiles", "inchi")}
        rows.append(MoleculeRow(len(rows), first_i + 2 + offset, **values))
    return rows


def _cell(cells: list[str], i: int | None) -> str | None:
    value = cells[i].strip() if i is not None and i < len(cells) else ""
    return value or None
