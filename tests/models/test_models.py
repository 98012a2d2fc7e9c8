"""The five models at toy widths: loss wiring against a hand composition, gradient flow, n modalities, configs."""

from __future__ import annotations

import math

import pytest
import torch

from specvae.models import MODELS, ModalityConfig, ModelConfig, build_model, count_parameters, spectra_model_config
from specvae.models.experts import kl_divergence, kl_standard_normal, product_of_experts
from specvae.models.svae import expert_key

N_BINS, N_BITS = 40, 12


def toy_config(model: str, latent: int = 3, prior_expert: bool = False) -> ModelConfig:
    spectrum = ModalityConfig("spectrum", (N_BINS,), "gaussian", encoder_widths=(16,), decoder_widths=(16,),
                              likelihood_options={"low": 0.0, "high": math.log(101)})
    fingerprint = ModalityConfig("fingerprint", (N_BITS,), "bernoulli", encoder_widths=(8,), decoder_widths=(8,))
    return ModelConfig(model=model, modalities=(spectrum, fingerprint), latent_dim=latent, prior_expert=prior_expert)


def toy_batch(b: int = 6, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x1 = torch.rand(b, N_BINS, generator=gen) * 4
    x2 = (torch.rand(b, N_BITS, generator=gen) > 0.5).float()
    return x1, x2


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_trains_one_step_semi_supervised(model):
    torch.manual_seed(0)
    m = build_model(toy_config(model))
    x1, x2 = toy_batch()
    loss, metrics = m([{"spectrum": x1, "fingerprint": x2}, {"spectrum": x1}, {"fingerprint": x2}])
    assert torch.isfinite(loss)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())
    assert "loss" in metrics and all(v.dim() == 0 for v in metrics.values())
    m.eval()
    probs = m.predict({"spectrum": x1}, ["fingerprint"])["fingerprint"]
    assert probs.shape == (6, N_BITS) and ((probs > 0) & (probs < 1)).all()


@pytest.mark.parametrize("model, unimodal_reconstruction", [("svae", True), ("vaevae_star", True),
                                                            ("vaevae", False), ("svae_star", False)])
def test_bimodal_paired_loss_is_algorithm_1(model, unimodal_reconstruction):
    """Recompute the paired loss from the model's own experts and the same random draws."""
    torch.manual_seed(1)
    m = build_model(toy_config(model, prior_expert=True)).eval()  # eval: BatchNorm free of batch statistics
    x1, x2 = toy_batch()
    data = {"spectrum": x1, "fingerprint": x2}
    loss, _ = m.paired_loss(data, torch.Generator().manual_seed(7))

    if model.startswith("svae"):
        e = {k: m.experts[k] for k in m.experts}
        q12 = product_of_experts([e[expert_key("spectrum", "spectrum")](x1),
                                  e[expert_key("fingerprint", "fingerprint")](x2)], True)
        q1 = product_of_experts([e[expert_key("spectrum", "spectrum")](x1),
                                 e[expert_key("spectrum", "fingerprint")](x1)], True)
        q2 = product_of_experts([e[expert_key("fingerprint", "fingerprint")](x2),
                                 e[expert_key("fingerprint", "spectrum")](x2)], True)
    else:
        q12 = m.joint["spectrum__fingerprint"](data)
        q1, q2 = m.encoders["spectrum"](x1), m.encoders["fingerprint"](x2)
    gen = torch.Generator().manual_seed(7)
    z = q12.rsample(gen)
    expected = -(m.log_likelihood("spectrum", z, x1) + m.log_likelihood("fingerprint", z, x2))
    expected = expected + kl_divergence(q12, q1) + kl_standard_normal(q1) + kl_divergence(q12, q2)
    expected = expected + kl_standard_normal(q2)
    if unimodal_reconstruction:
        expected = expected - m.log_likelihood("spectrum", q1.rsample(gen), x1)
        expected = expected - m.log_likelihood("fingerprint", q2.rsample(gen), x2)
    torch.testing.assert_close(loss, expected.mean())


def test_unpaired_loss_is_the_unimodal_elbo():
    torch.manual_seed(2)
    m = build_model(toy_config("svae")).eval()
    x1, _ = toy_batch()
    loss, parts = m.unpaired_loss({"spectrum": x1}, "spectrum", torch.Generator().manual_seed(3))
    q1 = product_of_experts([m.experts[expert_key("spectrum", "spectrum")](x1),
                             m.experts[expert_key("spectrum", "fingerprint")](x1)])
    z = q1.rsample(torch.Generator().manual_seed(3))
    expected = (-m.log_likelihood("spectrum", z, x1) + kl_standard_normal(q1)).mean()
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(parts["kl"], kl_standard_normal(q1).mean())


def _grad_norms(model, group):
    model.zero_grad()
    loss, _ = model([group])
    loss.backward()
    return {name: (0.0 if p.grad is None else p.grad.abs().sum().item()) for name, p in model.named_parameters()}


