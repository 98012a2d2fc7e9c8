"""The image benchmarks as library functions: ``run_mnist_split`` (two halves or three parts), and the shared parts
(step source, semi-supervised streams, options, the run directory) used by :mod:`specvae.bench.pairs` as well.

Every run is one call: build the model from the appendix A networks, build the semi-supervised streams (a share
``supervision`` of the training items stays paired, the rest is presented as unpaired single modalities, paper
section 4), train with :func:`specvae.training.loop.fit` selecting the best epoch on a validation split carved from the
training set, reload ``best.safetensors``, evaluate once on the test split, and write ``metrics.json`` and
``reconstructions.png`` into the run directory next to the loop's files. The test split is never used for selection.
"""

from __future__ import annotations

import json
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
from specvae.bench import metrics
from specvae.bench.oracle import OracleSettings
from specvae.datasets.batching import SemiSupervisedBatches
from specvae.errors import InputError
from specvae.models import ModalityConfig, ModelConfig, build_model, count_parameters
from specvae.training import checkpoint as ckpt
from specvae.training.loop import TrainConfig, check_run_directory, fit, resolve_device

log = logging.getLogger("specvae.bench")
NETS = "specvae.bench.nets"
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
    history = [json.loads(line) for line in (out / ckpt.METRICS_FILE).read_text().splitlines()]
    summary.update(model=model_config.model, parameters=n_params, test=results, device=str(device),
                   wall_seconds=round(time.monotonic() - started, 1),
                   train_seconds=round(sum(r["seconds"] for r in history), 1),
                   torch_threads=torch.get_num_threads())
    return summary, net


def write_summary(out: Path, summary: dict[str, Any]) -> None:
    ckpt.write_json(out / METRICS_FILE, summary)


# --- MNIST-Split and MNIST-Split-3 ---------------------------------------------------------------------------------

def split_model_config(model: str, n_parts: int = 2, latent_dim: int = 64, height: int = 28, width: int = 28,
                       **net_options) -> ModelConfig:
    """MNIST-Split (two 14 x 28 halves, table A.2) or MNIST-Split-3 (three 9 x 28 parts, table A.7), latent 64."""
    from specvae.datasets.images import part_rows

    rows = part_rows(height, n_parts)[0]
    mods = tuple(ModalityConfig(name, (1, rows.stop - rows.start, width), "bernoulli",
                                encoder=f"{NETS}:SplitImageEncoder", decoder=f"{NETS}:SplitImageDecoder",
                                net_options=dict(net_options))
                 for name in metrics.part_names(n_parts))
    return ModelConfig(model=model, modalities=mods, latent_dim=latent_dim)


def mnist_oracle(data: Path, n_validation: int, settings: OracleSettings, device, progress: bool):
    """The cached MNIST oracle (trained on MNIST train minus the same validation rows the VAEs hold out)."""
    from specvae.bench.oracle import load_or_train
    from specvae.datasets.images import mnist_digest, read_mnist, validation_split

    def load_data():
        train, test = read_mnist(data, "train"), read_mnist(data, "test")
        tr, va = validation_split(len(train), n_validation, seed=0)
        return train.images[tr], train.labels[tr], train.images[va], train.labels[va], test.images, test.labels

    return load_or_train("mnist", f"{mnist_digest(data)}:val{n_validation}", load_data, 1, 28, settings, device,
                         progress)


def run_mnist_split(data: str | Path, out: str | Path, *, n_parts: int = 2, opts: BenchOptions = BenchOptions(),
                    config: TrainConfig = TrainConfig(epochs=200, batch_size=100, lr=2e-4)) -> dict[str, Any]:
    """Train and test one model on MNIST-Split (``n_parts=2``) or MNIST-Split-3 (``n_parts=3``); see the module.

    The validation split (``opts.n_validation`` images, at most a fifth of the set, seed 0) is carved from MNIST
    train; the best epoch is the one with the highest validation accuracy of the image reconstructed from the top
    part (appendix A); only that accuracy is computed on the validation split after each epoch, all of them once on
    the test split at the end.
    """
    from specvae.datasets.images import part_rows, read_mnist, validation_split

    data, out = Path(data), Path(out)
    device = resolve_device(opts.gpu)
    check_run_directory(out, opts.resume, opts.overwrite)
    bench = "mnist-split" if n_parts == 2 else f"mnist-split-{n_parts}"
    train, test = read_mnist(data, "train"), read_mnist(data, "test")
    n_validation = min(opts.n_validation, len(train) // 5)
    tr, va = validation_split(len(train), n_validation, seed=0)
    tr = tr[: limit(len(tr), opts.train_limit)]
    va = va[: limit(len(va), opts.eval_limit)]
    te = np.arange(limit(len(test), opts.eval_limit))
    oracle, oracle_record = mnist_oracle(data, n_validation, opts.oracle, device, opts.progress)
    if opts.resume:
        model_config = ModelConfig.from_dict(ckpt.read_json(out / ckpt.CONFIG_FILE)["model"])
    else:
        model_config = split_model_config(opts.model, n_parts)
    names = tuple(model_config.modality(n).name for n in metrics.part_names(n_parts))
    images = torch.as_tensor(train.images[tr]).to(device)  # (N, 1, 28, 28) uint8
    fetch = {n: image_fetch(images, s) for n, s in zip(names, part_rows(28, n_parts))}
    streams = semi_supervised(len(tr), opts.supervision, names, config.seed)
    source = IndexedSteps(streams, fetch, config.batch_size, config.seed)
    val_x, val_y = train.images[va], train.labels[va]

    def evaluate(model):  # the selection metric only: reconstructions cost a CPU about 10 ms per image and set
        return metrics.split_accuracies(model, oracle, val_x, val_y, device, which=["top"], prefix="val_acc")

    def test_metrics(model):
        return metrics.split_accuracies(model, oracle, test.images[te], test.labels[te], device, prefix="acc")

    run_info = {"task": f"bench-{bench}", "bench": bench, "supervision": opts.supervision, "streams": source.sizes(),
                "data": {"path": str(data), "n_train": len(tr), "n_validation": len(va), "n_test": len(te)},
                "oracle": oracle_record}
    summary, net = train_and_test(model_config, source, evaluate, test_metrics, ("val_acc_top", "max"), out, run_info,
                                  config, opts, device)
    summary.update(bench=bench, supervision=opts.supervision, oracle={k: oracle_record.get(k) for k in
                   ("val_accuracy", "test_accuracy", "path", "n_train")}, n_test=len(te), streams=source.sizes())
    write_summary(out, summary)
    from specvae.bench.plots import split_grid

    split_grid(net, test.images[te], test.labels[te], out / PNG_FILE, device)
    return summary


__all__ = ["BenchOptions", "IndexedSteps", "run_mnist_split", "semi_supervised", "split_model_config"]
