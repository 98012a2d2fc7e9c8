"""The appendix A networks: output shapes, extra sample dimensions, and the models built from them."""

from __future__ import annotations

import pytest
import torch

from specvae.bench import nets
from specvae.bench.mnist_split import split_model_config
from specvae.models import ModalityConfig, build_model, count_parameters


def _cfg(shape, **kw):
    return ModalityConfig("m", shape, **kw)


@pytest.mark.parametrize("shape", [(1, 14, 28), (1, 9, 28)])
def test_split_image_networks_full_size(shape):
    torch.manual_seed(0)
    enc, dec = nets.SplitImageEncoder(_cfg(shape), 64), nets.SplitImageDecoder(_cfg(shape), 64)
    q = enc(torch.rand(3, *shape))
    assert q.mu.shape == (3, 64) and q.logvar.shape == (3, 64) and enc.feature_dim == 786
    assert dec(torch.randn(3, 64)).shape == (3, *shape)
    assert dec(torch.randn(5, 3, 64)).shape == (5, 3, *shape)  # (K, B, L) sample dimensions


def test_svhn_networks():
    enc, dec = nets.SVHNEncoder(_cfg((3, 32, 32)), 20), nets.SVHNDecoder(_cfg((3, 32, 32)), 20)
    assert enc(torch.rand(2, 3, 32, 32)).mu.shape == (2, 20) and enc.feature_dim == 2048
    assert dec(torch.randn(4, 2, 20)).shape == (4, 2, 3, 32, 32)


def test_caption_networks():
    cfg = _cfg((32,), likelihood="categorical", net_options={"vocab_size": 50})
    enc, dec = nets.CaptionEncoder(cfg, 16).eval(), nets.CaptionDecoder(cfg, 16).eval()
    assert enc(torch.randint(0, 50, (3, 32))).mu.shape == (3, 16) and enc.feature_dim == 512 * 4 * 4
    assert dec(torch.randn(2, 3, 16)).shape == (2, 3, 32, 50)


def test_conv_sizes_and_errors():
    assert nets.conv_sizes(14, 28, 3) == [(14, 28), (7, 14), (3, 7), (1, 3)]
    assert nets.conv_sizes(9, 28, 3)[-1] == (1, 3)
    with pytest.raises(ValueError, match="too small"):
        nets.conv_sizes(3, 28, 3)


@pytest.mark.parametrize("model", ["svae", "vaevae", "vaevae_star", "mmvae"])
def test_mnist_split_models_train_a_step(model):
    torch.manual_seed(0)
    config = split_model_config(model, 2, latent_dim=8, channels=[4, 8, 8], hidden=16, fc=[8, 16, 12],
                                up_channels=[6, 4])
    m = build_model(config)
    x = torch.rand(4, 1, 28, 28)
    top, bottom = x[..., :14, :], x[..., 14:, :]
    loss, _ = m([{"top": top, "bottom": bottom}, {"top": top}, {"bottom": bottom}])
    loss.backward()
    assert torch.isfinite(loss)
    out = m.eval().predict({"top": top})
    assert out["bottom"].shape == (4, 1, 14, 28) and ((out["bottom"] >= 0) & (out["bottom"] <= 1)).all()


def test_three_part_parameter_counts_grow_as_the_paper_says():
    """Section 3.5: SVAE has n^2 encoders, VAEVAE 2^n - 1 networks (joint ones with n bodies each)."""
    small = {"latent_dim": 8, "channels": [4, 8, 8], "hidden": 16, "fc": [8, 16, 12], "up_channels": [6, 4]}
    svae2, svae3 = (count_parameters(build_model(split_model_config("svae", n, **small))) for n in (2, 3))
    vaevae3 = count_parameters(build_model(split_model_config("vaevae", 3, **small)))
    assert svae3 > svae2 and vaevae3 > svae3
