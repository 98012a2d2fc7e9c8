"""``specvae demo``: the README's first command, end to end on the packaged sample (one epoch)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from specvae.cli import app


@pytest.mark.slow
def test_demo_runs_every_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECVAE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["-q", "demo", "--out", str(out), "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "Top-1" in result.output and "random ordering: 238" in result.output
    assert "training frequency instead" in result.output
    for part in ("data/dataset.parquet", "data/report.json", "run/best.safetensors", "run/metrics.jsonl",
                 "test_spectra.mgf", "candidates.csv", "ranked/summary.tsv"):
        assert (out / part).exists(), part
    again = CliRunner().invoke(app, ["-q", "demo", "--out", str(out), "--epochs", "1"])
    assert again.exit_code == 1 and "not empty" in again.output
