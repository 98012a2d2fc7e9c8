"""Each likelihood against a hand computation on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch

from specvae.models.likelihoods import log_likelihood, mean

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def test_gaussian_unit_variance_with_clamped_mean():
    x = torch.tensor([[0.5, 5.0]])
    params = torch.tensor([[-1.0, 10.0]])  # clamped to [0, ln 101]
    hi = math.log(101)
    expected = -0.5 * (0.5**2) - HALF_LOG_2PI - 0.5 * (5.0 - hi) ** 2 - HALF_LOG_2PI
    got = log_likelihood("gaussian", params, x, {"low": 0.0, "high": hi})
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert mean("gaussian", params, {"low": 0.0, "high": hi})[0].tolist() == pytest.approx([0.0, hi])


def test_bernoulli_from_logits():
    x = torch.tensor([[1.0, 0.0, 1.0]])
    logits = torch.tensor([[0.0, 2.0, -1.0]])
    p = torch.sigmoid(logits)[0]
    expected = math.log(0.5) + math.log(1 - p[1].item()) + math.log(p[2].item())
    assert log_likelihood("bernoulli", logits, x).item() == pytest.approx(expected, rel=1e-6)


def test_laplace_with_scale_and_weight():
    x = torch.tensor([[0.0, 1.0]])
    loc = torch.tensor([[0.02, 1.0]])
    b = 0.01
    expected = 0.002 * ((-0.02 / b - math.log(2 * b)) + (0 - math.log(2 * b)))
    got = log_likelihood("laplace", loc, x, {"scale": b, "weight": 0.002})
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_categorical_sums_words_and_ignores_padding():
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]]))  # (B=1, T=3, V=3)
    tokens = torch.tensor([[0, 1, -100]])
    expected = math.log(0.5) + math.log(0.8)
    assert log_likelihood("categorical", logits, tokens).item() == pytest.approx(expected, rel=1e-6)


def test_sample_dimension_broadcasts_against_data():
    x = (torch.rand(4, 7) > 0.5).float()
    logits = torch.randn(3, 4, 7)  # K=3 samples
    per_sample = log_likelihood("bernoulli", logits, x)
    assert per_sample.shape == (3, 4)
    torch.testing.assert_close(per_sample[1], log_likelihood("bernoulli", logits[1], x))


def test_unknown_likelihood_is_an_error():
    with pytest.raises(ValueError, match="unknown likelihood"):
        log_likelihood("poisson", torch.zeros(1, 1), torch.zeros(1, 1))
