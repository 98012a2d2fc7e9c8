"""``specvae bench ...`` end to end on a few hundred images for one epoch, with a tiny oracle cached in tmp."""

from __future__ import annotations

import json

import pytest
from image_builders import write_cub, write_mnist, write_svhn
from typer.testing import CliRunner

from specvae.cli import app

QUICK = ["--epochs", "1", "--train-limit", "200", "--eval-limit", "40", "--oracle-epochs", "1",
         "--oracle-train-limit", "300", "--batch-size", "50", "--max-steps-per-epoch", "2"]


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECVAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _run(args):
    result = CliRunner().invoke(app, ["-q", "bench", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_mnist_split_on_real_mnist(shared_data, tmp_path, cache):
    out = tmp_path / "run"
    text = _run(["mnist-split", "--data", str(shared_data / "mnist"), "--out", str(out), "--model", "svae", *QUICK])
    assert "paper" in text and "0.948" in text and "0.872" in text  # Table 1 beside ours
    summary = json.loads((out / "metrics.json").read_text())
    assert set(summary["test"]) == {"acc_both", "acc_top", "acc_bottom"}
    assert summary["n_test"] == 40 and summary["oracle"]["n_train"] == 300
    assert (out / "reconstructions.png").stat().st_size > 1000 and (out / "best.safetensors").exists()
    config = json.loads((out / "config.json").read_text())
    assert config["select"] == ["val_acc_top", "max"] and config["data"]["n_validation"] == 40


def test_mnist_split_3_and_overwrite_rules(tmp_path, cache):
    data = write_mnist(tmp_path / "mnist", n_train=260, n_test=40)
    out = tmp_path / "run3"
    args = ["mnist-split-3", "--data", str(data), "--out", str(out), "--model", "svae", "--supervision", "0.1", *QUICK]
    text = _run(args)
    assert "not reported numerically" in text and "middle" in text
    assert set(json.loads((out / "metrics.json").read_text())["test"]) == {"acc_all", "acc_top", "acc_middle",
                                                                         "acc_bottom"}
    again = CliRunner().invoke(app, ["bench", *args])
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_mnist_svhn_and_cub_on_generated_files(tmp_path, cache):
    data = write_svhn(write_mnist(tmp_path / "ms", n_train=200, n_test=40), n_train=200, n_test=40)
    out = tmp_path / "ms-run"
    _run(["mnist-svhn", "--data", str(data), "--out", str(out), "--model", "mmvae", "--supervision", "0.5", *QUICK])
    test = json.loads((out / "metrics.json").read_text())["test"]
    assert {"cross_mnist_to_svhn", "cross_svhn_to_mnist", "joint"} <= set(test)
    cub = write_cub(tmp_path / "cubdata", n_train=10, n_test=4)
    out = tmp_path / "cub-run"
    _run(["cub", "--data", str(cub), "--out", str(out), "--model", "svae", "--supervision", "0.5", *QUICK])
    test = json.loads((out / "metrics.json").read_text())["test"]
    assert all(-1.0 <= test[k] <= 1.0 for k in ("cross_image_to_caption", "cross_caption_to_image", "joint"))
    assert (out / "reconstructions.png").exists()


def test_missing_data_says_what_to_download(tmp_path):
    result = CliRunner().invoke(app, ["bench", "mnist-split", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "--data is required" in result.output and "IDX" in result.output
    result = CliRunner().invoke(app, ["bench", "cub", "--data", str(tmp_path), "--out", str(tmp_path / "y")])
    assert result.exit_code == 1 and "cub.zip" in result.output


def test_resume_continues_with_the_runs_own_settings(tmp_path, cache):
    from specvae.settings import read_settings

    data = write_mnist(tmp_path / "mnist", n_train=260, n_test=40)
    out = tmp_path / "run"
    _run(["mnist-split", "--data", str(data), "--out", str(out), "--model", "vaevae", "--supervision", "0.1",
          "--lr", "3e-3", *QUICK])
    # an interrupted run has no settings.yaml (written at the end): neither --data nor the options again, only the
    # new epoch count; the rest comes from the run's config.json, not from the defaults
    (out / "settings.yaml").unlink()
    _run(["mnist-split", "--out", str(out), "--resume", "--epochs", "2"])
    used = read_settings(out / "settings.yaml")
    assert used["data"] == str(data) and used["config"]["epochs"] == 2 and used["config"]["lr"] == 3e-3
    assert used["opts"]["supervision"] == 0.1 and used["opts"]["model"] == "vaevae"
    assert used["opts"]["train_limit"] == 200 and used["opts"]["eval_limit"] == 40
    lrs = [json.loads(line)["lr"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert lrs == [3e-3, 3e-3]
