"""MoNA and GNPS JSON spectrum libraries: a JSON array of spectrum objects.

- MoNA export: ``{"id", "compound": [{"inchi", "inchiKey", "names": [{"name"}], "metaData": [{"name", "value"}]}],
  "metaData": [{"name": "precursor m/z", "value": ...}, ...], "spectrum": "mz:int mz:int ..."}``.
- GNPS library JSON: flat objects (``spectrum_id``, ``Compound_Name``, ``Precursor_MZ``, ``Adduct``, ``Ion_Mode``,
  ``Smiles``, ``INCHI``, ``Instrument``, ``Ion_Source``, ``ms_level``, ...) with peaks in ``peaks_json`` (a JSON
  string of ``[[mz, intensity], ...]``) or ``peaks``.

The array is decoded one object at a time, so a truncated or corrupt file yields every complete record before the
damage and then one ``truncated_record``. Line numbers are those of each object's opening brace.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np

from specvae.readers.peaks import PeakError, attach_peaks
from specvae.readers.records import EMPTY, SpectrumRecord, finish_metadata, normal_key
from specvae.readers.textio import text_chunks

_WS = " \t\n\r,"


def read_json(path, source: str) -> Iterator[SpectrumRecord]:
    """Records of a MoNA/GNPS JSON file (whole file in memory; JSON libraries are small next to MSP/MGF)."""
    chunks = list(text_chunks(path, cut=lambda buffer: 0, fmt="json"))
    text = "".join(c.text for c in chunks)
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if pos < len(text) and text[pos] == "[":
        pos = _skip(text, pos + 1)
    elif pos < len(text) and text[pos] == "{":  # a single object, or JSON lines
        pass
    index = 0
    line = 1
    counted = 0
    while pos < len(text) and text[pos] != "]":
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield SpectrumRecord(source, index, line, EMPTY, EMPTY, {}, "truncated_record",
                                 f"invalid or truncated JSON from here on ({exc.msg} at line {exc.lineno})")
            return
        yield _record(obj, source, index, line)
        index += 1
        pos = _skip(text, end)


def _skip(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in _WS:
        pos += 1
    return pos


def _record(obj, source: str, index: int, line: int) -> SpectrumRecord:
    if not isinstance(obj, dict):
        return SpectrumRecord(source, index, line, EMPTY, EMPTY, {}, "malformed_record",
                              f"expected a JSON object, found {type(obj).__name__}")
    if "spectrum" in obj and ("compound" in obj or "metaData" in obj):
        meta, peaks = _mona(obj)
    else:
        meta, peaks = _gnps(obj)
    meta, error, detail = finish_metadata(meta)
    record = SpectrumRecord(source, index, line, EMPTY, EMPTY, meta, error, detail)
    try:
        mz, intensity = _peaks(peaks)
    except PeakError as exc:
        if record.error is None:
            record.error, record.detail = exc.reason, exc.detail
        return record
    return attach_peaks(record, mz, intensity)


def _scalar_items(obj: dict) -> dict:
    return {normal_key(k): v for k, v in obj.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}


def _gnps(obj: dict):
    meta = _scalar_items(obj)
    meta.pop("peaks_json", None)
    if "id" not in meta and "spectrumid" in obj:
        meta["id"] = obj["spectrumid"]
    if not meta.get("instrument_type") and meta.get("ion_source"):
        meta["instrument_type"] = meta["ion_source"]  # GNPS: Ion_Source "LC-ESI" names the inlet
    peaks = obj.get("peaks_json", obj.get("peaks"))
    return meta, peaks


def _mona(obj: dict):
    meta: dict = {}
    for item in obj.get("metaData") or []:
        if isinstance(item, dict) and "name" in item and isinstance(item.get("value"), (str, int, float)):
            meta.setdefault(normal_key(str(item["name"])), item["value"])
    compounds = obj.get("compound") or []
    compound = compounds[0] if compounds and isinstance(compounds[0], dict) else {}
    names = compound.get("names") or []
    if names and isinstance(names[0], dict) and names[0].get("name"):
        meta["name"] = names[0]["name"]
    for item in compound.get("metaData") or []:
        if isinstance(item, dict) and "name" in item and isinstance(item.get("value"), str):
            key = normal_key(str(item["name"]))
            if key in ("smiles", "computed_smiles", "inchi", "computed_inchi", "inchikey"):
                meta.setdefault(key, item["value"])
    if compound.get("inchi"):
        meta.setdefault("inchi", compound["inchi"])
    if compound.get("inchiKey"):
        meta.setdefault("inchikey", compound["inchiKey"])
    meta["id"] = obj.get("id")
    if isinstance(obj.get("license"), str):
        meta.setdefault("license", obj["license"])
    return meta, obj.get("spectrum")


def _peaks(peaks) -> tuple[np.ndarray, np.ndarray]:
    if peaks is None:
        return EMPTY, EMPTY
    if isinstance(peaks, str):
        text = peaks.strip()
        if text.startswith("["):
            try:
                peaks = json.loads(text)
            except json.JSONDecodeError as exc:
                raise PeakError("malformed_peak_line", f"peaks are not valid JSON ({exc.msg})") from None
        else:  # MoNA: "mz:int mz:int ..."
            try:
                values = np.array(text.replace(":", " ").split(), dtype=np.float64)
            except ValueError:
                raise PeakError("malformed_peak_line", f"peaks {text[:60]!r} are not numeric pairs") from None
            if values.size % 2:
                raise PeakError("malformed_peak_line", "peaks hold an odd number of values")
            return values[0::2], values[1::2]
    try:
        arr = np.asarray(peaks, dtype=np.float64)
    except (TypeError, ValueError):
        raise PeakError("malformed_peak_line", "peaks are not a list of numeric [m/z, intensity] pairs") from None
    if arr.size == 0:
        return EMPTY, EMPTY
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise PeakError("malformed_peak_line", f"peaks have shape {arr.shape}, expected (n, 2)")
    return arr[:, 0].copy(), arr[:, 1].copy()
