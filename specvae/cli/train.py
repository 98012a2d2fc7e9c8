"""``specvae train``: fit SVAE / VAEVAE / VAEVAE* / SVAE* / MMVAE on an ingested dataset."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from specvae.cli._app import command, show_progress

# the keys of specvae.models.config.SPECTRA_KEYS (kept here as text: the CLI module must not import torch)
PRESET_KEYS = ("latent_dim", "spectrum_encoder", "spectrum_decoder", "fingerprint_encoder", "fingerprint_decoder",
               "prior_expert", "spectrum_weight", "fingerprint_weight", "dropout", "sparse_input", "batchnorm",
               "kl_weight", "cross_reconstruction", "spectrum_likelihood")


def parse_overrides(items: list[str]) -> dict:
    """``["latent_dim=64", "spectrum_encoder=1000,500"]`` -> ``{"latent_dim": 64, "spectrum_encoder": [1000, 500]}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in PRESET_KEYS:
            raise ValueError(f"--set expects KEY=VALUE with KEY one of {', '.join(PRESET_KEYS)}; got {item!r}")
        try:
            out[key] = json.loads(f"[{value}]" if "," in value else value)
        except json.JSONDecodeError:
            if not value.strip().isidentifier():
                raise ValueError(f"--set {key}: cannot read value {value!r} (a number, true/false, a name, or "
                                 "a,b,c)") from None
            out[key] = value.strip()  # a name, e.g. spectrum_likelihood=multinomial
    return out


@command(name="train")
def train_cmd(
    data: Path = typer.Option(..., "--data", "-d", help="Dataset directory written by `specvae ingest`."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory to create (weights, config, metrics)."),
    model: str = typer.Option("svae", "--model", "-m", help="svae, vaevae, vaevae_star (VAEVAE*), svae_star, "
                                                             "mmvae, mlp (supervised reference)."),
    preset: str = typer.Option("paper", "--preset", help="Network widths: paper (tables A.8/A.9), small, tiny."),
    overrides: list[str] = typer.Option([], "--set", help="Override a preset value, e.g. latent_dim=64."),
    epochs: int = typer.Option(140, "--epochs", help="Epochs (paper: 140)."),
    batch_size: int = typer.Option(250, "--batch-size", help="Rows per stream and step (paper: 250)."),
    lr: float = typer.Option(1e-4, "--lr", help="Adam learning rate (paper: 1e-4)."),
    supervision: float = typer.Option(1.0, "--supervision", help="Share of training structures kept paired."),
    no_unpaired: bool = typer.Option(False, "--no-unpaired", help="Ignore the dataset's unpaired rows."),
    gpu: int = typer.Option(None, "--gpu", help="CUDA device index; omit to train on the CPU."),
    precision: str = typer.Option("auto", "--precision", help="auto (bf16 on GPU, fp32 on CPU), bf16, fp32."),
    compile_: str = typer.Option("auto", "--compile", help="torch.compile the networks: auto (on GPU), on, off."),
    seed: int = typer.Option(0, "--seed", help="Seed for weights, supervision subset and batches."),
    time_limit: float = typer.Option(0.0, "--time-limit", help="Stop after this many seconds of training."),
    max_steps: int = typer.Option(0, "--max-steps-per-epoch", help="Cap steps per epoch (0: full epochs)."),
    weight_decay: float = typer.Option(0.0, "--weight-decay", help="Decoupled weight decay (AdamW); 0: Adam."),
    schedule: str = typer.Option("constant", "--schedule", help="Learning rate after warm-up: constant or cosine."),
    warmup_steps: int = typer.Option(0, "--warmup-steps", help="Linear learning-rate warm-up steps."),
    kl_warmup_steps: int = typer.Option(0, "--kl-warmup-steps", help="Steps over which the KL weight rises from 0."),
    save_every: int = typer.Option(0, "--save-every", help="Also keep the weights of every N-th epoch "
                                                           "(epoch-N; use with --checkpoint in rank/evaluate)."),
    select: str = typer.Option("val_fp_ce", "--select", help="Validation metric choosing the best epoch: val_fp_ce, "
                                                             "val_top1, val_top10, val_median_rank."),
    retrieval: int = typer.Option(100, "--retrieval-candidates", help="Candidates per validation spectrum for the "
                                                                      "retrieval metrics (0: off)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out after its last epoch."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run in --out."),
):
    """Train a spectrum <-> fingerprint model; the best epoch is chosen on the validation split."""
    from specvae.loop import TrainConfig
    from specvae.train import train_spectra

    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, precision=precision,
                         compile=compile_, max_steps_per_epoch=max_steps, time_limit=time_limit,
                         weight_decay=weight_decay, schedule=schedule, warmup_steps=warmup_steps,
                         kl_warmup_steps=kl_warmup_steps, save_every=save_every)
    summary = train_spectra(data, out, model=model, preset=preset, model_overrides=parse_overrides(overrides),
                            config=config, supervision=supervision, use_unpaired=not no_unpaired, gpu=gpu,
                            resume=resume, overwrite=overwrite, select=select, retrieval_candidates=retrieval,
                            progress=show_progress())
    if summary.get("best_epoch") is not None:
        typer.echo(f"{summary['model']}: best epoch {summary['best_epoch']} of {summary['epochs']} "
                   f"({summary['select']} {summary[summary['select']]:.4g}); run in {out}")


@command(name="calibrate")
def calibrate_cmd(
    model: Path = typer.Option(..., "--model", "-m", help="Run directory written by `specvae train`."),
    data: Path = typer.Option(None, "--data", "-d", help="Dataset (default: the one the run was trained on)."),
    checkpoint: str = typer.Option("best", "--checkpoint", help="Weights to calibrate: best, last or epoch-N."),
    strength: float = typer.Option(100.0, "--strength", help="L2 strength pulling per-bit Platt scaling towards "
                                                            "the uncalibrated probabilities."),
    gpu: int = typer.Option(None, "--gpu", help="CUDA device index; omit to use the CPU."),
):
    """Fit a temperature and per-bit Platt scaling on the validation split (train does this after training)."""
    from specvae.calibration import describe
    from specvae.train import calibrate_run

    report = calibrate_run(model, data, checkpoint=checkpoint, strength=strength, gpu=gpu)
    typer.echo(f"validation spectra, out of fold:\n{describe(report)}\nrecommended: {report['recommended']}; "
               f"written to {model}/calibration.json, calibration.png")
