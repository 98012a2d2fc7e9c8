"""The confidence of rankings (:mod:`specvae.training.confidence`): temperature, logistic model, storage."""

from __future__ import annotations

import json

import numpy as np
import pytest

from specvae.errors import CheckpointError
from specvae.training import confidence as conf


def _synthetic(n_spectra=400, n_bits=64, k=60, seed=0):
    """Spectra whose predicted bits are a noisy copy of their answer's bits: sometimes clear, sometimes not."""
    rng = np.random.default_rng(seed)
    fps = rng.random((n_spectra * k, n_bits)) < 0.3
    candidates = np.arange(n_spectra * k).reshape(n_spectra, k)
    noise = rng.uniform(0.05, 0.6, n_spectra)[:, None]  # per spectrum: how unclear its prediction is
    answer = fps[candidates[:, 0]]
    flip = rng.random(answer.shape) < noise
    probs = np.where(answer ^ flip, 0.8, 0.2).astype(np.float32)
    keys = np.array([f"KEY{i:010d}" for i in range(n_spectra)])
    return probs, np.packbits(fps, axis=1), candidates, keys, n_bits


def test_candidate_probabilities_are_a_softmax_of_negative_cross_entropy():
    p = conf.candidate_probabilities(np.array([10.0, 12.0, 10.0]), temperature=2.0)
    assert p.sum() == pytest.approx(1) and p[0] == p[2] and p[0] / p[1] == pytest.approx(np.e)
    assert conf.candidate_probabilities(np.array([]), 1.0).size == 0


def test_fit_confidence_separates_clear_from_unclear_spectra(tmp_path):
    probs, fps, candidates, keys, n_bits = _synthetic()
    model = conf.fit_confidence(probs, fps, candidates, keys, n_bits)
    assert model.has_confidence and model.temperature > 0
    table = model.report["out_of_fold"]["reliability"]
    assert sum(row["count"] for row in table) == model.report["lists"]
    assert model.report["out_of_fold"]["brier"] < model.report["out_of_fold"]["brier_constant"], \
        "better than predicting the overall rate for every list"
    low, high = table[0], table[-1]
    assert low["top1_right"] < high["top1_right"], "higher confidence, more top hits right"
    conf.save(tmp_path, model)
    loaded = conf.load(tmp_path)
    x = np.array([[20.0, 1.0, 0.8, np.log(30)], [0.1, 0.01, 0.1, np.log(30)]])
    assert np.allclose(loaded.confidence(x), model.confidence(x)) and loaded.temperature == model.temperature
    assert loaded.confidence(x)[0] > loaded.confidence(x)[1]


def test_temperature_recovers_the_one_the_answers_were_drawn_with():
    rng = np.random.default_rng(1)
    lists = []
    for _ in range(3000):
        s = rng.normal(0, 10, 8)
        p = conf.candidate_probabilities(s, 4.0)
        answer = rng.choice(8, p=p)
        lists.append(np.concatenate([[s[answer]], np.delete(s, answer)]))  # the answer first
    assert conf._fit_temperature(lists) == pytest.approx(4.0, rel=0.15)


def test_no_file_means_temperature_one_and_no_confidence(tmp_path):
    model = conf.load(tmp_path)
    assert model.temperature == 1.0 and not model.has_confidence and model.confidence([[1, 1, 1, 1]]) is None


@pytest.mark.parametrize("text", ["{not json", json.dumps({"temperature": -1}),
                                  json.dumps({"temperature": 2, "weights": [1], "mean": [0], "scale": [1]})])
def test_damaged_file_is_a_checkpoint_error(tmp_path, text):
    (tmp_path / conf.CONFIDENCE_FILE).write_text(text)
    with pytest.raises(CheckpointError, match="confidence"):
        conf.load(tmp_path)
