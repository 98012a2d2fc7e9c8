"""Metrics on hand-made cases: a perfect oracle and model, coherence, CCA of correlated and independent data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from specvae.bench import metrics
from specvae.bench.cca import SentenceEmbedder, cca_correlation, eos_mask, fit_cca
from specvae.bench.oracle import DigitCNN, OracleSettings, _shift, load_or_train
from specvae.datasets.cub import EOS, PAD


class MarkOracle(nn.Module):
    """Reads the digit off the image: the column (0-9) of the brightest pixel of row 3 (perfect on our images)."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return nn.functional.one_hot(x[:, 0, 3, :10].argmax(-1), 10).float()


def marked_images(labels):
    x = torch.zeros(len(labels), 1, 28, 28)
    x[torch.arange(len(labels)), 0, 3, torch.as_tensor(labels)] = 1.0
    x[:, 0, 20, :] = 0.5  # something in the bottom half too
    return x


class CopyModel(nn.Module):
    """Stands in for a multimodal VAE: finds the stored image whose observed part matches and returns its parts."""

    def __init__(self, images, lose_top_from_bottom=False):
        super().__init__()
        self.names = ["top", "bottom"]
        self.parts = dict(zip(self.names, metrics.split_rows(images, 2)))
        self.lose = lose_top_from_bottom

    def predict(self, inputs, targets):
        name = next(iter(inputs))
        stored = self.parts[name].flatten(1)
        rows = [int((stored == row).all(1).nonzero()[0]) for row in inputs[name].flatten(1)]
        out = {n: self.parts[n][rows] for n in targets}
        if self.lose and list(inputs) == ["bottom"]:
            out["top"] = torch.zeros_like(out["top"])  # the top cannot be recovered from the bottom
        return out


def test_split_accuracy_perfect_oracle_and_perfect_reconstruction():
    labels = torch.arange(10)
    x = marked_images(labels)
    x[torch.arange(10), 0, 14 + torch.arange(10), 27] = 1.0  # every bottom half differs too
    oracle = MarkOracle()
    assert (oracle(x).argmax(-1) == labels).all()
    acc = metrics.split_accuracies(CopyModel(x), oracle, x, labels, batch_size=4)
    assert acc == {"acc_both": 1.0, "acc_top": 1.0, "acc_bottom": 1.0}
    lossy = metrics.split_accuracies(CopyModel(x, lose_top_from_bottom=True), oracle, x, labels)
    assert lossy["acc_top"] == 1.0 and lossy["acc_bottom"] == pytest.approx(0.1)  # an empty top reads as digit 0


def test_coherence():
    assert metrics.coherence([1, 2, 3], [1, 2, 3]) == 1.0
    assert metrics.coherence(np.array([1, 2, 3, 4]), np.array([1, 0, 3, 0])) == 0.5
    with pytest.raises(ValueError, match="shape"):
        metrics.coherence([1, 2], [1, 2, 3])


def test_observed_sets_for_three_parts():
    sets = metrics.observed_sets(("top", "middle", "bottom"), 3)
    assert sets == {"all": ("top", "middle", "bottom"), "top": ("top",), "middle": ("middle",), "bottom": ("bottom",)}


def test_cca_of_perfectly_correlated_views_is_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 12))
    y = x @ rng.normal(size=(12, 12)) + 3.0
    cca = fit_cca(x, y, k=5)
    assert cca.correlations[0] == pytest.approx(1.0, abs=1e-3)
    assert cca_correlation(cca, x, y) == pytest.approx(1.0, abs=1e-3)
    new = rng.normal(size=(50, 12))
    assert cca_correlation(cca, new, new @ np.linalg.lstsq(x - x.mean(0), y - y.mean(0), rcond=None)[0] + 3) > 0.99


def test_cca_of_independent_views_is_near_zero():
    rng = np.random.default_rng(1)
    cca = fit_cca(rng.normal(size=(2000, 6)), rng.normal(size=(2000, 4)), k=3)
    assert abs(cca_correlation(cca, rng.normal(size=(2000, 6)), rng.normal(size=(2000, 4)))) < 0.05


def test_sentence_embeddings():
    rng = np.random.default_rng(2)
    tokens = np.full((200, 32), PAD)
    tokens[:, :6] = rng.integers(3, 20, (200, 6))
    tokens[:, 6] = EOS
    assert eos_mask(tokens)[0, :8].tolist() == [True] * 7 + [False]
    embed = SentenceEmbedder(tokens, vocab_size=20, dim=8)
    emb = embed(tokens)
    assert emb.shape == (200, 8)
    np.testing.assert_allclose(emb @ embed.pc, 0, atol=1e-9)  # first principal component removed
    probs = np.eye(20)[tokens]  # (N, 32, V) probabilities give the same embedding as their argmax
    np.testing.assert_allclose(embed(probs), emb)


def test_oracle_is_cached_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECVAE_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 64)
    images = (marked_images(labels).numpy() * 255).astype(np.uint8)
    calls = []

    def load():
        calls.append(1)
        return images, labels, images[:16], labels[:16], images[:16], labels[:16]

    settings = OracleSettings(epochs=1, batch_size=32)
    _, record = load_or_train("toy", "digest", load, 1, 28, settings)
    again, record2 = load_or_train("toy", "digest", load, 1, 28, settings)
    assert len(calls) == 1 and record2["path"] == record["path"] and isinstance(again, DigitCNN)
    assert 0.0 <= record2["test_accuracy"] <= 1.0
    load_or_train("toy", "other-digest", load, 1, 28, settings)
    assert len(calls) == 2


def test_shift_moves_images():
    x = torch.zeros(3, 1, 6, 6)
    x[:, 0, 2, 2] = 1
    out = _shift(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and (out.sum((1, 2, 3)) <= 1).all()
