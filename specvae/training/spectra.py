"""Train a spectrum <-> fingerprint model on an ingested dataset (paper section 4.4): ``specvae train``.

Semi-supervised as in the paper: every step is one paired batch, one spectrum-only batch and one
fingerprint-only batch (:mod:`specvae.datasets.batching`); ``supervision`` sets the share of training structures
that stay paired. After every epoch the model predicts the fingerprints of the validation spectra from the
spectrum-only posterior, and the epoch with the lowest validation fingerprint cross-entropy is kept as
``best.safetensors`` (the test split is never looked at).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from specvae import __version__, outputs, schema
from specvae.chem.bits import VALIDATION_EPS, bit_cross_entropy
from specvae.datasets.batching import SemiSupervisedBatches
from specvae.datasets.decoys import DecoySets, validation_decoys
from specvae.datasets.spectra import DeviceSpectra, SpectraDataset, Streams, training_streams
from specvae.errors import CheckpointError, InputError
from specvae.models import SUPERVISED, build_model, count_parameters, spectra_model_config
from specvae.models.config import resolve_preset
from specvae.training import checkpoint as ckpt
from specvae.training.loop import TrainConfig, check_run_directory, fit, is_main_process, resolve_device

log = logging.getLogger("specvae.train")
# metrics that may choose the best epoch, and in which direction
SELECTABLE = {"val_fp_ce": "min", "val_top1": "max", "val_top10": "max", "val_median_rank": "min"}


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
                        batch_size: int = 512, decoys: DecoySets | None = None) -> dict[str, float]:
    """Fingerprint prediction from spectra alone (posterior mean) and the paired loss, averaged over ``rows``.

    ``fp_ce``: cross-entropy summed over bits (nats per spectrum); ``bit_ce``: the same per bit; ``bit_acc``: bits
    right at threshold 0.5; ``tanimoto``: of the thresholded prediction and the true fingerprint; ``loss``: the
    model's paired loss (one posterior sample, fixed seed). With ``decoys`` (for the same ``rows``), also the
    retrieval metrics of :func:`retrieval_metrics`.
    """
    if len(rows) == 0:
        raise InputError(f"no paired {prefix} rows to evaluate on: ingest with a non-zero validation fraction")
    sums = {"fp_ce": 0.0, "bit_acc": 0.0, "tanimoto": 0.0, "loss": 0.0}
    generator = torch.Generator(device=data.device).manual_seed(0)
    ranks = []
    for start in range(0, len(rows), batch_size):
        r = rows[start:start + batch_size]
        x, bits = data.spectra(r), data.fingerprint_bits(r)
        p = model.predict({"spectrum": x}, ["fingerprint"])["fingerprint"]
        for k, v in _prediction_sums(p, bits).items():
            sums[k] += v
        if len(r) > 1:
            loss, _ = model([{"spectrum": x, "fingerprint": bits}], generator=generator)
            sums["loss"] += float(loss) * len(r)
        if decoys is not None:
            ranks.append(answer_ranks(p, data, decoys.candidates[start:start + batch_size]))
    n = len(rows)
    out = {f"{prefix}_{k}": v / n for k, v in sums.items()}
    out[f"{prefix}_bit_ce"] = out[f"{prefix}_fp_ce"] / data.n_bits
    if decoys is not None and decoys.n_ranked:
        out.update(retrieval_metrics(torch.cat(ranks).cpu().numpy(), prefix))
    return out


def answer_ranks(p: Tensor, data: DeviceSpectra, candidates: np.ndarray, chunk: int = 64) -> Tensor:
    """Rank (1 = best, ties averaged) of candidate column 0 by cross-entropy against predicted probabilities ``p``,
    for the rows of ``candidates`` that have a list (column 0 not -1).

    The cross-entropy of a fingerprint ``c`` is ``-sum_k log(1 - p_k) - c . logit(p)``: only ``c . logit(p)`` differs
    between candidates, so that is what is compared.
    """
    keep = np.flatnonzero(candidates[:, 0] >= 0)  # rows without a candidate list are left out
    candidates = candidates[keep]
    p = p[torch.as_tensor(keep, device=p.device)].float()
    logit = torch.logit(p.clamp(VALIDATION_EPS, 1 - VALIDATION_EPS))  # (B, n_bits)
    out = [torch.zeros(0, device=p.device)]
    for start in range(0, len(candidates), chunk):
        idx = torch.as_tensor(candidates[start:start + chunk], device=data.device)  # (b, K)
        bits = data.fingerprint_bits(idx.flatten()).view(*idx.shape, -1)  # (b, K, n_bits)
        score = torch.einsum("bkn,bn->bk", bits, logit[start:start + chunk])  # (b, K): higher is better
        answer = score[:, :1]
        rank = 1 + (score > answer).sum(1).float() + 0.5 * ((score == answer).sum(1).float() - 1)
        # a prediction that is not finite (a diverged model) ranks its answer last, never first by default
        out.append(torch.where(torch.isfinite(score).all(1), rank, torch.full_like(rank, score.shape[1])))
    return torch.cat(out)


def retrieval_metrics(ranks: np.ndarray, prefix: str = "val") -> dict[str, float]:
    """Top-1 and Top-10 (share of spectra whose answer ranks within k) and the median rank."""
    return {f"{prefix}_top1": float((ranks <= 1).mean()), f"{prefix}_top10": float((ranks <= 10).mean()),
            f"{prefix}_median_rank": float(np.median(ranks))}


@torch.no_grad()
def bit_frequency_baseline(data: DeviceSpectra, train_rows: np.ndarray, rows: np.ndarray, prefix: str = "val",
                           batch_size: int = 4096, decoys: DecoySets | None = None) -> dict[str, float]:
    """The metrics of :func:`fingerprint_metrics` for a predictor that ignores the spectrum.

    It predicts every bit's frequency among ``train_rows`` (per spectrum, as the validation rows are weighted), the
    best constant prediction for cross-entropy: a model must score below its ``fp_ce`` to have learned anything from
    spectra beyond the fingerprints' marginals. With ``decoys`` it ranks every candidate list by how typical each
    candidate's fingerprint is of the training structures.
    """
    if len(train_rows) == 0 or len(rows) == 0:
        return {}
    freq = data.bit_frequencies(train_rows, batch_size).unsqueeze(0)
    sums = {"fp_ce": 0.0, "bit_acc": 0.0, "tanimoto": 0.0}
    for start in range(0, len(rows), batch_size):
        bits = data.fingerprint_bits(rows[start:start + batch_size])
        for k, v in _prediction_sums(freq.expand_as(bits), bits).items():
            sums[k] += v
    out = {f"{prefix}_{k}": v / len(rows) for k, v in sums.items()}
    if decoys is not None and decoys.n_ranked:
        ranks = answer_ranks(freq.expand(len(decoys.rows), -1), data, decoys.candidates)
        out.update(retrieval_metrics(ranks.cpu().numpy(), prefix))
    return out


def train_spectra(data_dir: str | Path, out_dir: str | Path, *, model: str = "svae", preset: str = "auto",
                  model_overrides: dict[str, Any] | None = None, config: TrainConfig = TrainConfig(),
                  supervision: float = 1.0, use_unpaired: bool = True, gpu: int | None = None, resume: bool = False,
                  overwrite: bool = False, select: str = "auto", retrieval_candidates: int = 100,
                  calibrate: bool = True, progress: bool = False) -> dict[str, Any]:
    """Train ``model`` on the dataset in ``data_dir``; writes the run directory ``out_dir`` and returns a summary.

    ``preset``: network widths (:data:`~specvae.models.config.SPECTRA_PRESETS`); ``auto`` takes the paper's on a GPU
    and ``cpu`` on a CPU, and says so in the log. ``select`` names the validation metric that picks the best epoch
    (one of :data:`SELECTABLE`; ``auto``: ``val_top1`` when the validation retrieval runs, else ``val_fp_ce``);
    ``retrieval_candidates`` sets the size of the validation candidate lists (:mod:`specvae.datasets.decoys`; 0 turns
    the retrieval metrics off); ``calibrate`` fits the calibrations of :mod:`specvae.training.calibration` for the
    best epoch afterwards (they need the retrieval's candidate lists).
    """
    device = resolve_device(gpu)
    check_run_directory(Path(out_dir), resume, overwrite)
    ds = SpectraDataset.load(data_dir)
    if resume:
        saved = ckpt.read_config(Path(out_dir))
        model_config = ckpt.model_config(Path(out_dir), saved)  # the architecture always comes from the checkpoint
        try:
            if saved["data"]["sha256"] != ds.sha256:
                log.warning("resuming on different data than the run started with (%s)", ds.path)
            kept = {"supervision": saved["supervision"], "use_unpaired": saved["use_unpaired"],
                    "select": saved["select"][0]}
        except (KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(f"{Path(out_dir) / ckpt.CONFIG_FILE} is not the config of a spectra run (no "
                                  f"{exc})") from None
        given = {"supervision": supervision, "use_unpaired": use_unpaired, "select": select}
        for name in kept:  # they fix the training streams and the best epoch so far: a run keeps its own
            if given[name] != kept[name] and given[name] != "auto":
                log.warning("resuming: %s stays %r, as the run started; %r is not used", name, kept[name], given[name])
        supervision, use_unpaired, select = kept["supervision"], kept["use_unpaired"], kept["select"]
        retrieval_candidates = saved.get("retrieval_candidates", 0)
    else:
        chosen = resolve_preset(preset, device.type == "cuda")
        if chosen != preset:
            log.info("preset auto: %s (%s)", chosen, "the paper's widths on a GPU" if device.type == "cuda" else
                     "no GPU in use, so CPU-sized networks; --preset paper builds the paper's half a billion "
                     "parameters")
        preset = chosen
        model_config = spectra_model_config(model, n_bits=ds.spec.n_bits, preset=preset, **(model_overrides or {}))
    if select != "auto" and select not in SELECTABLE:
        raise InputError(f"unknown selection metric {select!r}; choose one of {', '.join(SELECTABLE)}")
    streams = training_streams(ds, supervision, config.seed, use_unpaired)
    if len(streams.paired) == 0 and supervision > 0:
        raise InputError(f"{ds.path} has no paired training spectra (spectra with a structure in the train split)")
    if model_config.model in SUPERVISED:  # unpaired rows carry nothing for a supervised network
        empty = np.zeros(0, dtype=np.int64)
        streams = dataclasses.replace(streams, spectrum=empty, fingerprint=empty)
    torch.manual_seed(config.seed)  # identical initial weights on every rank
    net = build_model(model_config)
    log.info("%s: %s parameters; streams %s", model_config.model, f"{count_parameters(net):,}", streams.sizes())
    data = DeviceSpectra(ds, device)
    decoys = None
    if retrieval_candidates:
        decoys = validation_decoys(ds.path, streams.validation, retrieval_candidates)
        log.info("validation retrieval: %d spectra, each ranking its structure among %d candidates",
                 decoys.n_ranked, decoys.n_candidates)
        if not decoys.n_ranked:
            decoys = None
    if select == "auto":
        select = "val_top1" if decoys is not None else "val_fp_ce"
    if select != "val_fp_ce" and decoys is None:
        raise InputError(f"selecting on {select} needs the validation retrieval, and no validation structure has a "
                         "parsable SMILES (or --retrieval-candidates is 0)")
    run_info = {
        "task": "spectra", "specvae_version": __version__, "torch_version": torch.__version__,
        "model": model_config.to_dict(), "preset": preset, "fingerprint": ds.spec.__dict__,
        "ion_mode": ds.ion_mode(), "data": ds.describe(), "supervision": supervision, "use_unpaired": use_unpaired,
        "streams": streams.sizes(), "parameters": count_parameters(net), "select": [select, SELECTABLE[select]],
        "retrieval_candidates": retrieval_candidates,
    }
    baseline_rows = streams.paired if len(streams.paired) else streams.fingerprint
    run_info["bit_frequency_baseline"] = bit_frequency_baseline(data, baseline_rows, streams.validation,
                                                                decoys=decoys)
    if run_info["bit_frequency_baseline"]:
        log.info("bit-frequency baseline (no spectrum): %s",
                 ", ".join(f"{k}={v:.4g}" for k, v in run_info["bit_frequency_baseline"].items()))
    summary = fit(net, SpectraSteps(data, streams, config.batch_size, config.seed),
                  lambda m: fingerprint_metrics(m, data, streams.validation, decoys=decoys), config=config,
                  out_dir=out_dir, run_info=run_info, device=device, select=(select, SELECTABLE[select]),
                  resume=resume, overwrite=overwrite, progress=progress)
    if calibrate and decoys is not None and summary["best_epoch"] is not None and is_main_process():
        ckpt.load_weights(Path(out_dir), ckpt.BEST, net)
        with torch.no_grad(), outputs.locked(out_dir):
            report = _calibrate(net.eval(), data, ds.inchikey14[decoys.rows].astype(str), decoys, Path(out_dir),
                                ckpt.BEST, dataset_file=ds.path)
        summary["calibration"] = report["recommended"]
    if is_main_process():
        from specvae.training.plots import plot_training_curve

        plot_training_curve(out_dir)
    return {**summary, "model": model_config.model, "parameters": count_parameters(net), "streams": streams.sizes(),
            "select": select}


@torch.no_grad()
def calibrate_run(run_dir: str | Path, data_dir: str | Path | None = None, checkpoint: str = ckpt.BEST,
                  strength: float = 100.0, gpu: int | None = None) -> dict[str, Any]:
    """Fit the calibrations of :mod:`specvae.training.calibration` on the validation split; write them into the run.

    ``data_dir`` defaults to the dataset the run was trained on (its path in ``config.json``). Returns the report
    that is also written as ``calibration.json``; a reliability diagram goes to ``calibration.png``. ``train`` does
    this for its best epoch after training.
    """
    run = Path(run_dir)
    model, data, ds, streams = _run_setup(run, data_dir, checkpoint, gpu)
    rows = streams.validation
    decoys = validation_decoys(ds.path, rows, ckpt.read_config(run).get("retrieval_candidates") or 100)
    with outputs.locked(run):
        return _calibrate(model, data, ds.inchikey14[rows].astype(str), decoys, run, checkpoint, strength, ds.path)


def split_metrics(run_dir: str | Path, split: str = schema.TEST, data_dir: str | Path | None = None,
                  checkpoint: str = ckpt.BEST, gpu: int | None = None, n_candidates: int = 100) -> dict[str, Any]:
    """The validation metrics of :func:`fingerprint_metrics` on a held-out ``split`` of the run's dataset (``test``:
    never used for training or for choosing the best epoch; or ``validation``), each spectrum ranking its structure
    among ``n_candidates`` of the nearest structures in mass (:mod:`specvae.datasets.decoys`; for the test split the
    test structures join the decoys), beside the bit-frequency baseline of the run's paired training rows on the same
    lists. Raw model probabilities (no calibration): the ranks are what a temperature leaves unchanged.

    Returns ``{"split", "spectra", "structures", "candidates", "model": {...}, "baseline": {...}}`` with the metric
    names without prefix (``fp_ce``, ``top1``, ``top10``, ``median_rank``, ...).
    """
    if split not in (schema.VALIDATION, schema.TEST):
        raise InputError(f"split must be {schema.TEST} or {schema.VALIDATION}, not {split!r}")
    if n_candidates < 2:
        raise InputError(f"--candidates must be at least 2, not {n_candidates}")
    model, data, ds, streams = _run_setup(Path(run_dir), data_dir, checkpoint, gpu)
    rows = streams.validation if split == schema.VALIDATION else streams.test
    if len(rows) == 0:
        raise InputError(f"{ds.path} has no paired {split} spectra")
    decoys = validation_decoys(ds.path, rows, n_candidates, with_test=split == schema.TEST)
    model_metrics = fingerprint_metrics(model, data, rows, prefix=split, decoys=decoys)
    baseline = bit_frequency_baseline(data, streams.paired, rows, prefix=split, decoys=decoys)
    strip = len(split) + 1
    return {"split": split, "spectra": int(decoys.n_ranked), "structures": int(len(np.unique(ds.inchikey14[rows]))),
            "candidates": decoys.n_candidates, "model": {k[strip:]: v for k, v in model_metrics.items()},
            "baseline": {k[strip:]: v for k, v in baseline.items()}}


def _run_setup(run: Path, data_dir, checkpoint: str, gpu: int | None):
    """The model of ``run`` (eval mode, on ``gpu``), its dataset on the device and the run's streams of rows."""
    ckpt.check_checkpoint_name(checkpoint)
    device = resolve_device(gpu)
    config = ckpt.read_config(run)
    try:
        trained_on, seed = config["data"]["path"], config["train"]["seed"]
        supervision, use_unpaired = config["supervision"], config["use_unpaired"]
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"{run / ckpt.CONFIG_FILE} is not the config of a spectra run (no {exc})") from None
    ds = SpectraDataset.load(data_dir or trained_on)
    if ds.sha256 != config["data"].get("sha256"):
        log.warning("using other data than the run was trained on (%s)", ds.path)
    model = ckpt.load_model(run, checkpoint, config)
    data = DeviceSpectra(ds, device)
    return model.to(device).eval(), data, ds, training_streams(ds, supervision, seed, use_unpaired)


