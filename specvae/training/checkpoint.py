"""Run directories: weights as safetensors, everything else as JSON. Nothing is pickled.

A run directory holds::

    config.json              what was trained: model config, fingerprint spec, data hash, train settings, versions
    best.safetensors         weights of the epoch with the best validation metric
    last.safetensors         weights after the last completed epoch
    last-optimizer.safetensors + state.json   optimiser tensors, epoch, best metric, RNG states (for --resume)
    metrics.jsonl            one line per epoch

Every file is written to a temporary sibling and moved into place, so an interrupted run never leaves a
half-written file behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from specvae.errors import CheckpointError

CONFIG_FILE = "config.json"
STATE_FILE = "state.json"
METRICS_FILE = "metrics.jsonl"
BEST, LAST = "best", "last"


def _replace_atomically(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: Path, data: Any) -> None:
    _replace_atomically(Path(path), lambda tmp: tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing: not a complete specvae run directory") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc})") from None


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    _replace_atomically(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if not Path(path).exists():
        raise CheckpointError(f"{path} is missing: not a complete specvae run directory")
    return load_file(str(path))


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DistributedDataParallel."""
    return getattr(model, "module", model)


def state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Weights without wrapper prefixes (DDP's ``module.``, ``torch.compile``'s ``_orig_mod.``)."""
    return {k.replace("_orig_mod.", ""): v for k, v in unwrap(model).state_dict().items()}


def save_weights(run: Path, which: str, model: torch.nn.Module) -> None:
    save_tensors(Path(run) / f"{which}.safetensors", state_dict(model))


def load_weights(run: Path, which: str, model: torch.nn.Module) -> None:
    tensors = load_tensors(Path(run) / f"{which}.safetensors")
    try:
        unwrap(model).load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights in {run} do not fit the model in its config.json: {exc}") from None


def save_optimizer(run: Path, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Optimiser tensors to ``last-optimizer.safetensors``; returns the JSON-able rest (param groups, scalars)."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value
            else:
                scalars[f"{index}.{key}"] = value
    save_tensors(Path(run) / "last-optimizer.safetensors", tensors)
    return {"param_groups": sd["param_groups"], "scalars": scalars}


def load_optimizer(run: Path, optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    tensors = load_tensors(Path(run) / "last-optimizer.safetensors")
    state: dict[int, dict[str, Any]] = {}
    for name, value in list(tensors.items()) + list(saved["scalars"].items()):
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
