"""The one cross-entropy of predicted bits: NumPy and torch agree, ranking scores are it, clipping caps it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from specvae.chem.bits import RANKING_EPS, VALIDATION_EPS, bit_cross_entropy, pack_bits, unpack_bits


def test_numpy_and_torch_give_the_same_cross_entropy():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    probs = rng.random((5, 37))
    bits = (rng.random((5, 37)) < 0.3).astype(np.float64)
    expected = -(bits * np.log(probs) + (1 - bits) * np.log(1 - probs)).sum(1)
    np.testing.assert_allclose(bit_cross_entropy(probs, bits, VALIDATION_EPS), expected, rtol=1e-12)
    got = bit_cross_entropy(torch.tensor(probs), torch.tensor(bits), VALIDATION_EPS)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-9)


def test_ranking_scores_are_the_cross_entropy():
    from specvae.retrieval.scoring import score_bits, score_packed

    rng = np.random.default_rng(1)
    probs = rng.random(21)
    probs[:3] = [0.0, 1.0, 1e-9]  # clipped
    bits = (rng.random((6, 21)) < 0.4).astype(np.uint8)
    expected = bit_cross_entropy(probs[None, :], bits, RANKING_EPS)
    np.testing.assert_allclose(score_bits(probs, bits), expected, rtol=1e-12)
    np.testing.assert_allclose(score_packed(probs, pack_bits(bits)), expected, rtol=1e-12)


@pytest.mark.parametrize("eps", [RANKING_EPS, VALIDATION_EPS])
def test_a_confidently_wrong_bit_costs_at_most_minus_log_eps(eps):
    assert bit_cross_entropy(np.array([0.0]), np.array([1.0]), eps) == pytest.approx(-math.log(eps))
    assert bit_cross_entropy(np.array([1.0]), np.array([0.0]), eps) == pytest.approx(-math.log(eps), rel=1e-6)


def test_pack_and_unpack_are_inverse():
    bits = (np.random.default_rng(2).random((4, 2149)) < 0.5).astype(np.uint8)
    packed = pack_bits(bits)
    assert packed.shape == (4, 269) and np.array_equal(unpack_bits(packed, 2149), bits)
