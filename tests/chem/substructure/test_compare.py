"""Column alignment against fingerprints with an unknown mask, and agreement with the svae_spectra reference."""

from __future__ import annotations

import csv

import numpy as np
from rdkit import Chem

from specvae.chem.substructure.compare import agreement_by_family, align_columns


def test_alignment_recovers_an_ordered_subset_and_skips_foreign_columns():
    rng = np.random.default_rng(0)
    ours = rng.integers(0, 2, (100, 60))
    picked = np.array([2, 5, 6, 17, 30, 44, 59])
    reference = ours[:, picked].copy()
    reference[:4, 3] ^= 1  # a few disagreements
    foreign = np.zeros((100, 1), dtype=ours.dtype)  # an almost constant column no column of ours explains
    foreign[:3] = 1
    reference = np.concatenate([reference[:, :4], foreign, reference[:, 4:]], axis=1)
    assignment = align_columns(reference, ours)
    assert assignment.tolist() == [2, 5, 6, 17, -1, 30, 44, 59]
    families = np.array(["a"] * 30 + ["b"] * 30)
    report = agreement_by_family(reference, ours, assignment, families)
    assert report["a"]["columns"] == 4 and report["b"]["columns"] == 3 and report["unassigned"]["columns"] == 1
    assert report["b"]["agreement"] == 1.0 and 0.98 < report["a"]["agreement"] < 1.0


def test_agreement_with_svae_spectra_reference_bits(shared_data):
    from specvae.chem.fingerprints import get_fingerprinter

    csv.field_size_limit(2**31 - 1)
    with open(shared_data / "svae_spectra_examples" / "test.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))[:40]
    reference = np.array([[int(c) for c in r["fp_short"].strip()] for r in rows], dtype=np.uint8)
    pool = get_fingerprinter("specvae-pool")
    ours = pool.compute([Chem.MolFromSmiles(r["SMILES"]) for r in rows])
    assignment = align_columns(reference, ours)
    report = agreement_by_family(reference, ours, assignment, pool.families())
    for family in ("laggner", "pubchem", "klekota_roth", "maccs"):
        assert report[family]["columns"] > 20, report[family]
        assert report[family]["agreement"] > 0.97, (family, report[family])
