"""Read structure files: the one reader behind ingest's ``--molecules``, ``specvae fingerprint``, candidate lists,
``specvae db build`` and ``specvae fingerprint-mask``.

:func:`read_structures` yields one :class:`StructureRecord` per input record, valid or not, holding the structure text
as written (SMILES and/or InChI), its identifiers and name, and its position;
:func:`specvae.chem.structures.parse_records` turns records into :class:`~specvae.chem.structures.Structure` or
:class:`~specvae.chem.structures.Unparsed` (with the reason), so that callers write invalid records to a rejects
file instead of stopping. A given InChIKey is never read: identity is
always computed from the structure.

Formats, by suffix (``.gz`` accepted on all):

- ``.csv``, ``.tsv``, ``.tab``: one header line; columns found by name, case-insensitively and ignoring spaces and
  underscores (:data:`COLUMNS`): SMILES and/or InChI (per row SMILES first, InChI as fallback), identifiers (several
  id columns and ``;``-joined lists are kept: the first is ``id``, the rest ``other_ids``) and a name. The CASMI
  candidate lists and the pools of ``shared/data/structures`` (unquoted TSV) read as they are.
- ``.smi``, ``.smiles``, ``.inchi``, ``.txt``: one structure per line (SMILES or ``InChI=...``), optionally followed
  by whitespace and a name (the RDKit/Daylight convention); blank lines, ``#`` comments and a first line that is
  just ``SMILES`` are skipped.
- ``.sdf``, ``.sd``, ``.mol``: records read by RDKit and written as SMILES; the id from an ID-like property or the
  title line, the name from a name-like property. An unreadable record is yielded with its ``error`` set.
- ``.msp``: MassBank/MoNA-style records, read by the spectrum reader (:func:`specvae.readers.read_spectra`): ``SMILES:``
  /``INCHI:`` keys, else ``computed SMILES=``/``SMILES=`` (and InChI) inside a MoNA ``Comments:`` field.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from specvae.errors import InputError

# header aliases (lower case, spaces, underscores and hyphens removed), in order of preference
COLUMNS = {
    "smiles": ("smiles", "canonicalsmiles", "isomericsmiles", "smilesiso", "computedsmiles", "smi", "smilesstring"),
    "inchi": ("inchi", "stdinchi", "inchistring", "standardinchi"),
    "id": ("id", "identifier", "accession", "compoundid", "cid", "pubchemcid", "hmdbid", "hmdbids", "chebiid",
           "chebiids", "lipidmapsid", "lipidmapsids", "lmid", "csid", "chemspiderid", "dbid", "db#"),
    "name": ("name", "compoundname", "commonname", "title", "iupacname"),
}
# id columns whose values get a prefix so that numbers from different databases stay distinguishable
ID_PREFIX = {"cid": "CID:", "pubchemcid": "CID:", "csid": "CSID:", "chemspiderid": "CSID:"}
SDF_ID_PROPS = ("ID", "DATABASE_ID", "HMDB_ID", "ChEBI ID", "LM_ID", "PUBCHEM_COMPOUND_CID", "Identifier", "IDNUMBER",
                "CAS")
SDF_NAME_PROPS = ("NAME", "COMMON_NAME", "GENERIC_NAME", "ChEBI Name", "PUBCHEM_IUPAC_NAME", "CompoundName")
FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".smi": "lines", ".smiles": "lines", ".inchi": "lines",
           ".txt": "lines", ".sdf": "sdf", ".sd": "sdf", ".mol": "sdf", ".msp": "msp"}


@dataclass
class StructureRecord:
    """One input structure as written: ``row`` is the 0-based record index, ``line`` the 1-based line (0 if none)."""

    source: str
    row: int
    line: int
    smiles: str = ""
    inchi: str = ""
    id: str = ""
    name: str = ""
    other_ids: list[str] = field(default_factory=list)
    error: str = ""  # set when the record itself could not be read (e.g. an unreadable SDF molblock)

    @property
    def text(self) -> str:
        """The structure as given (SMILES, else InChI), for reject reports."""
        return self.smiles or self.inchi or (f"({self.error})" if self.error else "")


def input_format(path: str | Path) -> str:
    """``"csv" | "tsv" | "lines" | "sdf" | "msp"`` from the file name (``.gz`` ignored)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in FORMATS:
        raise InputError(f"cannot tell the format of {path}: use one of {', '.join(sorted(FORMATS))} (optionally .gz)")
    return FORMATS[suffixes[-1]]


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def read_structures(path: str | Path) -> Iterator[StructureRecord]:
    """Yield every record of a structure file, in order (see the module docstring for the formats).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    InputError
        When the format is unknown, a table is empty or has no SMILES or InChI column.
    """
    path = Path(path)
    fmt = input_format(path)
    if not path.is_file():
        raise FileNotFoundError(2, "no such structure file", str(path))
    if fmt in ("sdf", "msp"):
        yield from (_read_sdf(path) if fmt == "sdf" else _read_msp(path))
        return
    with _open_text(path) as handle:
        if fmt in ("csv", "tsv"):
            yield from _read_table(handle, path, "\t" if fmt == "tsv" else ",")
        else:
            yield from _read_lines(handle, path)


