"""Data manifests: every committed manifest parses, and verify() reports missing, resized and changed files."""

from __future__ import annotations

import hashlib

import pytest
from typer.testing import CliRunner

from specvae.cli import app
from specvae.datasets.manifests import load_manifest, shipped_manifests, verify

MANIFESTS = list(shipped_manifests().values())


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_committed_manifests_are_complete(path):
    m = load_manifest(path)
    assert m["name"] and m["source"] and m["licence"]
    for entry in m["files"]:
        assert entry["path"] and len(entry.get("sha256", "0" * 64)) == 64


def test_verify_reports_each_problem(tmp_path):
    good, changed = tmp_path / "good.txt", tmp_path / "changed.txt"
    good.write_text("spectra\n")
    changed.write_text("spectrb\n")
    digest = hashlib.sha256(b"spectra\n").hexdigest()
    manifest = {"name": "t", "files": [
        {"path": "good.txt", "bytes": 8, "sha256": digest},
        {"path": "changed.txt", "bytes": 8, "sha256": digest},
        {"path": "short.txt", "bytes": 8},
        {"path": "absent.txt"},
    ]}
    (tmp_path / "short.txt").write_text("x")
    assert [c.status for c in verify(manifest, tmp_path)] == ["ok", "sha256", "size", "missing"]
    assert [c.status for c in verify(manifest, tmp_path, checksums=False)][:2] == ["ok", "ok"]


def test_verify_shared_massbank(shared_data):
    result = CliRunner().invoke(app, ["data", "verify", "massbank", "--root",
                                      str(shared_data / "massbank")])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok") == 2
