"""``--score latent``: candidates ranked by how well their code in a VAE's latent space fits the spectrum."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from rank_helpers import write_tiny_run

from specvae.chem.bits import pack_bits
from specvae.errors import InputError
from specvae.models.base import Subset
from specvae.retrieval.predict import BitFrequencyPredictor, Predictor
from specvae.retrieval.ranking import rank_spectra
from specvae.retrieval.scoring import LATENT_COLUMN, RANK_COLUMNS, check_score, latent_nll

from .test_predict import spectra
from .test_ranking import files, mgf  # noqa: F401  (the fixture of the ranking tests)


def test_latent_score_is_the_gaussian_negative_log_density():
    mu, logvar = np.array([0.5, -1.0, 2.0]), np.array([0.0, math.log(4.0), math.log(0.25)])
    codes = np.array([[0.5, -1.0, 2.0], [1.5, 1.0, 1.5], [0.0, 0.0, 0.0]])
    expected = -torch.distributions.Normal(torch.tensor(mu), torch.tensor(np.exp(0.5 * logvar))).log_prob(
        torch.tensor(codes)).sum(-1).numpy()
    np.testing.assert_allclose(latent_nll(mu, logvar, codes), expected, rtol=1e-12)
    assert np.argmin(latent_nll(mu, logvar, codes)) == 0, "the code at the posterior mean fits best"
    with pytest.raises(ValueError, match="do not match a 3-d posterior"):
        latent_nll(mu, logvar, codes[:, :2])


def test_score_names_are_checked():
    assert check_score("latent") == "latent"
    with pytest.raises(InputError, match="--score must be one of cross-entropy, latent"):
        check_score("tanimoto")


def test_a_vae_run_gives_spectrum_posteriors_and_candidate_codes(tmp_path):
    predictor = Predictor.from_run(write_tiny_run(tmp_path / "run"))
    x = spectra(4)
    mu, logvar = predictor.predict_latent(x, batch_size=3)
    latent_dim = predictor.model.config.latent_dim
    assert mu.shape == logvar.shape == (4, latent_dim)
    (q,) = predictor.model.encode_subsets({"spectrum": torch.from_numpy(x)}, [Subset(["spectrum"])])[
        Subset(["spectrum"])]
    np.testing.assert_allclose(mu, q.mu.detach().numpy(), rtol=1e-5, atol=1e-6)
    bits = np.random.default_rng(0).integers(0, 2, (5, predictor.spec.n_bits)).astype(np.uint8)
    codes = predictor.fingerprint_codes(pack_bits(bits), batch_size=2)
    (qf,) = predictor.model.encode_subsets({"fingerprint": torch.from_numpy(bits.astype(np.float32))},
                                           [Subset(["fingerprint"])])[Subset(["fingerprint"])]
    np.testing.assert_allclose(codes, qf.mu.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert predictor.fingerprint_codes(pack_bits(bits[:0])).shape == (0, latent_dim)


def test_models_without_a_latent_space_refuse_with_one_line(tmp_path, files):  # noqa: F811
    mlp = Predictor.from_run(write_tiny_run(tmp_path / "mlp", model="mlp"))
    with pytest.raises(InputError, match="needs a multimodal VAE .* mlp model with no shared latent space"):
        rank_spectra(files / "one.mgf", mlp, files / "out", candidates=files / "cands.csv", score="latent")
    baseline = BitFrequencyPredictor(np.full(mlp.spec.n_bits, 0.1), mlp.spec, "positive")
    with pytest.raises(InputError, match="not the bit-frequency baseline"):
        rank_spectra(files / "one.mgf", baseline, files / "out", candidates=files / "cands.csv", score="latent")
    vae = Predictor.from_run(write_tiny_run(tmp_path / "svae"))
    with pytest.raises(InputError, match="--min-confidence needs --score cross-entropy"):
        rank_spectra(files / "one.mgf", vae, files / "out", candidates=files / "cands.csv", score="latent",
                     min_confidence=0.5)


def test_rank_by_latent_score_orders_by_it_and_keeps_the_cross_entropy(tmp_path, files):  # noqa: F811
    (files / "two.mgf").write_text(mgf(("a", 95.05, [(77.04, 100), (95.05, 50)]), ("b", 47.05, [(29.04, 100)])))
    predictor = Predictor.from_run(write_tiny_run(tmp_path / "run"))
    rank_spectra(files / "two.mgf", predictor, files / "latent", candidates=files / "cands.csv", score="latent",
                 mass_check=False)
    rank_spectra(files / "two.mgf", predictor, files / "ce", candidates=files / "cands.csv", mass_check=False)
    from specvae.chem.fingerprints import compute_fingerprints, get_fingerprinter
    from specvae.chem.structures import parse_structure
    from specvae.retrieval.queries import load_query_spectra, predict_latent

    mu, logvar = predict_latent(predictor, load_query_spectra(files / "two.mgf"))
    for i, label in enumerate(("a", "b")):
        latent = pd.read_csv(files / "latent" / "rankings" / f"{label}.tsv", sep="\t", dtype={"id": str})
        ce = pd.read_csv(files / "ce" / "rankings" / f"{label}.tsv", sep="\t", dtype={"id": str})
        columns = list(RANK_COLUMNS)
        columns.insert(2, LATENT_COLUMN)
        assert list(latent.columns) == columns and list(ce.columns) == list(RANK_COLUMNS)
        assert latent[LATENT_COLUMN].is_monotonic_increasing and (latent["rank"].diff().dropna() > 0).all()
        by_id = ce.set_index("id")["cross_entropy_nats"]
        np.testing.assert_allclose(latent["cross_entropy_nats"], by_id[latent["id"]].to_numpy(), rtol=1e-9)
        # the latent score of each candidate, recomputed from this spectrum's posterior and the candidate's code
        mols = [parse_structure(s)[1] for s in latent["smiles"]]
        bits = compute_fingerprints(mols, get_fingerprinter(predictor.spec.name))
        expected = latent_nll(mu[i], logvar[i], predictor.fingerprint_codes(pack_bits(bits)))
        np.testing.assert_allclose(latent[LATENT_COLUMN], expected, rtol=1e-6)
    summary = pd.read_csv(files / "latent" / "summary.tsv", sep="\t", dtype={"label": str}).set_index("label")
    first = pd.read_csv(files / "latent" / "rankings" / "a.tsv", sep="\t")
    assert summary.loc["a", "top_cross_entropy_nats"] == pytest.approx(first["cross_entropy_nats"][0], rel=1e-5)
