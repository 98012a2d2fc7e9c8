"""``fit``, the one training loop, on a toy model and a hand-made step source: run directory, best epoch by the named
metric in either direction, step caps, time limit, evaluation in eval mode without gradients, and its helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from specvae.errors import InputError
from specvae.models import ModalityConfig, ModelConfig, build_model
from specvae.training import checkpoint as ckpt
from specvae.training.loop import TrainConfig, check_run_directory, fit, resolve_device, shard, train_step


def toy_model(seed: int = 0):
    torch.manual_seed(seed)
    mods = (ModalityConfig("a", (6,), "bernoulli", encoder_widths=(8,), decoder_widths=(8,)),
            ModalityConfig("b", (5,), "bernoulli", encoder_widths=(8,), decoder_widths=(8,)))
    return build_model(ModelConfig(model="svae", modalities=mods, latent_dim=2))


class Steps:
    """A step source (``steps_per_epoch``, ``epoch``): one paired and one unpaired group per step, seeded."""

    def __init__(self, n_steps: int = 3, rows: int = 4):
        self.n_steps, self.rows = n_steps, rows

    def steps_per_epoch(self) -> int:
        return self.n_steps

    def epoch(self, epoch: int):
        gen = torch.Generator().manual_seed(epoch)
        for _ in range(self.n_steps):
            a = (torch.rand(self.rows, 6, generator=gen) > 0.5).float()
            b = (torch.rand(self.rows, 5, generator=gen) > 0.5).float()
            yield [{"a": a, "b": b}, {"a": a}]


def scripted(values):
    """An evaluation that returns the next of ``values`` as ``val_metric`` and records how it was called."""
    calls = []

    def evaluate(model):
        calls.append((model.training, torch.is_grad_enabled()))
        return {"val_metric": values[len(calls) - 1]}

    return evaluate, calls


@pytest.mark.parametrize("direction, best_epoch", [("min", 2), ("max", 3)])
def test_fit_writes_the_run_and_keeps_the_best_epoch(tmp_path, direction, best_epoch):
    evaluate, calls = scripted([3.0, 1.0, 5.0])
    model = toy_model()
    summary = fit(model, Steps(), evaluate, config=TrainConfig(epochs=3, batch_size=4, lr=1e-2), out_dir=tmp_path / "r",
                  run_info={"task": "toy"}, device=torch.device("cpu"), select=("val_metric", direction))
    run = tmp_path / "r"
    assert {p.name for p in run.iterdir()} == {"config.json", "best.safetensors", "last.safetensors",
                                              "last-optimizer.safetensors", "last-rng.safetensors", "state.json",
                                              "metrics.jsonl", ".specvae-output"}
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3] and all(r["steps"] == 3 for r in records)
    assert records[-1]["best_epoch"] == best_epoch and summary["best_epoch"] == best_epoch
    assert all("train/loss" in r for r in records)
    assert calls == [(False, False)] * 3, "evaluation sees the model in eval mode, without autograd"
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "toy" and config["train"]["epochs"] == 3 and config["world_size"] == 1
    # the footprint: best holds the weights only; the optimiser's state (twice the weights for Adam) is in last only
    assert set(ckpt.load_tensors(run / "best.safetensors")) == set(ckpt.state_dict(model))
    assert set(ckpt.load_tensors(run / "last.safetensors")) == set(ckpt.state_dict(model))
    moments = [k for k in ckpt.load_tensors(run / ckpt.OPTIMIZER_FILE) if k.endswith("exp_avg")]
    assert len(moments) == len(list(model.parameters()))
    best = toy_model(seed=1)
    ckpt.load_weights(run, ckpt.BEST, best)  # the best epoch's weights load into a fresh model
    last = toy_model(seed=1)
    ckpt.load_weights(run, ckpt.LAST, last)
    assert torch.equal(ckpt.state_dict(last)["decoders.a.net.0.weight"], model.state_dict()["decoders.a.net.0.weight"])


def test_step_cap_and_time_limit_stop_early(tmp_path):
    evaluate, _ = scripted([1.0, 1.0, 1.0])
    capped = fit(toy_model(), Steps(n_steps=5), evaluate, out_dir=tmp_path / "a", run_info={},
                 config=TrainConfig(epochs=1, batch_size=4, max_steps_per_epoch=2), device=torch.device("cpu"),
                 select=("val_metric", "min"))
    assert json.loads((tmp_path / "a" / "metrics.jsonl").read_text())["steps"] == 2 and capped["stopped"] is None
    evaluate, _ = scripted([1.0, 1.0, 1.0])
    timed = fit(toy_model(), Steps(n_steps=5), evaluate, out_dir=tmp_path / "b", run_info={},
                config=TrainConfig(epochs=3, batch_size=4, time_limit=1e-9), device=torch.device("cpu"),
                select=("val_metric", "min"))
    assert timed["epochs"] == 1 and "time limit" in timed["stopped"]
    assert json.loads((tmp_path / "b" / "metrics.jsonl").read_text())["steps"] == 1


def test_evaluation_without_the_selected_metric_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no finite 'val_metric'"):
        fit(toy_model(), Steps(), lambda m: {"val_metric": float("nan")}, config=TrainConfig(epochs=1),
            out_dir=tmp_path / "r", run_info={}, device=torch.device("cpu"), select=("val_metric", "min"))


def test_run_directory_rules(tmp_path):
    check_run_directory(tmp_path / "new", resume=False, overwrite=False)
    (tmp_path / "empty").mkdir()
    check_run_directory(tmp_path / "empty", resume=False, overwrite=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(FileExistsError, match="--overwrite"):
        check_run_directory(tmp_path / "full", resume=False, overwrite=False)
    with pytest.raises(FileExistsError, match="specvae did not write it"):
        check_run_directory(tmp_path / "full", resume=False, overwrite=True)
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        check_run_directory(tmp_path / "full", resume=True, overwrite=False)


def test_shard_keeps_groups_every_process_can_batch_normalise():
    groups = [{"a": torch.arange(8)}, {"a": torch.arange(3)}]
    assert [len(g["a"]) for g in shard(groups, 0, 1)] == [8, 3]
    two = shard(groups, 1, 2)
    assert len(two) == 1 and two[0]["a"].tolist() == [1, 3, 5, 7], "rows rank, rank + world, ...; 3 rows dropped"


def test_gradient_clipping_bounds_the_update():
    def step(clip):
        model = toy_model()
        before = [p.detach().clone() for p in model.parameters()]
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
        train_step(model, optimizer, next(Steps().epoch(1)), torch.enable_grad(), torch.Generator().manual_seed(0),
                   grad_clip=clip)
        return float(torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(model.parameters(), before))))

    assert step(1e-3) == pytest.approx(1e-3, rel=1e-3) and step(0.0) > 1e-2


def test_config_and_device_checks():
    with pytest.raises(InputError, match="precision"):
        TrainConfig(precision="fp16")
    with pytest.raises(InputError, match="positive"):
        TrainConfig(epochs=0)
    assert resolve_device(None) == torch.device("cpu")
    assert np.isfinite(TrainConfig().lr)


class Diverging(Steps):
    """Steps whose inputs turn NaN from global step ``at`` on: the loss is not finite from there."""

    def __init__(self, at: int, **kw):
        super().__init__(**kw)
        self.at, self.seen = at, 0

    def epoch(self, epoch: int):
        for groups in super().epoch(epoch):
            self.seen += 1
            if self.seen > self.at:
                groups = [{k: torch.full_like(v, float("nan")) for k, v in g.items()} for g in groups]
            yield groups


def test_a_diverged_run_stops_and_keeps_its_last_finite_epochs(tmp_path):
    evaluate, calls = scripted([2.0, 1.0, 0.5, 0.1])
    summary = fit(toy_model(), Diverging(at=6, n_steps=3), evaluate, config=TrainConfig(epochs=4, batch_size=4),
                  out_dir=tmp_path / "r", run_info={}, device=torch.device("cpu"), select=("val_metric", "min"))
    assert summary["stopped"].startswith("diverged") and "epoch 3" in summary["stopped"]
    assert summary["epochs"] == 2 and summary["best_epoch"] == 2 and len(calls) == 2  # epoch 3 not evaluated
    records = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    last = toy_model(seed=1)
    ckpt.load_weights(tmp_path / "r", ckpt.LAST, last)  # last is epoch 2's finite weights
    assert all(torch.isfinite(t).all() for t in last.state_dict().values())

