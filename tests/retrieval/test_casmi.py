"""CASMI evaluation: metrics by hand, the committed 3-challenge fixture, and real CASMI 2016 files when present."""

from __future__ import annotations

import json

import pytest
from rank_helpers import OraclePredictor, write_tiny_run

from specvae.errors import InputError
from specvae.retrieval.casmi import casmi2016_layout, read_solutions, summarize, topk_counts

ANSWERS = {  # the fixture's challenges, sorted by name
    "Challenge-001": "NC1=C2C=CC(=CC2=CC=C1)S(O)(=O)=O",
    "Challenge-121": "CNC(=O)Oc1cccc2OC(C)(C)Oc12",
    "Challenge-166": "O=C1C=C(OC2=CC=CC=C12)C1=CC=CC=C1",
}


def test_topk_counts_with_ties_and_missing_answers():
    ranks = [1.0, 1.5, 3.0, 10.0, 10.5, None]
    assert topk_counts(ranks) == {"top1": 1, "top3": 3, "top5": 3, "top10": 4}


def test_summarize_by_hand():
    rows = [dict(ion_mode=m, rank=r, answer_in_candidates=r is not None, status="ranked" if r else "missing",
                 n_candidates=n) for m, r, n in [("positive", 1.0, 10), ("positive", 4.0, 20), ("negative", 2.5, 30),
                                                 ("negative", None, 40)]]
    s = summarize(rows)
    assert s["all"] == {"challenges": 4, "answer_ranked": 3, "answer_missing": 1, "spectrum_skipped": 0, "top1": 1,
                        "top3": 2, "top5": 3, "top10": 3, "mean_rank": 2.5, "median_rank": 2.5,
                        "median_candidates": 25.0}
    assert s["positive"]["top1"] == 1 and s["positive"]["median_rank"] == 2.5
    assert s["negative"]["answer_missing"] == 1 and s["negative"]["mean_rank"] == 2.5


def test_solutions_polarity_and_identity(fixtures):
    sols = read_solutions(fixtures / "casmi" / "solutions" / "casmi_2016_challenge_test.csv")
    assert {k: v.ion_mode for k, v in sols.items()} == {"Challenge-001": "negative", "Challenge-121": "positive",
                                                        "Challenge-166": "positive"}
    assert sols["Challenge-166"].inchikey14 == "VHBFFQKBGNRLFZ"


@pytest.fixture
def casmi(fixtures):
    pytest.importorskip("specvae.ingest", reason="needs specvae.ingest (branch ingest) for reading spectra")
    return casmi2016_layout(fixtures / "casmi")  # the fixture folder is laid out as shared/data/casmi2016


def test_oracle_ranks_every_answer_first(casmi, tmp_path):
    from specvae.retrieval.casmi import evaluate_casmi

    summary = evaluate_casmi(**casmi, predictor=OraclePredictor(list(ANSWERS.values())), out=tmp_path / "ev")
    m = summary["metrics"]
    assert m["all"]["top1"] == 3 and m["all"]["median_rank"] == 1.0
    assert m["negative"]["challenges"] == 1 and m["positive"]["challenges"] == 2
    assert sorted(p.name for p in (tmp_path / "ev").iterdir()) == [".specvae-output", "report.html", "results.tsv",
                                                                  "summary.json", "summary.md", "topk.png"]
    page = (tmp_path / "ev" / "report.html").read_text()
    assert page.count('<section class="spectrum"') == 3 and page.count("(answer)") == 3, "each answer marked"
    assert summary["confidence"] is None, "the oracle has no confidence model"
    rows = [line.split("\t") for line in (tmp_path / "ev" / "results.tsv").read_text().splitlines()]
    assert [r[0] for r in rows[1:]] == list(ANSWERS) and [r[4] for r in rows[1:]] == ["9", "17", "11"]
    assert "| positive | 2 | 2 | 2 (100.0 %)" in (tmp_path / "ev" / "summary.md").read_text()
    assert json.loads((tmp_path / "ev" / "summary.json").read_text())["metrics"] == m


