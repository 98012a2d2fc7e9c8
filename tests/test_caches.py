"""specvae's cache folder: cache info, cache clear (only specvae's files, only with --yes), the size note."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from specvae import caches
from specvae.chem.cache import FingerprintCache
from specvae.chem.fingerprints import get_fingerprinter

runner = CliRunner()


@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    """A cache folder with a real fingerprint cache, an oracle file and a file of the user's own."""
    root = tmp_path / "cache"
    monkeypatch.setenv("SPECVAE_CACHE_DIR", str(root))
    spec = get_fingerprinter("morgan2").spec
    with FingerprintCache() as cache:
        cache.put_many(spec, [("AAAAAAAAAAAAAA-BBBBBBBBBB-N", bytes((spec.n_bits + 7) // 8)),
                              ("CCCCCCCCCCCCCC-DDDDDDDDDD-N", bytes((spec.n_bits + 7) // 8))])
        cache.put_canonical("v1", [("CCO", "{}")])
    (root / "oracles").mkdir()
    (root / "oracles" / "mnist-0123.safetensors").write_bytes(b"x" * 100)
    (root / "notes.txt").write_text("mine")
    return root


def test_cache_info_lists_location_size_and_entries(cache_root):
    from specvae.cli import app

    result = runner.invoke(app, ["cache", "info"])
    assert result.exit_code == 0, result.output
    assert f"location: {cache_root} (from $SPECVAE_CACHE_DIR)" in result.output
    assert "fingerprints morgan2" in result.output and ": 2" in result.output
    assert "canonical structure forms: 1" in result.output and "image-benchmark oracles: 1" in result.output
    size = sum(f.bytes for f in caches.cache_files(cache_root))
    assert size > 100 and f"size: {caches.human_bytes(size)}" in result.output


def test_cache_clear_needs_yes_and_removes_only_specvae_files(cache_root):
    from specvae.cli import app

    result = runner.invoke(app, ["cache", "clear"])
    assert result.exit_code == 1 and result.output.startswith("specvae: error:") and "--yes" in result.output
    assert (cache_root / caches.FINGERPRINT_FILE).exists()
    result = runner.invoke(app, ["cache", "clear", "--yes"])
    assert result.exit_code == 0 and "removed" in result.output, result.output
    assert sorted(p.name for p in cache_root.rglob("*")) == ["notes.txt"]  # the user's file stays, oracles/ goes
    (cache_root / "notes.txt").unlink()
    result = runner.invoke(app, ["cache", "clear", "--yes"])
    assert result.exit_code == 0 and "removed 0 file(s)" in result.output and not cache_root.exists()


def test_a_large_cache_earns_one_note(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(caches.NOTE_VARIABLE, "0.000001")  # 1 kB
    spec = get_fingerprinter("morgan2").spec
    width = (spec.n_bits + 7) // 8
    with caplog.at_level(logging.WARNING, logger="specvae"), FingerprintCache(tmp_path / "fp.sqlite") as cache:
        cache.put_many(spec, [(f"{i:014d}-AAAAAAAAAA-N", bytes(width)) for i in range(20)])
        cache.put_many(spec, [(f"{i:014d}-BBBBBBBBBB-N", bytes(width)) for i in range(20)])
    notes = [r.getMessage() for r in caplog.records if "fingerprint cache" in r.getMessage()]
    assert len(notes) == 1 and "specvae cache clear --yes" in notes[0] and str(tmp_path / "fp.sqlite") in notes[0]
    monkeypatch.setenv(caches.NOTE_VARIABLE, "0")
    assert caches.note_threshold() == 0 and not caches.note_if_large(tmp_path / "other.sqlite")
    monkeypatch.setenv(caches.NOTE_VARIABLE, "lots")
    with pytest.raises(ValueError, match="number of gigabytes"):
        caches.note_threshold()
