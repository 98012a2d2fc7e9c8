"""Readers: every dialect users have, from real files (fixtures here, the big files in ../shared/data)."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from specvae.errors import InputError
from specvae.readers import detect_format, read_spectra


def _ok(records):
    bad = [(r.record, r.error, r.detail) for r in records if r.error]
    assert not bad, f"unexpected errors: {bad}"
    return records


def test_massbank_msp_plain_keys(fixtures):
    records = _ok(list(read_spectra(fixtures / "ingest" / "massbank_sample29.msp")))
    assert len(records) == 29
    first = records[0]
    assert (first.record, first.line) == (0, 1)
    m = first.metadata
    assert m["id"] == "MSBNK-AAFC-AC000001" and m["name"] == "Mellein"
    assert m["precursor_mz"] == pytest.approx(179.0697)
    assert m["adduct"] == "[M+H]+" and m["ion_mode"] == "positive" and m["ms_level"] == 2
    assert m["instrument_type"] == "LC-ESI-ITFT" and m["collision_energy"] == "10(NCE)" and m["license"] == "CC BY-SA"
    assert m["smiles"] == "CC1CC2=C(C(=CC=C2)O)C(=O)O1" and m["inchikey"] == "KWILGNNWGSNMPA-UHFFFAOYSA-N"
    assert m["inchi"].startswith("InChI=1S/C10H10O3")
    np.testing.assert_allclose(first.mz, [133.0648, 151.0754, 155.9743, 161.0597, 179.0703])
    assert first.intensity[3] == pytest.approx(96508.4375)
    assert records[1].line == 1 + 24 * 7 + 0 or records[1].line > records[0].line


def test_record_lines_point_at_the_record(fixtures):
    path = fixtures / "ingest" / "massbank_sample29.msp"
    lines = path.read_text().split("\n")
    for r in read_spectra(path):
        assert lines[r.line - 1] == f"NAME: {r.metadata['name']}"


def test_massbank_msp_peaks_match_matchms(fixtures):
    from matchms.importing import load_from_msp

    ours = list(read_spectra(fixtures / "ingest" / "massbank_sample29.msp"))
    theirs = list(load_from_msp(str(fixtures / "ingest" / "massbank_sample29.msp")))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.mz, b.peaks.mz)
        np.testing.assert_allclose(a.intensity, b.peaks.intensities, rtol=1e-6)
        assert a.metadata["precursor_mz"] == pytest.approx(b.get("precursor_mz"))


def test_mona_msp_structure_in_comments(fixtures):
    records = _ok(list(read_spectra(fixtures / "ingest" / "mona_three.msp")))
    first = records[0].metadata
    assert first["smiles"] == "O=C(C=CC=1C=CC=CC1O)C=2C=CC=CC2", "computed SMILES from Comments"
    assert first["inchi"].startswith("InChI=1S/C15H12O2"), "InChI=InChI=... in Comments is unwrapped"
    assert first["ion_mode"] == "negative" and first["ms_level"] == 2 and first["adduct"] == "M-H"
    second = records[1].metadata
    assert second["smiles"] == "C(CP(=O)(O)O)N", "computed SMILES preferred over submitted SMILES"


def test_mona_gcms_export_license_and_level_from_comments(fixtures):
    records = _ok(list(read_spectra(fixtures / "ingest" / "mona_gcms_ten.msp")))
    assert len(records) == 10
    m = records[0].metadata
    assert m["license"] == "CC BY-NC-SA" and m["ms_level"] == 1 and m["instrument_type"] == "EI-B"
    assert m["precursor_mz"] is None, "PrecursorMZ: 0 means none"
    assert m["smiles"].startswith("[O-1][N+1]")


@pytest.mark.parametrize("name", ["riken_five.msp", "nist_five.msp"])
def test_riken_and_nist_keys_agree(fixtures, name):
    records = _ok(list(read_spectra(fixtures / "ingest" / name)))
    assert len(records) == 5
    assert records[0].metadata["name"] == "ADP"
    assert records[0].metadata["precursor_mz"] == pytest.approx(428.31)
    assert records[0].metadata["ion_mode"] == "positive"
    assert records[1].metadata["ion_mode"] == "negative"
    assert records[0].metadata["smiles"].startswith("C1=NC2=C(C(=N1)N)")


def test_gnps_mgf(fixtures):
    records = _ok(list(read_spectra(fixtures / "ingest" / "gnps_thirty.mgf")))
    assert len(records) == 30
    modes = [r.metadata["ion_mode"] for r in records]
    assert modes.count("positive") == 22 and modes.count("negative") == 7 and modes.count(None) == 1
    assert records[0].metadata["smiles"] is None and records[0].metadata["inchi"].startswith("InChI=1S/C26H52")
    assert records[0].metadata["id"] == "CCMSLIB00000479320"


def test_casmi_mgf_quirks(fixtures):
    (challenge,) = _ok(list(read_spectra(fixtures / "ingest" / "casmi_challenge_001.mgf")))
    m = challenge.metadata
    assert m["name"] == "Challenge-001.mgf", "header lines before BEGIN IONS apply to the record"
    assert m["instrument_type"] == "LC-ESI-QFT"
    assert m["precursor_mz"] == pytest.approx(222.023)
    assert m["ion_mode"] == "positive" and m["ion_mode_from"] == "charge", "CHARGE=1+ (wrong for CASMI negatives)"
    assert challenge.line == 6 and len(challenge.mz) == 5
    (training,) = _ok(list(read_spectra(fixtures / "ingest" / "casmi_training_001.mgf")))
    assert training.metadata["natitle"] == "Scan Number: 1", "stray NA prefix kept as an unknown key"
    assert len(training.mz) == 2


def test_gnps_json(fixtures):
    records = _ok(list(read_spectra(fixtures / "ingest" / "gnps_five.json")))
    assert len(records) == 5
    m = records[0].metadata
    assert m["id"] == "CCMSLIB00000001547" and m["precursor_mz"] == pytest.approx(981.54)
    assert m["ion_mode"] == "positive" and m["instrument_type"] == "LC-ESI" and m["ms_level"] == 2
    assert records[4].metadata["smiles"] is None and records[4].metadata["inchi"] is None, "N/A means absent"
    assert len(records[0].mz) > 100


def test_mona_json(fixtures):
    records = _ok(list(read_spectra(fixtures / "ingest" / "mona_two.json")))
    assert [r.metadata["id"] for r in records] == ["VF-NPL-LTQ000001", "CCMSLIB00000578169"]
    assert records[0].metadata["smiles"] == "O=C(C=CC=1C=CC=CC1O)C=2C=CC=CC2"
    assert records[0].metadata["ion_mode"] == "negative"
    np.testing.assert_allclose(records[0].mz, [177.06, 195.05])


def test_mzml_only_ms2_scans_with_precursor(fixtures):
    records = _ok(list(read_spectra(fixtures / "ingest" / "run_ms1_ms2.mzML")))
    assert [r.record for r in records] == [1, 2], "the MS1 scan (index 0) is not a record"
    for r in records:
        assert r.line == 0
        assert r.metadata["ms_level"] == 2 and r.metadata["ion_mode"] == "positive"
        assert r.metadata["precursor_mz"] == pytest.approx(179.0697)
    assert records[1].metadata["collision_energy"] == "20 eV"
    np.testing.assert_allclose(records[0].mz, [133.0648, 151.0754, 155.9743, 161.0597, 179.0703])


@pytest.mark.parametrize("name", ["massbank_sample29.msp", "gnps_thirty.mgf", "gnps_five.json", "run_ms1_ms2.mzML"])
def test_gzip_inputs_read_the_same(fixtures, tmp_path, name):
    plain = fixtures / "ingest" / name
    packed = tmp_path / (name + ".gz")
    with open(plain, "rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    a, b = list(read_spectra(plain)), list(read_spectra(packed))
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.mz, y.mz)
        assert (x.record, x.line, x.metadata.get("name")) == (y.record, y.line, y.metadata.get("name"))


def test_detect_format():
    assert detect_format("a/B.MSP") == "msp" and detect_format("x.mgf.gz") == "mgf"
    assert detect_format("run.mzML") == "mzml" and detect_format("lib.json.gz") == "json"
    with pytest.raises(InputError, match="extension"):
        detect_format("spectra.txt")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(read_spectra(tmp_path / "nope.msp"))


def test_chunked_reading_matches_whole_file(fixtures, monkeypatch):
    """Small chunks (many boundaries) give the same records, numbers and lines as one chunk."""
    import specvae.readers.textio as textio

    path = fixtures / "ingest" / "massbank_sample29.msp"
    whole = list(read_spectra(path))
    monkeypatch.setattr(textio, "BLOCK_BYTES", 700)
    monkeypatch.setattr(textio.text_chunks, "__defaults__", (700,))
    chunked = list(read_spectra(path))
    assert [(r.record, r.line, len(r.mz)) for r in chunked] == [(r.record, r.line, len(r.mz)) for r in whole]


# --- the real files in ../shared/data --------------------------------------------------------------------------

def test_shared_massbank_first200(shared_data):
    records = _ok(list(read_spectra(shared_data / "massbank" / "MassBank_LC-MSMS_positive.first200.msp")))
    assert len(records) == 200
    assert all(r.metadata["ion_mode"] == "positive" and r.metadata["precursor_mz"] for r in records)


def test_shared_matchms_testdata(shared_data):
    folder = shared_data / "matchms_testdata"
    expected = {"MoNA-export-GC-MS-first10.msp": 10, "pesticides.mgf": 76, "testdata.mgf": 30,
                "gnps_spectra.json": 5, "massbank_five_spectra.msp": 5, "riken_style_five_spectra.msp": 5,
                "test_spectra_collection.msp": 3, "comments_with_quotes.msp": 1}
    for name, n in expected.items():
        assert len(_ok(list(read_spectra(folder / name)))) == n, name


def test_shared_casmi2016_mgfs(shared_data):
    folder = shared_data / "casmi2016" / "spectra_raw_mgf"
    files = sorted(folder.glob("*/*.mgf"))
    assert len(files) == 520
    for path in files:
        (record,) = _ok(list(read_spectra(path)))
        assert record.metadata["precursor_mz"] and len(record.mz) >= 1, path.name
    processed = _ok(list(read_spectra(shared_data / "casmi2016" / "processed" / "casmi_2016_challenge_test.mgf")))
    assert len(processed) == 208
    assert sum(r.metadata["ion_mode"] == "positive" for r in processed) == 127


def test_peak_arrays_are_plain_writable_float64(fixtures):
    for name in ("massbank_sample29.msp", "gnps_thirty.mgf", "gnps_five.json", "run_ms1_ms2.mzML"):
        r = next(iter(read_spectra(fixtures / "ingest" / name)))
        assert r.mz.dtype == r.intensity.dtype == np.float64 and r.mz.shape == r.intensity.shape
        assert r.mz.flags.writeable and r.intensity.flags.writeable, name


def test_byte_order_mark_is_ignored(tmp_path, fixtures):
    path = tmp_path / "bom.msp"
    path.write_bytes(b"\xef\xbb\xbf" + (fixtures / "ingest" / "riken_five.msp").read_bytes())
    records = _ok(list(read_spectra(path)))
    assert records[0].metadata["inchikey"] == "XTWYTFMLZFPYCI-UHFFFAOYSA-N"
