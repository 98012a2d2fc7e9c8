"""Options shared by several commands (typer + stdlib only)."""

from __future__ import annotations

from pathlib import Path

import typer

MODEL = typer.Option(..., "--model", "-m", help="Run directory written by `specvae train` (or a dataset directory "
                                                "from `specvae ingest`: the bit-frequency baseline, no model).")
CHECKPOINT = typer.Option("best", "--checkpoint", help="Weights to load from the run: best, last or epoch-N "
                                                       "(kept by train --save-every).")
CALIBRATION = typer.Option("auto", "--calibration", help="Bit-probability calibration fitted on the validation "
                                                        "split: auto (the run's recommendation), none, temperature, "
                                                        "platt.")
GPU = typer.Option(None, "--gpu", help="CUDA device index for the model; omit to predict on the CPU.")
MODE = typer.Option("mean", "--mode", help="Fingerprint from the posterior mean, or the mean over --samples samples "
                                           "(sample).")
SAMPLES = typer.Option(16, "--samples", help="Posterior samples to average with --mode sample.")
SEED = typer.Option(0, "--seed", help="Seed for --mode sample.")
PPM = typer.Option(10.0, "--ppm", help="Precursor m/z tolerance for --db queries (ppm of the m/z).")
ADDUCTS = typer.Option([], "--adduct", help="Adduct(s) for --db queries, e.g. '[M+H]+' (repeatable); default: the "
                                            "spectrum's own, else [M+H]+ / [M-H]- by ion mode.")
WORKERS = typer.Option(1, "--workers", "-j", help="Processes for parsing candidates and computing fingerprints.")
CACHE = typer.Option(None, "--cache", help="Fingerprint cache file (default: specvae's cache location).")
NO_CACHE = typer.Option(False, "--no-cache", help="Neither read nor write the persistent fingerprint cache.")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace existing outputs.")


def load_predictor(model: Path, checkpoint: str, gpu: int | None, calibration: str = "auto"):
    """The trained model of run directory ``model`` on the CPU or CUDA device ``gpu``; for a dataset directory, the
    bit-frequency baseline of its training split."""
    import logging

    from specvae import checkpoint as ckpt
    from specvae import schema
    from specvae.predict import BitFrequencyPredictor, Predictor

    if (Path(model) / schema.DATASET_FILE).exists() and not (Path(model) / ckpt.CONFIG_FILE).exists():
        logging.getLogger("specvae").warning("%s is a dataset, not a trained run: ranking by the training bit "
                                             "frequencies (a baseline that ignores the spectrum)", model)
        return BitFrequencyPredictor.from_dataset(model)
    return Predictor.from_run(model, device="cpu" if gpu is None else f"cuda:{gpu}", checkpoint=checkpoint,
                              calibration=calibration)


def cache_from(path: Path | None, disabled: bool):
    """The fingerprint cache the options ask for (``None`` when disabled)."""
    from specvae.candidates import open_cache

    return None if disabled else open_cache(path)


def command_line() -> str:
    """The command as typed (for reports)."""
    import shlex
    import sys

    return "specvae " + " ".join(shlex.quote(a) for a in sys.argv[1:])
