"""``specvae bench mnist-split | mnist-split-3 | mnist-svhn | cub``: the paper's image benchmarks (section 4.1-4.3).

Each command trains one model at one supervision level, selects the best epoch on a validation split, evaluates it
on the test split, writes ``metrics.json`` and ``reconstructions.png`` into ``--out`` and prints the result beside
the paper's numbers. What to download for each benchmark: ``docs/benchmarks-images.md``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from specvae.cli import _options as opt
from specvae.cli._app import bench_app, command, show_progress

DATA_HELP = {
    "mnist-split": "Folder with the four MNIST IDX files (gzip or raw); see `specvae data list` (manifest mnist).",
    "mnist-svhn": "Folder with the MNIST IDX files and SVHN train_32x32.mat/test_32x32.mat; see docs.",
    "cub": "MMVAE's CUB folder (text_*classes.txt, resnet101_2048/{train,test}.ft); see `specvae data list` "
           "(manifest cub).",
}


def _run(bench: str, config_file, data, out, model, supervision, epochs, batch_size, lr, gpu, seed, time_limit,
         train_limit, eval_limit, oracle_epochs, oracle_train_limit, resume, overwrite, max_steps):
    from specvae.bench import cub, mnist_split, mnist_svhn
    from specvae.bench.paper import format_table

    run = {"mnist-split": mnist_split.run_mnist_split, "mnist-split-3": mnist_split.run_mnist_split3,
           "mnist-svhn": mnist_svhn.run_mnist_svhn, "cub": cub.run_cub}[bench]
    help_text = DATA_HELP[bench if bench in DATA_HELP else "mnist-split"]
    base = opt.started_with(out, resume, {"data": ("data", "path"), "config": ("train",), "opts": ("options",)})
    if base:  # a resumed run keeps its data, training and benchmark options; the device is this machine's choice
        base["opts"] = {k: v for k, v in base["opts"].items() if k != "gpu"}
    s = opt.settings(config_file, [(run, ("n_parts",))], {
        "data": data, "out": out,  # 0 epochs, batch size or learning rate mean "the paper's", as they always did
        "config": opt.train_config(epochs or None, batch_size or None, lr or None, seed, time_limit, max_steps),
        "opts": {"model": model, "supervision": supervision, "gpu": gpu, "train_limit": train_limit,
                 "eval_limit": eval_limit, "oracle": {"epochs": oracle_epochs, "train_limit": oracle_train_limit,
                                                      "eval_limit": oracle_train_limit}}},
        required={"data": f"--data is required: {help_text} Details: docs/benchmarks-images.md",
                  "out": opt.REQUIRED["out"]}, base=base)
    s["opts"] = dataclasses.replace(s["opts"], resume=resume, overwrite=overwrite, progress=show_progress())
    summary = run(**s)
    opt.save_settings(s["out"], s, f"bench {bench}")
    test = summary["test"]
    keys = [k for k in test if isinstance(test[k], float)]
    ours = {k.removeprefix("acc_"): v for k, v in test.items()}
    typer.echo(format_table(bench, summary["model"], s["opts"].supervision, ours,
                            [k.removeprefix("acc_") for k in keys]))
    typer.echo(f"best epoch {summary['best_epoch']} of {summary['epochs']} ({summary['train_seconds']:.0f} s of "
               f"training on {summary['device']}, {summary['parameters']:,} parameters"
               + (f"; {summary['stopped']}" if summary.get("stopped") else "") + f"); results in {s['out']}")


def _options(bench: str):
    """The shared option set; defaults (None) come from the benchmark's library function or a --config file."""

    def cmd(
        data: Path = typer.Option(None, "--data", "-d", help=DATA_HELP.get(bench, DATA_HELP["mnist-split"])),
        out: Path = typer.Option(None, "--out", "-o", help="Run directory to create (weights, metrics, PNG)."),
        model: str = opt.ARCHITECTURE, supervision: float = opt.SUPERVISION,
        epochs: int = opt.EPOCHS, batch_size: int = opt.BATCH_SIZE, lr: float = opt.LR, gpu: int = opt.TRAIN_GPU,
        seed: int = opt.TRAIN_SEED, time_limit: float = opt.TIME_LIMIT, max_steps: int = opt.MAX_STEPS,
        train_limit: int = typer.Option(None, "--train-limit", help="Use only N training items (0: all)."),
        eval_limit: int = typer.Option(None, "--eval-limit", help="Use only N validation and N test items (0: all)."),
        oracle_epochs: int = typer.Option(None, "--oracle-epochs", help="Epochs of the oracle's first training."),
        oracle_train_limit: int = typer.Option(None, "--oracle-train-limit", hidden=True),
        threads: int = opt.THREADS,
        config: Path = opt.CONFIG, resume: bool = opt.RESUME, overwrite: bool = opt.OVERWRITE_RUN,
    ):
        opt.use_threads(threads)
        _run(bench, config, data, out, model, supervision, epochs, batch_size, lr, gpu, seed, time_limit, train_limit,
             eval_limit, oracle_epochs, oracle_train_limit, resume, overwrite, max_steps)

    return cmd


def _register(bench: str, doc: str) -> None:
    cmd = _options(bench)
    cmd.__doc__ = doc
    cmd.__name__ = bench.replace("-", "_")
    command(bench_app, name=bench)(cmd)


_register("mnist-split", "MNIST top and bottom halves as two modalities (paper 4.1, Table 1).")
_register("mnist-split-3", "MNIST in three horizontal parts, n-modal SVAE and VAEVAE (paper 3.5, 4.1).")
_register("mnist-svhn", "MNIST paired with SVHN by digit; cross and joint coherence (paper 4.2).")
_register("cub", "CUB image features and captions; CCA coherence (paper 4.3).")
