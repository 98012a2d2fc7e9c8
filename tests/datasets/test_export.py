"""specvae export: ingest -> export MGF/MSP -> matchms reads back the dataset's measured peaks and metadata."""

from __future__ import annotations

import warnings

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from specvae import schema
from specvae.cli import app
from specvae.datasets.export import export_spectra
from specvae.demo import packaged_sample
from specvae.ingest import ingest

runner = CliRunner()
# two spectra the packaged sample lacks: a retention time, a zero-intensity peak, a peak beyond the bin grid, and a
# spectrum without a structure (written as spectrum-only)
EXTRA = """BEGIN IONS
TITLE=rt-and-odd-peaks
PEPMASS=195.0877
CHARGE=1+
RTINSECONDS=312.5
SMILES=Cn1c(=O)c2c(ncn2C)n(C)c1=O
ADDUCT=[M+H]+
42.03383 120.5
138.06619 1000
150.0 0
1150.25 12.25
END IONS

BEGIN IONS
TITLE=no-structure
PEPMASS=301.1
CHARGE=1+
RETENTIONTIME=4.5 min
88.5 10
150.25 99.75
END IONS
"""


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    (root / "extra.mgf").write_text(EXTRA)
    ingest([packaged_sample(), root / "extra.mgf"], root / "ds", fingerprint="morgan2", cache=None)
    return root / "ds"


def _rows(dataset):
    table = pq.read_table(dataset / schema.DATASET_FILE).to_pylist()
    return {r[schema.ID]: r for r in table if r[schema.PEAK_MZ] is not None}


def test_ingest_keeps_the_measured_peaks_after_cleaning(dataset):
    rows = _rows(dataset)
    odd = rows["extra.mgf#0"]
    assert odd[schema.PEAK_MZ] == [42.03383, 138.06619, 1150.25]  # zero intensity dropped, off-grid peak kept
    assert odd[schema.PEAK_INTENSITY] == [120.5, 1000.0, 12.25] and odd[schema.N_PEAKS] == 2
    assert odd[schema.RETENTION_TIME] == 312.5 and rows["extra.mgf#1"][schema.RETENTION_TIME] == 270.0
    assert rows["extra.mgf#1"][schema.KIND] == schema.SPECTRUM_ONLY


@pytest.mark.parametrize("fmt", ["mgf", "msp"])
def test_export_round_trip_through_matchms(dataset, tmp_path, fmt):
    pytest.importorskip("matchms", reason="the round trip reads the export with matchms (the test extra)")
    from matchms.importing import load_from_mgf, load_from_msp

    out = tmp_path / f"spectra.{fmt}"
    result = runner.invoke(app, ["-q", "export", str(dataset), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = _rows(dataset)
    assert f"wrote {len(rows):,} spectra" in result.output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = list((load_from_mgf if fmt == "mgf" else load_from_msp)(str(out)))
    assert len(loaded) == len(rows) == 2002
    id_key = "spectrum_id"
    for spectrum in loaded:
        row = rows[spectrum.get(id_key)]
        np.testing.assert_allclose(spectrum.peaks.mz, row[schema.PEAK_MZ], rtol=1e-12)
        np.testing.assert_allclose(spectrum.peaks.intensities, row[schema.PEAK_INTENSITY], rtol=1e-12)
        assert spectrum.get("precursor_mz") == pytest.approx(row[schema.PRECURSOR_MZ], rel=1e-12)
        assert spectrum.get("ionmode") == row[schema.ION_MODE]
        assert spectrum.get("split") == row[schema.SPLIT]
        for key, column in (("adduct", schema.ADDUCT), ("smiles", schema.SMILES), ("inchikey", schema.INCHIKEY)):
            assert spectrum.get(key) == row[column], (key, row[schema.ID])
        if fmt == "msp":
            assert spectrum.get("compound_name") == (row[schema.NAME] or row[schema.ID])
    by_id = {s.get(id_key): s for s in loaded}
    rt = float(by_id["extra.mgf#0"].get("retention_time"))
    assert rt == pytest.approx(312.5 if fmt == "mgf" else 312.5 / 60)  # MSP states minutes


def test_export_reads_back_into_ingest_unchanged(dataset, tmp_path):
    """specvae's own readers take the export: ingesting it again gives the same peaks and metadata."""
    export_spectra(dataset, tmp_path / "a.msp", split="test")
    ingest([tmp_path / "a.msp"], tmp_path / "again", fingerprint="morgan2", cache=None)
    before = {k: r for k, r in _rows(dataset).items() if r[schema.SPLIT] == schema.TEST}
    after = _rows(tmp_path / "again")
    assert set(after) == set(before)
    for key, row in after.items():
        for column in (schema.PEAK_MZ, schema.PEAK_INTENSITY, schema.PRECURSOR_MZ, schema.ADDUCT, schema.ION_MODE,
                       schema.INCHIKEY, schema.RETENTION_TIME, schema.BINS, schema.INTENSITIES):
            assert row[column] == before[key][column], (key, column)


def test_export_errors_are_one_line(dataset, tmp_path):
    (tmp_path / "x.mgf").write_text("")
    for args, words in ((["--out", str(tmp_path / "x.mgf")], "exists; use --overwrite"),
                        (["--out", str(tmp_path / "x.txt")], "unknown export format 'txt'"),
                        (["--out", str(tmp_path / "y.mgf"), "--split", "dev"], "unknown split 'dev'")):
        result = runner.invoke(app, ["-q", "export", str(dataset), *args])
        assert result.exit_code == 1 and result.output.startswith("specvae: error:") and words in result.output
    old = tmp_path / "old"
    old.mkdir()
    table = pq.read_table(dataset / schema.DATASET_FILE)
    pq.write_table(table.drop_columns([schema.PEAK_MZ, schema.PEAK_INTENSITY, schema.RETENTION_TIME]),
                   old / schema.DATASET_FILE)
    result = runner.invoke(app, ["-q", "export", str(old), "--out", str(tmp_path / "z.mgf")])
    assert result.exit_code == 1 and "holds only binned spectra" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_older_datasets_without_peak_columns_still_load(dataset, tmp_path):
    from specvae.datasets.spectra import SpectraDataset

    old = tmp_path / "old"
    old.mkdir()
    table = pq.read_table(dataset / schema.DATASET_FILE)
    older = table.drop_columns([schema.PEAK_MZ, schema.PEAK_INTENSITY, schema.RETENTION_TIME])
    pq.write_table(older.replace_schema_metadata(table.schema.metadata), old / schema.DATASET_FILE)
    loaded, new = SpectraDataset.load(old), SpectraDataset.load(dataset)
    assert np.array_equal(loaded.bins, new.bins) and np.array_equal(loaded.fingerprints, new.fingerprints)
