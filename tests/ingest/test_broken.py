"""Bad records never crash a run: each lands in rejects.jsonl with its reason and position, and read = written +
rejected. The corpus (tests/ingest/broken_corpus.py) has every case the issue lists."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq
import pytest

from specvae import schema
from specvae.errors import InputError
from specvae.ingest import Cleaning, ingest, read_spectra

from . import broken_corpus as corpus


def _run(tmp_path, path, **kw):
    out = tmp_path / "out"
    report = ingest([path], out, fingerprint="morgan2", **kw)
    rejects = [json.loads(line) for line in (out / schema.REJECTS_FILE).read_text().splitlines()]
    table = pq.read_table(out / schema.DATASET_FILE)
    return report, rejects, table


def _outcomes(rejects, table, source):
    got = {r["record"]: r["reason"] for r in rejects if r["source"] == str(source)}
    rows = table.select([schema.SOURCE, schema.RECORD, schema.KIND]).to_pylist()
    for row in rows:
        if row[schema.SOURCE] == str(source):
            assert row[schema.RECORD] not in got, f"record {row[schema.RECORD]} both written and rejected"
            got[row[schema.RECORD]] = row[schema.KIND]
    return got


def _check_invariant(report):
    s = report["spectra"]
    assert s["read"] == s["written"] + s["rejected"]
    assert s["written"] == s["paired"] + s["spectrum_only"]
    assert sum(s["rejected_by_reason"].values()) == s["rejected"]


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_msp_corpus(tmp_path, crlf):
    path = tmp_path / "broken.msp"
    path.write_bytes(corpus.msp_bytes(crlf=crlf))
    report, rejects, table = _run(tmp_path, path)
    _check_invariant(report)
    assert _outcomes(rejects, table, path) == corpus.EXPECTED_MSP
    assert report["spectra"]["read"] == len(corpus.MSP_RECORDS)
    assert report["inputs"][0]["non_utf8_records"] == 1
    assert report["structures"]["spectrum_only_by_reason"] == {"invalid_smiles": 1}
    dropped = report["peaks"]["dropped"]
    assert dropped["off_grid_high"] == 2 and dropped["off_grid_low"] == 2 and dropped["zero_intensity"] == 1
    by_reason = {r["reason"]: r for r in reversed(rejects)}  # first of each reason
    assert by_reason["malformed_peak_line"]["detail"].startswith("line ")
    assert "abc" in by_reason["malformed_peak_line"]["detail"]
    lines = corpus.msp_bytes().decode("utf-8", errors="replace").split("\n")
    for r in rejects:
        assert lines[r["line"] - 1].startswith("NAME: "), f"line of record {r['record']} points at its start"
    name = table.filter(table[schema.RECORD].to_numpy() == 10)[schema.NAME][0].as_py()
    assert name == "caf\ufffd", "non-UTF-8 bytes are replaced, the record is kept"


def test_msp_corpus_read_directly_never_raises(tmp_path):
    path = tmp_path / "broken.msp"
    path.write_bytes(corpus.msp_bytes())
    records = list(read_spectra(path))
    errors = {r.record: r.error for r in records if r.error}
    assert errors[1] == "malformed_peak_line" and errors[18] == "truncated_record"
    assert len(records) == len(corpus.MSP_RECORDS)


@pytest.mark.parametrize("suffix, text, expected", [("mgf", corpus.MGF, corpus.EXPECTED_MGF),
                                                     ("json", corpus.JSON, corpus.EXPECTED_JSON)])
def test_mgf_and_json_corpus(tmp_path, suffix, text, expected):
    path = tmp_path / f"broken.{suffix}"
    path.write_text(text)
    report, rejects, table = _run(tmp_path, path)
    _check_invariant(report)
    assert _outcomes(rejects, table, path) == expected


def test_truncated_gzip(tmp_path, fixtures):
    data = (fixtures / "ingest" / "massbank_sample29.msp").read_bytes()
    path = tmp_path / "cut.msp.gz"
    path.write_bytes(corpus.truncated_gzip(data, keep=0.5))
    report, rejects, table = _run(tmp_path, path)
    _check_invariant(report)
    assert report["inputs"][0]["truncated"] is True
    assert rejects[-1]["reason"] == "truncated_record"
    assert 5 < report["spectra"]["written"] < 29


def test_truncated_mzml(tmp_path, fixtures):
    text = (fixtures / "ingest" / "run_ms1_ms2.mzML").read_text()
    path = tmp_path / "cut.mzML"
    path.write_text(text[: text.index('<spectrum index="2"') + 200])
    report, rejects, table = _run(tmp_path, path)
    _check_invariant(report)
    assert report["spectra"]["paired"] == 0 and report["spectra"]["spectrum_only"] == 1
    assert [r["reason"] for r in rejects] == ["truncated_record"]


def test_empty_and_garbage_files_are_errors_not_empty_datasets(tmp_path):
    empty = tmp_path / "empty.msp"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.mgf"
    garbage.write_bytes(b"\x00\xff\xfe random bytes\nno ions here\n")
    binary = tmp_path / "binary.mgf"
    binary.write_bytes(bytes(range(256)) * 16)
    for path, message in ((empty, "empty.msp (MSP) holds no spectrum record"),
                          (garbage, "garbage.mgf (MGF) holds no spectrum record"),
                          (binary, "binary.mgf is not a text MGF file")):
        with pytest.raises(InputError, match=re.escape(message)):
            ingest([path], tmp_path / "out", fingerprint="morgan2")
        assert not (tmp_path / "out").exists()


def test_negative_mode_corpus_with_cleaning_switched_off(tmp_path):
    path = tmp_path / "broken.msp"
    path.write_bytes(corpus.msp_bytes())
    cleaning = Cleaning(ion_mode=None, instrument_types=None, require_precursor=False, min_peaks=None)
    report, rejects, table = _run(tmp_path, path, cleaning=cleaning)
    _check_invariant(report)
    reasons = {r["reason"] for r in rejects}
    assert not reasons & {"require_ion_mode", "require_instrument_type", "require_precursor_mz",
                          "require_minimum_number_of_peaks"}
    assert [s["step"] for s in report["cleaning"]] == ["require_ms_level"]
