"""Train a spectrum <-> fingerprint model on an ingested dataset (paper section 4.4): ``specvae train``.

Semi-supervised as in the paper: every step is one paired batch, one spectrum-only batch and one
fingerprint-only batch (:mod:`specvae.datasets.batching`); ``supervision`` sets the share of training structures
that stay paired. After every epoch the model predicts the fingerprints of the validation spectra from the
spectrum-only posterior, and the epoch with the lowest validation fingerprint cross-entropy is kept as
``best.safetensors`` (the test split is never looked at).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from specvae import __version__
from specvae.chem.bits import VALIDATION_EPS, bit_cross_entropy
from specvae.datasets.batching import SemiSupervisedBatches
from specvae.datasets.spectra import DeviceSpectra, SpectraDataset, Streams, training_streams
from specvae.errors import InputError
from specvae.models import ModelConfig, build_model, count_parameters, spectra_model_config
from specvae.training import checkpoint as ckpt
from specvae.training.loop import TrainConfig, check_run_directory, fit, resolve_device

log = logging.getLogger("specvae.train")
SELECT = ("val_fp_ce", "min")


class SpectraSteps:
    """Step source for :func:`specvae.training.loop.fit`: dense batches of the three streams on the data's device."""

    def __init__(self, data: DeviceSpectra, streams: Streams, batch_size: int, seed: int):
        self.data = data
        self.batches = SemiSupervisedBatches(
            {"paired": streams.paired, "spectrum": streams.spectrum, "fingerprint": streams.fingerprint},
            batch_size, seed)

    def steps_per_epoch(self) -> int:
        return self.batches.steps_per_epoch()

    def epoch(self, epoch: int):
        d = self.data
        for step in self.batches.epoch(epoch):
            groups = []
            if "paired" in step:
                rows = step["paired"]
                groups.append({"spectrum": d.spectra(rows), "fingerprint": d.fingerprint_bits(rows)})
            if "spectrum" in step:
                groups.append({"spectrum": d.spectra(step["spectrum"])})
            if "fingerprint" in step:
                groups.append({"fingerprint": d.fingerprint_bits(step["fingerprint"])})
            yield groups


def _prediction_sums(p: Tensor, bits: Tensor) -> dict[str, float]:
    """Summed ``fp_ce`` / ``bit_acc`` / ``tanimoto`` of predicted bit probabilities ``p`` against 0/1 ``bits``."""
    p = p.float()
    ce = bit_cross_entropy(p, bits, VALIDATION_EPS)
    hard = (p > 0.5).float()
    union = ((hard + bits) > 0).float().sum(1)
    tanimoto = torch.where(union > 0, (hard * bits).sum(1) / union.clamp_min(1), torch.ones_like(union))
    return {"fp_ce": float(ce.sum()), "bit_acc": float((hard == bits).float().mean(1).sum()),
            "tanimoto": float(tanimoto.sum())}


@torch.no_grad()
def fingerprint_metrics(model, data: DeviceSpectra, rows: np.ndarray, prefix: str = "val",
                        batch_size: int = 512) -> dict[str, float]:
    """Fingerprint prediction from spectra alone (posterior mean) and the paired loss, averaged over ``rows``.

    ``fp_ce``: cross-entropy summed over bits (nats per spectrum); ``bit_ce``: the same per bit; ``bit_acc``: bits
    right at threshold 0.5; ``tanimoto``: of the thresholded prediction and the true fingerprint; ``loss``: the
    model's paired loss (one posterior sample, fixed seed).
    """
    if len(rows) == 0:
        raise InputError(f"no paired {prefix} rows to evaluate on: ingest with a non-zero validation fraction")
    sums = {"fp_ce": 0.0, "bit_acc": 0.0, "tanimoto": 0.0, "loss": 0.0}
    generator = torch.Generator(device=data.device).manual_seed(0)
    for start in range(0, len(rows), batch_size):
        r = rows[start:start + batch_size]
        x, bits = data.spectra(r), data.fingerprint_bits(r)
        p = model.predict({"spectrum": x}, ["fingerprint"])["fingerprint"]
        for k, v in _prediction_sums(p, bits).items():
            sums[k] += v
        if len(r) > 1:
            loss, _ = model([{"spectrum": x, "fingerprint": bits}], generator=generator)
            sums["loss"] += float(loss) * len(r)
    n = len(rows)
    out = {f"{prefix}_{k}": v / n for k, v in sums.items()}
    out[f"{prefix}_bit_ce"] = out[f"{prefix}_fp_ce"] / data.n_bits
    return out