def _calibrate(model, data: DeviceSpectra, keys: np.ndarray, decoys: DecoySets, run: Path, checkpoint: str,
               strength: float = 100.0, dataset_file: Path | None = None) -> dict[str, Any]:
    """Calibration of ``model`` on the validation rows of ``decoys`` (structures ``keys``), written into ``run``."""
    from specvae.training import calibration as cal

    rows = decoys.rows
    p = torch.cat([model.predict({"spectrum": data.spectra(rows[s:s + 512])}, ["fingerprint"])["fingerprint"].float()
                   for s in range(0, len(rows), 512)]).cpu().numpy()
    if not np.isfinite(p).all():
        raise InputError(f"the {checkpoint} checkpoint of {run} predicts non-finite probabilities (a diverged model); "
                         "nothing to calibrate")
    bits = torch.cat([data.fingerprint_bits(rows[s:s + 4096]) for s in range(0, len(rows), 4096)]).cpu().numpy()
    # two folds of validation structures: fit on one, measure on the other
    fold = np.array([int.from_bytes(k.encode()[-4:], "little") % 2 for k in keys])
    report: dict[str, Any] = {"checkpoint": checkpoint, "strength": strength, "spectra": int(len(rows)),
                              "structures": int(len(set(keys))), "out_of_fold": {}}
    predictions = {}
    for kind in cal.KINDS:
        oof = predictions[kind] = np.empty_like(p)
        for f in (0, 1):
            fitted = cal.fit(kind, p[fold != f], bits[fold != f], strength)
            oof[fold == f] = fitted.apply(p[fold == f])
        ece, table = cal.reliability(oof, bits)
        entry = {"fp_ce": cal.cross_entropy(oof, bits), "ece": ece, "reliability": table}
        if decoys.n_ranked:
            ranks = answer_ranks(torch.as_tensor(oof, device=data.device), data, decoys.candidates)
            entry.update({k.removeprefix("val_"): v for k, v in retrieval_metrics(ranks.cpu().numpy()).items()})
        report["out_of_fold"][kind] = entry
    oof = report["out_of_fold"]
    report["recommended"] = "temperature"  # the same ranking as none, with a better cross-entropy
    if "top1" in oof["platt"] and (oof["platt"]["top1"] + oof["platt"]["top10"]
                                   > oof["temperature"]["top1"] + oof["temperature"]["top10"]):
        report["recommended"] = "platt"
    fitted = {kind: cal.fit(kind, p, bits, strength) for kind in ("temperature", "platt")}
    report["temperature"] = float(1 / fitted["temperature"].scale[0])
    cal.save(run, fitted, report)
    cal.plot_reliability(report, run / "calibration.png")
    log.info("calibration of %s (validation, out of fold):\n%s\nrecommended: %s", run, cal.describe(report),
             report["recommended"])
    if dataset_file is not None:  # the confidence of rankings, on the predictions rank makes (out of fold)
        _fit_confidence(predictions[report["recommended"]], data, keys, rows, dataset_file, run)
    return report