def test_svae_experts_learn_from_paired_and_unpaired_samples():
    """The paper's central claim (section 3.3): every expert of the joint posterior also learns from unpaired data."""
    torch.manual_seed(3)
    m = build_model(toy_config("svae"))
    x1, x2 = toy_batch()
    for group, source in (({"spectrum": x1}, "spectrum"), ({"fingerprint": x2}, "fingerprint")):
        grads = _grad_norms(m, group)
        for target in ("spectrum", "fingerprint"):
            key = f"experts.{expert_key(source, target)}."
            assert sum(v for k, v in grads.items() if k.startswith(key)) > 0, f"{key} got no gradient from {source}"
    # q(z|x1,x2) = q_spectrum^spectrum * q_fingerprint^fingerprint: both factors learned from unpaired batches above.
    grads = _grad_norms(m, {"spectrum": x1, "fingerprint": x2})
    assert all(sum(v for k, v in grads.items() if k.startswith(f"experts.{expert_key(s, t)}.")) > 0
               for s in ("spectrum", "fingerprint") for t in ("spectrum", "fingerprint"))


@pytest.mark.parametrize("model", ["vaevae", "vaevae_star"])
def test_vaevae_joint_network_learns_from_paired_data_only(model):
    torch.manual_seed(4)
    m = build_model(toy_config(model))
    x1, x2 = toy_batch()
    for group in ({"spectrum": x1}, {"fingerprint": x2}):
        grads = _grad_norms(m, group)
        assert sum(v for k, v in grads.items() if k.startswith("joint.")) == 0
    grads = _grad_norms(m, {"spectrum": x1, "fingerprint": x2})
    assert sum(v for k, v in grads.items() if k.startswith("joint.")) > 0


def test_mmvae_single_sample_bound_is_the_elbo_of_the_mixture():
    torch.manual_seed(5)
    m = build_model(toy_config("mmvae").replace(iwae_samples=1)).eval()
    x1, _ = toy_batch()
    _, parts = m.unpaired_loss({"spectrum": x1}, "spectrum", torch.Generator().manual_seed(9))
    q = m.encoders["spectrum"](x1)
    z = q.rsample_n(1, torch.Generator().manual_seed(9))
    prior = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    expected = (prior + m.log_likelihood("spectrum", z, x1) - q.log_prob(z)).mean()
    torch.testing.assert_close(parts["iwae"], expected)


def test_mmvae_dreg_scales_encoder_gradients_by_squared_weights():
    """With one modality the DReG encoder gradient is sum_k w_k^2 dlogw_k/dz dz/dphi: check against autograd."""
    torch.manual_seed(6)
    m = build_model(toy_config("mmvae").replace(iwae_samples=4)).eval()
    x1, _ = toy_batch(b=1)
    m.zero_grad()
    loss, _ = m.unpaired_loss({"spectrum": x1}, "spectrum", torch.Generator().manual_seed(11))
    loss.backward()
    got = m.encoders["spectrum"].mu.bias.grad.clone()

    q = m.encoders["spectrum"](x1)
    z = q.rsample_n(4, torch.Generator().manual_seed(11))  # (K, 1, L); dz/dmu = identity
    frozen = type(q)(q.mu.detach(), q.logvar.detach())
    log_w = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1) + m.log_likelihood("spectrum", z, x1) - frozen.log_prob(z)
    w = torch.softmax(log_w.detach(), 0)
    (dlogw_dz,) = torch.autograd.grad(log_w.sum(), z)
    expected = -(w.unsqueeze(-1) ** 2 * dlogw_dz).sum(0)[0]
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def three_modalities(model: str) -> ModelConfig:
    mods = tuple(ModalityConfig(n, (10,), "bernoulli", encoder_widths=(8,), decoder_widths=(8,))
                 for n in ("top", "middle", "bottom"))
    return ModelConfig(model=model, modalities=mods, latent_dim=4)


@pytest.mark.parametrize("model", ["svae", "vaevae", "mmvae"])
def test_three_modalities(model):
    torch.manual_seed(7)
    m = build_model(three_modalities(model))
    x = {n: (torch.rand(5, 10) > 0.5).float() for n in ("top", "middle", "bottom")}
    loss, _ = m([x, {"top": x["top"]}, {"middle": x["middle"]}, {"bottom": x["bottom"]}])
    loss.backward()
    m.eval()
    out = m.predict({"top": x["top"], "bottom": x["bottom"]})
    assert set(out) == {"top", "middle", "bottom"}


def test_three_modal_network_counts_follow_section_3_5():
    svae, vaevae = build_model(three_modalities("svae")), build_model(three_modalities("vaevae"))
    assert len(svae.experts) == 9  # n^2 experts
    assert len(vaevae.encoders) + len(vaevae.joint) == 7  # 2^n - 1 encoders
    assert count_parameters(svae) > 0 and count_parameters(vaevae) > 0


def test_starred_models_need_two_modalities():
    with pytest.raises(ValueError, match="two modalities"):
        three_modalities("vaevae*")


def test_config_round_trips_and_rejects_unknown_keys():
    cfg = spectra_model_config("VAEVAE*", n_bits=2149, preset="small")
    assert cfg.model == "vaevae_star"
    assert type(cfg).from_dict(cfg.to_dict()) == cfg
    bad = cfg.to_dict() | {"dropout": 0.1}
    with pytest.raises(ValueError, match="dropout"):
        type(cfg).from_dict(bad)


def test_paper_configuration_has_half_a_billion_parameters():
    with torch.device("meta"):
        m = build_model(spectra_model_config("svae", preset="paper"))
    assert 4.5e8 < count_parameters(m) < 6e8
