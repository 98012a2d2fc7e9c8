"""MSP (NIST-style text libraries) in the dialects users have: MassBank/RIKEN/NIST keys and MoNA exports.

A record is a block of ``Key: value`` lines, a ``Num Peaks:`` line, then peak lines; records are separated by blank
lines (a record that starts right after the previous one's peaks, without a blank line, is recognised too). MoNA
exports keep the structure inside ``Comments:`` (``"SMILES=..." "InChI=..." "computed SMILES=..."``); MassBank and NIST
use plain ``SMILES:``/``INCHI:``/``INCHIKEY:`` keys. Both end up in the same normalised metadata
(:func:`specvae.readers.records.finish_metadata`).

Speed: a record costs one ``str.split`` of its metadata lines, one dictionary lookup per key and one
:func:`numpy.fromstring` over its peak block; the per-line peak parse runs only for blocks the fast path rejects.
"""

from __future__ import annotations

import re

from specvae.readers.peaks import (
    PeakError,
    check_peak_values,
    count_lines,
    locate_bad_values,
    looks_like_metadata,
    note_peak_error,
    parse_peak_blocks,
    parse_peak_text,
)
from specvae.readers.records import EMPTY, KEY_ALIASES, SpectrumRecord, finish_metadata, normal_key

_NUM_PEAKS = re.compile(r"^num ?peaks[ \t]*:[ \t]*([^\n]*)$", re.I | re.M)
_BLANKISH = re.compile(r"\n[ \t]+(?=\n)")
_PEAK_START = re.compile(r"^[ \t]*[-+.\d]", re.M)
_KNOWN_KEYS = frozenset(KEY_ALIASES.values())
_CUT_NUMBER = (".", "e", "E", "+", "-")  # a file that ends right after one of these ended inside a number
_KEYS: dict[str, str] = {}  # raw key -> normalised key (memoised: files repeat a few dozen keys)


def cut_msp(buffer: bytes) -> int:
    """End of the last complete record in ``buffer`` (just after a blank line), 0 if none."""
    end = buffer.rfind(b"\n\n")
    return end + 2 if end >= 0 else 0


def parse_msp_text(text: str, source: str, first_line: int = 1, last: bool = True,
                   truncated: bool = False) -> list[SpectrumRecord]:
    """Records of an MSP text chunk, numbered from 0 within the chunk (the caller adds the chunk's offset)."""
    if "\n \n" in text or "\n\t" in text:
        text = _BLANKISH.sub("\n", text)
    pieces = text.split("\n\n")
    queue: list[tuple[str, int]] = []
    line = first_line
    for piece in pieces:
        stripped = piece.lstrip("\n")
        if stripped.strip():
            queue.append((stripped, line + len(piece) - len(stripped)))
        line += piece.count("\n") + 2
    cut_end = last and (truncated or not text.endswith("\n"))
    fast = _parse_fast(queue, source, cut_end)
    if fast is not None:
        return fast
    records: list[SpectrumRecord] = []
    i = 0
    while i < len(queue):
        block, start = queue[i]
        is_last = i == len(queue) - 1
        record, rest = _parse_record(block, source, len(records), start, cut_end and is_last)
        records.append(record)
        if rest is not None:  # a record followed without a blank line: parse it next
            queue.insert(i + 1, rest)
        i += 1
    return records


def _head_metadata(head: str) -> dict:
    meta: dict = {}
    keys = _KEYS
    for ln in head.split("\n"):
        k, sep, v = ln.partition(":")
        if not sep:
            continue
        key = keys.get(k)
        if key is None:
            key = keys[k] = normal_key(k)
        if key not in meta:
            meta[key] = v.strip()
    return meta


def _num_peaks_line(block: str) -> tuple[int, int, str] | None:
    """``(start, end, value)`` of the ``Num Peaks:`` line (``end`` at its newline), or ``None``."""
    for spelling in ("Num Peaks:", "NUM PEAKS:", "Num peaks:"):
        i = block.find(spelling)
        if i >= 0 and (i == 0 or block[i - 1] == "\n"):
            j = block.find("\n", i)
            j = len(block) if j < 0 else j
            return i, j, block[i + len(spelling): j].strip()
    m = _NUM_PEAKS.search(block)
    return (m.start(), m.end(), m.group(1).strip()) if m else None