def _fit_confidence(p: np.ndarray, data: DeviceSpectra, keys: np.ndarray, rows: np.ndarray, dataset_file: Path,
                    run: Path) -> None:
    """Fit and save :mod:`specvae.training.confidence` for predictions ``p`` of the validation ``rows``."""
    from specvae.training import confidence

    lists = validation_decoys(dataset_file, rows, confidence.MAX_CANDIDATES)
    model = confidence.fit_confidence(p, data.fingerprints.cpu().numpy(), lists.candidates, keys, data.n_bits)
    confidence.save(run, model)


@torch.no_grad()
def fit_confidence_run(run_dir: str | Path, data_dir: str | Path | None = None, checkpoint: str = ckpt.BEST,
                       calibration: str = "auto", gpu: int | None = None) -> dict[str, Any]:
    """Fit only the confidence of :mod:`specvae.training.confidence` for a run (its ``calibration`` applied, as
    ``rank`` does) on the validation split of ``data_dir`` (default: the data it was trained on); writes
    ``confidence.json`` into the run and returns it."""
    from specvae.training import calibration as cal
    from specvae.training import confidence

    run = Path(run_dir)
    model, data, ds, streams = _run_setup(run, data_dir, checkpoint, gpu)
    rows = streams.validation
    p = torch.cat([model.predict({"spectrum": data.spectra(rows[s:s + 512])}, ["fingerprint"])["fingerprint"].float()
                   for s in range(0, len(rows), 512)]).cpu().numpy()
    if not np.isfinite(p).all():
        raise InputError(f"the {checkpoint} checkpoint of {run} predicts non-finite probabilities (a diverged model); "
                         "nothing to calibrate")
    p = cal.load(run, calibration, data.n_bits).apply(p)
    with outputs.locked(run):
        _fit_confidence(p, data, ds.inchikey14[rows].astype(str), rows, ds.path, run)
    return ckpt.read_json(run / confidence.CONFIDENCE_FILE)
