"""``specvae fingerprint``: Parquet out, rejects reported per row, never fatal; ``fingerprint-mask`` end to end."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from specvae import schema
from specvae.chem.fingerprint_file import fingerprint_file, read_fingerprints
from specvae.chem.fingerprints import FingerprintSpec, get_fingerprinter
from specvae.cli import app


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECVAE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_fingerprint_command_writes_parquet_and_rejects(tmp_path, cache_dir):
    src = tmp_path / "in.csv"
    src.write_text("id,name,smiles\nA,ethanol,CCO\nB,broken,C1CC\nC,phenol,c1ccccc1O\nD,empty,\nE,ethanol again,OCC\n")
    out = tmp_path / "fp.parquet"
    result = CliRunner().invoke(app, ["-q", "fingerprint", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 records: 3 written, 2 rejected" in result.output
    table, spec, bits = read_fingerprints(out)
    assert spec == FingerprintSpec("specvae", "1", 2149)
    assert table.column(schema.ID).to_pylist() == ["A", "C", "E"]
    assert table.column(schema.RECORD).to_pylist() == [0, 2, 4]
    assert table.column(schema.SMILES).to_pylist() == ["CCO", "Oc1ccccc1", "CCO"]
    assert table.column(schema.INCHIKEY14).to_pylist()[0] == "LFQSCWFLJHTTHZ"
    assert table.schema.field(schema.FINGERPRINT).type.byte_width == 269
    np.testing.assert_array_equal(bits[0], bits[2])
    fp = get_fingerprinter("specvae")
    from rdkit import Chem

    np.testing.assert_array_equal(bits[1], fp.compute([Chem.MolFromSmiles("Oc1ccccc1")])[0])
    rejects = (tmp_path / "fp.rejects.tsv").read_text().splitlines()
    assert rejects[0] == "record\tline\tinput\treason"
    assert rejects[1].startswith("1\t3\tC1CC\tinvalid SMILES")
    assert rejects[2].startswith("3\t5\t\tno structure")
    assert (cache_dir / "fingerprints.sqlite").exists()


def test_refuses_to_overwrite_and_reports_missing_input(tmp_path, cache_dir):
    src = tmp_path / "in.smi"
    src.write_text("CCO\n")
    out = tmp_path / "fp.parquet"
    runner = CliRunner()
    assert runner.invoke(app, ["-q", "fingerprint", str(src), "--out", str(out), "--no-cache"]).exit_code == 0
    again = runner.invoke(app, ["-q", "fingerprint", str(src), "--out", str(out)])
    assert again.exit_code == 1 and "exists; pass --overwrite" in again.output
    assert runner.invoke(app, ["-q", "fingerprint", str(src), "--out", str(out), "--overwrite"]).exit_code == 0
    missing = runner.invoke(app, ["-q", "fingerprint", str(tmp_path / "nope.smi"), "--out", str(out)])
    assert missing.exit_code == 1 and "nope.smi" in missing.output and "Traceback" not in missing.output
    bad = runner.invoke(app, ["-q", "fingerprint", str(src), "--out", str(out), "--overwrite", "-f", "nope"])
    assert bad.exit_code == 1 and "unknown fingerprint" in bad.output


def test_empty_input_and_other_fingerprints(tmp_path, cache_dir):
    empty = tmp_path / "empty.smi"
    empty.write_text("")
    report = fingerprint_file(empty, tmp_path / "e.parquet", cache=False)
    assert (report.read, report.written) == (0, 0)
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0
    src = tmp_path / "in.smi"
    src.write_text("CCO ethanol\nc1ccccc1 benzene\n")
    for name, width in (("morgan2", 2048), ("maccs", 166)):
        fingerprint_file(src, tmp_path / f"{name}.parquet", fingerprint=name, cache=False)
        table, spec, bits = read_fingerprints(tmp_path / f"{name}.parquet")
        assert (spec.name, spec.n_bits, bits.shape) == (name, width, (2, width))
        assert table.column(schema.NAME).to_pylist() == ["ethanol", "benzene"]


def test_workers_and_cache_give_the_same_bits(tmp_path, fixtures, cache_dir):
    src = fixtures / "chem" / "molecules.smi"
    one = fingerprint_file(src, tmp_path / "one.parquet", cache=False)
    two = fingerprint_file(src, tmp_path / "two.parquet", workers=2, cache=tmp_path / "c.sqlite")
    warm = fingerprint_file(src, tmp_path / "warm.parquet", cache=tmp_path / "c.sqlite")
    assert one.written == 300 and warm.cache_hits == 300 and two.cache_hits == 0
    bits = [read_fingerprints(tmp_path / f"{n}.parquet")[2] for n in ("one", "two", "warm")]
    np.testing.assert_array_equal(bits[0], bits[1])
    np.testing.assert_array_equal(bits[0], bits[2])


def test_fingerprint_mask_command_rebuilds_a_mask(tmp_path, fixtures):
    out = tmp_path / "mask.tsv"
    reference = tmp_path / "reference.smi"
    lines = (fixtures / "chem" / "molecules.smi").read_text().splitlines()
    reference.write_text("\n".join(lines[:150]) + "\n")
    result = CliRunner().invoke(app, ["-q", "fingerprint-mask", str(reference), "--out", str(out), "--n-bits", "300",
                                      "--min-frequency", "0.01", "--sample", "120", "--seed", "3"])
    assert result.exit_code == 0, result.output
    from specvae.chem.substructure.mask import read_mask

    mask = read_mask(out)
    assert mask.meta["reference"]["distinct_structures"] == 120 and mask.meta["reference"]["seed"] == 3
    assert len(mask.select(300)) == 300 and mask.meta["min_frequency"] == 0.01
