"""Predictors: a trained run loaded from its directory, and the bit-frequency baseline taken from a dataset."""

from __future__ import annotations

import numpy as np
import pytest
from builders import write_dataset
from rank_helpers import write_tiny_run

from specvae import schema
from specvae.chem.bits import RANKING_EPS
from specvae.errors import CheckpointError, InputError
from specvae.retrieval.predict import BitFrequencyPredictor, Predictor
from specvae.training import checkpoint as ckpt


def spectra(n: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros((n, schema.N_BINS), np.float32)
    for row in out:
        row[rng.integers(0, schema.N_BINS, 20)] = rng.uniform(0.5, 4.6, 20)
    return out


def test_a_run_predicts_bit_probabilities(tmp_path):
    predictor = Predictor.from_run(write_tiny_run(tmp_path / "run", ion_mode="negative"))
    assert predictor.spec.name == "morgan2" and predictor.spec.n_bits == 2048 and predictor.ion_mode == "negative"
    x = spectra()
    mean = predictor.predict_bits(x)
    assert mean.shape == (5, 2048) and ((mean > 0) & (mean < 1)).all()
    np.testing.assert_allclose(predictor.predict_bits(x, batch_size=2), mean, rtol=1e-5)  # batched alike
    sampled = predictor.predict_bits(x, mode="sample", n_samples=3, seed=4)
    np.testing.assert_array_equal(predictor.predict_bits(x, mode="sample", n_samples=3, seed=4), sampled)
    assert not np.allclose(sampled, mean) and not np.allclose(predictor.predict_bits(x, mode="sample", seed=5),
                                                              sampled)


def test_bad_inputs_and_runs(tmp_path):
    predictor = Predictor.from_run(write_tiny_run(tmp_path / "run"))
    with pytest.raises(InputError, match="mode must be"):
        predictor.predict_bits(spectra(), mode="median")
    with pytest.raises(InputError, match="shape"):
        predictor.predict_bits(np.zeros((2, 100), np.float32))
    with pytest.raises(FileNotFoundError):
        Predictor.from_run(tmp_path / "absent")
    config = ckpt.read_json(tmp_path / "run" / ckpt.CONFIG_FILE)
    ckpt.write_json(tmp_path / "run" / ckpt.CONFIG_FILE, {**config, "task": "bench-mnist-split"})
    with pytest.raises(CheckpointError, match="not a spectra model"):
        Predictor.from_run(tmp_path / "run")


def test_bit_frequency_baseline_is_the_training_marginal(tmp_path):
    import pyarrow.parquet as pq

    data = write_dataset(tmp_path / "data", n_structures=8)
    baseline = BitFrequencyPredictor.from_dataset(data)
    table = pq.read_table(data / schema.DATASET_FILE).to_pylist()
    rows = [r for r in table if r[schema.SPLIT] == schema.TRAIN and r[schema.KIND] == schema.PAIRED]
    bits = np.unpackbits(np.frombuffer(b"".join(r[schema.FINGERPRINT] for r in rows), np.uint8).reshape(
        len(rows), -1), axis=1, count=24)
    expected = np.clip(bits.mean(axis=0), RANKING_EPS, 1 - RANKING_EPS)
    np.testing.assert_allclose(baseline.probs, expected, rtol=1e-6)
    out = baseline.predict_bits(spectra(3))
    assert out.shape == (3, 24) and (out == baseline.probs).all(), "the same for every spectrum"
    assert baseline.spec.n_bits == 24 and baseline.ion_mode == "positive"
