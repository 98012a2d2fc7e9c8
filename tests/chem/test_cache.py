"""The fingerprint cache: hits and misses, spec separation, and two processes writing at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from specvae.chem.cache import FingerprintCache, default_cache_path
from specvae.chem.fingerprints import FingerprintSpec, compute_fingerprints, get_fingerprinter
from specvae.chem.structures import parse_structure

SPEC = FingerprintSpec("test", "1", 12)


def test_default_location_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SPECVAE_CACHE_DIR", str(tmp_path))
    assert default_cache_path() == tmp_path / "fingerprints.sqlite"
    monkeypatch.delenv("SPECVAE_CACHE_DIR")
    assert default_cache_path().parts[-3:] == (".cache", "specvae", "fingerprints.sqlite")


def test_put_then_get_and_specs_do_not_mix(tmp_path):
    with FingerprintCache(tmp_path / "c.sqlite") as cache:
        assert cache.get_many(SPEC, ["A", "B"]) == {}
        assert cache.put_many(SPEC, [("A", b"\x01\x02"), ("B", b"\x03\x04")]) == 2
        assert cache.put_many(SPEC, [("A", b"\xff\xff")]) == 0  # first writer wins
        assert cache.get_many(SPEC, ["A", "C", "B", "A"]) == {"A": b"\x01\x02", "B": b"\x03\x04"}
        other = FingerprintSpec("test", "2", 12)
        assert cache.get_many(other, ["A"]) == {}
        with pytest.raises(ValueError, match="expected 2"):
            cache.put_many(SPEC, [("D", b"\x01")])
        assert cache.count(SPEC) == 2


def test_compute_fingerprints_reads_hits_and_writes_misses(tmp_path):
    structures = [parse_structure(smiles=s)[1] for s in ("CCO", "c1ccccc1O", "OCC")]  # OCC is CCO again
    fp = get_fingerprinter("maccs")
    cache = FingerprintCache(tmp_path / "c.sqlite")
    first = compute_fingerprints(structures, fp, cache=cache)
    assert cache.count(fp.spec) == 2
    np.testing.assert_array_equal(first[0], first[2])
    # a hit is served from the cache: plant a marker value and see it come back
    marker = np.zeros((1, 166), np.uint8)
    marker[0, :3] = 1
    with FingerprintCache(tmp_path / "c2.sqlite") as planted:
        planted.put_many(fp.spec, [(structures[0].inchikey, np.packbits(marker)[None][0].tobytes())])
        again = compute_fingerprints(structures, fp, cache=planted)
    np.testing.assert_array_equal(again[0], marker[0])
    np.testing.assert_array_equal(again[1], first[1])  # the miss was computed
    assert np.array_equal(compute_fingerprints(structures, fp, cache=cache), first)


WRITER = textwrap.dedent("""
    import sys
    from specvae.chem.cache import FingerprintCache
    from specvae.chem.fingerprints import FingerprintSpec
    spec = FingerprintSpec("test", "1", 16)
    cache = FingerprintCache(sys.argv[1], timeout=60)
    tag = sys.argv[2]
    for batch in range(40):
        rows = [(f"KEY{batch:03d}{i:03d}", bytes([batch, i])) for i in range(50)]
        rows += [(f"{tag}{batch:03d}{i:03d}", bytes([batch, i])) for i in range(50)]
        cache.put_many(spec, rows)
        assert len(cache.get_many(spec, [k for k, _ in rows])) == 100
    print("ok")
""")


def test_two_processes_write_the_same_cache_at_once(tmp_path):
    path = tmp_path / "shared.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for tag in ("P", "Q")]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert out.strip() == "ok"
    with FingerprintCache(path) as cache:
        assert cache.count(FingerprintSpec("test", "1", 16)) == 40 * 50 * 3  # shared keys once, each tag's own
