"""``rank`` with the packaged default model: no ``--model`` needed, its confidence, ``--min-confidence``, and the
summary's title, retention time and scan."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from specvae.cli import app

pytest.importorskip("specvae.ingest", reason="needs specvae.ingest for reading spectra")

# two spectra of anthranilic acid-like ions ([M+H]+ 138.0550) with retention times and scans as MGF states them
MGF = ("BEGIN IONS\nTITLE=first scan\nPEPMASS=138.0550\nCHARGE=1+\nRTINSECONDS=312.5\nSCANS=1207\n"
       "120.0444 100\n92.0495 45\n65.0386 12\nEND IONS\n"
       "BEGIN IONS\nTITLE=second\nPEPMASS=138.0550\nCHARGE=1+\n120.0444 30\n94.0651 100\nEND IONS\n")
CANDIDATES = ("SMILES,id,name\nNc1ccccc1C(=O)O,CID:227,anthranilic acid\nNc1ccc(cc1)C(=O)O,CID:978,4-aminobenzoic "
              "acid\nNc1cccc(c1)C(=O)O,CID:7419,3-aminobenzoic acid\nO=C(O)c1ccncc1C,x4,methylisonicotinic acid\n"
              "CCO,x5,ethanol\n")


@pytest.fixture
def files(tmp_path):
    (tmp_path / "q.mgf").write_text(MGF)
    (tmp_path / "c.csv").write_text(CANDIDATES)
    return tmp_path


def invoke(*args):
    return CliRunner().invoke(app, [*map(str, args)])


def test_rank_without_model_uses_the_default_model(files):
    from specvae.retrieval.predict import default_model_dir

    result = invoke("rank", files / "q.mgf", "--candidates", files / "c.csv", "--out", files / "out",
                    "--fingerprint-tsv")
    assert result.exit_code == 0, result.output
    assert "ranked 2 of 2 spectra" in result.output and "report.html" in result.output
    said = " ".join(result.output.split())  # the log line, unwrapped
    assert f"the default model shipped with specvae ({default_model_dir()};" in said
    assert "confidence of the top hit from the run's confidence.json" in said
    summary = pd.read_csv(files / "out" / "summary.tsv", sep="\t", comment="#", dtype={"scan": str})
    first = summary.iloc[0]
    assert first["title"] == "first scan" and first["retention_time"] == "312.5 s" and first["scan"] == "1207"
    assert pd.isna(summary.iloc[1]["retention_time"]) and pd.isna(summary.iloc[1]["scan"])
    assert first["n_candidates"] == 4, "ethanol does not fit m/z 138.0550; the four isomers do"
    assert 0 < first["confidence"] < 1 and 0 < first["top_probability"] <= 1
    ranking = pd.read_csv(files / "out" / "rankings" / "first_scan.tsv", sep="\t", comment="#")
    assert ranking["probability"].sum() == pytest.approx(1, abs=1e-4)
    assert (ranking["ppm"].abs() < 1).all() and (ranking["adduct"] == "[M+H]+").all()
    assert ranking["formula"].eq("C7H7NO2").all() and ranking["monoisotopic_mass"].round(4).eq(137.0477).all()
    assert ranking["tanimoto"].between(0, 1).all()
    fingerprint = pd.read_csv(files / "out" / "rankings" / "first_scan.fingerprint.tsv", sep="\t")
    assert len(fingerprint) == 2149 and fingerprint["substructure"][0] == "Laggner 0: Primary_carbon"
    assert fingerprint["substructure"].str.match(r"^(Laggner|PubChem|Klekota-Roth|MACCS key) \d+: .+").all()


def test_min_confidence_lists_low_confidence_spectra(files):
    result = invoke("-q", "rank", files / "q.mgf", "--candidates", files / "c.csv", "--out", files / "out",
                    "--min-confidence", "0.999")
    assert result.exit_code == 0, result.output
    assert "2 below --min-confidence" in result.output
    summary = pd.read_csv(files / "out" / "summary.tsv", sep="\t")
    assert summary["status"].str.startswith("low confidence (").all() and summary["top_inchikey"].isna().all()
    assert summary["confidence"].notna().all(), "the confidence is still given"
    assert not list((files / "out" / "rankings").iterdir()), "no annotation below the threshold"
    result = invoke("-q", "rank", files / "q.mgf", "--candidates", files / "c.csv", "--out", files / "out2",
                    "--min-confidence", "0")
    assert result.exit_code == 0 and "below" not in result.output
    assert pd.read_csv(files / "out2" / "summary.tsv", sep="\t")["status"].eq("ranked").all()


@pytest.mark.parametrize("value, message", [("1.5", "between 0 and 1"), ("0.5", "needs a model with a confidence")])
def test_min_confidence_errors(files, value, message):
    from rank_helpers import write_tiny_run

    run = write_tiny_run(files / "run")  # a run without confidence.json
    result = invoke("-q", "rank", files / "q.mgf", "--model", run, "--candidates", files / "c.csv", "--out",
                    files / "out", "--min-confidence", value)
    assert result.exit_code == 1 and result.output.startswith("specvae: error:") and message in result.output
    assert "Traceback" not in result.output


def test_the_default_model_ships_a_confidence():
    from specvae.retrieval.predict import default_model_dir
    from specvae.training.confidence import load

    model = load(default_model_dir())
    assert model.has_confidence and model.temperature > 1
    assert model.confidence([[50.0, 1.0, 0.9, 3.0]]) > model.confidence([[0.5, 0.01, 0.2, 6.0]]), \
        "a large gap to the runner-up means more confidence than a close call among many"


def test_evaluate_casmi_without_model_uses_the_default_model(tmp_path, fixtures):
    import json

    root = fixtures / "casmi"
    result = invoke("-q", "evaluate", "casmi", "--challenges", root / "spectra_raw_mgf" / "challenge", "--solutions",
                    root / "solutions" / "casmi_2016_challenge_test.csv", "--candidates", root / "candidates",
                    "--out", tmp_path / "ev", "--ion-mode", "positive")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert summary["settings"]["model"] == "default (packaged)"
    assert summary["confidence"]["challenges"] == 2 and len(summary["confidence"]["bins"]) == 6
    assert "## Confidence of the top hit" in (tmp_path / "ev" / "summary.md").read_text()
    results = pd.read_csv(tmp_path / "ev" / "results.tsv", sep="\t")
    assert results["confidence"].between(0, 1).all() and results["top1_right"].eq(results["rank"] == 1).all()
    page = (tmp_path / "ev" / "report.html").read_text()
    assert page.count('<section class="spectrum"') == 2 and "right answer" in page
