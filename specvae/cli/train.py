"""``specvae train``: fit SVAE / VAEVAE / VAEVAE* / SVAE* / MMVAE on an ingested dataset."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from specvae.cli import _options as opt
from specvae.cli._app import command, show_progress
from specvae.errors import SpecvaeError

# the preset values --set (and a settings file's model_overrides) may change, and their types
# (the keys of specvae.models.config.SPECTRA_KEYS, kept here as text: the CLI module must not import torch)
PRESET_KEYS = {"latent_dim": int, "spectrum_encoder": tuple[int, ...], "spectrum_decoder": tuple[int, ...],
               "fingerprint_encoder": tuple[int, ...], "fingerprint_decoder": tuple[int, ...], "prior_expert": bool,
               "spectrum_weight": float, "fingerprint_weight": float, "dropout": float, "sparse_input": bool,
               "batchnorm": bool, "kl_weight": float, "cross_reconstruction": float, "cross_from_mean": bool,
               "spectrum_likelihood": str, "logvar_bound": float, "shared_expert_body": bool}


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
    data: Path = typer.Option(None, "--data", "-d", help="Dataset directory written by `specvae ingest`."),
    out: Path = typer.Option(None, "--out", "-o", help="Run directory to create (weights, config, metrics)."),
    model: str = typer.Option(None, "--model", "-m", help="svae (default), vaevae, vaevae_star (VAEVAE*), "
                                                           "svae_star, mmvae, mlp (the supervised reference)."),
    preset: str = typer.Option(None, "--preset", help="Network widths: auto (default: paper on a GPU, cpu on a CPU), "
                                                      "paper (tables A.8/A.9), cpu, small, tiny."),
    overrides: list[str] = typer.Option(None, "--set", help="Override a preset value, e.g. latent_dim=64."),
    epochs: int = opt.EPOCHS, batch_size: int = opt.BATCH_SIZE, lr: float = opt.LR,
    supervision: float = opt.SUPERVISION,
    no_unpaired: bool = typer.Option(None, "--no-unpaired", help="Ignore the dataset's unpaired rows."),
    gpu: int = opt.TRAIN_GPU,
    precision: str = typer.Option(None, "--precision", help="auto (default: bf16 on GPU, fp32 on CPU), bf16, fp32."),
    compile_: str = typer.Option(None, "--compile", help="torch.compile the networks: auto (default: on GPU), on, "
                                                          "off."),
    seed: int = opt.TRAIN_SEED, time_limit: float = opt.TIME_LIMIT, max_steps: int = opt.MAX_STEPS,
    weight_decay: float = typer.Option(None, "--weight-decay", help="Decoupled weight decay (AdamW); default 0: "
                                                                   "Adam as in the paper."),
    grad_clip: float = typer.Option(None, "--grad-clip", help="Clip the gradient norm of every step to this value; "
                                                             "default 0: no clipping."),
    schedule: str = typer.Option(None, "--schedule", help="Learning rate after warm-up: constant (default) or "
                                                          "cosine."),
    warmup_steps: int = typer.Option(None, "--warmup-steps", help="Linear learning-rate warm-up steps."),
    kl_warmup_steps: int = typer.Option(None, "--kl-warmup-steps", help="Steps over which the KL weight rises "
                                                                        "from 0 to 1."),
    save_every: int = typer.Option(None, "--save-every", help="Also keep the weights of every N-th epoch "
                                                              "(epoch-N; use with --checkpoint in rank/evaluate)."),
    ema: float = typer.Option(None, "--ema", help="Evaluate, keep and rank with an exponential moving average of "
                                                  "the weights, decay min(D, (1+n)/(10+n)) at step n; default 0: "
                                                  "off."),
    select: str = typer.Option(None, "--select", help="Validation metric choosing the best epoch: auto (default: "
                                                      "val_top1, or val_fp_ce without retrieval), val_fp_ce, "
                                                      "val_top1, val_top10, val_median_rank."),
    retrieval: int = typer.Option(None, "--retrieval-candidates", help="Candidates per validation spectrum for the "
                                                                       "retrieval metrics (default 100; 0: off)."),
    threads: int = opt.THREADS,
    config: Path = opt.CONFIG, resume: bool = opt.RESUME, overwrite: bool = opt.OVERWRITE_RUN,
):
    """Train a spectrum <-> fingerprint model; the best epoch is chosen on the validation split."""
    from specvae.settings import check, keys
    from specvae.training.spectra import train_spectra

    opt.use_threads(threads)
    s = opt.settings(config, [(train_spectra, ())], {
        "data_dir": data, "out_dir": out, "model": model, "preset": preset, "supervision": supervision, "gpu": gpu,
        "model_overrides": parse_overrides(overrides) if overrides else None,
        "use_unpaired": False if no_unpaired else None, "select": select, "retrieval_candidates": retrieval,
        "config": opt.train_config(epochs, batch_size, lr, seed, time_limit, max_steps, precision=precision,
                                   compile=compile_, weight_decay=weight_decay, grad_clip=grad_clip,
                                   schedule=schedule, warmup_steps=warmup_steps, kl_warmup_steps=kl_warmup_steps,
                                   save_every=save_every, ema=ema)},
        required=opt.REQUIRED, base=opt.started_with(out, resume, {
            "data_dir": ("data", "path"), "config": ("train",), "supervision": ("supervision",),
            "use_unpaired": ("use_unpaired",), "select": ("select", 0)}))
    where = f"{config or '--set'} (model_overrides)"
    s["model_overrides"] = check(keys(PRESET_KEYS), s["model_overrides"] or {}, where)
    summary = train_spectra(**s, resume=resume, overwrite=overwrite, progress=show_progress())
    if not resume:
        opt.save_settings(s["out_dir"], s, "train")
    if summary.get("best_epoch") is not None:
        typer.echo(f"{summary['model']}: best epoch {summary['best_epoch']} of {summary['epochs']} "
                   f"({summary['select']} {summary[summary['select']]:.4g}); run in {s['out_dir']}")
    if (summary.get("stopped") or "").startswith("diverged"):
        raise SpecvaeError(f"training {summary['stopped']}")


@command(name="calibrate")
def calibrate_cmd(
    model: Path = typer.Option(..., "--model", "-m", help="Run directory written by `specvae train`."),
    data: Path = typer.Option(None, "--data", "-d", help="Dataset (default: the one the run was trained on)."),
    checkpoint: str = typer.Option("best", "--checkpoint", help="Weights to calibrate: best, last or epoch-N."),
    strength: float = typer.Option(100.0, "--strength", help="L2 strength pulling per-bit Platt scaling towards "
                                                            "the uncalibrated probabilities."),
    gpu: int = typer.Option(None, "--gpu", help="CUDA device index; omit to use the CPU."),
    threads: int = opt.THREADS,
):
    """Fit a temperature and per-bit Platt scaling on the validation split (train does this after training)."""
    from specvae.training.calibration import describe
    from specvae.training.spectra import calibrate_run

    opt.use_threads(threads)
    report = calibrate_run(model, data, checkpoint=checkpoint, strength=strength, gpu=gpu)
    typer.echo(f"validation spectra, out of fold:\n{describe(report)}\nrecommended: {report['recommended']}; "
               f"written to {model}/calibration.json, calibration.png")
