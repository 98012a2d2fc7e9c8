"""The image data manifests parse, and the MNIST one matches the shared copy byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from specvae.datasets.images import files_digest

MANIFESTS = Path(__file__).resolve().parents[2] / "data-manifests"


@pytest.mark.parametrize("name", ["mnist", "svhn", "cub"])
def test_manifest_has_source_licence_and_files(name):
    yaml = pytest.importorskip("yaml")
    data = yaml.safe_load((MANIFESTS / f"{name}.yaml").read_text())
    assert data["name"] == name and data["source"] and data["licence"]
    assert all("path" in f and "records" in f for f in data["files"])


def test_mnist_manifest_matches_shared_files(shared_data):
    import hashlib

    yaml = pytest.importorskip("yaml")
    for entry in yaml.safe_load((MANIFESTS / "mnist.yaml").read_text())["files"]:
        path = shared_data / "mnist" / entry["path"]
        assert path.stat().st_size == entry["bytes"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    assert len(files_digest([shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz"])) == 64
