"""Reading an ingested dataset, densifying batches, and the semi-supervised streams."""

from __future__ import annotations

import numpy as np
import pytest
from builders import write_dataset

from specvae import schema
from specvae.datasets.batching import SemiSupervisedBatches
from specvae.datasets.spectra import DeviceSpectra, SpectraDataset, training_streams


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return SpectraDataset.load(write_dataset(tmp_path_factory.mktemp("ds")))


def test_dense_batches_match_the_sparse_rows(dataset):
    dev = DeviceSpectra(dataset)
    rows = np.flatnonzero(dataset.has_spectrum)[[0, 3, 5]]
    dense = dev.spectra(rows).numpy()
    for i, r in enumerate(rows):
        lo, hi = dataset.indptr[r], dataset.indptr[r + 1]
        expected = np.zeros(schema.N_BINS, np.float32)
        expected[dataset.bins[lo:hi]] = dataset.values[lo:hi]
        np.testing.assert_array_equal(dense[i], expected)


def test_fingerprint_bits_unpack_exactly(dataset):
    dev = DeviceSpectra(dataset)
    rows = np.flatnonzero(dataset.has_fingerprint)[:4]
    bits = dev.fingerprint_bits(rows).numpy().astype(np.uint8)
    expected = np.unpackbits(dataset.fingerprints[rows], axis=1, count=dataset.spec.n_bits)
    np.testing.assert_array_equal(bits, expected)


@pytest.mark.parametrize("supervision", [1.0, 0.5, 0.0])
def test_streams_split_structures_not_spectra(dataset, supervision):
    s = training_streams(dataset, supervision=supervision, seed=3)
    train_paired = dataset.rows(schema.TRAIN, schema.PAIRED)
    paired_keys = set(dataset.inchikey14[s.paired])
    unpaired = np.setdiff1d(train_paired, s.paired)
    assert not paired_keys & set(dataset.inchikey14[unpaired]), "a structure is both paired and unpaired"
    n_structures = len(set(dataset.inchikey14[train_paired]))
    assert len(paired_keys) == round(supervision * n_structures)
    # every held-out structure contributes its spectra and exactly one fingerprint
    assert set(unpaired) <= set(s.spectrum)
    held_out_keys = set(dataset.inchikey14[unpaired])
    fp_keys = [k for k in dataset.inchikey14[s.fingerprint] if k in held_out_keys]
    assert sorted(fp_keys) == sorted(held_out_keys)
    # the dataset's own unpaired rows are used, and nothing outside the train split
    assert set(dataset.rows(schema.TRAIN, schema.SPECTRUM_ONLY)) <= set(s.spectrum)
    assert set(dataset.rows(schema.TRAIN, schema.MOLECULE_ONLY)) <= set(s.fingerprint)
    used = np.concatenate([s.paired, s.spectrum, s.fingerprint])
    assert (dataset.splits[used] == schema.TRAIN).all()
    assert (dataset.splits[s.validation] == schema.VALIDATION).all()


def test_supervision_out_of_range_is_an_error(dataset):
    with pytest.raises(ValueError, match="supervision"):
        training_streams(dataset, supervision=1.5)


def test_semi_supervised_steps_cycle_the_smaller_streams():
    batches = SemiSupervisedBatches({"paired": np.arange(10), "x1": np.arange(100, 125), "x2": np.arange(3)},
                                    batch_size=4, seed=1)
    steps = list(batches.epoch(0))
    assert len(steps) == batches.steps_per_epoch() == 7  # ceil(25 / 4)
    x1 = np.concatenate([s["x1"] for s in steps])
    assert set(x1[:25]) == set(range(100, 125)), "the largest stream is one full pass"
    assert all(len(s["paired"]) == 4 and len(s["x2"]) == 3 for s in steps)
    paired = np.concatenate([s["paired"] for s in steps])
    assert set(paired[:10]) == set(range(10)) and set(paired[10:20]) == set(range(10)), "cycled in permutations"


def test_batches_depend_only_on_seed_and_epoch():
    streams = {"paired": np.arange(50)}
    a = [s["paired"] for s in SemiSupervisedBatches(streams, 8, seed=2).epoch(5)]
    b = [s["paired"] for s in SemiSupervisedBatches(streams, 8, seed=2).epoch(5)]
    c = [s["paired"] for s in SemiSupervisedBatches(streams, 8, seed=2).epoch(6)]
    assert all((x == y).all() for x, y in zip(a, b))
    assert not all((x == y).all() for x, y in zip(a, c))
