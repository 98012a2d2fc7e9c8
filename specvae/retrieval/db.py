"""A local structure database for candidate retrieval: one Parquet file, sorted by mass, fingerprints precomputed.

Columns (see :data:`DB_COLUMNS`): ``id``, ``name``, ``source`` (input file name), ``inchikey``, ``inchikey14``,
``smiles`` (RDKit canonical), ``formula``, ``monoisotopic_mass`` (Da, computed by RDKit from the standardised
structure; a mass given in the input is never used), ``charge`` (net formal charge: 0, or +1 for a permanently charged
molecule), ``merged_ids`` (``;``-joined ids of duplicates merged into the row) and ``fingerprint`` (packed bits).
Structures are standardised and merged by first InChIKey block exactly as candidates are
(:mod:`specvae.retrieval.candidates`). The Parquet key-value metadata hold the fingerprint spec
(``specvae.fingerprint``) and a build record (``specvae.db``: inputs with row counts and licence notes,
standardisation, specvae version). Rows that could not be used are listed in ``<DB>.rejects.tsv`` beside the database.

A query takes a precursor m/z, adducts and a ppm tolerance (on the m/z), turns each adduct's window into a mass
window (:meth:`specvae.retrieval.adducts.Adduct.mass_window`) and finds the rows by binary search on the sorted masses.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path

import numpy as np

from specvae.chem.structures import Structure, parse_many
from specvae.errors import CheckpointError, InputError
from specvae.readers.structures import read_structures
from specvae.retrieval.adducts import Adduct, parse_adduct
from specvae.retrieval.candidates import Candidates, candidate_fingerprints, merge_rows

log = logging.getLogger("specvae.db")

META_DB = b"specvae.db"
PPM = 10.0  # default precursor m/z tolerance of a query, in ppm of the m/z


def check_ppm(ppm: float) -> float:
    """``ppm`` if it is a usable m/z tolerance (a positive, finite number of ppm), else :class:`InputError`."""
    if isinstance(ppm, bool) or not isinstance(ppm, (int, float)) or not math.isfinite(ppm) or ppm <= 0:
        raise InputError(f"--ppm must be a positive number (a tolerance in ppm of the precursor m/z), not {ppm!r}")
    return ppm
DB_FORMAT = "1"
DB_COLUMNS = ("id", "name", "source", "inchikey", "inchikey14", "smiles", "formula", "monoisotopic_mass", "charge",
              "merged_ids", "fingerprint")
TEXT_COLUMNS = ("id", "name", "source", "inchikey", "smiles", "formula", "merged_ids")
STANDARDISATION = ("RDKit: largest organic fragment of multi-component structures; net charges neutralised where "
                   "possible (Uncharger), permanently charged molecules kept as ions; identity = first InChIKey block")


def licence_note(path: Path) -> str:
    """The licence section of a SOURCE.md / README.md beside ``path`` (and any LICENSE* file names), or ``""``."""
    notes = []
    for doc in ("SOURCE.md", "README.md"):
        doc_path = path.parent / doc
        if doc_path.is_file():
            match = re.search(r"^#+\s*Licen[cs]es?[^\n]*\n(.*?)(?=^#|\Z)", doc_path.read_text(errors="replace"),
                              flags=re.M | re.S)
            if match:
                notes.append(" ".join(match.group(1).split())[:1000])
                break
    notes += [f"licence file: {p.name}" for p in sorted(path.parent.glob("LICEN[CS]E*"))]
    return " | ".join(notes)


def build_db(inputs: Sequence[str | Path], out: str | Path, fingerprint: str | None = None, cache=None,
             workers: int = 1, licence: str | None = None, overwrite: bool = False, progress: bool = False) -> dict:
    """Build a structure database from SMILES, InChI, CSV, TSV or SDF files (:mod:`specvae.readers.structures`).

    Parameters
    ----------
    inputs
        Structure files, read in order; for duplicate first InChIKey blocks the first occurrence is kept.
    out
        The Parquet file to write; rejects go to ``<out>.rejects.tsv``.
    fingerprint
        Fingerprint name (default: specvae's default fingerprint); it must match the models the database is used with.
    cache
        A fingerprint cache (:class:`specvae.chem.cache.FingerprintCache`) or ``None``.
    workers
        Processes for parsing and fingerprints (default 1).
    licence
        A licence note recorded for every input, in addition to the one found beside each input file.
    overwrite
        Replace an existing database (default: refuse).

    Returns
    -------
    dict
        The build record stored in the metadata (per-input counts, fingerprint, totals).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from specvae import __version__
    from specvae.chem.fingerprints import DEFAULT_FINGERPRINT, get_fingerprinter
    from specvae.retrieval.candidates import write_rejects
    from specvae.schema import META_FINGERPRINT

    out = Path(out)
    rejects_path = out.with_name(out.name + ".rejects.tsv")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite to replace it")
    if not inputs:
        raise InputError("no input files; give SMILES, InChI, CSV, TSV or SDF files of structures")
    spec = get_fingerprinter(fingerprint or DEFAULT_FINGERPRINT).spec
    rows = []
    for path in inputs:
        rows += list(read_structures(path))
        log.info("%s: %d rows", path, len(rows))
    if not rows:
        raise InputError(f"no structures in {', '.join(map(str, inputs))}")
    merged = merge_rows(rows, parse_many([(r.smiles, r.inchi) for r in rows], workers=workers, progress=progress,
                                         cache=cache))
    packed = candidate_fingerprints(merged.structures, spec, cache=cache, workers=workers, progress=progress)
    record = _build_record(inputs, rows, merged, spec, licence)
    record["specvae_version"] = __version__
    s = merged.structures
    table = pa.table({
        "id": merged.ids, "name": merged.names, "source": [Path(p).name for p in merged.sources],
        "inchikey": [c.inchikey for c in s], "inchikey14": [c.inchikey14 for c in s], "smiles": [c.smiles for c in s],
        "formula": [c.formula for c in s], "monoisotopic_mass": pa.array([c.mass for c in s], pa.float64()),
        "charge": pa.array([c.charge for c in s], pa.int8()), "merged_ids": [";".join(m) for m in merged.merged_ids],
        "fingerprint": pa.array(list(map(bytes, packed)), pa.binary(packed.shape[1]))})
    table = table.take(np.argsort(table["monoisotopic_mass"].to_numpy(), kind="stable"))
    table = table.replace_schema_metadata({META_FINGERPRINT: spec.to_json().encode(),
                                           META_DB: json.dumps(record).encode()})
    tmp = out.with_name(out.name + ".tmp-build")
    pq.write_table(table, tmp, compression="zstd")
    tmp_rejects = rejects_path.with_name(rejects_path.name + ".tmp-build")
    tmp_rejects.unlink(missing_ok=True)
    write_rejects(merged.rejects, tmp_rejects)
    os.replace(tmp, out)
    os.replace(tmp_rejects, rejects_path)
    return record


def _build_record(inputs, rows, merged: Candidates, spec, licence: str | None) -> dict:
    from collections import Counter

    read = Counter(r.source for r in rows)
    kept = Counter(merged.sources)
    rejected = Counter(r.source for r in merged.rejects)
    sources = []
    for path in inputs:
        key = str(path)
        note = licence_note(Path(path))
        sources.append({"file": Path(path).name, "path": key, "rows": read[key], "written": kept[key],
                        "rejected": rejected[key], "merged": read[key] - kept[key] - rejected[key],
                        "licence": "; ".join(n for n in (licence, note) if n)})
    return {"format": DB_FORMAT, "fingerprint": json.loads(spec.to_json()), "n_structures": len(merged),
            "rows_read": merged.n_read, "rejected": len(merged.rejects), "merged": merged.n_merged,
            "standardisation": STANDARDISATION, "sources": sources}


class StructureDB:
    """A structure database opened for queries (the whole file is read once; fingerprints stay packed)."""

    def __init__(self, path: str | Path):
        import pyarrow.parquet as pq

        from specvae.chem.fingerprints import FingerprintSpec
        from specvae.schema import META_FINGERPRINT

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(2, "no such structure database", str(self.path))
        table = pq.read_table(self.path)
        meta = table.schema.metadata or {}
        if META_DB not in meta or META_FINGERPRINT not in meta:
            raise InputError(f"{self.path} is not a specvae structure database; build one with `specvae db build`")
        self.spec = FingerprintSpec.from_json(meta[META_FINGERPRINT])
        self.record = json.loads(meta[META_DB])
        self.masses = table["monoisotopic_mass"].to_numpy()
        self.charges = table["charge"].to_numpy()
        # text columns as object arrays: a query slices them without going through Arrow
        self.columns = {c: np.asarray(table[c].to_pylist(), dtype=object) for c in TEXT_COLUMNS}
        fp = table["fingerprint"].combine_chunks()
        width = fp.type.byte_width
        self.packed = np.frombuffer(fp.buffers()[1], np.uint8)[fp.offset * width:(fp.offset + len(fp)) * width]
        self.packed = self.packed.reshape(len(fp), width)
        if np.any(np.diff(self.masses) < 0):
            raise InputError(f"{self.path} is not sorted by mass; rebuild it with `specvae db build`")

    def __len__(self) -> int:
        return len(self.masses)

    def check_spec(self, spec) -> None:
        """Raise when the database's fingerprint differs from ``spec`` (the model's)."""
        if spec != self.spec:
            raise CheckpointError(f"{self.path} holds fingerprint {self.spec} but the model uses {spec}; rebuild the "
                                  f"database with `specvae db build --fingerprint {spec.name}`")

    def mass_range(self, lo: float, hi: float, charge: int = 0) -> np.ndarray:
        """Row indices with ``lo <= monoisotopic_mass <= hi`` (Da) and the given net formal ``charge``."""
        start = int(np.searchsorted(self.masses, lo, side="left"))
        stop = int(np.searchsorted(self.masses, hi, side="right"))
        idx = np.arange(start, stop)
        return idx[self.charges[idx] == charge]

    def query(self, mz: float, adducts: Sequence[Adduct | str], ppm: float = PPM) -> tuple[Candidates, np.ndarray]:
        """Candidates whose ion under any of ``adducts`` lies within ``ppm`` of the precursor ``mz``.

        Returns the candidates (in mass order; one per structure, with the first matching adduct) and their packed
        fingerprints.
        """
        if not np.isfinite(mz) or mz <= 0:
            raise InputError(f"precursor m/z {mz!r} cannot be used for a database query; give a positive m/z")
        check_ppm(ppm)
        chosen: dict[int, str] = {}
        for adduct in adducts:
            adduct = parse_adduct(adduct) if isinstance(adduct, str) else adduct
            lo, hi = adduct.mass_window(mz, ppm)
            for i in self.mass_range(lo, hi, adduct.molecule_charge).tolist():
                chosen.setdefault(i, adduct.name)
        idx = np.array(sorted(chosen), dtype=np.int64)
        col = {c: self.columns[c][idx].tolist() for c in TEXT_COLUMNS}
        structures = list(map(Structure._make, zip(col["smiles"], col["inchikey"], col["formula"],
                                                   self.masses[idx].tolist(), self.charges[idx].tolist(), repeat(""))))
        cands = Candidates(structures=structures, ids=col["id"], names=col["name"],
                           merged_ids=[m.split(";") if m else [] for m in col["merged_ids"]], sources=col["source"],
                           adducts=[chosen[i] for i in idx.tolist()], n_read=len(idx))
        return cands, self.packed[idx]
