"""``rank_spectra``: spectra file -> predictions -> ranked candidates, with bad inputs (no peaks, invalid rows)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from rank_helpers import OraclePredictor

from specvae.errors import InputError

pytest.importorskip("specvae.ingest", reason="needs specvae.ingest (branch ingest) for reading spectra")

from specvae.retrieval.ranking import rank_spectra  # noqa: E402
from specvae.retrieval.scoring import RANK_COLUMNS  # noqa: E402

CANDIDATES = ("SMILES,id,name\nCCO,c1,ethanol\nc1ccccc1O,c2,phenol\nC1CC(,c3,broken\nOCC,c4,ethanol again\n"
              "CC(=O)O,c5,acetic acid\n")


def mgf(*spectra):
    blocks = []
    for title, pepmass, peaks in spectra:
        lines = ["BEGIN IONS", f"TITLE={title}", f"PEPMASS={pepmass}", "CHARGE=1+"]
        lines += [f"{mz} {i}" for mz, i in peaks] + ["END IONS", ""]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "cands.csv").write_text(CANDIDATES)
    (tmp_path / "three.mgf").write_text(mgf(("first", 95.05, [(77.04, 100), (95.05, 50)]),
                                            ("empty", 47.05, [(1500.0, 10)]),  # its only peak is off the grid
                                            ("third", 47.05, [(29.04, 100)])))
    (tmp_path / "one.mgf").write_text(mgf(("only", 95.05, [(77.04, 100)])))
    return tmp_path


def test_directory_output_with_a_spectrum_without_peaks_and_invalid_candidates(files):
    oracle = OraclePredictor(["c1ccccc1O", "CCO"])  # spectrum 1 looks like phenol, the next usable one like ethanol
    counts = rank_spectra(files / "three.mgf", oracle, files / "out", candidates=files / "cands.csv", casmi=True,
                          fingerprint_tsv=True, mass_check=False)
    assert counts == {**counts, "spectra": 3, "ranked": 2, "skipped": 1, "candidate_rows": 5, "rejected_candidates": 1}
    out = files / "out"
    assert sorted(p.name for p in out.iterdir()) == [".specvae-output", "rankings", "rejects.tsv", "report.html",
                                                     "summary.tsv"]
    assert sorted(p.name for p in (out / "rankings").iterdir()) == [
        "first.casmi.tsv", "first.fingerprint.tsv", "first.tsv", "third.casmi.tsv", "third.fingerprint.tsv",
        "third.tsv"]
    first = pd.read_csv(out / "rankings" / "first.tsv", sep="\t", dtype={"id": str, "merged_ids": str})
    assert list(first.columns) == list(RANK_COLUMNS)
    assert first["id"][0] == "c2" and first["rank"][0] == 1, "phenol first"
    assert sorted(first["id"]) == ["c1", "c2", "c5"], "c4 (ethanol again) merged into c1"
    assert first[first["id"] == "c1"]["merged_ids"].tolist() == ["c4"], "the merged duplicate's id is listed"
    assert (first["cross_entropy_nats"].diff().dropna() >= 0).all(), "lower cross-entropy first"
    assert first["probability"].sum() == pytest.approx(1, abs=1e-4) and first["probability"].is_monotonic_decreasing
    assert first["tanimoto"][0] == 1.0, "the oracle predicts phenol's bits exactly"
    assert first["formula"][0] == "C6H6O" and first["monoisotopic_mass"][0] == pytest.approx(94.04186, abs=1e-5)
    third = pd.read_csv(out / "rankings" / "third.tsv", sep="\t")
    assert third["id"][0] == "c1"
    summary = pd.read_csv(out / "summary.tsv", sep="\t", dtype={"label": str}).set_index("label")
    assert summary.loc["empty", "record"] == 1 and summary.loc["empty", "n_candidates"] == 0, "records count from 0"
    assert summary.loc["empty", "status"].startswith("skipped: no peaks on the m/z grid")
    assert summary.loc["first", "top_inchikey"].startswith(first["inchikey"][0])
    assert np.isnan(summary.loc["first", "confidence"]), "the oracle has no confidence model"
    assert "C1CC(" in (out / "rejects.tsv").read_text()
    assert oracle.calls == [((2, 11000), "mean", 1, 0)], "one batch of the two usable spectra"


def test_single_file_output(files):
    rank_spectra(files / "one.mgf", OraclePredictor(["CC(=O)O"]), files / "ranked.tsv", candidates=files / "cands.csv",
                 casmi=True, mode="sample", n_samples=4, mass_check=False)
    assert {p.name for p in files.iterdir()} >= {"ranked.tsv", "ranked.casmi.tsv", "ranked.rejects.tsv"}
    assert pd.read_csv(files / "ranked.tsv", sep="\t")["id"][0] == "c5"
    assert (files / "ranked.report.html").exists()
    with pytest.raises(FileExistsError):
        rank_spectra(files / "one.mgf", OraclePredictor(["CCO"]), files / "ranked.tsv", candidates=files / "cands.csv")
    with pytest.raises(InputError, match="give a directory"):
        rank_spectra(files / "three.mgf", OraclePredictor(["CCO"]), files / "x.tsv", candidates=files / "cands.csv")


@pytest.mark.parametrize("content, message", [
    (mgf(("nopeaks", 100.0, [])), "no usable spectrum"),
    (mgf(("high", 100.0, [(2000.0, 5.0)])), "no peaks on the m/z grid"),
])
def test_no_usable_spectrum(files, content, message):
    (files / "bad.mgf").write_text(content)
    with pytest.raises(InputError, match=message):
        rank_spectra(files / "bad.mgf", OraclePredictor(["CCO"]), files / "o", candidates=files / "cands.csv")


@pytest.mark.parametrize("text, message", [("", "is empty"), ("SMILES\n", "no candidate rows")])
def test_empty_candidate_file(files, text, message):
    (files / "empty.csv").write_text(text)
    with pytest.raises(InputError, match=message):
        rank_spectra(files / "one.mgf", OraclePredictor(["CCO"]), files / "o", candidates=files / "empty.csv")


def test_ion_mode_mismatch_warns(files, caplog):
    with caplog.at_level(logging.WARNING, logger="specvae"):
        rank_spectra(files / "one.mgf", OraclePredictor(["CCO"], ion_mode="negative"), files / "o",
                     candidates=files / "cands.csv")
    assert "not negative mode" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="specvae"):
        rank_spectra(files / "one.mgf", OraclePredictor(["CCO"], ion_mode="negative"), files / "o2",
                     candidates=files / "cands.csv", ion_mode="negative")
    assert "not negative mode" not in caplog.text, "--ion-mode overrides CHARGE=1+"


def test_candidates_from_the_database(files, fixtures):
    from specvae.retrieval.adducts import ADDUCTS
    from specvae.retrieval.db import build_db

    build_db([fixtures / "structures" / "pubchem_cas_sample.tsv"], files / "db.parquet", fingerprint="morgan2")
    mz = ADDUCTS["[M+H]+"].mz(137.047678)  # C7H7NO2: 20+ isomers in the sample
    (files / "q.mgf").write_text(mgf(("q", round(mz, 5), [(120.04, 100), (92.05, 40)])))
    rank_spectra(files / "q.mgf", OraclePredictor(["Nc1ccccc1C(=O)O"]), files / "r.tsv", db=files / "db.parquet",
                 ppm=5)
    table = pd.read_csv(files / "r.tsv", sep="\t")
    assert table["id"][0] == "CID:227", "anthranilic acid first"
    assert (table["adduct"] == "[M+H]+").all() and len(table) > 15
    assert (table["ppm"].abs() <= 5).all() and table["formula"].eq("C7H7NO2").all()


def _summary(out):
    lines = (out / "summary.tsv").read_text().splitlines()
    return [dict(zip(lines[0].split("\t"), line.split("\t"))) for line in lines[1:]]


def test_mass_check_keeps_the_candidates_that_fit_the_precursor(files, caplog):
    oracle = OraclePredictor(["c1ccccc1O", "CCO"])
    counts = rank_spectra(files / "three.mgf", oracle, files / "out", candidates=files / "cands.csv")
    assert counts == {**counts, "spectra": 3, "ranked": 1, "no_candidates": 1, "skipped": 1}
    rows = {r["label"]: r for r in _summary(files / "out")}
    assert rows["first"]["n_candidates"] == "1" and rows["first"]["status"] == "ranked"
    assert rows["first"]["notes"].startswith("2 of 3 candidates left out: their mass does not fit precursor m/z 95.05")
    assert rows["third"]["n_candidates"] == "0" and rows["third"]["status"] == "no candidates", (
        "ethanol's [M+H]+ is 47.0491, 19 ppm from 47.05")
    assert "c5" not in (files / "out" / "rankings" / "first.tsv").read_text(), "acetic acid (60 Da) is not 94 Da"
    wide = rank_spectra(files / "three.mgf", oracle, files / "wide", candidates=files / "cands.csv", ppm=5e5)
    assert {r["n_candidates"] for r in _summary(files / "wide") if r["status"] == "ranked"} == {"3"}, (
        "--ppm is the tolerance of the mass check")
    assert wide["ranked"] == 2
    with caplog.at_level(logging.WARNING, logger="specvae"):
        rank_spectra(files / "one.mgf", oracle, files / "off", candidates=files / "cands.csv", mass_check=False,
                     ppm=3)
    assert "--ppm 3 has no effect" in caplog.text


@pytest.mark.parametrize("ppm", [-5, 0, float("nan")])
def test_ppm_must_be_positive(files, ppm):
    with pytest.raises(InputError, match="--ppm must be a positive number"):
        rank_spectra(files / "one.mgf", OraclePredictor(["CCO"]), files / "o", candidates=files / "cands.csv",
                     ppm=ppm)
    assert not (files / "o").exists()


def test_duplicate_candidate_ids_naming_two_structures_are_rejected(files):
    (files / "dup.csv").write_text("id,smiles\nc1,CCO\nc1,OCC\nc2,c1ccccc1O\nc2,CC(=O)O\n")
    counts = rank_spectra(files / "three.mgf", OraclePredictor(["CCO"]), files / "out", candidates=files / "dup.csv",
                          mass_check=False)
    assert counts["rejected_candidates"] == 1
    rejects = (files / "out" / "rejects.tsv").read_text()
    assert "duplicate_id: id 'c2' already names another structure (row 2)" in rejects and "CC(=O)O" in rejects
    ranked = (files / "out" / "rankings" / "third.tsv").read_text()
    assert "CC(=O)O" not in ranked and ranked.count("\tc1\t") == 1, "the same id twice for one structure: merged"
