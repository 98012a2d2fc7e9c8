"""``specvae train`` on CPU at toy widths: run directory, best epoch, resume, two-process DDP, device errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from builders import write_dataset
from typer.testing import CliRunner

from specvae.cli import app
from specvae.errors import InputError
from specvae.retrieval.predict import Predictor
from specvae.training.checkpoint import load_tensors
from specvae.training.loop import TrainConfig
from specvae.training.spectra import train_spectra


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"), n_structures=16)


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_train_writes_a_complete_run(data_dir, tmp_path):
    run = tmp_path / "run"
    summary = train_spectra(data_dir, run, model="vaevae", preset="tiny",
                            config=TrainConfig(epochs=3, batch_size=4, lr=1e-3))
    records = _records(run)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    best = min(records, key=lambda r: r["val_fp_ce"])
    assert summary["best_epoch"] == best["epoch"] and summary["val_fp_ce"] == pytest.approx(best["val_fp_ce"])
    assert all(0 <= r["val_bit_acc"] <= 1 and r["val_fp_ce"] > 0 for r in records)
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["model"] == "vaevae"
    assert config["fingerprint"] == {"name": "test", "version": "1", "n_bits": 24}
    assert len(config["data"]["sha256"]) == 64 and config["train"]["seed"] == 0
    assert config["bit_frequency_baseline"]["val_fp_ce"] > 0
    predictor = Predictor.from_run(run)
    spectra = np.zeros((2, 11000), np.float32)
    spectra[:, 137] = 4.0
    probs = predictor.predict_bits(spectra)
    assert probs.shape == (2, 24) and ((probs > 0) & (probs < 1)).all()
    sampled = predictor.predict_bits(spectra, mode="sample", n_samples=4, seed=1)
    assert sampled.shape == (2, 24) and not np.allclose(sampled, probs)


def test_resume_continues_exactly_where_it_stopped(data_dir, tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    cfg = dict(model="svae", preset="tiny")
    train_spectra(data_dir, straight, config=TrainConfig(epochs=4, batch_size=4, lr=1e-3), **cfg)
    train_spectra(data_dir, split, config=TrainConfig(epochs=2, batch_size=4, lr=1e-3), **cfg)
    train_spectra(data_dir, split, config=TrainConfig(epochs=4, batch_size=4, lr=1e-3), resume=True, **cfg)
    assert [r["epoch"] for r in _records(split)] == [1, 2, 3, 4]
    a, b = load_tensors(straight / "last.safetensors"), load_tensors(split / "last.safetensors")
    for key in a:
        torch.testing.assert_close(a[key], b[key], msg=f"{key} differs after resume")


def test_existing_run_is_not_overwritten(data_dir, tmp_path):
    run = tmp_path / "run"
    train_spectra(data_dir, run, preset="tiny", config=TrainConfig(epochs=1, batch_size=4))
    result = CliRunner().invoke(app, ["train", "--data", str(data_dir), "--out", str(run), "--preset", "tiny"])
    assert result.exit_code == 1
    assert "already holds a run" in result.output and "Traceback" not in result.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_missing_gpu_is_a_one_line_error(data_dir, tmp_path):
    result = CliRunner().invoke(app, ["train", "--data", str(data_dir), "--out", str(tmp_path / "r"), "--gpu", "0"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("specvae: error: --gpu 0") and len(result.output.strip().splitlines()) == 1


def test_unknown_model_is_a_one_line_error(data_dir, tmp_path):
    result = CliRunner().invoke(app, ["train", "--data", str(data_dir), "--out", str(tmp_path / "r"),
                                      "--model", "transformer", "--preset", "tiny"])
    assert result.exit_code == 1 and "unknown model 'transformer'" in result.output


@pytest.mark.slow
def test_two_cpu_processes_with_gloo(data_dir, tmp_path):
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29561",
           "-m", "specvae", "-q", "train", "--data", str(data_dir), "--out", str(run), "--preset", "tiny",
           "--epochs", "2", "--batch-size", "4", "--model", "vaevae"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
    assert [r["epoch"] for r in _records(run)] == [1, 2]


@pytest.mark.slow
def test_train_on_the_ingested_demo_sample(tmp_path):
    """The real chain: packaged MassBank sample -> ingest (RDKit fingerprints) -> train -> predict."""
    from importlib.resources import files

    from specvae.ingest import ingest

    sample = files("specvae") / "data" / "massbank_demo.msp.gz"
    ingest([str(sample)], tmp_path / "data", fingerprint="morgan2")
    run = tmp_path / "run"
    summary = train_spectra(tmp_path / "data", run, model="svae", preset="tiny", supervision=0.5,
                            config=TrainConfig(epochs=2, batch_size=32, lr=1e-3, max_steps_per_epoch=4))
    assert summary["epochs"] == 2 and summary["streams"]["spectrum"] > 0 and summary["streams"]["fingerprint"] > 0
    config = json.loads((run / "config.json").read_text())
    assert config["fingerprint"]["name"] == "morgan2" and config["ion_mode"] == "positive"
    assert Predictor.from_run(run).predict_bits(np.zeros((1, 11000), np.float32)).shape == (1, 2048)


def test_bit_frequency_baseline_is_the_marginal_predictor(data_dir):
    from specvae.datasets.spectra import DeviceSpectra, SpectraDataset, training_streams
    from specvae.training.spectra import bit_frequency_baseline

    ds = SpectraDataset.load(data_dir)
    streams = training_streams(ds)
    data = DeviceSpectra(ds, torch.device("cpu"))
    got = bit_frequency_baseline(data, streams.paired, streams.validation)
    train = data.fingerprint_bits(streams.paired).numpy().astype(np.float64)
    val = data.fingerprint_bits(streams.validation).numpy().astype(np.float64)
    p = np.clip(train.mean(0), 1e-7, 1 - 1e-7)
    ce = -(val * np.log(p) + (1 - val) * np.log(1 - p)).sum(1).mean()
    hard = p > 0.5
    tanimoto = [(hard & (v > 0)).sum() / max((hard | (v > 0)).sum(), 1) if (hard | (v > 0)).any() else 1.0
                for v in val]
    assert got["val_fp_ce"] == pytest.approx(ce, rel=1e-5)
    assert got["val_bit_acc"] == pytest.approx((hard == val).mean(), rel=1e-6)
    assert got["val_tanimoto"] == pytest.approx(np.mean(tanimoto), rel=1e-5)
    assert bit_frequency_baseline(data, streams.paired[:0], streams.validation) == {}


def test_validation_metrics_build_no_autograd_graph(data_dir):
    from specvae.datasets.spectra import DeviceSpectra, SpectraDataset, training_streams
    from specvae.models import build_model, spectra_model_config
    from specvae.training.spectra import fingerprint_metrics

    ds = SpectraDataset.load(data_dir)
    model = build_model(spectra_model_config("svae", n_bits=ds.spec.n_bits, preset="tiny"))
    seen = []
    model.register_forward_pre_hook(lambda module, args: seen.append(torch.is_grad_enabled()))
    fingerprint_metrics(model, DeviceSpectra(ds, torch.device("cpu")), training_streams(ds).validation)
    assert seen and not any(seen)


def test_weight_average_is_what_is_evaluated_saved_and_resumed(data_dir, tmp_path):
    straight, split, plain = tmp_path / "straight", tmp_path / "split", tmp_path / "plain"
    cfg = dict(model="svae", preset="tiny")
    train = dict(batch_size=4, lr=1e-3)
    train_spectra(data_dir, plain, config=TrainConfig(epochs=2, **train), **cfg)
    train_spectra(data_dir, straight, config=TrainConfig(epochs=4, ema=0.9, **train), **cfg)
    train_spectra(data_dir, split, config=TrainConfig(epochs=2, ema=0.9, **train), **cfg)
    # the same optimisation as without the average: the trained weights of epoch 2 are the plain run's
    trained, averaged = load_tensors(split / "last-train.safetensors"), load_tensors(split / "last.safetensors")
    for key, value in load_tensors(plain / "last.safetensors").items():
        torch.testing.assert_close(trained[key], value, msg=f"{key}: the average changed the training")
    moved = [k for k in trained if trained[k].is_floating_point() and not torch.equal(trained[k], averaged[k])]
    assert moved, "the saved weights are not an average: they equal the trained weights"
    train_spectra(data_dir, split, config=TrainConfig(epochs=4, ema=0.9, **train), resume=True, **cfg)
    for name in ("last.safetensors", "last-train.safetensors"):
        a, b = load_tensors(straight / name), load_tensors(split / name)
        for key in a:
            torch.testing.assert_close(a[key], b[key], msg=f"{name} {key} differs after resume")
    assert [r["epoch"] for r in _records(split)] == [1, 2, 3, 4]
    assert Predictor.from_run(straight).predict_bits(np.zeros((1, 11000), np.float32)).shape == (1, 24)


def test_weight_average_decay_out_of_range_is_refused():
    with pytest.raises(InputError, match="ema"):
        TrainConfig(ema=1.0)
