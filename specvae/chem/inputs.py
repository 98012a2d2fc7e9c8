"""Read structures from files: SMILES lists, CSV/TSV tables, SDF and MSP (each optionally gzip-compressed).

:func:`read_structures` yields one :class:`StructureRecord` per input record, valid or not; :func:`parse_record` turns
a record into ``(mol, Structure)`` or raises :class:`~specvae.chem.molecules.StructureError` with the reason, so that a
caller can write invalid records to a rejects file instead of stopping.

Formats (by suffix, ``.gz`` allowed on all):

- ``.smi``, ``.smiles``, ``.txt``: one SMILES per line, optionally followed by whitespace and a name; blank lines and
  lines starting with ``#`` are skipped, as is a first line that is just ``SMILES``;
- ``.csv``, ``.tsv``: a header row; the structure column is found by name (``smiles``, ``canonical_smiles``,
  ``isomeric_smiles``, ``smi``, else ``inchi``; case-insensitive), identifier and name columns likewise;
- ``.sdf``, ``.sd``, ``.mol``: V2000/V3000 records separated by ``$$$$``; the title line is the name, an ``ID``/``id``
  data field the identifier;
- ``.msp``: MassBank/MoNA-style records; ``SMILES:``/``INCHI:`` keys or ``SMILES=``/``InChI=`` inside ``Comments:``.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from specvae.errors import InputError

SMILES_COLUMNS = ("smiles", "canonical_smiles", "isomeric_smiles", "smi", "smiles_string")
INCHI_COLUMNS = ("inchi", "std_inchi", "standard_inchi")
ID_COLUMNS = ("id", "identifier", "compound_id", "accession", "db#", "cid")
NAME_COLUMNS = ("name", "compoundname", "compound_name", "title")
FORMATS = {".smi": "smiles", ".smiles": "smiles", ".txt": "smiles", ".csv": "csv", ".tsv": "tsv", ".sdf": "sdf",
           ".sd": "sdf", ".mol": "sdf", ".msp": "msp"}


@dataclass(frozen=True)
class StructureRecord:
    """One input record: its position, optional identifier and name, and the structure text it holds."""

    row: int  # 0-based record number in the file
    line: int  # 1-based line where the record starts
    id: str | None = None
    name: str | None = None
    smiles: str | None = None
    inchi: str | None = None
    molblock: str | None = None

    @property
    def text(self) -> str:
        """The structure as written in the input (for reject reports)."""
        if self.smiles:
            return self.smiles
        if self.inchi:
            return self.inchi
        if self.molblock:
            return (self.name or "") + " (molblock)"
        return ""


def input_format(path: str | Path) -> str:
    """``"smiles" | "csv" | "tsv" | "sdf" | "msp"`` from the file name (``.gz`` ignored)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in FORMATS:
        raise InputError(f"cannot tell the format of {path}: use one of {', '.join(sorted(FORMATS))} (optionally .gz)")
    return FORMATS[suffixes[-1]]


def _open_text(path: Path):
    if not path.exists():
        raise FileNotFoundError(2, "No such file", str(path))
    if path.suffix.lower() == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def read_structures(path: str | Path) -> Iterator[StructureRecord]:
    """Every record of a structure file, in order (see the module docstring for formats)."""
    path = Path(path)
    fmt = input_format(path)
    reader = {"smiles": _read_smiles, "csv": _read_table, "tsv": _read_table, "sdf": _read_sdf, "msp": _read_msp}[fmt]
    with _open_text(path) as handle:
        if fmt in ("csv", "tsv"):
            yield from reader(handle, "\t" if fmt == "tsv" else ",", path)
        else:
            yield from reader(handle)


