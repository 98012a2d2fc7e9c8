"""``specvae demo``: the README's first command, end to end on the packaged sample (one epoch)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from specvae.cli import app


@pytest.mark.slow
def test_demo_runs_every_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECVAE_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["-q", "demo", "--out", str(out), "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "Top-1" in result.output and "median rank 238" in result.output  # random ordering
    assert "training frequency instead" in result.output
    for name in ("SVAE trained here", "default model (packaged)", "bit-frequency baseline"):
        assert name in result.output
    for part in ("data/dataset.parquet", "data/report.json", "run/best.safetensors", "run/metrics.jsonl",
                 "test_spectra.mgf", "candidates.csv", "ranked/summary.tsv", "ranked-default-model/summary.tsv",
                 "ranked-bit-frequency/summary.tsv", "run/calibration.json", "run/confidence.json",
                 "run/training_curve.png", "ranked/report.html", "summary.json", "summary.txt"):
        assert (out / part).exists(), part
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_spectra"] == 189 and set(summary["ranking"]) == {"svae", "default", "bit_frequency"}
    assert summary["report"] == str(out / "ranked" / "report.html") and "report.html in a browser" in result.output
    assert (out / "summary.txt").read_text().strip() in result.output, "the text printed is the text written"
    assert (out / "run" / "training_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((out / "ranked" / "rankings").glob("*.tsv"))) == 189, "one ranking per test spectrum"
    again = CliRunner().invoke(app, ["-q", "demo", "--out", str(out), "--epochs", "1"])
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_demo_overwrites_only_a_demo_output(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.tex").write_text("keep me")
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "notes"), "--overwrite"])
    assert result.exit_code == 1 and "specvae did not write it" in result.output
    assert (tmp_path / "notes" / "thesis.tex").read_text() == "keep me"
