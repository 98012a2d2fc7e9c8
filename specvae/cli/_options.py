"""Options shared by several commands, and settings files (typer + stdlib only; the rest is imported when used).

Options that are settings default to ``None``: "not given", so that the value comes from the ``--config`` file or,
failing that, from the one default in the library (:mod:`specvae.settings`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

CONFIG = typer.Option(None, "--config", help="Settings file (YAML, TOML or JSON) with this command's settings, e.g. "
                                             "the settings.yaml a run wrote; options given here override it.")
MODEL = typer.Option(None, "--model", "-m", help="Run directory written by `specvae train` (or a dataset directory "
                                                 "from `specvae ingest`: the bit-frequency baseline, no model); "
                                                 "default: the model shipped with specvae (MODEL_CARD.md).")
CHECKPOINT = typer.Option(None, "--checkpoint", help="Weights to load from the run: best (default), last or "
                                                      "epoch-N (kept by train --save-every).")
CALIBRATION = typer.Option(None, "--calibration", help="Bit-probability calibration fitted on the validation split: "
                                                      "auto (the run's recommendation, the default), none, "
                                                      "temperature, platt.")
GPU = typer.Option(None, "--gpu", help="CUDA device index for the model; omit to predict on the CPU.")
MODE = typer.Option(None, "--mode", help="Fingerprint from the posterior mean (mean, the default), or the mean over "
                                         "--samples samples (sample).")
SCORE = typer.Option(None, "--score", help="Rank candidates by cross-entropy (the default) against the predicted "
                                           "fingerprint, or by latent: how well each candidate's code in a "
                                           "multimodal VAE's latent space fits the spectrum's posterior "
                                           "(docs/ranking.md).")
SAMPLES = typer.Option(None, "--samples", help="Posterior samples to average with --mode sample.")
SEED = typer.Option(None, "--seed", help="Seed for --mode sample.")
PPM = typer.Option(None, "--ppm", help="Precursor m/z tolerance in ppm of the m/z: of --db queries, and of the mass "
                                       "check of --candidates (default 10).")
ADDUCTS = typer.Option(None, "--adduct", help="Adduct(s) for --db queries, e.g. '[M+H]+' (repeatable); default: the "
                                              "spectrum's own, else [M+H]+ / [M-H]- by ion mode.")
WORKERS = typer.Option(None, "--workers", "-j", help="Processes for parsing candidates and computing fingerprints.")
CACHE = typer.Option(None, "--cache", help="Fingerprint cache file (default: specvae's cache location).")
NO_CACHE = typer.Option(False, "--no-cache", help="Neither read nor write the persistent fingerprint cache.")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace existing outputs.")
THREADS = typer.Option(None, "--threads", min=1, help="Threads to compute with (PyTorch; also the worker processes "
                                                     "when --workers is not given); default: $SPECVAE_THREADS, else "
                                                     "the cores not busy with other processes.")
# training options of `train` and `bench` (TrainConfig and the run); defaults: the command's library function
ARCHITECTURE = typer.Option(None, "--model", "-m", help="svae (default), vaevae, vaevae_star (VAEVAE*), svae_star, "
                                                        "mmvae.")
SUPERVISION = typer.Option(None, "--supervision", help="Share of training structures or items kept paired (0-1; "
                                                       "default: all).")
EPOCHS = typer.Option(None, "--epochs", help="Epochs (default: the paper's).")
BATCH_SIZE = typer.Option(None, "--batch-size", help="Rows per stream and step (default: the paper's).")
LR = typer.Option(None, "--lr", help="Adam learning rate (default: the paper's).")
TRAIN_GPU = typer.Option(None, "--gpu", help="CUDA device index; omit to train on the CPU.")
TRAIN_SEED = typer.Option(None, "--seed", help="Seed for weights, supervision subset and batches.")
TIME_LIMIT = typer.Option(None, "--time-limit", help="Stop training after this many seconds.")
MAX_STEPS = typer.Option(None, "--max-steps-per-epoch", help="Cap steps per epoch (0: full epochs).")
RESUME = typer.Option(False, "--resume", help="Continue the run in --out after its last epoch.")
OVERWRITE_RUN = typer.Option(False, "--overwrite", help="Replace an existing run in --out.")


@dataclasses.dataclass(frozen=True)
class ModelChoice:
    """The model a ranking command loads: settings ``model``, ``checkpoint``, ``gpu`` and ``calibration``."""

    model: Path | None = None  # a run directory, a dataset directory (bit-frequency baseline); None: the default
    checkpoint: str = "best"
    gpu: int | None = None
    calibration: str = "auto"  # see specvae.training.calibration


# what to say when a required setting is missing (a generic message names the setting)
REQUIRED = {key: f"{option} is required (or {key}: in a --config file)" for key, option in (
    ("out", "--out"), ("spectra", "a spectrum file"), ("challenges", "--challenges"),
    ("solutions", "--solutions"), ("data_dir", "--data"), ("out_dir", "--out"), ("inputs", "a spectrum file"))}


def train_config(epochs, batch_size, lr, seed, time_limit, max_steps, **more) -> dict:
    """The ``TrainConfig`` section of the settings, from the training options that were given."""
    return {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed, "time_limit": time_limit,
            "max_steps_per_epoch": max_steps, **more}


def given(**values) -> dict:
    """The options that were given (not ``None``), to pass on as keyword arguments."""
    return {k: v for k, v in values.items() if v is not None}


def settings(config: Path | None, targets: list, flags: dict, required: dict | None = None,
             base: dict | None = None) -> dict:
    """A command's settings: the ``--config`` file's values under the given ``flags``, checked against ``targets``
    (``(function or dataclass, names to skip)`` pairs, :func:`specvae.settings.schema`) and completed with defaults.
    ``base`` stands in for the file when no ``--config`` is given (e.g. the values a resumed run started with)."""
    from specvae import settings as s

    fields = {}
    for target, skip in targets:
        fields.update(s.schema(target, skip))
    values = s.merge(s.read_settings(config) if config else base or {}, flags)
    return s.resolve(fields, values, str(config) if config else "the options", required)


def started_with(run: Path | None, resume: bool, where: dict[str, tuple[str, ...]]) -> dict | None:
    """Under ``--resume``, the values ``run`` started with, from its ``config.json`` (written before the first epoch,
    so an interrupted run has it too), as :func:`settings`' ``base``: ``where`` maps a setting to its path in the
    file. ``None`` without ``--resume`` or when nothing is readable (the command then says what is missing)."""
    if not resume or run is None:
        return None
    from specvae.training import checkpoint as ckpt

    try:
        saved = ckpt.read_config(Path(run))
        values = {}
        for name, path in where.items():
            value = saved
            for key in path:
                value = value[key]
            values[name] = value
        return values
    except (OSError, ValueError, KeyError, TypeError):  # CheckpointError is a ValueError
        return None


def save_settings(directory: Path, values: dict, command: str) -> None:
    """Write the settings a run used into its output directory (``settings.yaml``)."""
    from specvae.settings import SETTINGS_FILE, write_settings

    if Path(directory).is_dir():
        write_settings(Path(directory) / SETTINGS_FILE, values, command)


def load_predictor(model: Path | None, checkpoint: str, gpu: int | None, calibration: str = "auto"):
    """The trained model of run directory ``model`` on the CPU or CUDA device ``gpu``; for a dataset directory, the
    bit-frequency baseline of its training split; for ``None``, the default model shipped with the package. One log
    line says which model is used."""
    import logging

    from specvae import schema
    from specvae.retrieval.predict import BitFrequencyPredictor, Predictor, default_model_dir
    from specvae.training import checkpoint as ckpt
    from specvae.training.loop import resolve_device

    device = resolve_device(gpu)  # one line when there is no such GPU
    if model is None:
        model = default_model_dir()
        logging.getLogger("specvae").info("model: the default model shipped with specvae (%s; see its MODEL_CARD.md); "
                                          "--model chooses another", model)
    else:
        logging.getLogger("specvae").info("model: %s", model)
    if (Path(model) / schema.DATASET_FILE).exists() and not (Path(model) / ckpt.CONFIG_FILE).exists():
        logging.getLogger("specvae").warning("%s is a dataset, not a trained run: ranking by the training bit "
                                             "frequencies (a baseline that ignores the spectrum)", model)
        return BitFrequencyPredictor.from_dataset(model)
    return Predictor.from_run(model, device=str(device), checkpoint=checkpoint, calibration=calibration)


def use_threads(threads: int | None, torch_too: bool = True) -> int:
    """Resolve ``--threads`` (:func:`specvae.threads.resolve_threads`: the option, ``$SPECVAE_THREADS``, the free
    cores), apply it (``OMP_NUM_THREADS``; PyTorch's threads with ``torch_too``) and say it once in the log."""
    import os

    from specvae.cli._app import announce
    from specvae.threads import available_cores
    from specvae.threads import use_threads as apply

    n = apply(threads, torch_too=torch_too)
    from_env = bool(os.environ.get("SPECVAE_THREADS", "").strip())
    source = "--threads" if threads is not None else "$SPECVAE_THREADS" if from_env else "the free cores"
    announce("using %d thread(s), from %s (%d core(s) available)", n, source, available_cores())
    return n


def workers_or_threads(workers: int | None, n_threads: int, config: Path | None = None) -> int | None:
    """``--workers`` when given; else ``None`` when the ``--config`` file sets ``workers``; else the thread count, so
    that the worker processes and the threads together do not ask for more cores than ``--threads`` allows."""
    if workers is not None:
        return workers
    if config is not None:
        from specvae.settings import read_settings

        if "workers" in (read_settings(config) or {}):
            return None
    return n_threads


def cache_from(path: Path | None, disabled: bool):
    """The fingerprint cache the options ask for (``None`` when disabled)."""
    from specvae.chem.cache import FingerprintCache

    return None if disabled else FingerprintCache(path)


def command_line() -> str:
    """The command as typed (for reports)."""
    import shlex
    import sys

    return "specvae " + " ".join(shlex.quote(a) for a in sys.argv[1:])
