"""Run directories: weights as safetensors, everything else as JSON. Nothing is pickled, nothing is executed.

A run directory holds::

    .specvae-output          the marker: specvae wrote this directory (specvae.outputs)
    config.json              what was trained: model config, fingerprint spec, data hash, train settings, versions
    best.safetensors         weights of the epoch with the best validation metric
    last.safetensors         weights after the last completed epoch
    last-optimizer.safetensors, last-rng.safetensors, state.json   optimiser tensors, RNG states, and the epoch,
                             step and best metric they belong to (for --resume)
    last-train.safetensors   with ``train --ema``: the weights the optimiser trains (the other weight files hold
                             their moving average, which is what was evaluated and what ranks)
    epoch-N.safetensors      weights of every n-th epoch (train --save-every)
    metrics.jsonl            one line per completed epoch

**One epoch, one unit.** The files an epoch changes (``last*``, ``best`` when it improved, ``epoch-N``, the metrics
line and ``state.json``) are written together by :func:`commit_epoch`: first into a staging directory
``.epoch.tmp`` (each file fsynced), which is then renamed to ``.epoch-N``: that rename is the commit. Installing a
committed epoch moves its files into the run directory, rewrites ``metrics.jsonl`` with the epoch's line and moves
``state.json`` last; :func:`recover` finishes an installation that was interrupted and drops an uncommitted staging
directory. So after a crash at any point the run directory, once recovered, holds epoch N-1 or epoch N completely,
and ``--resume`` continues exactly as the uninterrupted run would have.

Every other file is written to a temporary sibling, fsynced and moved into place
(:func:`specvae.outputs.write_atomically`), so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from specvae.errors import CheckpointError, InputError
from specvae.outputs import fsync_dir, fsync_file, write_atomically

CONFIG_FILE = "config.json"
STATE_FILE = "state.json"
METRICS_FILE = "metrics.jsonl"
BEST, LAST = "best", "last"
TRAIN_WEIGHTS_FILE = "last-train.safetensors"  # train --ema: the trained weights; the rest hold their average
OPTIMIZER_FILE, RNG_FILE = "last-optimizer.safetensors", "last-rng.safetensors"
STAGING = ".epoch.tmp"  # an epoch being written (not committed)
COMMITTED = re.compile(r"\.epoch-(\d+)")  # a committed epoch whose files are being moved into the run directory
CHECKPOINT_NAME = re.compile(r"best|last|epoch-\d+")
PREDICTION_ONLY = "prediction_only"  # config.json flag: the weights file holds only the spectrum -> fingerprint path


def check_checkpoint_name(name: str) -> str:
    """``name`` if it names weights of a run (``best``, ``last`` or ``epoch-N``), else :class:`InputError`.

    Names come from the command line; anything else (``../x``, an absolute path) could read files outside the run.
    """
    if not isinstance(name, str) or not CHECKPOINT_NAME.fullmatch(name):
        raise InputError(f"unknown checkpoint {name!r}: best, last or epoch-N")
    return name


def write_json(path: Path, data: Any) -> None:
    write_atomically(Path(path), json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing: not a complete specvae run directory") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc})") from None


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write a safetensors file atomically and durably (:func:`specvae.outputs.write_atomically`)."""
    write_atomically(Path(path), lambda tmp: write_tensors(tmp, tensors, metadata))


