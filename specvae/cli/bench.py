"""``specvae bench mnist-split | mnist-split-3 | mnist-svhn | cub``: the paper's image benchmarks (section 4.1-4.3).

Each command trains one model at one supervision level, selects the best epoch on a validation split, evaluates it
on the test split, writes ``metrics.json`` and ``reconstructions.png`` into ``--out`` and prints the result beside
the paper's numbers. What to download for each benchmark: ``docs/benchmarks-images.md``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from specvae.cli._app import bench_app, command, show_progress

# Paper defaults per benchmark (appendix A): epochs, batch size, learning rate.
DEFAULTS = {"mnist-split": (200, 100, 2e-4), "mnist-split-3": (50, 100, 2e-4), "mnist-svhn": (50, 256, 1e-3),
            "cub": (200, 100, 1e-4)}

DATA_HELP = {
    "mnist-split": "Folder with the four MNIST IDX files (gzip or raw); see data-manifests/mnist.yaml.",
    "mnist-svhn": "Folder with the MNIST IDX files and SVHN train_32x32.mat/test_32x32.mat; see docs.",
    "cub": "MMVAE's CUB folder (text_*classes.txt, resnet101_2048/{train,test}.ft); see data-manifests/cub.yaml.",
}


def _data(value: Path | None, bench: str) -> Path:
    if value is None:
        raise ValueError(f"--data is required: {DATA_HELP[bench if bench in DATA_HELP else 'mnist-split']} "
                         "Details: docs/benchmarks-images.md")
    return value


def _run(bench: str, data, out, model, supervision, epochs, batch_size, lr, gpu, seed, time_limit, train_limit,
         eval_limit, oracle_epochs, oracle_train_limit, resume, overwrite, max_steps):
    from specvae.bench.common import BenchOptions
    from specvae.bench.oracle import OracleSettings
    from specvae.bench.paper import format_table
    from specvae.training.loop import TrainConfig

    e, b, lr_default = DEFAULTS[bench]
    config = TrainConfig(epochs=epochs or e, batch_size=batch_size or b, lr=lr or lr_default, seed=seed,
                         time_limit=time_limit, max_steps_per_epoch=max_steps)
    opts = BenchOptions(model=model, supervision=supervision, gpu=gpu, train_limit=train_limit, eval_limit=eval_limit,
                        n_validation=500 if bench == "cub" else 5000,
                        oracle=OracleSettings(epochs=oracle_epochs, train_limit=oracle_train_limit,
                                                              eval_limit=oracle_train_limit), resume=resume,
                        overwrite=overwrite, progress=show_progress())
    data = _data(data, bench)
    if bench in ("mnist-split", "mnist-split-3"):
        from specvae.bench.mnist_split import run_mnist_split

        summary = run_mnist_split(data, out, n_parts=2 if bench == "mnist-split" else 3, opts=opts, config=config)
    elif bench == "mnist-svhn":
        from specvae.bench.mnist_svhn import run_mnist_svhn

        summary = run_mnist_svhn(data, out, opts=opts, config=config)
    else:
        from specvae.bench.cub import run_cub

        summary = run_cub(data, out, opts=opts, config=config)
    test = summary["test"]
    keys = [k for k in test if isinstance(test[k], float)]
    ours = {k.removeprefix("acc_"): v for k, v in test.items()}
    typer.echo(format_table(bench, summary["model"], supervision, ours, [k.removeprefix("acc_") for k in keys]))
    typer.echo(f"best epoch {summary['best_epoch']} of {summary['epochs']} ({summary['train_seconds']:.0f} s of "
               f"training on {summary['device']}, {summary['parameters']:,} parameters"
               + (f"; {summary['stopped']}" if summary.get("stopped") else "") + f"); results in {out}")


def _options(bench: str):
    """The shared option set, with this benchmark's paper defaults in the help texts."""
    e, b, lr = DEFAULTS[bench]

    def cmd(
        data: Path = typer.Option(None, "--data", "-d", help=DATA_HELP.get(bench, DATA_HELP["mnist-split"])),
        out: Path = typer.Option(..., "--out", "-o", help="Run directory to create (weights, metrics, PNG)."),
        model: str = typer.Option("svae", "--model", "-m", help="svae, vaevae, vaevae_star, svae_star, mmvae."),
        supervision: float = typer.Option(1.0, "--supervision", help="Share of training items kept paired (0-1)."),
        epochs: int = typer.Option(0, "--epochs", help=f"Epochs (0: the paper's {e})."),
        batch_size: int = typer.Option(0, "--batch-size", help=f"Batch size per stream (0: the paper's {b})."),
        lr: float = typer.Option(0.0, "--lr", help=f"Adam learning rate (0: the paper's {lr:g})."),
        gpu: int = typer.Option(None, "--gpu", help="CUDA device index; omit to run on the CPU."),
        seed: int = typer.Option(0, "--seed", help="Seed for weights, supervision subset and batches."),
        time_limit: float = typer.Option(0.0, "--time-limit", help="Stop training after this many seconds."),
        max_steps: int = typer.Option(0, "--max-steps-per-epoch", help="Cap steps per epoch (0: full epochs)."),
        train_limit: int = typer.Option(0, "--train-limit", help="Use only N training items (0: all)."),
        eval_limit: int = typer.Option(0, "--eval-limit", help="Use only N validation and N test items (0: all)."),
        oracle_epochs: int = typer.Option(4, "--oracle-epochs", help="Epochs of the oracle's first training."),
        oracle_train_limit: int = typer.Option(0, "--oracle-train-limit", hidden=True),
        resume: bool = typer.Option(False, "--resume", help="Continue the run in --out after its last epoch."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run in --out."),
    ):
        _run(bench, data, out, model, supervision, epochs, batch_size, lr, gpu, seed, time_limit, train_limit,
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
