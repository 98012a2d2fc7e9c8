"""A corpus of broken records, written by hand: every bad-input case of the ingest issue, with the expected outcome.

``EXPECTED_*`` map record index -> reason code (rejected) or ``"paired"`` / ``"spectrum_only"`` (written). The
writers return bytes so that CRLF line endings, non-UTF-8 bytes and truncation are exact.
"""

from __future__ import annotations

import gzip

GOOD_PEAKS = "41.0386\t1000\n69.0335\t5000\n95.0491\t300\n127.0390\t9999\n"


def _msp(name: str, *, pm="127.0390", mode="Positive", itype="LC-ESI-QTOF", smiles="OCC1OC(O)C(O)C(O)C1O",
         num=None, peaks=GOOD_PEAKS) -> str:
    n = peaks.count("\n") if num is None else num
    lines = [f"NAME: {name}"]
    if pm is not None:
        lines.append(f"PRECURSORMZ: {pm}")
    lines += ["PRECURSORTYPE: [M+H]+", f"IONMODE: {mode}", "MSLEVEL: 2", f"SMILES: {smiles}",
              f"INSTRUMENTTYPE: {itype}", f"DB#: BROKEN-{name}", "LICENSE: CC0", f"Num Peaks: {n}"]
    return "\n".join(lines) + "\n" + peaks


MSP_RECORDS = [
    ("good", _msp("good")),
    ("malformed_peak_line", _msp("bad_line", peaks="41.0386\t1000\n69.0335\tabc\n95.0491\t300\n")),
    ("invalid_precursor_mz", _msp("pm_text", pm="abc")),
    ("negative_intensity", _msp("negative", peaks="41.0386\t1000\n69.0335\t-5\n")),
    ("non_finite_value", _msp("nan", peaks="41.0386\tnan\n69.0335\t5000\n")),
    ("no_peaks", _msp("empty", num=0, peaks="")),
    ("num_peaks_mismatch", _msp("wrong_num", num=7)),
    ("spectrum_only", _msp("bad_smiles", smiles="C1CC(")),
    ("malformed_peak_line", _msp("one_token", peaks="41.0386\t1000\n69.0335\n")),
    ("invalid_num_peaks", _msp("num_text", num="five")),
    ("paired", None),  # non-UTF-8 name, filled in by msp_bytes
    ("require_ion_mode", _msp("negative_mode", mode="Negative")),
    ("require_instrument_type", _msp("gc", itype="GC-EI-TOF")),
    ("require_precursor_mz", _msp("no_precursor", pm=None)),
    ("require_minimum_number_of_peaks", _msp("off_grid", peaks="1200.5\t10\n-3\t5\n0\t7\n")),
    ("paired", _msp("zero_and_off_grid", peaks="41.0386\t0\n69.0335\t5000\n1100.0\t10\n1100.01\t3\n")),
    ("paired", _msp("no_blank_line_before_next")),  # the next record follows without a blank line
    ("paired", _msp("annotated", peaks='41.0386 1000 "C3H5+"\n69.0335 5000 "C4H5O+"\n')),
    ("truncated_record", _msp("cut", num=4, peaks="41.0386\t1000\n69.03")),
]
EXPECTED_MSP = {i: reason for i, (reason, _) in enumerate(MSP_RECORDS)}
EXPECTED_MSP[0] = "paired"


def msp_bytes(crlf: bool = False) -> bytes:
    """The MSP corpus as bytes (the non-UTF-8 record has a Latin-1 ``é`` in its name)."""
    parts = []
    for _, text in MSP_RECORDS:
        if text is None:
            parts.append(_msp("caf\udce9", smiles="CCO"))
            continue
        parts.append(text)
    body = ""
    for i, text in enumerate(parts):
        body += text
        if i == len(parts) - 1:
            break
        if MSP_RECORDS[i][1] is not None and "no_blank_line_before_next" in MSP_RECORDS[i][1]:
            continue
        body += "\n"
    data = body.encode("utf-8", errors="surrogateescape")
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    return data


MGF = """\
BEGIN IONS
TITLE=good
PEPMASS=127.039 5000
CHARGE=1+
IONMODE=positive
SMILES=OCC1OC(O)C(O)C(O)C1O
41.0386 1000
127.039 9999
END IONS

BEGIN IONS
TITLE=bad line
PEPMASS=127.039
IONMODE=positive
41.0386 1000
not-a-number 12
END IONS

BEGIN IONS
TITLE=no end
PEPMASS=127.039
41.0386 1000
BEGIN IONS
TITLE=good after a missing END IONS
PEPMASS=100.5
CHARGE=1+
41.0386 1000 1
END IONS
BEGIN IONS
TITLE=precursor text
PEPMASS=abc
IONMODE=positive
41.0386 1000
END IONS
BEGIN IONS
TITLE=empty
PEPMASS=127.039
IONMODE=positive
END IONS
BEGIN IONS
TITLE=unknown mode
PEPMASS=127.039
41.0386 1000
END IONS
BEGIN IONS
TITLE=cut
PEPMASS=127.039
IONMODE=positive
41.0386 10
"""
EXPECTED_MGF = {0: "paired", 1: "malformed_peak_line", 2: "truncated_record", 3: "spectrum_only",
                4: "invalid_precursor_mz", 5: "no_peaks", 6: "require_ion_mode", 7: "truncated_record"}

JSON = """[
 {"spectrum_id": "J1", "Compound_Name": "good", "Precursor_MZ": "127.039", "Ion_Mode": "Positive",
  "Smiles": "OCC1OC(O)C(O)C(O)C1O", "peaks_json": "[[41.0386, 1000.0], [127.039, 9999.0]]"},
 {"spectrum_id": "J2", "Compound_Name": "bad peaks", "Precursor_MZ": "127.039", "Ion_Mode": "Positive",
  "peaks_json": "[[41.0386, 1000.0], [127.039"},
 {"spectrum_id": "J3", "Compound_Name": "negative", "Precursor_MZ": "127.039", "Ion_Mode": "Positive",
  "peaks_json": "[[41.0386, -1000.0]]"},
 42,
 {"spectrum_id": "J5", "Compound_Name": "cut", "Precursor_MZ": "127.0"""
EXPECTED_JSON = {0: "paired", 1: "malformed_peak_line", 2: "negative_intensity", 3: "malformed_record",
                 4: "truncated_record"}


def truncated_gzip(data: bytes, keep: float = 0.6) -> bytes:
    """``data`` gzip-compressed and then cut to ``keep`` of its compressed length (a download that stopped)."""
    packed = gzip.compress(data, mtime=0)
    return packed[: int(len(packed) * keep)]
