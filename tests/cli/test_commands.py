"""``specvae rank``, ``specvae db build/query`` and ``specvae evaluate casmi`` through the CLI (CliRunner)."""

from __future__ import annotations

import json

import pytest
from rank_helpers import write_tiny_run
from typer.testing import CliRunner

from specvae.cli import app

runner = CliRunner()
MGF = "BEGIN IONS\nTITLE=q1\nPEPMASS=138.0550\nCHARGE=1+\n120.04 100\n92.05 40\nEND IONS\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_tiny_run(tmp_path_factory.mktemp("run") / "run")


def invoke(*args):
    return runner.invoke(app, ["-q", *map(str, args)])


def test_db_build_and_query(tmp_path, fixtures):
    db = tmp_path / "s.parquet"
    result = invoke("db", "build", fixtures / "structures" / "pubchem_cas_sample.tsv", "--out", db,
                    "--fingerprint", "morgan2", "--no-cache")
    assert result.exit_code == 0, result.output
    assert "structures from 55 rows" in result.output
    result = invoke("db", "query", db, "--mz", "138.05496", "--ppm", "5")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("id\tname") and any("anthranilic acid" in line for line in lines)
    again = invoke("db", "build", fixtures / "structures" / "pubchem_cas_sample.tsv", "--out", db, "--fingerprint",
                   "morgan2")
    assert again.exit_code == 1 and "specvae: error:" in again.output and "--overwrite" in again.output


def test_rank_errors_are_one_line(tmp_path, run):
    pytest.importorskip("specvae.ingest", reason="needs specvae.ingest (branch ingest) for reading spectra")
    (tmp_path / "q.mgf").write_text(MGF)
    (tmp_path / "empty.csv").write_text("")
    result = invoke("rank", tmp_path / "q.mgf", "--model", run, "--candidates", tmp_path / "empty.csv",
                    "--out", tmp_path / "r.tsv")
    assert result.exit_code == 1
    assert result.output.strip().startswith("specvae: error:") and "is empty" in result.output
    result = invoke("rank", tmp_path / "q.mgf", "--model", tmp_path / "norun", "--candidates", tmp_path / "empty.csv")
    assert result.exit_code == 1 and "no such model run directory" in result.output


def test_rank_with_a_tiny_model(tmp_path, run):
    pytest.importorskip("specvae.ingest", reason="needs specvae.ingest (branch ingest) for reading spectra")
    (tmp_path / "q.mgf").write_text(MGF)
    (tmp_path / "c.csv").write_text("SMILES,id\nNc1ccccc1C(=O)O,a\nNc1ccc(cc1)C(=O)O,b\nnot-a-smiles,c\n")
    result = invoke("rank", tmp_path / "q.mgf", "--model", run, "--candidates", tmp_path / "c.csv",
                    "--out", tmp_path / "r.tsv", "--casmi", "--fingerprint-tsv", "--no-cache")
    assert result.exit_code == 0, result.output
    assert "ranked 1 of 1 spectra" in result.output and "1 invalid candidate rows skipped" in result.output
    rows = (tmp_path / "r.tsv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("rank\tcross_entropy_nats\tprobability\ttanimoto\tadduct\tppm")
    fingerprint = (tmp_path / "r.fingerprint.tsv").read_text().splitlines()
    assert len(fingerprint) == 2048 + 1 and fingerprint[1].endswith("\tmorgan2 bit 0")
    assert (tmp_path / "r.report.html").exists()


def test_evaluate_casmi_fixture(tmp_path, run, fixtures):
    pytest.importorskip("specvae.ingest", reason="needs specvae.ingest (branch ingest) for reading spectra")
    root = fixtures / "casmi"
    result = invoke("evaluate", "casmi", "--challenges", root / "spectra_raw_mgf" / "challenge", "--solutions",
                    root / "solutions" / "casmi_2016_challenge_test.csv", "--candidates", root / "candidates",
                    "--model", run, "--out", tmp_path / "ev", "--ion-mode", "positive", "--no-cache")
    assert result.exit_code == 0, result.output
    assert "positive: 2 challenges" in result.output
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert summary["metrics"]["all"]["answer_ranked"] == 2 and summary["settings"]["model"] == str(run)


def test_rank_and_evaluate_by_the_latent_score(tmp_path, run, fixtures):
    pytest.importorskip("specvae.ingest", reason="needs specvae.ingest (branch ingest) for reading spectra")
    (tmp_path / "q.mgf").write_text(MGF)
    (tmp_path / "c.csv").write_text("SMILES,id\nNc1ccccc1C(=O)O,a\nNc1ccc(cc1)C(=O)O,b\n")
    result = invoke("rank", tmp_path / "q.mgf", "--model", run, "--candidates", tmp_path / "c.csv",
                    "--out", tmp_path / "r.tsv", "--score", "latent", "--no-cache")
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "r.tsv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("rank\tcross_entropy_nats\tlatent_nats\tprobability")
    bad = invoke("rank", tmp_path / "q.mgf", "--model", run, "--candidates", tmp_path / "c.csv",
                 "--out", tmp_path / "s.tsv", "--score", "tanimoto", "--no-cache")
    assert bad.exit_code == 1 and bad.output.strip() == ("specvae: error: --score must be one of cross-entropy, "
                                                         "latent, not 'tanimoto'")
    root = fixtures / "casmi"
    result = invoke("evaluate", "casmi", "--challenges", root / "spectra_raw_mgf" / "challenge", "--solutions",
                    root / "solutions" / "casmi_2016_challenge_test.csv", "--candidates", root / "candidates",
                    "--model", run, "--out", tmp_path / "ev", "--ion-mode", "positive", "--score", "latent",
                    "--no-cache")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert summary["metrics"]["all"]["answer_ranked"] == 2 and summary["settings"]["score"] == "latent"


def test_a_dataset_directory_ranks_by_training_bit_frequencies(tmp_path, fixtures):
    import numpy as np
    import pyarrow.parquet as pq

    from specvae.chem.fingerprints import unpack_bits
    from specvae.retrieval.predict import BitFrequencyPredictor

    data = tmp_path / "data"
    result = invoke("ingest", fixtures / "ingest" / "massbank_sample29.msp", "--out", data, "--fingerprint", "morgan2",
                    "--fractions", "1,0,0", "--no-cache")
    assert result.exit_code == 0, result.output
    table = pq.read_table(data / "dataset.parquet").to_pandas()
    paired = table[(table.kind == "paired") & (table.split == "train")]
    bits = unpack_bits(np.stack([np.frombuffer(b, np.uint8) for b in paired.fingerprint]), 2048)
    predictor = BitFrequencyPredictor.from_dataset(data)
    np.testing.assert_allclose(predictor.probs, np.clip(bits.mean(0), 1e-6, 1 - 1e-6), rtol=1e-6)
    probs = predictor.predict_bits(np.zeros((3, 11000), np.float32))
    assert probs.shape == (3, 2048) and (probs == probs[0]).all()

    (tmp_path / "q.mgf").write_text(MGF)
    (tmp_path / "c.csv").write_text("id,smiles\na,Nc1ccccc1C(=O)O\nb,CCCCCCCCCCCCCCCC(=O)O\n")
    result = invoke("rank", tmp_path / "q.mgf", "--model", data, "--candidates", tmp_path / "c.csv", "--out",
                    tmp_path / "r.tsv", "--no-mass-check")
    assert result.exit_code == 0, result.output
    ranked = (tmp_path / "r.tsv").read_text().splitlines()
    assert len(ranked) == 3 and ranked[0].startswith("rank")
