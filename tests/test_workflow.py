"""The Snakemake workflow runs end to end (ingest -> train -> evaluate) on the packaged sample and CASMI fixtures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import REPO

from specvae.demo import packaged_sample


def test_snakemake_runs_the_whole_pipeline(fixtures, tmp_path):
    snakemake = shutil.which("snakemake", path=os.path.dirname(sys.executable)) or shutil.which("snakemake")
    if snakemake is None:
        pytest.skip("snakemake is not installed (pip install -e '.[test]' installs it)")
    casmi = fixtures / "casmi"
    config = {
        "out": str(tmp_path / "results"),
        "spectra": [str(packaged_sample())],
        "exclude_inchikeys": str(casmi / "solutions" / "casmi_2016_challenge_test.csv"),
        "molecules": [],
        "casmi": {"challenges": str(casmi / "spectra_raw_mgf" / "challenge"), "candidates": str(casmi / "candidates"),
                  "solutions": str(casmi / "solutions" / "casmi_2016_challenge_test.csv"), "ion_mode": "positive"},
        "models": ["svae"],
        "supervision": [1.0],
        "train": {"preset": "tiny", "epochs": 1, "batch_size": 64, "gpu": None, "extra": "--max-steps-per-epoch 3"},
        "workers": 1,
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    result = subprocess.run([snakemake, "-s", "workflows/Snakefile", "--configfile", str(tmp_path / "config.yaml"),
                             "--cores", "1", "--quiet"], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "results" / "evaluate" / "svae_s1.0" / "summary.json").read_text())
    assert summary["metrics"]["all"]["challenges"] > 0
    report = json.loads((tmp_path / "results" / "dataset" / "report.json").read_text())
    assert report["spectra"]["read"] == 2000
