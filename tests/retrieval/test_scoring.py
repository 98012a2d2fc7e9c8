"""Scoring and ranking on small hand-checked cases: cross-entropy, ties, packed fingerprints, output files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from specvae.chem.structures import parse_many
from specvae.readers.structures import StructureRecord
from specvae.retrieval.candidates import merge_rows
from specvae.retrieval.scoring import (
    RANK_COLUMNS,
    average_ranks,
    rank_candidates,
    score_bits,
    score_packed,
    write_casmi_submission,
    write_fingerprint,
    write_ranking,
)

P = np.array([0.9, 0.2, 0.5])


def ce(bits, p=P):
    return -sum(math.log(q) if b else math.log(1 - q) for b, q in zip(bits, p))


@pytest.mark.parametrize("bits, expected", [
    ([1, 0, 1], -(math.log(0.9) + math.log(0.8) + math.log(0.5))),  # 1.0217
    ([0, 1, 0], -(math.log(0.1) + math.log(0.2) + math.log(0.5))),  # 4.6052
    ([0, 0, 0], -(math.log(0.1) + math.log(0.8) + math.log(0.5))),
])
def test_cross_entropy_by_hand(bits, expected):
    assert score_bits(P, np.array([bits]))[0] == pytest.approx(expected, abs=1e-12)
    assert score_packed(P, np.packbits(np.array([bits], np.uint8), axis=1))[0] == pytest.approx(expected, abs=1e-12)


def test_probabilities_are_clipped_away_from_zero_and_one():
    p = np.array([1.0, 0.0])
    score = score_bits(p, np.array([[0, 1]]), eps=1e-6)[0]  # both bits confidently wrong
    assert score == pytest.approx(-2 * math.log(1e-6), rel=1e-6), "each wrong certain bit costs -log(eps)"
    assert np.isfinite(score_packed(p, np.packbits(np.array([[0, 1]], np.uint8), axis=1))).all()


def test_packed_equals_unpacked_on_random_fingerprints():
    rng = np.random.default_rng(0)
    p = rng.random(2149).astype(np.float32)
    bits = (rng.random((500, 2149)) < 0.2).astype(np.uint8)
    np.testing.assert_allclose(score_packed(p, np.packbits(bits, axis=1)), score_bits(p, bits), rtol=1e-10)


def test_identical_fingerprints_score_identically():
    rng = np.random.default_rng(1)
    p = rng.random(2149)
    row = (rng.random(2149) < 0.3).astype(np.uint8)
    packed = np.packbits(np.stack([row, 1 - row, row]), axis=1)
    s = score_packed(p, packed)
    assert s[0] == s[2], "two identical fingerprints must tie exactly"


@pytest.mark.parametrize("scores, ranks", [
    ([1.0, 4.6, 1.0], [1.5, 3.0, 1.5]),
    ([3.0, 2.0, 1.0], [3.0, 2.0, 1.0]),
    ([2.0, 2.0, 2.0, 1.0], [3.0, 3.0, 3.0, 1.0]),
    ([], []),
])
def test_ties_get_the_average_rank(scores, ranks):
    assert average_ranks(np.array(scores)).tolist() == ranks


def _candidates(smiles_ids):
    rows = [StructureRecord(source="test", row=i, line=i + 2, smiles=s, id=ident, name=f"name{i}")
            for i, (s, ident) in enumerate(smiles_ids)]
    return merge_rows(rows, parse_many([(r.smiles, r.inchi) for r in rows]))


def test_rank_three_candidates_two_with_identical_fingerprints():
    cands = _candidates([("CCO", "ethanol"), ("CCCCCC", "hexane"), ("OCC(O)CO", "glycerol")])
    bits = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], np.uint8)  # ethanol and glycerol share a fingerprint
    ranking = rank_candidates(P, cands, np.packbits(bits, axis=1))
    table = ranking.table()
    assert table["id"].tolist() == ["ethanol", "glycerol", "hexane"], "ties keep the input order"
    assert table["rank"].tolist() == [1.5, 1.5, 3.0]
    assert table["cross_entropy_nats"].tolist() == pytest.approx([ce([1, 0, 1])] * 2 + [ce([0, 1, 0])])
    assert table["probability"].tolist() == pytest.approx(
        np.exp(-table["cross_entropy_nats"]) / np.exp(-table["cross_entropy_nats"]).sum()), "softmax, temperature 1"
    assert table["tanimoto"].tolist() == [0.5, 0.5, 0.0], "P > 0.5 is bit 0 only"
    assert ranking.confidence is None, "no confidence model"
    assert ranking.rank_of("LFQSCWFLJHTTHZ") == 1.5  # ethanol
    assert ranking.rank_of("XXXXXXXXXXXXXX") is None and ranking.score_of("XXXXXXXXXXXXXX") is None
    assert ranking.best()[0].smiles == "CCO" and table.head(1).equals(ranking.table(top=1))


def test_outputs(tmp_path):
    cands = _candidates([("CCO", "a"), ("CCCCCC", "b")])
    ranking = rank_candidates(P, cands, np.packbits(np.array([[1, 0, 1], [0, 1, 0]], np.uint8), axis=1))
    write_ranking(ranking, tmp_path / "r.tsv")
    lines = (tmp_path / "r.tsv").read_text().splitlines()
    assert lines[0].split("\t") == list(RANK_COLUMNS) == [
        "rank", "cross_entropy_nats", "probability", "tanimoto", "adduct", "ppm", "formula", "monoisotopic_mass",
        "inchikey", "smiles", "id", "name", "merged_ids"]
    assert lines[1].split("\t") == ["1", "1.02165", "0.972973", "0.5", "", "", "C2H6O", "46.04186",
                                     "LFQSCWFLJHTTHZ-UHFFFAOYSA-N", "CCO", "a", "name0", ""]
    write_casmi_submission(ranking, tmp_path / "c.tsv")
    rows = [line.split("\t") for line in (tmp_path / "c.tsv").read_text().splitlines()]
    assert [r[0] for r in rows] == ["CCO", "CCCCCC"]
    assert float(rows[0][1]) > float(rows[1][1]) == 0.0, "CASMI scores: non-negative, higher is better"
    write_fingerprint(P, tmp_path / "fp.tsv")
    assert (tmp_path / "fp.tsv").read_text().splitlines() == ["bit\tprobability\tsubstructure", "0\t0.9\t",
                                                              "1\t0.2\t", "2\t0.5\t"]
    write_fingerprint(P, tmp_path / "fp.tsv", ["PubChem 0: a", "PubChem 1: b", "PubChem 2: C(=O)N"])
    assert (tmp_path / "fp.tsv").read_text().splitlines()[3] == "2\t0.5\tPubChem 2: C(=O)N"
