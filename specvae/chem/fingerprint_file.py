"""``specvae fingerprint``: structures in a file -> a Parquet table of InChIKeys, SMILES and packed fingerprint bits.

Every input record is either written (one row per valid record, in input order) or reported in the rejects TSV next to
the output (``<output stem>.rejects.tsv``: record, line, input, reason). The fingerprint's name, version and width are
stored in the Parquet key-value metadata (:data:`specvae.schema.META_FINGERPRINT`).
"""

from __future__ import annotations

import csv
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from specvae import schema
from specvae.chem.fingerprints import DEFAULT_FINGERPRINT

log = logging.getLogger("specvae.chem")


@dataclass
class FingerprintReport:
    """What :func:`fingerprint_file` did."""

    output: Path
    rejects: Path
    spec: object
    read: int = 0
    written: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    distinct: int = 0
    cache_hits: int = 0

    def summary(self) -> str:
        reasons = "; ".join(f"{n} {r}" for r, n in self.reasons.most_common(3))
        rejected = f"{self.rejected} rejected ({reasons})" if self.rejected else "0 rejected"
        return (f"{self.read} records: {self.written} written, {rejected}; {self.distinct} distinct structures, "
                f"{self.cache_hits} from cache; {self.spec} -> {self.output}")


def rejects_path(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.stem + ".rejects.tsv")


def _reason_kind(message: str) -> str:
    return message.split(" '", 1)[0].split(" (", 1)[0]


def fingerprint_file(input_path: str | Path, output: str | Path, fingerprint: str = DEFAULT_FINGERPRINT,
                     n_bits: int | None = None, workers: int = 1, cache=True, overwrite: bool = False,
                     progress: bool = False) -> FingerprintReport:
    """Fingerprint every structure of ``input_path`` and write ``output`` (Parquet) and its rejects TSV.

    Parameters
    ----------
    input_path
        SMILES, CSV/TSV, SDF or MSP file (``.gz`` allowed); see :mod:`specvae.readers.structures`.
    output
        The Parquet file to write; refused if it exists unless ``overwrite``.
    fingerprint, n_bits
        Which fingerprint (:func:`specvae.chem.fingerprints.available`) and width (default: its own).
    workers
        Processes for structures not in the cache.
    cache
        ``True`` for the default cache, ``False``/``None`` for none, or a path / :class:`FingerprintCache`.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from specvae import __version__
    from specvae.chem.cache import FingerprintCache
    from specvae.chem.fingerprints import get_fingerprinter, packed_fingerprints
    from specvae.chem.structures import Unparsed, parse_records
    from specvae.progress import track
    from specvae.readers.structures import read_structures

    input_path, output = Path(input_path), Path(output)
    rejects = rejects_path(output)
    if not input_path.exists():
        raise FileNotFoundError(2, "No such file", str(input_path))
    for target in (output, rejects):
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} exists; pass --overwrite to replace it")
    fingerprinter = get_fingerprinter(fingerprint, n_bits)
    spec = fingerprinter.spec
    report = FingerprintReport(output=output, rejects=rejects, spec=spec)
    read = list(track(read_structures(input_path), f"reading {input_path.name}", enabled=progress))
    records, structures, bad = [], [], []
    for record, parsed in zip(read, parse_records(read, workers=workers, progress=progress)):
        if isinstance(parsed, Unparsed):
            bad.append((record, parsed.message))
            report.reasons[_reason_kind(parsed.message)] += 1
            continue
        records.append(record)
        structures.append(parsed)
    report.read = len(read)
    report.rejected = len(bad)
    report.written = len(records)
    report.distinct = len({s.inchikey for s in structures})
    if cache is True:
        cache = FingerprintCache()
    elif cache is False:
        cache = None
    elif cache is not None and not hasattr(cache, "get_many"):
        cache = FingerprintCache(cache)
    if cache is not None:
        report.cache_hits = len(cache.get_many(spec, [s.inchikey for s in structures]))
    packed = packed_fingerprints(structures, fingerprinter, cache=cache, workers=workers, progress=progress)
    width = schema.n_packed_bytes(spec.n_bits)
    columns = {
        schema.RECORD: pa.array([r.row for r in records], pa.int64()),
        schema.LINE: pa.array([r.line for r in records], pa.int64()),
    }
    if any(r.id for r in records):
        columns[schema.ID] = pa.array([r.id for r in records], pa.string())
    if any(r.name for r in records):
        columns[schema.NAME] = pa.array([r.name for r in records], pa.string())
    columns[schema.INCHIKEY] = pa.array([s.inchikey for s in structures], pa.string())
    columns[schema.INCHIKEY14] = pa.array([s.inchikey14 for s in structures], pa.string())
    columns[schema.SMILES] = pa.array([s.smiles for s in structures], pa.string())
    columns[schema.FINGERPRINT] = pa.array([row.tobytes() for row in packed], pa.binary(width))
    table = pa.table(columns).replace_schema_metadata({
        schema.META_FINGERPRINT: spec.to_json().encode(),
        schema.META_SCHEMA: schema.SCHEMA_VERSION.encode(),
        schema.META_VERSION: __version__.encode(),
    })
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f"{output.name}.tmp-{os.getpid()}")
    tmp_rejects = rejects.with_name(f"{rejects.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp)
        with open(tmp_rejects, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow([schema.RECORD, schema.LINE, "input", "reason"])
            for record, reason in bad:
                writer.writerow([record.row, record.line, record.text, reason])
        os.replace(tmp, output)
        os.replace(tmp_rejects, rejects)
    finally:
        for leftover in (tmp, tmp_rejects):
            if leftover.exists():
                leftover.unlink()
    log.debug("%s", report.summary())
    return report


def read_fingerprints(path: str | Path):
    """``(table, spec, bits)`` of a file written by :func:`fingerprint_file` (bits unpacked, ``uint8`` 0/1)."""
    import numpy as np
    import pyarrow.parquet as pq

    from specvae.chem.fingerprints import FingerprintSpec, unpack_bits

    table = pq.read_table(path)
    spec = FingerprintSpec.from_table(table, path, "specvae fingerprint")
    column = table.column(schema.FINGERPRINT).to_pylist()
    packed = np.frombuffer(b"".join(column), dtype=np.uint8).reshape(len(column), schema.n_packed_bytes(spec.n_bits))
    return table, spec, unpack_bits(packed, spec.n_bits)
