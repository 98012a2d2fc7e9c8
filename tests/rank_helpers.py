"""Predictors with known output for ranking tests: an oracle that predicts a chosen structure's fingerprint, and a
tiny randomly initialised run directory that loads through :meth:`specvae.retrieval.predict.Predictor.from_run`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FP = "morgan2"  # fast; ranking works with any fingerprint name


class OraclePredictor:
    """Predicts ``0.02 + 0.96 * bits(target)`` for the i-th spectrum, with ``targets[i]`` a SMILES string."""

    def __init__(self, targets: list[str], ion_mode: str | None = "positive", fingerprint: str = FP):
        from specvae.chem.fingerprints import compute_fingerprints, get_fingerprinter
        from specvae.chem.structures import parse_structure

        fingerprinter = get_fingerprinter(fingerprint)
        self.spec = fingerprinter.spec
        self.ion_mode = ion_mode
        bits = compute_fingerprints([parse_structure(s)[1] for s in targets], fingerprinter)
        self.probs = (0.02 + 0.96 * bits).astype(np.float32)
        self.calls: list[tuple] = []

    def predict_bits(self, dense, mode="mean", n_samples=1, seed=0, batch_size=256):
        self.calls.append((dense.shape, mode, n_samples, seed))
        assert dense.shape[1] == 11000
        return self.probs[np.arange(len(dense)) % len(self.probs)]


def write_tiny_run(directory: Path, fingerprint: str = FP, ion_mode: str | None = "positive",
                   model: str = "svae") -> Path:
    """A run directory (config.json + best.safetensors) holding an untrained tiny model for ``fingerprint``."""
    import torch

    from specvae.chem.fingerprints import get_fingerprinter
    from specvae.models import build_model, spectra_model_config
    from specvae.training import checkpoint as ckpt

    spec = get_fingerprinter(fingerprint).spec
    config = spectra_model_config(model, n_bits=spec.n_bits, preset="tiny")
    torch.manual_seed(0)
    net = build_model(config)
    directory.mkdir(parents=True, exist_ok=True)
    ckpt.write_json(directory / ckpt.CONFIG_FILE, {"task": "spectra", "model": config.to_dict(),
                                                   "fingerprint": spec.__dict__, "ion_mode": ion_mode})
    ckpt.save_weights(directory, ckpt.BEST, net)
    return directory