def _read_smiles(handle) -> Iterator[StructureRecord]:
    row = 0
    for number, line in enumerate(handle, start=1):
        text = line.strip()
        if not text or text.startswith("#") or (row == 0 and number == 1 and text.lower() == "smiles"):
            continue
        parts = text.split(None, 1)
        yield StructureRecord(row=row, line=number, name=parts[1].strip() if len(parts) > 1 else None,
                              smiles=parts[0])
        row += 1


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def _read_table(handle, delimiter: str, path: Path) -> Iterator[StructureRecord]:
    csv.field_size_limit(2**31 - 1)  # tables with spectra in a column exceed the default limit
    rows = csv.reader(handle, delimiter=delimiter)
    header = next(rows, None)
    if header is None:
        return
    smiles_col, inchi_col = _pick(header, SMILES_COLUMNS), _pick(header, INCHI_COLUMNS)
    if smiles_col is None and inchi_col is None:
        raise InputError(f"{path}: no SMILES or InChI column (looked for {', '.join(SMILES_COLUMNS + INCHI_COLUMNS)};"
                         f" found {', '.join(header)})")
    id_col, name_col = _pick(header, ID_COLUMNS), _pick(header, NAME_COLUMNS)

    def cell(values, col):
        return values[col].strip() or None if col is not None and col < len(values) else None

    for row, values in enumerate(rows):
        yield StructureRecord(row=row, line=rows.line_num, id=cell(values, id_col), name=cell(values, name_col),
                              smiles=cell(values, smiles_col), inchi=cell(values, inchi_col))


def _read_sdf(handle) -> Iterator[StructureRecord]:
    block: list[str] = []
    start = 1
    row = 0
    for number, line in enumerate(handle, start=1):
        if line.strip() == "$$$$":
            yield _sdf_record(block, row, start)
            row += 1
            block = []
            start = number + 1
        else:
            block.append(line)
    if any(line.strip() for line in block):
        yield _sdf_record(block, row, start)


def _sdf_record(lines: list[str], row: int, start: int) -> StructureRecord:
    text = "".join(lines)
    molblock, _, data = text.partition("M  END")
    identifier = None
    match = re.search(r">\s*<(ID|id|Id|IDNUMBER|CAS)>[^\n]*\n([^\n]*)", data)
    if match:
        identifier = match.group(2).strip() or None
    name = lines[0].strip() if lines else None
    return StructureRecord(row=row, line=start, id=identifier, name=name or None, molblock=molblock + "M  END\n")


_MSP_COMMENT = re.compile(r'"(SMILES|InChI|computed SMILES)=([^"]+)"', re.IGNORECASE)


def _read_msp(handle) -> Iterator[StructureRecord]:
    fields: dict[str, str] = {}
    start, row = 1, 0
    for number, line in enumerate(handle, start=1):
        text = line.strip()
        if not text:
            if fields:
                yield _msp_record(fields, row, start)
                row += 1
                fields = {}
            start = number + 1
            continue
        key, sep, value = text.partition(":")
        if sep and not key[:1].isdigit():
            fields.setdefault(key.strip().lower(), value.strip())
    if fields:
        yield _msp_record(fields, row, start)


def _msp_record(fields: dict[str, str], row: int, start: int) -> StructureRecord:
    smiles, inchi = fields.get("smiles"), fields.get("inchi")
    for kind, value in _MSP_COMMENT.findall(fields.get("comments", "")):
        if kind.lower().endswith("smiles") and not smiles:
            smiles = value
        elif kind.lower() == "inchi" and not inchi:
            inchi = value if value.startswith("InChI=") else "InChI=" + value
    return StructureRecord(row=row, line=start, id=fields.get("db#") or fields.get("id"), name=fields.get("name"),
                           smiles=smiles or None, inchi=inchi or None)


def parse_record(record: StructureRecord):
    """``(mol, Structure)`` of a record, or :class:`~specvae.chem.molecules.StructureError` with the reason."""
    from specvae.chem.molecules import StructureError, _quiet_rdkit, describe, parse_structure

    if record.molblock is not None:
        from rdkit import Chem

        _quiet_rdkit()
        mol = Chem.MolFromMolBlock(record.molblock, sanitize=True, removeHs=True)
        if mol is None or mol.GetNumAtoms() == 0:
            raise StructureError("invalid SDF record (RDKit cannot read the molblock)")
        return mol, describe(mol)
    return parse_structure(smiles=record.smiles, inchi=record.inchi)
