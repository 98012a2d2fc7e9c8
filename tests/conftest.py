"""Shared test fixtures: where the real data lives, markers, small builders.

Tests that need the large public files of ``../shared/data`` use the ``shared_data`` fixture, which skips with a stated
reason where that folder is absent (a user's clone has only ``tests/fixtures``). Set ``SPECVAE_SHARED_DATA`` to point
elsewhere.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# Toy models gain nothing from intra-op threads, and OpenMP threads spinning on a busy 2-core machine made single
# BatchNorm calls take tens of milliseconds. One thread per test process keeps the suite fast and steady.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The same for commands run in the test process: without --threads they use $SPECVAE_THREADS (else the free cores,
# and they would set PyTorch's threads for every later test).
os.environ.setdefault("SPECVAE_THREADS", "1")
# Never read or write the user's caches (fingerprints, canonical forms, oracles): a test run of work-in-progress code
# would otherwise leave its results where later real runs trust them. Subprocesses inherit the variable.
os.environ["SPECVAE_CACHE_DIR"] = tempfile.mkdtemp(prefix="specvae-test-cache-")
atexit.register(shutil.rmtree, os.environ["SPECVAE_CACHE_DIR"], ignore_errors=True)

# Durability against power loss (fsync) is no concern of a test's temporary files and costs seconds over the suite;
# every write is still atomic (temporary file + rename). Subprocesses inherit the variable.
os.environ.setdefault("SPECVAE_FSYNC", "0")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
sys.path.insert(0, str(REPO / "tests"))  # tests/builders.py


def _shared_data() -> Path:
    """``$SPECVAE_SHARED_DATA``, else the nearest ``shared/data`` beside the checkout or one of its parents (a git
    worktree such as ``wt/<branch>`` sits one level deeper than the main checkout)."""
    if os.environ.get("SPECVAE_SHARED_DATA"):
        return Path(os.environ["SPECVAE_SHARED_DATA"])
    for parent in REPO.parents:
        if (parent / "shared" / "data" / "README.md").exists():
            return parent / "shared" / "data"
    return REPO.parent / "shared" / "data"


SHARED_DATA = _shared_data()


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The committed test fixtures (small, openly licensed samples; see tests/fixtures/SOURCE.md)."""
    return FIXTURES


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (MassBank, CASMI 2016, MNIST, ...); the test is skipped when it is not there."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"needs the shared public data set at {SHARED_DATA} (set SPECVAE_SHARED_DATA); not on this machine")
    return SHARED_DATA


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU; none on this machine")
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip_gpu)
