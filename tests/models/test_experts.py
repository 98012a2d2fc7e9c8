"""Product of experts and KL divergences against closed forms and Monte Carlo."""

from __future__ import annotations

import math

import pytest
import torch

from specvae.models.experts import Gaussian, kl_divergence, kl_standard_normal, product_of_experts


def g(mu, var):
    return Gaussian(torch.tensor([[float(mu)]]), torch.tensor([[math.log(var)]]))


@pytest.mark.parametrize(
    "experts, prior, mean, var",
    [
        ([(1.0, 1.0), (3.0, 4.0)], False, (1 * 1 + 3 * 0.25) / 1.25, 1 / 1.25),
        ([(1.0, 1.0), (3.0, 4.0)], True, (1 * 1 + 3 * 0.25) / 2.25, 1 / 2.25),
        ([(2.0, 0.5)], False, 2.0, 0.5),
        ([(-1.0, 2.0), (-1.0, 2.0), (5.0, 1e6)], False, None, None),
    ],
)
def test_product_matches_closed_form(experts, prior, mean, var):
    out = product_of_experts([g(m, v) for m, v in experts], prior_expert=prior)
    precisions = [1 / v for _, v in experts] + ([1.0] if prior else [])
    means = [m for m, _ in experts] + ([0.0] if prior else [])
    expected_var = 1 / sum(precisions)
    expected_mean = sum(p * m for p, m in zip(precisions, means)) * expected_var
    assert out.mu.item() == pytest.approx(expected_mean, rel=1e-5)
    assert math.exp(out.logvar.item()) == pytest.approx(expected_var, rel=1e-5)
    if len(experts) == 2:  # the hand-written values of the first two rows
        assert out.mu.item() == pytest.approx(mean, rel=1e-5)
        assert math.exp(out.logvar.item()) == pytest.approx(var, rel=1e-5)


def test_product_is_stable_for_extreme_variances():
    out = product_of_experts([g(1.0, 1e-30), g(-5.0, 1e30)])
    assert torch.isfinite(out.mu).all() and torch.isfinite(out.logvar).all()
    assert out.mu.item() == pytest.approx(1.0)


def test_kl_matches_monte_carlo():
    gen = torch.Generator().manual_seed(0)
    q = Gaussian(torch.tensor([[0.3, -1.0, 2.0]]), torch.tensor([[0.2, -0.5, 1.0]]))
    p = Gaussian(torch.tensor([[-0.2, 0.5, 1.0]]), torch.tensor([[0.0, 0.4, -0.3]]))
    z = q.rsample_n(400_000, gen)  # (K, 1, 3)
    mc = (q.log_prob(z) - p.log_prob(z)).mean().item()
    assert kl_divergence(q, p).item() == pytest.approx(mc, abs=0.02)


def test_kl_to_standard_normal_is_kl_to_zero_mean_unit_gaussian():
    q = Gaussian(torch.randn(4, 6), torch.randn(4, 6))
    zero = Gaussian(torch.zeros(4, 6), torch.zeros(4, 6))
    torch.testing.assert_close(kl_standard_normal(q), kl_divergence(q, zero))
    assert (kl_standard_normal(zero) == 0).all()


def test_log_prob_matches_torch_distributions():
    q = Gaussian(torch.randn(3, 5), torch.randn(3, 5))
    z = torch.randn(3, 5)
    ref = torch.distributions.Normal(q.mu, torch.exp(0.5 * q.logvar)).log_prob(z).sum(-1)
    torch.testing.assert_close(q.log_prob(z), ref)