@torch.no_grad()
def bit_frequency_baseline(data: DeviceSpectra, train_rows: np.ndarray, rows: np.ndarray, prefix: str = "val",
                           batch_size: int = 4096) -> dict[str, float]:
    """The metrics of :func:`fingerprint_metrics` for a predictor that ignores the spectrum.

    It predicts every bit's frequency among ``train_rows`` (per spectrum, as the validation rows are weighted), the
    best constant prediction for cross-entropy: a model must score below its ``fp_ce`` to have learned anything from
    spectra beyond the fingerprints' marginals.
    """
    if len(train_rows) == 0 or len(rows) == 0:
        return {}
    freq = data.bit_frequencies(train_rows, batch_size).unsqueeze(0)
    sums = {"fp_ce": 0.0, "bit_acc": 0.0, "tanimoto": 0.0}
    for start in range(0, len(rows), batch_size):
        bits = data.fingerprint_bits(rows[start:start + batch_size])
        for k, v in _prediction_sums(freq.expand_as(bits), bits).items():
            sums[k] += v
    return {f"{prefix}_{k}": v / len(rows) for k, v in sums.items()}


def train_spectra(data_dir: str | Path, out_dir: str | Path, *, model: str = "svae", preset: str = "paper",
                  model_overrides: dict[str, Any] | None = None, config: TrainConfig = TrainConfig(),
                  supervision: float = 1.0, use_unpaired: bool = True, gpu: int | None = None, resume: bool = False,
                  overwrite: bool = False, progress: bool = False) -> dict[str, Any]:
    """Train ``model`` on the dataset in ``data_dir``; writes the run directory ``out_dir`` and returns a summary."""
    device = resolve_device(gpu)
    check_run_directory(Path(out_dir), resume, overwrite)
    ds = SpectraDataset.load(data_dir)
    if resume:
        saved = ckpt.read_json(Path(out_dir) / ckpt.CONFIG_FILE)
        model_config = ModelConfig.from_dict(saved["model"])  # the architecture always comes from the checkpoint
        if saved["data"]["sha256"] != ds.sha256:
            log.warning("resuming on different data than the run started with (%s)", ds.path)
        supervision, use_unpaired = saved["supervision"], saved["use_unpaired"]
    else:
        model_config = spectra_model_config(model, n_bits=ds.spec.n_bits, preset=preset, **(model_overrides or {}))
    streams = training_streams(ds, supervision, config.seed, use_unpaired)
    if len(streams.paired) == 0 and supervision > 0:
        raise InputError(f"{ds.path} has no paired training spectra (spectra with a structure in the train split)")
    torch.manual_seed(config.seed)  # identical initial weights on every rank
    net = build_model(model_config)
    log.info("%s: %s parameters; streams %s", model_config.model, f"{count_parameters(net):,}", streams.sizes())
    data = DeviceSpectra(ds, device)
    run_info = {
        "task": "spectra", "specvae_version": __version__, "torch_version": torch.__version__,
        "model": model_config.to_dict(), "preset": preset, "fingerprint": ds.spec.__dict__,
        "ion_mode": ds.ion_mode(), "data": ds.describe(), "supervision": supervision, "use_unpaired": use_unpaired,
        "streams": streams.sizes(), "parameters": count_parameters(net), "select": list(SELECT),
    }
    baseline_rows = streams.paired if len(streams.paired) else streams.fingerprint
    run_info["bit_frequency_baseline"] = bit_frequency_baseline(data, baseline_rows, streams.validation)
    if run_info["bit_frequency_baseline"]:
        log.info("bit-frequency baseline (no spectrum): %s",
                 ", ".join(f"{k}={v:.4g}" for k, v in run_info["bit_frequency_baseline"].items()))
    summary = fit(net, SpectraSteps(data, streams, config.batch_size, config.seed),
                  lambda m: fingerprint_metrics(m, data, streams.validation), config=config, out_dir=out_dir,
                  run_info=run_info, device=device, select=SELECT, resume=resume, overwrite=overwrite,
                  progress=progress)
    return {**summary, "model": model_config.model, "parameters": count_parameters(net), "streams": streams.sizes()}