def test_wrong_prediction_ranks_the_answer_lower(casmi, tmp_path):
    from specvae.retrieval.casmi import evaluate_casmi

    wrong = "CC1(C)OC2=CC=CC=C2O1"  # not a candidate: the ranks follow its similarity to each candidate
    summary = evaluate_casmi(**casmi, predictor=OraclePredictor([wrong]), out=tmp_path / "ev", ion_mode="positive",
                             limit=1)
    assert summary["metrics"]["all"]["challenges"] == 1 and "negative" not in summary["metrics"]
    rows = (tmp_path / "ev" / "results.tsv").read_text().splitlines()
    assert rows[1].startswith("Challenge-121\tpositive\t224.092")
    with pytest.raises(FileExistsError):
        evaluate_casmi(**casmi, predictor=OraclePredictor([wrong]), out=tmp_path / "ev")


def test_database_candidates(casmi, tmp_path):
    from specvae.retrieval.casmi import evaluate_casmi
    from specvae.retrieval.db import build_db

    files = sorted(casmi["candidates"].glob("*.csv.gz"))
    build_db(files, tmp_path / "db.parquet", fingerprint="morgan2")
    summary = evaluate_casmi(casmi["challenges"], casmi["solutions"], OraclePredictor(list(ANSWERS.values())),
                             tmp_path / "ev", db=tmp_path / "db.parquet", ppm=10)
    assert summary["metrics"]["all"]["top1"] == 3
    rows = [line.split("\t") for line in (tmp_path / "ev" / "results.tsv").read_text().splitlines()]
    assert [r[3] for r in rows[1:]] == ["[M-H]-", "[M+H]+", "[M+H]+"], "adduct from the solutions' ion mode"
    assert [r[4] for r in rows[1:]] == ["9", "17", "11"], "each challenge finds exactly its formula's isomers"


def test_needs_exactly_one_candidate_source(casmi, tmp_path):
    from specvae.retrieval.casmi import evaluate_casmi

    with pytest.raises(InputError, match="exactly one"):
        evaluate_casmi(casmi["challenges"], casmi["solutions"], OraclePredictor(["CCO"]), tmp_path / "ev")


@pytest.mark.shared_data
def test_real_casmi_2016_with_a_tiny_model(shared_data, tmp_path):
    pytest.importorskip("specvae.ingest", reason="needs specvae.ingest (branch ingest) for reading spectra")
    from specvae.retrieval.casmi import evaluate_casmi
    from specvae.retrieval.predict import Predictor

    root = shared_data / "casmi2016"
    run = write_tiny_run(tmp_path / "run")
    summary = evaluate_casmi(root / "spectra_raw_mgf" / "challenge",
                             root / "solutions" / "casmi_2016_challenge_test.csv", Predictor.from_run(run),
                             tmp_path / "ev", candidates=root / "candidates", limit=3)
    m = summary["metrics"]["all"]
    assert m["challenges"] == 3 and m["answer_ranked"] == 3, "every CASMI 2016 list contains its answer"
    training = read_solutions(root / "solutions" / "casmi_2016_challenge_training.csv")
    assert len(training) == 312, "the training solutions' odd headers (challengename, IUPAC) are understood"


def test_second_evaluation_computes_no_fingerprint(casmi, tmp_path, monkeypatch):
    cache_module = pytest.importorskip("specvae.chem.cache", reason="needs the fingerprint cache (branch fingerprints)")
    from specvae.chem.fingerprints import MorganFingerprinter
    from specvae.retrieval.casmi import evaluate_casmi

    computed = []
    original = MorganFingerprinter.compute
    monkeypatch.setattr(MorganFingerprinter, "compute", lambda self, mols: computed.append(len(mols)) or
                        original(self, mols))
    cache = cache_module.FingerprintCache(tmp_path / "fingerprints.sqlite")
    oracle = OraclePredictor(list(ANSWERS.values()))
    computed.clear()  # the oracle's own fingerprints do not count
    first = evaluate_casmi(**casmi, predictor=oracle, out=tmp_path / "a", cache=cache)
    assert sum(computed) == 37, "9 + 17 + 11 distinct candidates computed once"
    computed.clear()
    second = evaluate_casmi(**casmi, predictor=oracle, out=tmp_path / "b", cache=cache)
    assert sum(computed) == 0, "everything came from the cache"
    assert first["metrics"] == second["metrics"]
