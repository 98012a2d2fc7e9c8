"""MNIST-Split (two halves, paper section 4.1, Table 1) and MNIST-Split-3 (three parts, section 3.5):
``specvae bench mnist-split`` / ``mnist-split-3``, from the MNIST folder to a run directory
(:mod:`specvae.bench.common`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from specvae.bench import metrics
from specvae.bench.common import (
    PNG_FILE,
    BenchOptions,
    IndexedSteps,
    image_fetch,
    limit,
    semi_supervised,
    train_and_test,
    write_summary,
)
from specvae.bench.nets import SPLIT_IMAGE
from specvae.bench.oracle import mnist_oracle
from specvae.models import ModalityConfig, ModelConfig
from specvae.training import checkpoint as ckpt
from specvae.training.loop import TrainConfig, check_run_directory, resolve_device


def split_model_config(model: str, n_parts: int = 2, latent_dim: int = 64, height: int = 28, width: int = 28,
                       **net_options) -> ModelConfig:
    """MNIST-Split (two 14 x 28 halves, table A.2) or MNIST-Split-3 (three 9 x 28 parts, table A.7), latent 64."""
    from specvae.datasets.images import part_rows

    rows = part_rows(height, n_parts)[0]
    mods = tuple(ModalityConfig(name, (1, rows.stop - rows.start, width), "bernoulli",
                                encoder=SPLIT_IMAGE, decoder=SPLIT_IMAGE,
                                net_options=dict(net_options))
                 for name in metrics.part_names(n_parts))
    return ModelConfig(model=model, modalities=mods, latent_dim=latent_dim)


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
        model_config = ckpt.model_config(out)
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


def run_mnist_split3(data: str | Path, out: str | Path, *, opts: BenchOptions = BenchOptions(),
                     config: TrainConfig = TrainConfig(epochs=50, batch_size=100, lr=2e-4)) -> dict[str, Any]:
    """MNIST-Split-3: :func:`run_mnist_split` with three parts, trained for the paper's 50 epochs (appendix A)."""
    return run_mnist_split(data, out, n_parts=3, opts=opts, config=config)


__all__ = ["run_mnist_split", "run_mnist_split3", "split_model_config"]
