"""``specvae train``: fit SVAE / VAEVAE / VAEVAE* / SVAE* / MMVAE on an ingested dataset."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from specvae.cli import _options as opt
from specvae.cli._app import command, show_progress

# the preset values --set (and a settings file's model_overrides) may change, and their types
PRESET_KEYS = {"latent_dim": int, "spectrum_encoder": tuple[int, ...], "spectrum_decoder": tuple[int, ...],
               "fingerprint_encoder": tuple[int, ...], "fingerprint_decoder": tuple[int, ...], "prior_expert": bool}


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
            raise ValueError(f"--set {key}: cannot read value {value!r} (a number, true/false, or a,b,c)") from None
    return out


@command(name="train")
def train_cmd(
    data: Path = typer.Option(None, "--data", "-d", help="Dataset directory written by `specvae ingest`."),
    out: Path = typer.Option(None, "--out", "-o", help="Run directory to create (weights, config, metrics)."),
    model: str = opt.ARCHITECTURE,
    preset: str = typer.Option(None, "--preset", help="Network widths: paper (default; tables A.8/A.9), small, tiny."),
    overrides: list[str] = typer.Option(None, "--set", help="Override a preset value, e.g. latent_dim=64."),
    epochs: int = opt.EPOCHS, batch_size: int = opt.BATCH_SIZE, lr: float = opt.LR,
    supervision: float = opt.SUPERVISION,
    no_unpaired: bool = typer.Option(None, "--no-unpaired", help="Ignore the dataset's unpaired rows."),
    gpu: int = opt.TRAIN_GPU,
    precision: str = typer.Option(None, "--precision", help="auto (default: bf16 on GPU, fp32 on CPU), bf16, fp32."),
    compile_: str = typer.Option(None, "--compile", help="torch.compile the networks: auto (default: on GPU), on, "
                                                          "off."),
    seed: int = opt.TRAIN_SEED, time_limit: float = opt.TIME_LIMIT, max_steps: int = opt.MAX_STEPS,
    config: Path = opt.CONFIG, resume: bool = opt.RESUME, overwrite: bool = opt.OVERWRITE_RUN,
):
    """Train a spectrum <-> fingerprint model; the best epoch is chosen on the validation split."""
    from specvae.settings import check, keys
    from specvae.training.spectra import train_spectra

    s = opt.settings(config, [(train_spectra, ())], {
        "data_dir": data, "out_dir": out, "model": model, "preset": preset, "supervision": supervision, "gpu": gpu,
        "model_overrides": parse_overrides(overrides) if overrides else None,
        "use_unpaired": False if no_unpaired else None,
        "config": opt.train_config(epochs, batch_size, lr, seed, time_limit, max_steps, precision=precision,
                                   compile=compile_)},
        required=opt.REQUIRED)
    where = f"{config or '--set'} (model_overrides)"
    s["model_overrides"] = check(keys(PRESET_KEYS), s["model_overrides"] or {}, where)
    summary = train_spectra(**s, resume=resume, overwrite=overwrite, progress=show_progress())
    if not resume:
        opt.save_settings(s["out_dir"], s, "train")
    if summary.get("best_epoch") is not None:
        typer.echo(f"{summary['model']}: best epoch {summary['best_epoch']} of {summary['epochs']} "
                   f"(validation fingerprint cross-entropy {summary['val_fp_ce']:.2f} nats/spectrum); run in "
                   f"{s['out_dir']}")
