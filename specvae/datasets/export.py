"""Write the cleaned spectra of an ingested dataset as MGF or MSP, with their metadata, at the measured resolution.

The peaks are the dataset's ``peak_mz``/``peak_intensity`` columns (:mod:`specvae.schema`): the file's peaks after
cleaning, not the bins. Numbers are written in the shortest form that reads back to the same float64, so an export
read back gives exactly the stored values. Metadata per spectrum: the dataset ``id`` (MGF ``TITLE`` and
``SPECTRUMID``, MSP ``DB#``),
name, precursor m/z, adduct, ion mode, MS level, SMILES and InChIKey where the spectrum has a structure, the retention
time where the source stated one (MGF ``RTINSECONDS``; MSP ``RETENTIONTIME`` in minutes, the MSP convention), the
instrument, collision energy, licence, and the dataset's ``split`` and ``kind``. Structure-only rows have no spectrum
and are not written.

We write the files ourselves rather than through matchms: specvae does not depend on matchms, and a dataset of tens of
thousands of spectra would first have to become matchms ``Spectrum`` objects. The tests read both formats back with
matchms' ``load_from_mgf`` and ``load_from_msp``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from specvae import outputs, schema
from specvae.errors import InputError
from specvae.progress import counter

FORMATS = ("mgf", "msp")
SPLIT_CHOICES = ("train", "validation", "test", "all")
_META = (schema.ID, schema.KIND, schema.SPLIT, schema.NAME, schema.PRECURSOR_MZ, schema.ADDUCT, schema.ION_MODE,
         schema.MS_LEVEL, schema.SMILES, schema.INCHIKEY, schema.INSTRUMENT_TYPE, schema.INSTRUMENT,
         schema.COLLISION_ENERGY, schema.LICENSE)
_BATCH = 4096


def export_spectra(dataset: str | Path, out: str | Path, fmt: str | None = None, split: str = "all",
                   overwrite: bool = False, progress: bool = False) -> dict:
    """Write the spectra of the dataset in directory ``dataset`` (from ``specvae ingest``) to the file ``out``.

    Parameters
    ----------
    fmt
        ``mgf`` or ``msp``; default: the suffix of ``out``.
    split
        Only the spectra of this split (``train``, ``validation``, ``test``), or ``all`` (default).
    overwrite
        Replace ``out`` if it exists (else :class:`FileExistsError`).

    Returns ``{"out", "format", "spectra", "peaks"}``. Raises :class:`InputError` for a dataset written before the
    measured peaks were stored (ingest it again).
    """
    import pyarrow.parquet as pq

    dataset, out = Path(dataset), Path(out)
    fmt = (fmt or out.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}: mgf or msp (--format, or the suffix of --out)")
    if split not in SPLIT_CHOICES:
        raise InputError(f"unknown split {split!r}: {', '.join(SPLIT_CHOICES)}")
    file = dataset / schema.DATASET_FILE if dataset.is_dir() or not dataset.suffix else dataset
    if not file.is_file():
        raise FileNotFoundError(2, "no ingested dataset (run `specvae ingest` first)", str(file))
    names = set(pq.read_schema(file).names)
    missing = [c for c in (schema.PEAK_MZ, schema.PEAK_INTENSITY) if c not in names]
    if missing:
        raise InputError(f"{file} holds only binned spectra (it was written by an older specvae, without the "
                         f"{'/'.join(missing)} columns): run `specvae ingest` on the original files again to export")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; use --overwrite to replace it")
    columns = [c for c in (*_META, schema.RETENTION_TIME, schema.PEAK_MZ, schema.PEAK_INTENSITY) if c in names]
    record = mgf_text if fmt == "mgf" else msp_text
    counts = {"spectra": 0, "peaks": 0}

    def chunks() -> Iterator[str]:
        parquet = pq.ParquetFile(file)
        with counter("exporting spectra", total=parquet.metadata.num_rows, enabled=progress) as advance:
            for batch in parquet.iter_batches(batch_size=_BATCH, columns=columns):
                rows = batch.to_pylist()
                for row in rows:
                    if row[schema.PEAK_MZ] is None or (split != "all" and row[schema.SPLIT] != split):
                        continue
                    counts["spectra"] += 1
                    counts["peaks"] += len(row[schema.PEAK_MZ])
                    yield record(row)
                advance(len(rows))

    def write(path: Path) -> None:
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(chunks())

    out.parent.mkdir(parents=True, exist_ok=True)
    outputs.write_atomically(out, write)
    return {"out": str(out), "format": fmt, **counts}


def _number(value: float) -> str:
    """The shortest text that reads back as the same float64 (``124.086``, ``2517040``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _text(value) -> str:
    return " ".join(str(value).split())  # one line, whatever the source held


def mgf_text(row: dict, structure: bool = True) -> str:
    """One MGF record (``BEGIN IONS`` ... ``END IONS`` and a blank line) for a dataset row (a dict of its columns);
    without SMILES and InChIKey when ``structure`` is false (query files whose answers must not travel along)."""
    hidden = () if structure else (schema.SMILES, schema.INCHIKEY)
    lines = ["BEGIN IONS", f"TITLE={_text(row[schema.ID])}", f"SPECTRUMID={_text(row[schema.ID])}"]
    if row[schema.PRECURSOR_MZ] is not None:
        lines.append(f"PEPMASS={_number(row[schema.PRECURSOR_MZ])}")
    mode = row[schema.ION_MODE]
    if mode in ("positive", "negative"):
        lines.append(f"CHARGE={'1+' if mode == 'positive' else '1-'}")
        lines.append(f"IONMODE={mode}")
    rt = row.get(schema.RETENTION_TIME)
    if rt is not None and math.isfinite(rt):
        lines.append(f"RTINSECONDS={_number(rt)}")
    keys = {schema.NAME: "NAME", schema.ADDUCT: "ADDUCT", schema.MS_LEVEL: "MSLEVEL", schema.SMILES: "SMILES",
            schema.INCHIKEY: "INCHIKEY", schema.INSTRUMENT_TYPE: "INSTRUMENTTYPE", schema.INSTRUMENT: "INSTRUMENT",
            schema.COLLISION_ENERGY: "COLLISIONENERGY", schema.LICENSE: "LICENSE", schema.SPLIT: "SPLIT",
            schema.KIND: "KIND"}
    lines += [f"{key}={_text(row[column])}" for column, key in keys.items()
              if row.get(column) is not None and column not in hidden]
    lines += [f"{_number(m)} {_number(i)}" for m, i in zip(row[schema.PEAK_MZ], row[schema.PEAK_INTENSITY])]
    lines.append("END IONS")
    return "\n".join(lines) + "\n\n"


def msp_text(row: dict) -> str:
    """One MSP record (ending in a blank line) for a dataset row (a dict of its columns)."""
    lines = [f"NAME: {_text(row[schema.NAME] or row[schema.ID])}", f"DB#: {_text(row[schema.ID])}"]
    if row[schema.PRECURSOR_MZ] is not None:
        lines.append(f"PRECURSORMZ: {_number(row[schema.PRECURSOR_MZ])}")
    mode = row[schema.ION_MODE]
    if mode in ("positive", "negative"):
        lines.append(f"IONMODE: {mode.capitalize()}")
    rt = row.get(schema.RETENTION_TIME)
    if rt is not None and math.isfinite(rt):
        lines.append(f"RETENTIONTIME: {_number(rt / 60.0)}")
    keys = {schema.ADDUCT: "PRECURSORTYPE", schema.MS_LEVEL: "MSLEVEL", schema.SMILES: "SMILES",
            schema.INCHIKEY: "INCHIKEY", schema.INSTRUMENT_TYPE: "INSTRUMENTTYPE", schema.INSTRUMENT: "INSTRUMENT",
            schema.COLLISION_ENERGY: "COLLISIONENERGY", schema.LICENSE: "LICENSE", schema.SPLIT: "SPLIT",
            schema.KIND: "KIND"}
    lines += [f"{key}: {_text(row[column])}" for column, key in keys.items() if row.get(column) is not None]
    lines.append(f"Num Peaks: {len(row[schema.PEAK_MZ])}")
    lines += [f"{_number(m)}\t{_number(i)}" for m, i in zip(row[schema.PEAK_MZ], row[schema.PEAK_INTENSITY])]
    return "\n".join(lines) + "\n\n"
