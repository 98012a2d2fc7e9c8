"""mzML: MS2 (MSn) scans of a run, read with pyteomics.

Only tandem scans (``ms level`` >= 2) are records: MS1 survey scans are skipped (and counted by the caller through
:func:`read_mzml`'s ``skipped`` list). ``record`` is the spectrum's index in the file, ``line`` is 0 (XML has no
record lines), the precursor m/z is the selected ion's m/z, the ion mode comes from the scan's polarity term, and
the collision energy from the activation's ``collision energy`` term (in eV).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import numpy as np

from specvae.readers.peaks import attach_peaks
from specvae.readers.records import EMPTY, SpectrumRecord, finish_metadata
from specvae.readers.textio import check_readable, is_gzip


def read_mzml(path, source: str, skipped: list | None = None) -> Iterator[SpectrumRecord]:
    """MSn scans of an mzML file (optionally gzip-compressed); MS1 scans are appended to ``skipped`` (indices)."""
    from pyteomics import mzml

    check_readable(path)
    opener = gzip.open if is_gzip(path) else open
    index = -1
    with opener(path, "rb") as fh:
        reader = mzml.MzML(fh, use_index=False, read_schema=False, decode_binary=True)
        it = iter(reader)
        while True:
            try:
                spectrum = next(it)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - lxml/pyteomics raise many types for damaged XML
                yield SpectrumRecord(source, index + 1, 0, EMPTY, EMPTY, {}, "truncated_record",
                                     f"unreadable mzML after spectrum {index} ({type(exc).__name__}: {exc})"[:300])
                return
            index = int(spectrum.get("index", index + 1))
            level = spectrum.get("ms level")
            if level is not None and int(level) < 2:
                if skipped is not None:
                    skipped.append(index)
                continue
            yield _record(spectrum, source, index)


def _record(spectrum: dict, source: str, index: int) -> SpectrumRecord:
    meta: dict = {"scan_id": spectrum.get("id"), "ms_level": spectrum.get("ms level")}
    if "positive scan" in spectrum:
        meta["ion_mode"] = "positive"
    elif "negative scan" in spectrum:
        meta["ion_mode"] = "negative"
    precursors = (spectrum.get("precursorList") or {}).get("precursor") or []
    if precursors:
        precursor = precursors[0]
        ions = (precursor.get("selectedIonList") or {}).get("selectedIon") or []
        if ions:
            meta["precursor_mz"] = ions[0].get("selected ion m/z")
            meta["charge"] = ions[0].get("charge state")
        energy = (precursor.get("activation") or {}).get("collision energy")
        if energy is not None:
            meta["collision_energy"] = f"{float(energy):g} eV"
    meta, error, detail = finish_metadata(meta)
    mz = np.asarray(spectrum.get("m/z array", EMPTY), dtype=np.float64)
    intensity = np.asarray(spectrum.get("intensity array", EMPTY), dtype=np.float64)
    return attach_peaks(SpectrumRecord(source, index, 0, EMPTY, EMPTY, meta, error, detail), mz, intensity, "scan")
