"""--threads reaches PyTorch and the worker count in real command runs; the resolved count is logged once."""

from __future__ import annotations

import os

import pytest
import yaml
from rank_helpers import write_tiny_run
from typer.testing import CliRunner

from specvae.cli import app

runner = CliRunner()
MGF = "BEGIN IONS\nTITLE=q1\nPEPMASS=138.0550\nCHARGE=1+\n120.04 100\n92.05 40\nEND IONS\n"
COMPUTE = [["ingest"], ["fingerprint"], ["db", "build"], ["train"], ["calibrate"], ["rank"], ["evaluate", "casmi"],
           ["demo"], ["bench", "mnist-split"], ["bench", "mnist-split-3"], ["bench", "mnist-svhn"], ["bench", "cub"]]


@pytest.fixture
def threads_restored(monkeypatch):
    """Put PyTorch's thread count and the thread variables back after the test."""
    import torch

    before = torch.get_num_threads()
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "SPECVAE_THREADS"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    yield torch
    torch.set_num_threads(before)


@pytest.mark.parametrize("path", COMPUTE, ids=" ".join)
def test_every_compute_command_has_threads(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0 and "--threads" in result.output, result.output


def test_rank_sets_torch_threads_and_logs_them(tmp_path, threads_restored):
    torch = threads_restored
    run = write_tiny_run(tmp_path / "run")
    (tmp_path / "q.mgf").write_text(MGF)
    (tmp_path / "c.csv").write_text("SMILES,id\nNc1ccccc1C(=O)O,a\nNc1ccc(cc1)C(=O)O,b\n")
    torch.set_num_threads(2)
    args = ["rank", str(tmp_path / "q.mgf"), "--model", str(run), "--candidates", str(tmp_path / "c.csv"),
            "--no-cache", "--threads", "1"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "r1.tsv")])
    assert result.exit_code == 0, result.output
    assert torch.get_num_threads() == 1 and os.environ["OMP_NUM_THREADS"] == "1"
    assert result.output.count("using 1 thread(s), from --threads") == 1, result.output
    os.environ["SPECVAE_THREADS"] = "2"  # restored by the fixture
    result = runner.invoke(app, [*args[:-2], "--out", str(tmp_path / "r2.tsv")])
    assert result.exit_code == 0, result.output
    assert torch.get_num_threads() == 2 and "using 2 thread(s), from $SPECVAE_THREADS" in result.output


def test_threads_are_the_default_worker_count(tmp_path, fixtures, threads_restored):
    torch = threads_restored
    torch.set_num_threads(1)
    mgf = tmp_path / "s.mgf"
    mgf.write_text("BEGIN IONS\nTITLE=s1\nPEPMASS=139.0633\nCHARGE=1+\nSMILES=Nc1ccccc1C(=O)O\n"
                   "120.04 100\n92.05 40\nEND IONS\n")
    base = ["-q", "ingest", str(mgf), "--fingerprint", "morgan2", "--no-cache"]
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "a"), "--threads", "2"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / "a" / "settings.yaml").read_text())["workers"] == 2
    assert torch.get_num_threads() == 1  # ingest does not touch PyTorch
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "b"), "--threads", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / "b" / "settings.yaml").read_text())["workers"] == 1
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "c"), "--threads", "0"])
    assert result.exit_code == 1 and result.output.startswith("specvae: error: Invalid value for '--threads'")