def _parse_fast(queue: list[tuple[str, int]], source: str, cut_end: bool) -> list[SpectrumRecord] | None:
    """The common case, one pass: every record has ``Num Peaks:`` and plain peak lines; ``None`` otherwise."""
    records: list[SpectrumRecord] = []
    texts: list[str] = []
    n_lines: list[int] = []
    declared: list[str] = []
    for index, (block, start) in enumerate(queue):
        found = _num_peaks_line(block)
        if found is None:
            return None
        i, j, value = found
        meta, error, detail = finish_metadata(_head_metadata(block[:i]))
        peaks = block[j + 1:]
        records.append(SpectrumRecord(source, index, start, EMPTY, EMPTY, meta, error, detail))
        texts.append(peaks)
        n_lines.append(count_lines(peaks))
        declared.append(value)
    parsed = parse_peak_blocks(texts, n_lines)
    if parsed is None:
        return None
    mz_all, int_all, offsets = parsed
    bad = set(locate_bad_values(mz_all, int_all, offsets).tolist())
    last = len(records) - 1
    for index, record in enumerate(records):
        lo, hi = offsets[index], offsets[index + 1]
        mz, intensity = mz_all[lo:hi], int_all[lo:hi]
        if record.error is not None:
            continue
        if index in bad:
            try:
                check_peak_values(mz, intensity)
            except PeakError as exc:
                peak_line = record.line + queue[index][0].count("\n", 0, len(queue[index][0]) - len(texts[index]))
                record.error, record.detail = exc.reason, f"line {peak_line + exc.line_offset}: {exc.detail}"
                continue
        record.mz, record.intensity = mz, intensity
        value = declared[index]
        try:
            n_declared = int(value)
        except ValueError:
            record.error, record.detail = "invalid_num_peaks", f"Num Peaks {value[:40]!r} is not a whole number"
            continue
        n = hi - lo
        if cut_end and index == last and _ends_inside_number(texts[index]):
            record.error, record.detail = "truncated_record", _cut_number_detail(texts[index])
        elif n_declared != n:
            if cut_end and index == last and n_declared > n:
                record.error = "truncated_record"
                record.detail = f"the file ends inside this record (Num Peaks {n_declared}, {n} peaks read)"
            else:
                record.error, record.detail = "num_peaks_mismatch", f"Num Peaks says {n_declared}, found {n} peaks"
        elif n == 0:
            if cut_end and index == last:
                record.error, record.detail = "truncated_record", "the file ends inside this record (no peaks)"
            else:
                record.error, record.detail = "no_peaks", "the record has no peak lines"
    return records


def _parse_record(block: str, source: str, index: int, start: int, cut_end: bool):
    """One record -> ``(SpectrumRecord, remainder)``; the remainder is a following record that had no blank line."""
    m = _NUM_PEAKS.search(block)
    if m is not None:
        head, declared, peaks = block[: m.start()], m.group(1).strip(), block[m.end() + 1:]
        peak_line = start + head.count("\n") + 1
    else:
        p = _PEAK_START.search(block)
        cut = p.start() if p else len(block)
        head, declared, peaks = block[:cut], None, block[cut:]
        peak_line = start + head.count("\n")
    raw = _head_metadata(head)
    if declared is None and not _KNOWN_KEYS.intersection(raw):  # not a record: text between records, junk
        first = block.strip().split("\n", 1)[0]
        return SpectrumRecord(source, index, start, EMPTY, EMPTY, {}, "malformed_record",
                              f"not an MSP record (no Name or Num Peaks line): {first[:60]!r}"), None
    meta, error, detail = finish_metadata(raw)
    record = SpectrumRecord(source, index, start, EMPTY, EMPTY, meta, error, detail)
    if declared is None:
        record.notes = ("no_num_peaks",)

    rest = None
    try:
        mz, intensity, _ = parse_peak_text(peaks)
    except PeakError as exc:
        split = _following_record(peaks)
        if split is None:
            if record.error is None and cut_end and exc.line_offset >= count_lines(peaks) - 1:
                record.error, record.detail = "truncated_record", "the file ends inside this record"
            else:
                note_peak_error(record, exc, peak_line)
            return record, None
        peaks, rest_text = peaks[:split], peaks[split:]
        rest = (rest_text, peak_line + peaks.count("\n"))
        try:
            mz, intensity, _ = parse_peak_text(peaks)
        except PeakError as exc2:
            note_peak_error(record, exc2, peak_line)
            return record, rest
    record.mz, record.intensity = mz, intensity
    if record.error is not None:
        return record, rest
    if cut_end and rest is None and _ends_inside_number(peaks):
        record.error, record.detail = "truncated_record", _cut_number_detail(peaks)
        return record, rest
    if declared is not None:
        try:
            n_declared = int(declared)
        except ValueError:
            record.error, record.detail = "invalid_num_peaks", f"Num Peaks {declared[:40]!r} is not a whole number"
            return record, rest
        if n_declared != len(mz):
            if cut_end and rest is None and n_declared > len(mz):
                record.error, record.detail = "truncated_record", (f"the file ends inside this record (Num Peaks "
                                                                   f"{n_declared}, {len(mz)} peaks read)")
            else:
                record.error, record.detail = "num_peaks_mismatch", (f"Num Peaks says {n_declared}, "
                                                                     f"found {len(mz)} peaks")
            return record, rest
    if len(mz) == 0:
        if cut_end:
            record.error, record.detail = "truncated_record", "the file ends inside this record (no peaks)"
        else:
            record.error, record.detail = "no_peaks", "the record has no peak lines"
    return record, rest


def _ends_inside_number(peaks: str) -> bool:
    """Whether a peak block that the file ends in stops inside a number (``121042.``, ``1.5e``)."""
    return peaks.rstrip(" \t").endswith(_CUT_NUMBER) and not peaks.endswith("\n")


def _cut_number_detail(peaks: str) -> str:
    last = peaks.rstrip().rsplit("\n", 1)[-1]
    return f"the file ends inside a number (last line {last[:60]!r}, no line break after it)"


def _following_record(peaks: str) -> int | None:
    """Offset of a ``Key: value`` line inside a peak block (a next record with no blank line before it)."""
    offset = 0
    for ln in peaks.split("\n"):
        if looks_like_metadata(ln) and ":" in ln:
            return offset if offset > 0 else None
        offset += len(ln) + 1
    return None
