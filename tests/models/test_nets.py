"""The network registry: families by name only, an unknown name is a one-line error, bench registers its own."""

from __future__ import annotations

import pytest

from specvae.errors import InputError
from specvae.models import ModalityConfig, ModelConfig, build_model
from specvae.models.nets import DECODERS, ENCODERS, build_decoder, build_encoder


def test_unknown_network_is_an_input_error_naming_it():
    cfg = ModalityConfig("x", (4,), encoder="specvae.bench.nets:NoSuchNet")
    with pytest.raises(InputError, match="unknown encoder network 'specvae.bench.nets:NoSuchNet'") as caught:
        build_encoder(cfg, 2)
    assert "\n" not in str(caught.value)
    with pytest.raises(InputError, match="unknown decoder network 'os:system'"):
        build_decoder(ModalityConfig("x", (4,), decoder="os:system"), 2)


def test_image_families_are_registered_by_the_bench_package():
    from specvae.bench import nets

    for family, (encoder, decoder) in nets.FAMILIES.items():
        assert ENCODERS[family] is encoder and DECODERS[family] is decoder
    # run directories written before the registry named the classes by import path; they still load
    assert ENCODERS["specvae.bench.nets:SplitImageEncoder"] is nets.SplitImageEncoder
    mods = tuple(ModalityConfig(n, (1, 14, 28), encoder=nets.SPLIT_IMAGE, decoder=nets.SPLIT_IMAGE)
                 for n in ("top", "bottom"))
    model = build_model(ModelConfig(model="svae", modalities=mods, latent_dim=4))
    assert isinstance(model.decoders["top"], nets.SplitImageDecoder)
