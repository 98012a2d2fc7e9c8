"""MGF (Mascot generic format): ``BEGIN IONS`` ... ``END IONS`` blocks of ``KEY=value`` lines and peak lines.

Handles the quirks of real files: parameter lines before the first ``BEGIN IONS`` apply to every record of the file
(CASMI 2016 files put ``NAME=``, ``SOURCE_INSTRUMENT=`` there), trailing spaces after ``BEGIN IONS``, comment lines
(``#``, ``;``, ``!``, ``/``), stray prefixes such as ``NA# Splash:`` (no ``=``: ignored) or ``NATITLE=`` (kept as an
unknown key), ``PEPMASS`` with an intensity after the m/z, a third (charge) column in peak lines. A block without
``END IONS`` is a ``truncated_record``.

MGF has no standard MS level field; records without ``MSLEVEL`` have ``ms_level`` ``None`` (see
:mod:`specvae.ingest.clean` for what cleaning does with it). ``CHARGE=1+`` gives the ion mode only where no
``IONMODE`` or adduct says otherwise; CASMI 2016 writes ``CHARGE=1+`` even for negative-mode spectra.
"""

from __future__ import annotations

import re

from specvae.readers.peaks import PeakError, note_peak_error, parse_peak_text
from specvae.readers.records import EMPTY, SpectrumRecord, finish_metadata, normal_key

_BEGIN = re.compile(r"^[ \t]*BEGIN IONS[ \t]*$", re.M)
_END = re.compile(r"^[ \t]*END IONS[ \t]*$", re.M)
_PEAK_START = re.compile(r"^[ \t]*[-+.\d]", re.M)
_COMMENT = ("#", ";", "!", "/")


def cut_mgf(buffer: bytes) -> int:
    """End of the last complete record in ``buffer`` (the line after the last ``END IONS``), 0 if none."""
    end = buffer.rfind(b"END IONS")
    if end < 0:
        return 0
    newline = buffer.find(b"\n", end)
    return newline + 1 if newline >= 0 else 0


def header_params(text: str) -> dict:
    """``KEY=value`` parameters before the first ``BEGIN IONS`` of a file (they apply to every record)."""
    m = _BEGIN.search(text)
    return _params(text[: m.start()] if m else "")


def parse_mgf_text(text: str, source: str, first_line: int = 1, last: bool = True, truncated: bool = False,
                   header: dict | None = None) -> list[SpectrumRecord]:
    """Records of an MGF text chunk, numbered from 0 within the chunk; ``header`` = the file's global parameters."""
    header = header or {}
    begins = [m for m in _BEGIN.finditer(text)]
    records: list[SpectrumRecord] = []
    line_at = _LineCounter(text, first_line)
    for j, m in enumerate(begins):
        start_line = line_at(m.start())
        stop = begins[j + 1].start() if j + 1 < len(begins) else len(text)
        body_start = m.end() + 1
        end = _END.search(text, m.end(), stop)
        body = text[body_start: end.start()] if end else text[body_start:stop]
        records.append(_parse_block(body, source, len(records), start_line, header, complete=end is not None,
                                    at_file_end=last and j == len(begins) - 1))
    return records


def _params(text: str) -> dict:
    meta: dict = {}
    for ln in text.split("\n"):
        ln = ln.strip()
        if not ln or ln.startswith(_COMMENT):
            continue
        k, sep, v = ln.partition("=")
        if sep:
            meta.setdefault(normal_key(k), v.strip())
    return meta


def _parse_block(body: str, source: str, index: int, start_line: int, header: dict, complete: bool,
                 at_file_end: bool) -> SpectrumRecord:
    p = _PEAK_START.search(body)
    cut = p.start() if p else len(body)
    meta = {**header, **_params(body[:cut])}
    meta, error, detail = finish_metadata(meta)
    record = SpectrumRecord(source, index, start_line, EMPTY, EMPTY, meta, error, detail)
    peak_line = start_line + 1 + body[:cut].count("\n")
    peaks = body[cut:]
    if not complete:
        record.error = "truncated_record"
        record.detail = "no END IONS: the file ends inside this record" if at_file_end else (
            "no END IONS before the next BEGIN IONS")
        return record
    try:
        mz, intensity, _ = parse_peak_text(peaks)
    except PeakError as exc:
        note_peak_error(record, exc, peak_line)
        return record
    record.mz, record.intensity = mz, intensity
    if record.error is None and len(mz) == 0:
        record.error, record.detail = "no_peaks", "the record has no peak lines"
    return record


class _LineCounter:
    """Line number of increasing character offsets in ``text`` without rescanning from the start."""

    def __init__(self, text: str, first_line: int):
        self.text, self.pos, self.line = text, 0, first_line

    def __call__(self, offset: int) -> int:
        self.line += self.text.count("\n", self.pos, offset)
        self.pos = offset
        return self.line
