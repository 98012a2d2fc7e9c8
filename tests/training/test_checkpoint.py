"""Run directories: JSON and safetensors only, written atomically, read back exactly, clear errors when incomplete."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from specvae.errors import CheckpointError
from specvae.training import checkpoint as ckpt


def net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))


def test_json_round_trip_and_errors(tmp_path):
    ckpt.write_json(tmp_path / "c.json", {"b": [1, 2], "a": {"x": None}})
    assert ckpt.read_json(tmp_path / "c.json") == {"a": {"x": None}, "b": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"], "no temporary file left behind"
    with pytest.raises(CheckpointError, match="is missing"):
        ckpt.read_json(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        ckpt.read_json(tmp_path / "bad.json")


def test_weights_round_trip_exactly_and_refuse_another_architecture(tmp_path):
    saved = net(0)
    ckpt.save_weights(tmp_path, ckpt.BEST, saved)
    loaded = net(1)
    ckpt.load_weights(tmp_path, ckpt.BEST, loaded)
    for (name, a), (_, b) in zip(saved.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    with pytest.raises(CheckpointError, match="do not fit"):
        ckpt.load_weights(tmp_path, ckpt.BEST, nn.Linear(4, 2))
    with pytest.raises(CheckpointError, match="is missing"):
        ckpt.load_weights(tmp_path, ckpt.LAST, loaded)


def test_wrapper_prefixes_are_not_saved():
    class Compiled(nn.Module):  # what torch.compile leaves: the module under _orig_mod
        def __init__(self):
            super().__init__()
            self._orig_mod = nn.Linear(2, 2)

    class Wrapped(nn.Module):  # what DistributedDataParallel leaves: the module under .module
        def __init__(self):
            super().__init__()
            self.module = Compiled()

    assert set(ckpt.state_dict(Wrapped())) == {"weight", "bias"}


def test_optimizer_state_round_trip(tmp_path):
    model = net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    saved = ckpt.save_optimizer(tmp_path, optimizer)
    restored = torch.optim.Adam(model.parameters(), lr=1e-2)
    ckpt.load_optimizer(tmp_path, restored, saved)
    a, b = optimizer.state_dict(), restored.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for index, state in a["state"].items():
        for key, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(b["state"][index][key])), (index, key)
