"""What every image benchmark shares: options, the step source over semi-supervised streams, and the run itself.

Every benchmark (:mod:`~specvae.bench.mnist_split`, :mod:`~specvae.bench.mnist_svhn`, :mod:`~specvae.bench.cub`) is one
call: build the model from the appendix A networks, build the semi-supervised streams (a share
``supervision`` of the training items stays paired, the rest is presented as unpaired single modalities, paper
section 4), train with :func:`specvae.training.loop.fit` selecting the best epoch on a validation split carved from the
training set, reload ``best.safetensors``, evaluate once on the test split, and write ``metrics.json`` and
``reconstructions.png`` into the run directory next to the loop's files. The test split is never used for selection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from specvae import __version__
from specvae.bench.oracle import OracleSettings
from specvae.datasets.batching import SemiSupervisedBatches
from specvae.errors import InputError
from specvae.models import ModelConfig, build_model, count_parameters
from specvae.training import checkpoint as ckpt
from specvae.training.loop import TrainConfig, fit

log = logging.getLogger("specvae.bench")
METRICS_FILE = "metrics.json"
PNG_FILE = "reconstructions.png"


@dataclass(frozen=True)
class BenchOptions:
    """What every bench command takes. ``train_limit`` > 0 uses only that many training items; ``eval_limit`` > 0
    only that many validation and test items (quick runs); ``n_validation`` items are held out of the training set.
    """

    model: str = "svae"
    supervision: float = 1.0
    gpu: int | None = None
    train_limit: int = 0
    eval_limit: int = 0
    n_validation: int = 5000
    oracle: OracleSettings = field(default_factory=OracleSettings)
    resume: bool = False
    overwrite: bool = False
    progress: bool = False

    def __post_init__(self):
        if not 0.0 <= self.supervision <= 1.0:
            raise InputError(f"--supervision is a fraction between 0 and 1 (0.01 = 1 %), got {self.supervision}")
        if self.train_limit < 0 or self.eval_limit < 0 or self.n_validation < 1:
            raise InputError("--train-limit and --eval-limit must be >= 0 and the validation split non-empty")


class IndexedSteps:
    """Step source for :func:`specvae.training.loop.fit` over named streams of per-modality row indices.

    ``streams``: e.g. ``{"paired": {"top": rows, "bottom": rows}, "top": {"top": rows2}, ...}`` (a stream's
    modalities share positions); ``fetch[name](rows)`` returns that modality's batch on the device. Each step is one
    batch of every stream (:class:`~specvae.datasets.batching.SemiSupervisedBatches`), paired first.
    """

    def __init__(self, streams: dict[str, dict[str, np.ndarray]], fetch: dict[str, Callable[[np.ndarray], Tensor]],
                 batch_size: int, seed: int):
        self.streams = {k: v for k, v in streams.items() if len(next(iter(v.values())))}
        self.fetch = fetch
        self.batches = SemiSupervisedBatches(
            {k: np.arange(len(next(iter(v.values())))) for k, v in self.streams.items()}, batch_size, seed)

    def steps_per_epoch(self) -> int:
        return self.batches.steps_per_epoch()

    def epoch(self, epoch: int):
        for step in self.batches.epoch(epoch):
            yield [{m: self.fetch[m](rows[pos]) for m, rows in self.streams[s].items()} for s, pos in step.items()]

    def sizes(self) -> dict[str, int]:
        return {k: len(next(iter(v.values()))) for k, v in self.streams.items()}


def semi_supervised(n: int, supervision: float, names: tuple[str, ...], seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Streams over ``n`` training items: ``round(supervision * n)`` seeded items stay paired, every other item is
    presented once per modality as unpaired data (its own stream per modality)."""
    perm = np.random.default_rng([seed, 1]).permutation(n)
    k = round(supervision * n)
    if supervision > 0 and k == 0:
        raise InputError(f"supervision {supervision:g} of {n} training items leaves no paired item; raise it")
    paired, rest = np.sort(perm[:k]), np.sort(perm[k:])
    streams = {"paired": {m: paired for m in names}}
    streams.update({m: {m: rest} for m in names})
    return streams


def limit(n: int, cap: int) -> int:
    return min(n, cap) if cap else n


def image_fetch(images: Tensor, part: slice | None = None) -> Callable[[np.ndarray], Tensor]:
    """Rows of ``uint8`` ``images`` (on the device) as float in [0, 1], optionally only the rows ``part`` of each."""
    def fetch(rows: np.ndarray) -> Tensor:
        x = images[torch.as_tensor(rows, device=images.device)]
        return (x if part is None else x[..., part, :]).float() / 255.0
    return fetch


def train_and_test(model_config: ModelConfig, source, evaluate, test, select: tuple[str, str], out: Path,
                   run_info: dict[str, Any], config: TrainConfig, opts: BenchOptions, device) -> dict[str, Any]:
    """Train (or resume), reload the best epoch and evaluate it on the test split; returns the summary."""
    torch.manual_seed(config.seed)
    net = build_model(model_config)
    n_params = count_parameters(net)
    log.info("%s: %s parameters; streams %s", model_config.model, f"{n_params:,}", run_info.get("streams"))
    run_info = {**run_info, "specvae_version": __version__, "torch_version": torch.__version__,
                "model": model_config.to_dict(), "parameters": n_params, "select": list(select),
                "options": {k: v for k, v in asdict(opts).items() if k not in ("progress", "resume", "overwrite")}}
    started = time.monotonic()
    summary = fit(net, source, evaluate, config=config, out_dir=out, run_info=run_info, device=device, select=select,
                  resume=opts.resume, overwrite=opts.overwrite, progress=opts.progress)
    ckpt.load_weights(out, ckpt.BEST, net)
    net.to(device).eval()
    results = test(net)
    history = ckpt.read_metrics(out)
    summary.update(model=model_config.model, parameters=n_params, test=results, device=str(device),
                   wall_seconds=round(time.monotonic() - started, 1),
                   train_seconds=round(sum(r["seconds"] for r in history), 1),
                   torch_threads=torch.get_num_threads())
    return summary, net


def write_summary(out: Path, summary: dict[str, Any]) -> None:
    ckpt.write_json(out / METRICS_FILE, summary)


__all__ = ["BenchOptions", "IndexedSteps", "image_fetch", "limit", "semi_supervised", "train_and_test",
           "write_summary"]
