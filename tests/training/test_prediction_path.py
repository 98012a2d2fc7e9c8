"""Storing only the spectrum -> fingerprint path of a run (the packaged default model) and loading it back."""

from __future__ import annotations

import numpy as np
import pytest
from rank_helpers import write_tiny_run

from specvae.errors import CheckpointError, InputError
from specvae.retrieval.predict import Predictor
from specvae.training import checkpoint as ckpt


def spectra(n: int) -> np.ndarray:
    x = np.zeros((n, 11000), np.float32)
    rng = np.random.default_rng(1)
    for row in x:
        row[rng.choice(11000, 20, replace=False)] = rng.uniform(1, 100, 20)
    return x


def prune(run, out):
    """``out``: ``run`` with only the prediction path's weights and the flag in its config."""
    model = Predictor.from_run(run).model
    out.mkdir()
    config = ckpt.read_config(run)
    ckpt.write_json(out / ckpt.CONFIG_FILE, {**config, ckpt.PREDICTION_ONLY: True})
    ckpt.save_tensors(out / f"{ckpt.BEST}.safetensors", ckpt.prediction_weights(model))
    return model


def test_svae_keeps_the_spectrum_experts_and_the_fingerprint_decoder(tmp_path):
    model = Predictor.from_run(write_tiny_run(tmp_path / "run")).model.train()
    keys = ckpt.prediction_keys(model)
    assert model.training, "the module's mode is restored"
    prefixes = {".".join(k.split(".")[:2]) for k in keys}
    assert prefixes == {"experts.spectrum__spectrum", "experts.spectrum__fingerprint", "decoders.fingerprint"}
    all_keys = set(ckpt.state_dict(model))
    assert set(keys) < all_keys and any(k.startswith("decoders.spectrum") for k in all_keys - set(keys))


def test_the_mlp_keeps_every_weight(tmp_path):
    model = Predictor.from_run(write_tiny_run(tmp_path / "mlp", model="mlp")).model
    assert ckpt.prediction_keys(model) == sorted(ckpt.state_dict(model))


def test_a_pruned_run_predicts_as_the_full_one_and_refuses_the_latent_score(tmp_path):
    run = write_tiny_run(tmp_path / "run")
    prune(run, tmp_path / "pruned")
    full, pruned = Predictor.from_run(run), Predictor.from_run(tmp_path / "pruned")
    x = spectra(5)
    np.testing.assert_allclose(pruned.predict_bits(x), full.predict_bits(x), rtol=1e-6, atol=1e-7)
    assert ckpt.tensor_shapes(tmp_path / "pruned" / "best.safetensors").keys() < ckpt.tensor_shapes(
        run / "best.safetensors").keys()
    assert np.isnan(pruned.model.decoders["spectrum"].net[0].weight.detach().numpy()).all()
    with pytest.raises(InputError, match="--score latent needs a full run: .* holds only the weights"):
        pruned.predict_latent(x)


def test_a_pruned_file_missing_part_of_the_path_is_one_error(tmp_path):
    run = write_tiny_run(tmp_path / "run")
    model = prune(run, tmp_path / "pruned")
    weights = ckpt.prediction_weights(model)
    dropped = sorted(k for k in weights if k.startswith("decoders.fingerprint"))[0]
    del weights[dropped]
    ckpt.save_tensors(tmp_path / "pruned" / "best.safetensors", weights)
    with pytest.raises(CheckpointError, match=f"does not hold exactly the weights .* {dropped}"):
        Predictor.from_run(tmp_path / "pruned")
