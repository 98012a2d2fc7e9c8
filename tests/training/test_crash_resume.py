"""The checkpoint set is one unit: a crash at any write of a training run, followed by what the error messages tell a
user to do (``--resume``, or the same command again when no epoch was completed), ends with exactly the files of the
uninterrupted run: weights, optimiser and random states, the best epoch, ``state.json`` and ``metrics.jsonl``."""

from __future__ import annotations

import json
import os

import pytest
import torch

from specvae.training import checkpoint as ckpt
from specvae.training.loop import TrainConfig, fit

from .test_loop import Steps, toy_model

CONFIG = TrainConfig(epochs=3, batch_size=4, lr=1e-2, save_every=2)
TIMING = ("seconds", "samples_per_s", "paired_per_s")  # wall-clock numbers differ between any two runs


class Crash(BaseException):
    """What a kill -9 or a power cut does to the process: nothing after this point runs (except ``finally``)."""


def evaluate(model):
    """A validation metric that depends on the weights only (so that a resumed run computes the same one); on this toy
    run it improves in epoch 2 and not in epoch 3."""
    weight = next(iter(model.parameters()))
    return {"val_metric": abs(float(weight.detach().double().sum()) + 1.9)}


def train(out, resume=False):
    return fit(toy_model(), Steps(), evaluate, config=CONFIG, out_dir=out, run_info={"task": "toy"},
               device=torch.device("cpu"), select=("val_metric", "min"), resume=resume)


def crash_at(monkeypatch, n: int) -> dict:
    """Make the ``n``-th ``os.replace`` / ``os.rmdir`` from now on raise :class:`Crash` instead of running: every
    durable change of a run directory (a file moved into place, a directory committed or removed) is one of them."""
    count = {"calls": 0}

    def counting(real):
        def call(*args, **kwargs):
            count["calls"] += 1
            if count["calls"] == n:
                raise Crash
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(os, "replace", counting(os.replace))
    monkeypatch.setattr(os, "rmdir", counting(os.rmdir))
    return count


def snapshot(run) -> dict:
    """Everything a run directory says, timings left out; tensors compared exactly."""
    out = {}
    for path in sorted(run.iterdir()):
        if path.suffix == ".safetensors":
            out[path.name] = {k: v.tolist() for k, v in ckpt.load_tensors(path).items()}
        elif path.name == ckpt.STATE_FILE:
            state = json.loads(path.read_text())
            state["record"] = {k: v for k, v in state.get("record", {}).items() if k not in TIMING}
            out[path.name] = state
        elif path.name == ckpt.METRICS_FILE:
            out[path.name] = [{k: v for k, v in json.loads(line).items() if k not in TIMING}
                              for line in path.read_text().splitlines()]
        else:
            out[path.name] = path.read_text()
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run, and how many durable writes it makes."""
    out = tmp_path_factory.mktemp("reference") / "run"
    with pytest.MonkeyPatch.context() as mp:
        count = crash_at(mp, n=0)
        train(out)
    return snapshot(out), count["calls"]


def test_the_reference_run_covers_the_interesting_cases(reference):
    files, _ = reference
    best = [r["best_epoch"] for r in files[ckpt.METRICS_FILE]]
    assert best == [1, 2, 2], "epoch 2 improves on the best, epoch 3 does not: both kinds of commit are crashed"
    assert "epoch-2.safetensors" in files and not any(name.startswith(".epoch") for name in files)


def test_a_crash_at_any_write_resumes_to_exactly_the_uninterrupted_run(tmp_path, monkeypatch, reference):
    files, writes = reference
    assert writes > 20
    for n in range(1, writes + 1):
        out = tmp_path / f"crash-{n}"
        with monkeypatch.context() as mp:
            crash_at(mp, n)
            with pytest.raises(Crash):
                train(out)
        try:
            train(out, resume=True)
        except FileNotFoundError as exc:  # no epoch was completed: the message says to run the command again
            assert "without --resume" in str(exc)
            train(out)
        assert snapshot(out) == files, f"a crash at durable write {n} of {writes} changed the outcome"


def test_resume_refuses_a_damaged_state(tmp_path):
    out = tmp_path / "run"
    train(out)
    (out / ckpt.STATE_FILE).write_text('{"epoch": 3}')
    with pytest.raises(ckpt.CheckpointError, match="not a specvae training state"):
        train(out, resume=True)