def write_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write a safetensors file in place and fsync it (for files in a staging directory, which is committed whole)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    fsync_file(path)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file; :class:`CheckpointError` (one line naming the file) when it is missing or
    not a readable safetensors file (truncated, corrupt, something else)."""
    from safetensors.torch import load_file

    if not Path(path).is_file():
        raise CheckpointError(f"{path} is missing: not a complete specvae run directory")
    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type, OSError, ValueError, ...
        raise _unreadable(path, exc) from None


def read_config(run: Path) -> dict[str, Any]:
    """``config.json`` of ``run``: a mapping with a ``model`` section, else :class:`CheckpointError`."""
    config = read_json(Path(run) / CONFIG_FILE)
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise CheckpointError(f"{Path(run) / CONFIG_FILE} is not a specvae run config (no model section)")
    return config


def model_config(run: Path, config: dict[str, Any] | None = None):
    """The :class:`~specvae.models.ModelConfig` in ``run``'s ``config.json`` (or in ``config``, read from it).

    The config only names registered parts (model, network families, likelihoods, activations): nothing is imported
    or executed by a name from the file, and whatever does not describe a model is one :class:`CheckpointError`
    (or :class:`InputError` for an unknown name).
    """
    from specvae.models import ModelConfig, build_model

    run = Path(run)
    config = read_config(run) if config is None else config
    try:
        cfg = ModelConfig.from_dict(config["model"])
        with torch.device("meta"):  # every name resolved and every size checked, without allocating anything
            build_model(cfg)
    except InputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(f"{run / CONFIG_FILE} does not describe a model specvae can build "
                              f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})") from None
    return cfg


def load_model(run: Path, which: str, config: dict[str, Any] | None = None) -> torch.nn.Module:
    """The model described by ``run``'s ``config.json`` (:func:`model_config`) with the weights ``which`` (best,
    last, epoch-N).

    The architecture is first built without memory (on PyTorch's ``meta`` device) and compared with the shapes in the
    weights file's header, so that a config and weights that do not belong together fail with one line before
    anything large is allocated.
    """
    from specvae.models import build_model

    run = Path(run)
    config = read_config(run) if config is None else config
    cfg = model_config(run, config)
    path = run / f"{check_checkpoint_name(which)}.safetensors"
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in build_model(cfg).state_dict().items()}
    found = tensor_shapes(path)
    partial = bool(config.get(PREDICTION_ONLY))
    if partial:  # a subset of the weights, each of the right shape; which subset is checked once built
        expected = {k: v for k, v in expected.items() if k in found}
    if found != expected:
        differ = sorted(set(found) ^ set(expected)) or sorted(k for k in expected if found[k] != expected[k])
        raise CheckpointError(f"weights in {path} do not fit the model in {run / CONFIG_FILE} (first difference: "
                              f"{differ[0]})")
    model = build_model(cfg)
    if partial:
        _load_prediction_path(path, model)
    else:
        load_weights(run, which, model)
    return model


def prediction_keys(model: torch.nn.Module, source: str = "spectrum", target: str = "fingerprint") -> list[str]:
    """Names of the weights that ``model.predict({source: x}, [target])`` uses.

    Found by running the prediction once on a random input and recording which modules it calls, so that every
    architecture answers the same way: for SVAE the experts on the source and the target's decoder (not the target's
    experts, not the source's decoder); for the supervised MLP every weight.
    """
    called: set[torch.nn.Module] = set()
    handles = [m.register_forward_pre_hook(lambda module, args: called.add(module)) for m in model.modules()]
    training = model.training
    try:
        shape = model.config.modality(source).shape
        param = next(model.parameters())
        model.eval()
        with torch.no_grad():
            model.predict({source: torch.rand(2, *shape, device=param.device, dtype=param.dtype)}, [target])
    finally:
        model.train(training)
        for handle in handles:
            handle.remove()
    keys = []
    for name, module in model.named_modules():
        if module in called:
            own = [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]
            keys += [f"{name}.{k}" if name else k for k, _ in own]
    return sorted(keys)


def prediction_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The weights of :func:`prediction_keys` (a run's spectrum -> fingerprint path), to store without the rest."""
    keep = set(prediction_keys(unwrap(model)))
    return {k: v for k, v in state_dict(model).items() if k in keep}


def _load_prediction_path(path: Path, model: torch.nn.Module) -> None:
    """Load a weights file written from :func:`prediction_weights`; every other weight is set to NaN, so that a use
    of a part that was not stored cannot pass for a prediction."""
    tensors = load_tensors(path)
    needed = set(prediction_keys(model))
    if set(tensors) != needed:
        missing = sorted(needed - set(tensors)) or sorted(set(tensors) - needed)
        raise CheckpointError(f"{path} is marked {PREDICTION_ONLY} but does not hold exactly the weights of the "
                              f"spectrum -> fingerprint path (first difference: {missing[0]})")
    with torch.no_grad():
        for name, value in model.state_dict(keep_vars=True).items():
            if name not in needed and value.is_floating_point():
                value.fill_(float("nan"))
    model.load_state_dict(tensors, strict=False)


def tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the tensors in a safetensors file, from its header (nothing is loaded)."""
    from safetensors import safe_open

    if not Path(path).is_file():
        raise CheckpointError(f"{path} is missing: not a complete specvae run directory")
    try:
        with safe_open(str(path), framework="pt") as handle:
            return {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type, OSError, ValueError, ...
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> CheckpointError:
    reason = " ".join(str(exc).split())[:160] or type(exc).__name__
    return CheckpointError(f"{path} is not a readable safetensors file ({reason}); the file is damaged: copy it "
                           "again, or retrain")


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module inside DistributedDataParallel."""
    return getattr(model, "module", model)


def state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Weights without wrapper prefixes (DDP's ``module.``, ``torch.compile``'s ``_orig_mod.``)."""
    return {k.replace("_orig_mod.", ""): v for k, v in unwrap(model).state_dict().items()}


def save_weights(run: Path, which: str, model: torch.nn.Module) -> None:
    save_tensors(Path(run) / f"{check_checkpoint_name(which)}.safetensors", state_dict(model))


def load_weights(run: Path, which: str, model: torch.nn.Module) -> None:
    load_weights_file(Path(run) / f"{check_checkpoint_name(which)}.safetensors", model)


def load_weights_file(path: Path, model: torch.nn.Module) -> None:
    """The weights in ``path`` into ``model`` (strictly: every key, every shape)."""
    run = path.parent
    tensors = load_tensors(path)
    try:
        unwrap(model).load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"weights in {run} do not fit the model in its config.json: {exc}") from None


def split_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimiser's state as ``(tensors, rest)``: the tensors for safetensors, the JSON-able rest (param groups,
    scalars) for ``state.json``."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().clone()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def save_optimizer(run: Path, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Optimiser tensors to ``last-optimizer.safetensors``; returns the JSON-able rest (param groups, scalars)."""
    tensors, rest = split_optimizer(optimizer)
    save_tensors(Path(run) / OPTIMIZER_FILE, tensors)
    return rest


def load_optimizer(run: Path, optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    tensors = load_tensors(Path(run) / OPTIMIZER_FILE)
    state: dict[int, dict[str, Any]] = {}
    try:
        for name, value in list(tensors.items()) + list(saved["scalars"].items()):
            index, key = name.split(".", 1)
            state.setdefault(int(index), {})[key] = value
        optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"the optimiser state in {run} does not fit this model ({exc}); train again without "
                              "--resume") from None


def read_state(run: Path) -> dict[str, Any]:
    """``state.json`` of ``run`` (the last completed epoch), checked to hold what ``--resume`` needs."""
    state = read_json(Path(run) / STATE_FILE)
    need = ("epoch", "best", "best_epoch", "optimizer")
    if not isinstance(state, dict) or any(k not in state for k in need) or not isinstance(state["epoch"], int) \
            or not isinstance(state["optimizer"], dict):
        raise CheckpointError(f"{Path(run) / STATE_FILE} is not a specvae training state (it needs "
                              f"{', '.join(need)}); train again without --resume")
    return state


# --- one epoch's files as one unit ----------------------------------------------------------------------------------

def commit_epoch(run: Path, epoch: int, files: dict[str, Callable[[Path], None]], state: dict[str, Any],
                 record: dict[str, Any]) -> None:
    """Write epoch ``epoch`` of ``run`` as one unit (module docstring) and install it.

    ``files`` maps a file name to a function writing (and fsyncing) that file at a given path; ``state`` becomes
    ``state.json`` (with ``record``, the epoch's metrics line, inside it); ``record`` is appended to
    ``metrics.jsonl``.
    """
    run = Path(run)
    staging = run / STAGING
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    for name, write in files.items():
        write(staging / name)
    (staging / STATE_FILE).write_text(json.dumps({**state, "epoch": epoch, "record": record}, indent=2,
                                                  sort_keys=True) + "\n")
    fsync_file(staging / STATE_FILE)
    fsync_dir(staging)
    os.replace(staging, run / f".epoch-{epoch}")  # the commit
    fsync_dir(run)
    recover(run)


def recover(run: Path) -> int | None:
    """Finish installing a committed epoch and drop an uncommitted one; returns the committed epoch installed (or
    ``None``). Safe to call at any time on a run nobody is writing, any number of times."""
    run = Path(run)
    if (run / STAGING).exists():
        shutil.rmtree(run / STAGING)
    installed = None
    for directory in sorted((p for p in run.iterdir() if COMMITTED.fullmatch(p.name) and p.is_dir()),
                            key=lambda p: int(COMMITTED.fullmatch(p.name).group(1))):
        _install(run, directory)
        installed = int(COMMITTED.fullmatch(directory.name).group(1))
    return installed


def committed(run: Path) -> bool:
    """Whether ``run`` holds a completed epoch (installed, or committed and waiting for :func:`recover`)."""
    run = Path(run)
    return (run / STATE_FILE).is_file() or (run.is_dir() and any(
        COMMITTED.fullmatch(p.name) and (p / STATE_FILE).is_file() for p in run.iterdir()))


def read_metrics(run: Path) -> list[dict[str, Any]]:
    """The per-epoch records of a run's ``metrics.jsonl`` (empty when it has none yet)."""
    path = Path(run) / METRICS_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _install(run: Path, directory: Path) -> None:
    """Move a committed epoch's files into ``run``: the weights first, then ``metrics.jsonl``, ``state.json`` last."""
    if not (directory / STATE_FILE).exists():  # installed already (state.json is moved last); only the removal is left
        shutil.rmtree(directory)
        return
    state = read_json(directory / STATE_FILE)
    epoch = int(state["epoch"])
    for path in sorted(directory.iterdir()):
        if path.name != STATE_FILE:
            os.replace(path, run / path.name)
    lines = []
    if (run / METRICS_FILE).exists():
        for line in (run / METRICS_FILE).read_text(encoding="utf-8").splitlines():
            try:
                if json.loads(line)["epoch"] < epoch:
                    lines.append(line + "\n")
            except (ValueError, KeyError, TypeError):  # a line cut by a crash of an earlier version
                continue
    lines.append(json.dumps(state["record"], sort_keys=True) + "\n")
    write_atomically(run / METRICS_FILE, "".join(lines))
    os.replace(directory / STATE_FILE, run / STATE_FILE)
    fsync_dir(run)
    directory.rmdir()
