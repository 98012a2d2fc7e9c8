"""Read structure lists (candidate files, database inputs) into plain rows: SMILES or InChI, id, name, position.

Formats, chosen by extension (``.gz`` accepted on all of them):

- ``.csv`` / ``.tsv`` / ``.tab``: one header line; columns found case-insensitively (:data:`COLUMNS`): a structure
  column (``SMILES`` and/or ``InChI``; SMILES is tried first, InChI is the fallback for a row), optional id columns and
  a name column. The CASMI candidate lists (``Identifier, CompoundName, MonoisotopicMass, MolecularFormula, SMILES,
  InChI, InChIKey``) and the pools in ``shared/data/structures`` are read as they are. A given InChIKey is ignored:
  identity is always computed from the structure.
- ``.smi`` / ``.smiles`` / ``.inchi`` / ``.txt``: no header; one structure per line (SMILES or ``InChI=...``),
  optionally followed by whitespace and an id, then a name.
- ``.sdf`` / ``.mol``: records read by RDKit; the id from an ID-like property or the title line, the name from a
  name-like property.

Rows are not parsed here (see :mod:`specvae.candidates`); this module only finds the text.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from specvae.errors import InputError

# header aliases (lower case, spaces and underscores removed), in order of preference
COLUMNS = {
    "smiles": ("smiles", "canonicalsmiles", "isomericsmiles", "smilesiso", "computedsmiles"),
    "inchi": ("inchi", "stdinchi", "inchistring", "standardinchi"),
    "id": ("id", "identifier", "accession", "compoundid", "cid", "pubchemcid", "hmdbid", "hmdbids", "chebiid",
           "chebiids", "lipidmapsid", "lipidmapsids", "lmid", "csid", "chemspiderid", "dbid"),
    "name": ("name", "compoundname", "commonname", "title", "iupacname"),
}
# id columns whose values get a prefix so that numbers from different databases stay distinguishable
ID_PREFIX = {"cid": "CID:", "pubchemcid": "CID:", "csid": "CSID:", "chemspiderid": "CSID:"}
SDF_ID_PROPS = ("ID", "DATABASE_ID", "HMDB_ID", "ChEBI ID", "LM_ID", "PUBCHEM_COMPOUND_CID", "Identifier")
SDF_NAME_PROPS = ("NAME", "COMMON_NAME", "GENERIC_NAME", "ChEBI Name", "PUBCHEM_IUPAC_NAME", "CompoundName")
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
LINE_SUFFIXES = {".smi", ".smiles", ".inchi", ".txt"}
SDF_SUFFIXES = {".sdf", ".mol", ".sd"}


@dataclass
class StructureRow:
    """One input structure as written: ``row`` is the 0-based record index, ``line`` the 1-based line (0 if none)."""

    source: str
    row: int
    line: int
    smiles: str = ""
    inchi: str = ""
    id: str = ""
    name: str = ""
    other_ids: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The structure text as given (SMILES, else InChI), for reject reports."""
        return self.smiles or self.inchi


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def read_structure_file(path: str | Path) -> Iterator[StructureRow]:
    """Yield the structures of a CSV/TSV/SMILES/InChI/SDF file (see the module docstring for the formats).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    InputError
        When the file is empty or a table has no SMILES or InChI column.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "no such structure file", str(path))
    suffix = _suffix(path)
    if suffix in SDF_SUFFIXES:
        yield from _read_sdf(path)
    elif suffix in LINE_SUFFIXES:
        yield from _read_lines(path)
    else:
        yield from _read_table(path, TABLE_SUFFIXES.get(suffix))


def _normalise(header: str) -> str:
    return header.strip().strip('"').lower().replace(" ", "").replace("_", "").replace("-", "")


def find_columns(header: list[str]) -> dict[str, list[int]]:
    """Positions of the structure, id and name columns in ``header`` (each a list, most preferred first)."""
    names = [_normalise(h) for h in header]
    return {role: [names.index(a) for a in aliases if a in names] for role, aliases in COLUMNS.items()}


def _read_table(path: Path, sep: str | None) -> Iterator[StructureRow]:
    with _open_text(path) as handle:
        first = handle.readline()
        if not first.strip():
            raise InputError(f"{path} is empty; give a table with a header line and a SMILES or InChI column")
        if sep is None:
            sep = "\t" if "\t" in first else ","
        header = next(csv.reader([first], delimiter=sep))
        cols = find_columns(header)
        if not cols["smiles"] and not cols["inchi"]:
            raise InputError(f"{path} has no SMILES or InChI column (columns: {', '.join(h.strip() for h in header)});"
                             " name one 'SMILES' or 'InChI'")
        csv.field_size_limit(1 << 24)  # InChI strings of large natural products exceed the 128 kB default
        # tab-separated pools are written without quoting; commas need csv quoting rules
        reader = csv.reader(handle, delimiter=sep, quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL)
        id_keys = [_normalise(header[i]) for i in cols["id"]]
        source = str(path)
        width = len(header)
        for row, values in enumerate(reader):
            if not any(v.strip() for v in values):
                continue
            values = [v.strip() for v in values] + [""] * (width - len(values))
            ids = []
            for i, key in zip(cols["id"], id_keys):
                ids += [ID_PREFIX.get(key, "") + v.strip() for v in values[i].split(";") if v.strip()]
            yield StructureRow(source=source, row=row, line=reader.line_num + 1,
                               smiles=next((values[i] for i in cols["smiles"] if values[i]), ""),
                               inchi=next((values[i] for i in cols["inchi"] if values[i]), ""),
                               id=ids[0] if ids else "", other_ids=ids[1:],
                               name=next((values[i] for i in cols["name"] if values[i]), ""))


def _read_lines(path: Path) -> Iterator[StructureRow]:
    source = str(path)
    with _open_text(path) as handle:
        row = 0
        for line_no, line in enumerate(handle, start=1):
            parts = line.strip().split(None, 2)
            if not parts or parts[0].startswith("#"):
                continue
            text = parts[0]
            is_inchi = text.startswith("InChI=")
            yield StructureRow(source=source, row=row, line=line_no, smiles="" if is_inchi else text,
                               inchi=text if is_inchi else "", id=parts[1] if len(parts) > 1 else "",
                               name=parts[2] if len(parts) > 2 else "")
            row += 1


def _read_sdf(path: Path) -> Iterator[StructureRow]:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    source = str(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        for row, mol in enumerate(Chem.ForwardSDMolSupplier(handle, sanitize=True, removeHs=True)):
            if mol is None:
                yield StructureRow(source=source, row=row, line=0)  # unreadable: reported by the caller
                continue
            props = mol.GetPropsAsDict()
            ident = next((str(props[p]) for p in SDF_ID_PROPS if str(props.get(p, "")).strip()), "")
            title = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
            name = next((str(props[p]) for p in SDF_NAME_PROPS if str(props.get(p, "")).strip()), "")
            yield StructureRow(source=source, row=row, line=0, smiles=Chem.MolToSmiles(mol), id=ident or title,
                               name=name or (title if ident else ""))
