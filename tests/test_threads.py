"""Thread counts: --threads, $SPECVAE_THREADS, else the free cores; never below one."""

from __future__ import annotations

import os

import pytest

from specvae import threads


def test_explicit_and_environment_counts(monkeypatch):
    monkeypatch.setenv("SPECVAE_THREADS", "3")
    assert threads.resolve_threads(2) == 2 and threads.resolve_threads(None) == 3
    monkeypatch.setenv("SPECVAE_THREADS", "many")
    with pytest.raises(ValueError, match="whole number"):
        threads.resolve_threads(None)
    with pytest.raises(ValueError, match="at least 1"):
        threads.resolve_threads(0)


def test_free_cores_subtract_the_load(monkeypatch):
    monkeypatch.delenv("SPECVAE_THREADS", raising=False)
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    monkeypatch.setattr(os, "getloadavg", lambda: (5.4, 0.0, 0.0))
    assert threads.resolve_threads(None) == 3
    monkeypatch.setattr(os, "getloadavg", lambda: (12.0, 0.0, 0.0))
    assert threads.resolve_threads(None) == 1  # a busy machine still gets one thread


def test_use_threads_sets_torch_and_the_environment(monkeypatch):
    import torch

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    try:
        assert threads.use_threads(2) == 2
        assert torch.get_num_threads() == 2 and os.environ["OMP_NUM_THREADS"] == "2"
    finally:
        torch.set_num_threads(before)
