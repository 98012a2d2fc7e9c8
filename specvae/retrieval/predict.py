"""Load a trained run and predict fingerprint bit probabilities from binned spectra (the input of ranking)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from specvae.chem.bits import RANKING_EPS
from specvae.chem.fingerprints import FingerprintSpec
from specvae.errors import CheckpointError, InputError
from specvae.training import checkpoint as ckpt
from specvae.training.calibration import Calibration
from specvae.training.calibration import load as load_calibration
from specvae.training.confidence import ConfidenceModel
from specvae.training.confidence import load as load_confidence


def default_model_dir() -> Path:
    """The model shipped with the package (``specvae/data/models/default``; see its ``MODEL_CARD.md``)."""
    from importlib.resources import files

    return Path(str(files("specvae") / "data" / "models" / "default"))


class Predictor:
    """A trained spectrum -> fingerprint model in eval mode.

    Attributes
    ----------
    spec
        The fingerprint the model was trained on; candidates must be fingerprinted with the same spec.
    ion_mode
        Ion mode of the training spectra (``"positive"``, ``"negative"`` or ``None`` when mixed or unknown).
    """

    def __init__(self, model: torch.nn.Module, config: dict, device: torch.device | str = "cpu",
                 calibration: Calibration | None = None):
        self.model = model.to(device).eval()
        self.config = config
        self.device = torch.device(device)
        self.spec = fingerprint_spec(config)
        self.ion_mode: str | None = config.get("ion_mode")
        self.calibration = calibration or Calibration.identity(self.spec.n_bits)
        self.confidence_model = ConfidenceModel()  # temperature 1, no confidence; from_run loads the run's
        self.source = ""  # the run directory it was loaded from

    @classmethod
    def from_run(cls, run_dir: str | Path, device: str = "cpu", checkpoint: str = ckpt.BEST,
                 calibration: str = "auto") -> Predictor:
        """Load ``run_dir`` (written by ``specvae train``) with the weights of ``checkpoint`` (best, last or
        epoch-N) and its ``calibration`` (auto: the one the run recommends, none, temperature or platt; see
        :mod:`specvae.training.calibration`)."""
        run = Path(run_dir)
        ckpt.check_checkpoint_name(checkpoint)
        if not run.is_dir():
            raise FileNotFoundError(2, "no such model run directory", str(run))
        config = ckpt.read_config(run)
        if config.get("task") != "spectra":
            raise CheckpointError(f"{run} is not a spectra model (task {config.get('task')!r})")
        try:
            spec = fingerprint_spec(config)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{run / ckpt.CONFIG_FILE} has no valid fingerprint section ({exc})") from None
        model = ckpt.load_model(run, checkpoint, config)
        predictor = cls(model, config, device, load_calibration(run, calibration, spec.n_bits))
        predictor.confidence_model = load_confidence(run)
        predictor.source = str(run)
        return predictor

    @torch.no_grad()
    def predict_bits(self, spectra: np.ndarray, mode: str = "mean", n_samples: int = 1, seed: int = 0,
                     batch_size: int = 256) -> np.ndarray:
        """Bit probabilities ``(n, n_bits)`` for dense binned spectra ``(n, 11000)``.

        ``mode="mean"`` decodes the posterior mean of q(z | spectrum); ``mode="sample"`` averages the decoded
        probabilities of ``n_samples`` posterior samples (seeded).
        """
        if mode not in ("mean", "sample"):
            raise InputError(f"mode must be 'mean' or 'sample', got {mode!r}")
        spectra = np.asarray(spectra, dtype=np.float32)
        if spectra.ndim != 2 or spectra.shape[1] != self.model.config.modality("spectrum").size:
            raise InputError(f"expected binned spectra of shape (n, 11000), got {spectra.shape}")
        generator = torch.Generator(device=self.device).manual_seed(seed)
        k = 0 if mode == "mean" else max(1, n_samples)
        out = []
        for start in range(0, len(spectra), batch_size):
            x = torch.from_numpy(spectra[start:start + batch_size]).to(self.device)
            p = self.model.predict({"spectrum": x}, ["fingerprint"], n_samples=k, generator=generator)["fingerprint"]
            out.append(p.float().cpu().numpy())
        if not out:
            return np.zeros((0, self.spec.n_bits), dtype=np.float32)
        return self.calibration.apply(np.concatenate(out))


    @torch.no_grad()
    def predict_latent(self, spectra: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, logvar)``, each ``(n, latent_dim)``: the spectrum-only posterior q(z | spectrum) of dense binned
        spectra, the query side of the latent score (:func:`specvae.retrieval.scoring.latent_nll`)."""
        from specvae.models.base import Subset

        self._check_latent()
        subset = Subset(["spectrum"])
        spectra = np.asarray(spectra, dtype=np.float32)
        mus, logvars = [], []
        for start in range(0, len(spectra), batch_size):
            x = torch.from_numpy(spectra[start:start + batch_size]).to(self.device)
            (q,) = self.model.encode_subsets({"spectrum": x}, [subset])[subset]
            mus.append(q.mu.float().cpu().numpy())
            logvars.append(q.logvar.float().cpu().numpy())
        if not mus:
            empty = np.zeros((0, self.model.config.latent_dim), dtype=np.float32)
            return empty, empty.copy()
        return np.concatenate(mus), np.concatenate(logvars)

    @torch.no_grad()
    def fingerprint_codes(self, packed: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """``(n, latent_dim)``: the mean of the fingerprint-only posterior q(z | fingerprint) of packed candidate
        fingerprints, the candidate side of the latent score."""
        from specvae.chem.bits import unpack_bits
        from specvae.models.base import Subset

        self._check_latent()
        subset = Subset(["fingerprint"])
        out = [np.zeros((0, self.model.config.latent_dim), dtype=np.float32)]
        for start in range(0, len(packed), batch_size):
            bits = torch.from_numpy(unpack_bits(packed[start:start + batch_size], self.spec.n_bits).astype(np.float32))
            (q,) = self.model.encode_subsets({"fingerprint": bits.to(self.device)}, [subset])[subset]
            out.append(q.mu.float().cpu().numpy())
        return np.concatenate(out)

    def _check_latent(self) -> None:
        from specvae.models.base import MultimodalVAE

        if not isinstance(self.model, MultimodalVAE):
            kind = self.config.get("model", {}).get("model", type(self.model).__name__)
            raise InputError(f"--score latent needs a multimodal VAE (svae, vaevae, ...): {self.source or 'this run'} "
                             f"is a {kind} model with no shared latent space; use --score cross-entropy")
        if self.config.get(ckpt.PREDICTION_ONLY):
            raise InputError(f"--score latent needs a full run: {self.source or 'this model'} holds only the weights "
                             "that predict fingerprints from spectra (as the packaged default model does); use "
                             "--score cross-entropy or --model RUN")


def fingerprint_spec(config: dict) -> FingerprintSpec:
    """The fingerprint a run's ``config.json`` names (``KeyError``/``TypeError``/``ValueError`` when it names none)."""
    fp = config["fingerprint"]
    return FingerprintSpec(name=str(fp["name"]), version=str(fp["version"]), n_bits=int(fp["n_bits"]))


class BitFrequencyPredictor:
    """The baseline that ignores the spectrum: every bit's frequency among a dataset's paired training spectra.

    It has the interface of :class:`Predictor`, so ``rank`` and ``evaluate`` accept a dataset directory in place of
    a run: a model must rank better than this to have learned anything from spectra beyond the fingerprints'
    marginals (it ranks candidates by how typical their fingerprints are of the training structures).
    """

    def __init__(self, probs: np.ndarray, spec: FingerprintSpec, ion_mode: str | None):
        self.probs = np.clip(np.asarray(probs, dtype=np.float32), RANKING_EPS, 1 - RANKING_EPS)
        self.spec = spec
        self.ion_mode = ion_mode
        self.confidence_model = ConfidenceModel()  # the baseline has no confidence
        self.source = ""

    @classmethod
    def from_dataset(cls, directory: str | Path) -> BitFrequencyPredictor:
        """Bit frequencies of the paired training rows of ``directory`` (written by ``specvae ingest``)."""
        from specvae import schema
        from specvae.datasets.spectra import DeviceSpectra, SpectraDataset

        ds = SpectraDataset.load(directory)
        rows = ds.rows(schema.TRAIN, schema.PAIRED)
        if len(rows) == 0:
            raise InputError(f"{directory} has no paired training spectra to take bit frequencies from")
        predictor = cls(DeviceSpectra(ds).bit_frequencies(rows).numpy(), ds.spec, ds.ion_mode())
        predictor.source = f"{directory} (bit-frequency baseline)"
        return predictor

    def predict_bits(self, spectra: np.ndarray, mode: str = "mean", n_samples: int = 1, seed: int = 0,
                     batch_size: int = 256) -> np.ndarray:
        """The same probabilities ``(n, n_bits)`` for every spectrum."""
        return np.repeat(self.probs[None, :], len(spectra), axis=0)