def _normalise(header: str) -> str:
    return header.strip().strip('"').lower().replace(" ", "").replace("_", "").replace("-", "")


def find_columns(header: list[str]) -> dict[str, list[int]]:
    """Positions of the structure, id and name columns in ``header`` (each a list, most preferred first)."""
    names = [_normalise(h) for h in header]
    return {role: [names.index(a) for a in aliases if a in names] for role, aliases in COLUMNS.items()}


def _read_table(handle, path: Path, sep: str) -> Iterator[StructureRecord]:
    first = handle.readline()
    if not first.strip():
        raise InputError(f"{path} is empty; give a table with a header line and a SMILES or InChI column")
    header = next(csv.reader([first], delimiter=sep))
    cols = find_columns(header)
    if not cols["smiles"] and not cols["inchi"]:
        raise InputError(f"{path} has no SMILES or InChI column (columns: {', '.join(h.strip() for h in header)}); "
                         "name one 'SMILES' or 'InChI'")
    csv.field_size_limit(1 << 30)  # InChIs of large natural products and spectra columns exceed the 128 kB default
    # tab-separated pools are written without quoting; commas need csv quoting rules
    reader = csv.reader(handle, delimiter=sep, quoting=csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL)
    id_keys = [_normalise(header[i]) for i in cols["id"]]
    width = len(header)
    for row, values in enumerate(reader):
        if not any(v.strip() for v in values):
            continue
        values = [v.strip() for v in values] + [""] * (width - len(values))
        ids = [ID_PREFIX.get(key, "") + v.strip() for i, key in zip(cols["id"], id_keys)
               for v in values[i].split(";") if v.strip()]
        yield StructureRecord(source=str(path), row=row, line=reader.line_num + 1,
                              smiles=next((values[i] for i in cols["smiles"] if values[i]), ""),
                              inchi=next((values[i] for i in cols["inchi"] if values[i]), ""),
                              id=ids[0] if ids else "", other_ids=ids[1:],
                              name=next((values[i] for i in cols["name"] if values[i]), ""))


def _read_lines(handle, path: Path) -> Iterator[StructureRecord]:
    row = 0
    for number, line in enumerate(handle, start=1):
        text = line.strip()
        if not text or text.startswith("#") or (row == 0 and text.lower() == "smiles"):
            continue
        parts = text.split(None, 1)
        is_inchi = parts[0].startswith("InChI=")
        yield StructureRecord(source=str(path), row=row, line=number, smiles="" if is_inchi else parts[0],
                              inchi=parts[0] if is_inchi else "", name=parts[1].strip() if len(parts) > 1 else "")
        row += 1


def _read_sdf(path: Path) -> Iterator[StructureRecord]:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        for row, mol in enumerate(Chem.ForwardSDMolSupplier(handle, sanitize=True, removeHs=True)):
            if mol is None or mol.GetNumAtoms() == 0:
                yield StructureRecord(source=str(path), row=row, line=0,
                                      error="invalid SDF record (RDKit cannot read the molblock)")
                continue
            props = mol.GetPropsAsDict()
            ident = next((str(props[p]).strip() for p in SDF_ID_PROPS if str(props.get(p, "")).strip()), "")
            title = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
            name = next((str(props[p]).strip() for p in SDF_NAME_PROPS if str(props.get(p, "")).strip()), "")
            yield StructureRecord(source=str(path), row=row, line=0, smiles=Chem.MolToSmiles(mol), id=ident or title,
                                  name=name or (title if ident else ""))


def _read_msp(path: Path) -> Iterator[StructureRecord]:
    """MSP records through the spectrum reader (:mod:`specvae.readers.msp`): the same keys, MoNA ``Comments`` and
    placeholders as ingest; the peaks are read but not used."""
    from specvae.readers.spectra import read_spectra

    for rec in read_spectra(path):
        meta = rec.metadata
        yield StructureRecord(source=str(path), row=rec.record, line=rec.line, smiles=meta.get("smiles") or "",
                              inchi=meta.get("inchi") or "", id=meta.get("id") or "", name=meta.get("name") or "")
