"""scripts/ensemble_casmi.py: the ensemble averages its members' probabilities (or log-odds) and refuses members
trained on different fingerprints."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from specvae.chem.bits import FingerprintSpec
from specvae.retrieval.predict import BitFrequencyPredictor

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ensemble_casmi.py"
SPEC = FingerprintSpec("test", "1", 4)


def ensemble_module():
    spec = importlib.util.spec_from_file_location("ensemble_casmi", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ensemble_averages_probabilities_and_log_odds():
    a = BitFrequencyPredictor(np.array([0.1, 0.5, 0.9, 0.2]), SPEC, "positive")
    b = BitFrequencyPredictor(np.array([0.3, 0.5, 0.5, 0.8]), SPEC, "positive")
    spectra = np.zeros((2, 11000), dtype=np.float32)
    mod = ensemble_module()
    np.testing.assert_allclose(mod.Ensemble([a, b]).predict_bits(spectra), [[0.2, 0.5, 0.7, 0.5]] * 2, rtol=1e-6)
    logit = mod.Ensemble([a, b], "logit").predict_bits(spectra)[0]
    assert logit[1] == pytest.approx(0.5) and logit[3] == pytest.approx(0.5)  # log-odds -1.39 and +1.39 cancel
    assert logit[0] == pytest.approx(1 / (1 + np.sqrt(9 * 7 / 3)), rel=1e-5)  # odds 1/9 and 3/7: geometric mean
    assert mod.Ensemble([a, b]).ion_mode == "positive"


def test_ensemble_refuses_runs_of_different_fingerprints():
    a = BitFrequencyPredictor(np.full(4, 0.5), SPEC, "positive")
    b = BitFrequencyPredictor(np.full(4, 0.5), FingerprintSpec("test", "2", 4), "positive")
    with pytest.raises(SystemExit, match="different fingerprints"):
        ensemble_module().Ensemble([a, b])
