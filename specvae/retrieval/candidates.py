"""Candidate structures: canonical form with formula and mass, duplicate merging, rejects and fingerprints.

Every candidate (from a candidate file or a structure database input) is parsed and standardised by
:func:`specvae.chem.structures.parse_many`, exactly like the structures a model was trained on (largest organic
fragment, neutralised where possible, canonical SMILES readable by RDKit, InChIKey computed by RDKit). Permanently
charged molecules stay charged and are matched as ``[M]+`` (see :mod:`specvae.retrieval.adducts`). Candidates with
the same first InChIKey block are merged: the first keeps its id and name, the others' ids are listed in
``merged_ids``. An id that names two different structures is ambiguous: the later row is rejected
(``duplicate_id``), so that every id in a ranking means one structure. Rows whose structure standardisation changed
(a salt reduced to its parent, a charge neutralised) are counted (``n_standardised``) and logged.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from specvae.chem.structures import Structure, Unparsed, parse_many
from specvae.errors import CheckpointError, InputError
from specvae.readers.structures import StructureRecord, read_structures

log = logging.getLogger("specvae.candidates")
REJECT_COLUMNS = ("context", "source", "row", "line", "reason", "text")


@dataclass(frozen=True)
class Reject:
    """An input row that could not be used."""

    source: str
    row: int
    line: int
    reason: str
    text: str


@dataclass
class Candidates:
    """Unique candidates (one per first InChIKey block, in input order) with their ids, names and rejects."""

    structures: list[Structure] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    merged_ids: list[list[str]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # input file of each kept candidate
    adducts: list[str] = field(default_factory=list)  # the adduct each matched by, for database queries
    rejects: list[Reject] = field(default_factory=list)
    n_read: int = 0
    n_merged: int = 0
    n_standardised: int = 0

    def __len__(self) -> int:
        return len(self.structures)

    def subset(self, keep) -> Candidates:
        """The candidates at positions ``keep`` (in that order); rejects and counts stay those of the whole list."""
        keep = [int(i) for i in keep]
        return Candidates(structures=[self.structures[i] for i in keep], ids=[self.ids[i] for i in keep],
                          names=[self.names[i] for i in keep], merged_ids=[self.merged_ids[i] for i in keep],
                          sources=[self.sources[i] for i in keep],
                          adducts=[self.adducts[i] for i in keep] if self.adducts else [], rejects=self.rejects,
                          n_read=self.n_read, n_merged=self.n_merged, n_standardised=self.n_standardised)

    @property
    def inchikey14(self) -> list[str]:
        return [s.inchikey14 for s in self.structures]


def merge_rows(rows: Iterable[StructureRecord], parsed: Sequence[Structure | Unparsed]) -> Candidates:
    """Pair rows with their parsed structures, collect rejects, and merge duplicates by first InChIKey block."""
    out = Candidates()
    position: dict[str, int] = {}
    named: dict[str, tuple[str, int]] = {}  # id -> (first InChIKey block, row) of the structure it first named
    for row, canon in zip(rows, parsed):
        out.n_read += 1
        if isinstance(canon, Unparsed):
            out.rejects.append(Reject(row.source, row.row, row.line, canon.message, row.text))
            continue
        ids = [i for i in [row.id, *row.other_ids] if i]
        key = canon.inchikey14
        clash = next((i for i in ids if i in named and named[i][0] != key), None)
        if clash is not None:
            out.rejects.append(Reject(row.source, row.row, row.line, f"duplicate_id: id {clash!r} already names "
                                      f"another structure (row {named[clash][1]})", row.text))
            continue
        for i in ids:
            named.setdefault(i, (key, row.row))
        if canon.note.replace("Kekulé SMILES", "").strip("; "):
            out.n_standardised += 1
        if key in position:
            out.n_merged += 1
            kept = position[key]
            out.merged_ids[kept] += [i for i in ids if i != out.ids[kept] and i not in out.merged_ids[kept]]
            continue
        position[key] = len(out.structures)
        out.structures.append(canon)
        out.ids.append(ids[0] if ids else "")
        out.names.append(row.name)
        out.merged_ids.append(ids[1:])
        out.sources.append(row.source)
    return out


def load_candidates(path: str | Path, workers: int = 1, progress: bool = False, cache=None) -> Candidates:
    """Read, canonicalise and merge the candidates of one file (formats: :mod:`specvae.readers.structures`).

    Raises
    ------
    InputError
        When the file is empty, has no structure column or holds no candidate rows at all.
    """
    rows = list(read_structures(path))
    if not rows:
        raise InputError(f"{path} holds no candidate rows; give at least one SMILES or InChI")
    candidates = merge_rows(rows, parse_many([(r.smiles, r.inchi) for r in rows], workers=workers,
                                             progress=progress, cache=cache))
    if candidates.rejects:
        log.warning("%s: %d of %d candidate rows rejected (first: row %d, %s)", path, len(candidates.rejects),
                    candidates.n_read, candidates.rejects[0].row, candidates.rejects[0].reason)
    if candidates.n_standardised:
        log.warning("%s: %d candidate structures were standardised (a salt or mixture reduced to its largest organic "
                    "fragment, a charge neutralised); rankings list the standardised structure", path,
                    candidates.n_standardised)
    return candidates


def write_rejects(rejects: Iterable[Reject], path: str | Path, context: str | None = None) -> int:
    """Append rejects to a TSV (``context, source, row, line, reason, text``; header written once); returns count."""
    path = Path(path)
    new = not path.exists()
    n = 0
    with open(path, "a", encoding="utf-8", newline="") as handle:
        # cells keep quotes as written (names such as 'Ethanol "absolute'); tabs and line breaks become spaces
        writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None, lineterminator="\n")
        if new:
            writer.writerow(REJECT_COLUMNS)
        for r in rejects:
            fields = [context or "", r.source, str(r.row), str(r.line), r.reason, r.text]
            writer.writerow([f.replace("\t", " ").replace("\n", " ").replace("\r", " ") for f in fields])
            n += 1
    return n


def fingerprinter_for(spec):
    """The fingerprinter that computes ``spec`` (a :class:`FingerprintSpec`), checking name, version and width."""
    from specvae.chem.fingerprints import get_fingerprinter

    fingerprinter = get_fingerprinter(spec.name, n_bits=spec.n_bits)
    if fingerprinter.spec != spec:
        raise CheckpointError(f"the model uses fingerprint {spec} but this specvae computes {fingerprinter.spec}; "
                              "install the specvae version the model was trained with, or retrain")
    return fingerprinter


def candidate_fingerprints(structures: Sequence[Structure], spec, cache=None, workers: int = 1,
                           progress: bool = False, chunk_size: int = 5000) -> np.ndarray:
    """Packed fingerprints ``(n, ceil(n_bits / 8))`` uint8 of ``structures`` for ``spec`` (a model's or a database's),
    through ``cache``: :func:`specvae.chem.fingerprints.packed_fingerprints` after checking that this specvae computes
    ``spec``."""
    from specvae.chem.fingerprints import packed_fingerprints

    return packed_fingerprints(structures, fingerprinter_for(spec), cache=cache, workers=workers, progress=progress,
                               chunk_size=chunk_size)
