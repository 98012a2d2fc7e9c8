"""The training loop: one visible loop shared by the spectra task and the image benchmarks.

``fit`` trains any :class:`~specvae.models.MultimodalVAE` on the steps of a *step source* (an object with
``steps_per_epoch()`` and ``epoch(epoch) -> iterator of groups``, see :mod:`specvae.models.base`), evaluates after
every epoch with a caller-supplied function on the validation split, keeps the best epoch by one named metric, and
writes a run directory (:mod:`specvae.training.checkpoint`) that ``--resume`` continues after an interruption.

On a GPU it autocasts to bfloat16 and compiles the encoder and decoder networks; on a CPU it runs in float32.
Under ``torchrun`` every process takes its slice of each step's batches and DistributedDataParallel averages the
gradients; only rank 0 evaluates and writes files.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.distributed as dist
from torch import Tensor

from specvae import outputs
from specvae.errors import CheckpointError, DeviceError, InputError
from specvae.progress import counter
from specvae.training import checkpoint as ckpt

log = logging.getLogger("specvae.train")
RUN = "run"  # the kind of output directory fit writes (specvae.outputs)
DIVERGENCE_CHECK_STEPS = 20  # how often a step checks the running training loss for NaN/inf


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (defaults: the paper's spectra experiment, appendix A)."""

    epochs: int = 140
    batch_size: int = 250
    lr: float = 1e-4
    seed: int = 0
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 on CPU | bf16 | fp32
    compile: str = "auto"  # auto: on for CUDA | on | off
    max_steps_per_epoch: int = 0  # 0: a full pass over the largest stream
    time_limit: float = 0.0  # seconds of training (evaluation excluded); 0: none. Stops after the current step.
    grad_clip: float = 0.0  # max gradient norm; 0: no clipping
    weight_decay: float = 0.0  # decoupled (AdamW); 0: plain Adam as in the paper
    schedule: str = "constant"  # learning rate after warm-up: constant (paper) | cosine (to 0 at the last step)
    warmup_steps: int = 0  # linear learning-rate warm-up from 0
    kl_warmup_steps: int = 0  # KL weight rising linearly from 0 to 1 over this many steps; 0: none (paper)
    save_every: int = 0  # also keep the weights of every n-th epoch as epoch-<n>.safetensors; 0: best and last only
    ema: float = 0.0  # decay of an exponential moving average of the weights, evaluated and saved instead; 0: off

    def __post_init__(self):
        if self.precision not in ("auto", "bf16", "fp32"):
            raise InputError(f"precision must be auto, bf16 or fp32, got {self.precision!r}")
        if self.compile not in ("auto", "on", "off"):
            raise InputError(f"compile must be auto, on or off, got {self.compile!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise InputError("epochs, batch size and learning rate must be positive")
        if self.schedule not in ("constant", "cosine"):
            raise InputError(f"schedule must be constant or cosine, got {self.schedule!r}")
        if min(self.weight_decay, self.warmup_steps, self.kl_warmup_steps, self.grad_clip, self.save_every) < 0:
            raise InputError("weight decay, warm-up steps, gradient clipping and save_every must not be negative")
        if not 0 <= self.ema < 1:
            raise InputError(f"ema is the decay of the weight average, in [0, 1); got {self.ema!r}")

    def learning_rate(self, step: int, total_steps: int) -> float:
        """The learning rate of optimiser step ``step`` (0-based) of ``total_steps``."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.schedule == "cosine":
            done = (step - self.warmup_steps) / max(1, total_steps - self.warmup_steps)
            return self.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))
        return self.lr

    def kl_scale(self, step: int) -> float:
        """The KL warm-up factor of step ``step``: from 1/kl_warmup_steps up to 1."""
        return min(1.0, (step + 1) / self.kl_warmup_steps) if self.kl_warmup_steps else 1.0


class StepSource(Protocol):
    def steps_per_epoch(self) -> int: ...

    def epoch(self, epoch: int) -> Iterator[list[dict[str, Tensor]]]: ...


def resolve_device(gpu: int | None) -> torch.device:
    """``cuda:<gpu>`` (under torchrun: the local rank's GPU) or the CPU; a clear error when the GPU is absent."""
    if gpu is None:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceError(f"--gpu {gpu} asked for a GPU, but PyTorch sees none on this machine "
                          f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); drop --gpu to use "
                          "the CPU")
    index = int(os.environ.get("LOCAL_RANK", gpu)) if int(os.environ.get("WORLD_SIZE", 1)) > 1 else gpu
    if not 0 <= index < torch.cuda.device_count():
        raise DeviceError(f"--gpu {index} does not exist: this machine has {torch.cuda.device_count()} GPU(s)")
    return torch.device("cuda", index)


def distributed(device: torch.device) -> tuple[int, int]:
    """``(rank, world_size)``; joins the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def is_main_process() -> bool:
    """Whether this process writes files: always without torchrun, rank 0 under it."""
    return not dist.is_initialized() or dist.get_rank() == 0


def autocast(device: torch.device, precision: str):
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16) if use_bf16 else contextlib.nullcontext()


def compile_networks(model: torch.nn.Module) -> None:
    """``torch.compile`` each encoder and decoder network in place (the loss arithmetic stays eager)."""
    for child in model.children():
        for module in (child.values() if isinstance(child, torch.nn.ModuleDict) else []):
            module.compile()


def shard(groups: list[dict[str, Tensor]], rank: int, world: int) -> list[dict[str, Tensor]]:
    """This process's slice of every batch (rows rank, rank + world, ...).

    A group with fewer than two rows per process is dropped on every process alike (BatchNorm needs two rows, and
    all processes must run the same groups).
    """
    kept = [g for g in groups if next(iter(g.values())).shape[0] >= 2 * world]
    if world == 1:
        return kept
    return [{k: v[rank::world] for k, v in g.items()} for g in kept]


def train_step(model, optimizer, groups, ctx, generator=None, grad_clip: float = 0.0,
               kl_scale: float = 1.0) -> dict[str, Tensor]:
    """One optimiser step on the summed loss of all groups; returns the detached metrics."""
    with ctx:
        loss, metrics = model(groups, generator=generator, kl_scale=kl_scale)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return metrics


class WeightAverage:
    """An exponential moving average of a model's weights (Polyak averaging), kept beside the trained model.

    After optimiser step ``n`` (0-based) every floating-point weight and buffer moves towards the model's by
    ``1 - d`` with ``d = min(decay, (1 + n) / (10 + n))``: the usual warm-up, so that the average does not remember
    the random initial weights for thousands of steps. Integer buffers (batch-norm counters) are copied.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        self.module = copy.deepcopy(ckpt.unwrap(model)).requires_grad_(False).eval()
        self.decay = decay
        # the tensors to follow, paired once: the optimiser and load_state_dict change them in place
        mine, theirs = self.module.state_dict(), ckpt.state_dict(model)
        self._floats = ([mine[k] for k in mine if mine[k].is_floating_point()],
                        [theirs[k].detach() for k in mine if mine[k].is_floating_point()])
        self._others = [(mine[k], theirs[k]) for k in mine if not mine[k].is_floating_point()]

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Move the average towards the model after optimiser step ``step`` (0-based)."""
        torch._foreach_lerp_(*self._floats, 1.0 - min(self.decay, (1 + step) / (10 + step)))
        for average, current in self._others:
            average.copy_(current)


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam as in the paper; AdamW (decoupled weight decay) when ``config.weight_decay`` is set.

    The fused implementation (one kernel over all parameters) where this PyTorch has it for the model's device: on a
    CPU it takes the optimiser step of a model with wide sparse first layers from about a quarter of the step time to
    a few per cent.
    """
    cls = torch.optim.AdamW if config.weight_decay else torch.optim.Adam
    kwargs = {"weight_decay": config.weight_decay} if config.weight_decay else {}
    try:
        return cls(model.parameters(), lr=config.lr, fused=True, **kwargs)
    except (RuntimeError, TypeError):  # no fused kernel for this device or this PyTorch
        return cls(model.parameters(), lr=config.lr, **kwargs)


def check_run_directory(out: Path, resume: bool, overwrite: bool) -> None:
    """Raise if ``out`` cannot be used: nothing to resume, an existing run without ``overwrite``, or a directory that
    specvae did not write (:func:`specvae.outputs.check_replaceable`).

    A run directory of ours in which no epoch was completed (a run killed during its first epoch) holds nothing to
    keep: it is started again without ``--overwrite``.
    """
    if resume:
        if not ckpt.committed(out):
            raise FileNotFoundError(2, "nothing to resume: no epoch of this run was completed (no state.json); run the "
                                       "same command without --resume to start it again", str(out))
        return
    if _interrupted_before_first_epoch(out):
        return
    if out.is_dir() and any(out.iterdir()) and not overwrite and outputs.is_ours(out, RUN):
        raise FileExistsError(f"{out} already holds a run; use --resume to continue it or --overwrite to replace it")
    outputs.check_replaceable(out, RUN, overwrite)


def _interrupted_before_first_epoch(out: Path) -> bool:
    found = outputs.marker(out) if out.is_dir() else None
    return found is not None and found.get("kind") == RUN and not ckpt.committed(out)


def _prepare_directory(out: Path, resume: bool, overwrite: bool) -> None:
    check_run_directory(out, resume, overwrite)
    if resume:
        if ckpt.recover(out) is not None:
            log.info("%s: finished writing the last epoch an interrupted run had committed", out)
        return
    if out.exists():
        if _interrupted_before_first_epoch(out):
            log.info("%s holds a run that completed no epoch: starting it again", out)
        outputs.remove_ours(out, RUN)
    out.mkdir(parents=True)
    outputs.write_marker(out, RUN)


def fit(model, source: StepSource, evaluate: Callable[[torch.nn.Module], dict[str, float]], *, config: TrainConfig,
        out_dir: str | Path, run_info: dict[str, Any], device: torch.device, select: tuple[str, str],
        resume: bool = False, overwrite: bool = False, progress: bool = False) -> dict[str, Any]:
    """Train ``model`` and write the run directory ``out_dir``; returns a summary.

    ``evaluate(model)`` gets the plain model in eval mode and returns validation metrics; ``select = (metric,
    "min" | "max")`` names the one that picks the best epoch. ``run_info`` is stored in ``config.json``.
    """
    out = Path(out_dir)
    rank, world = distributed(device)
    with outputs.locked(out) if rank == 0 else contextlib.nullcontext():
        return _fit(model, source, evaluate, config, out, run_info, device, select, resume, overwrite, progress,
                    rank, world)


def _fit(model, source: StepSource, evaluate, config: TrainConfig, out: Path, run_info: dict[str, Any],
         device: torch.device, select: tuple[str, str], resume: bool, overwrite: bool, progress: bool, rank: int,
         world: int) -> dict[str, Any]:
    """The body of :func:`fit` (rank 0 holds the run directory's lock)."""
    main = rank == 0
    if main:
        _prepare_directory(out, resume, overwrite)
    if world > 1:
        dist.barrier()  # an interrupted epoch is installed before any process reads the run
    model.to(device)
    optimizer = make_optimizer(model, config)
    generator = torch.Generator(device=device).manual_seed(config.seed * 1009 + rank)
    state: dict[str, Any] = {"epoch": 0, "step": 0, "best": None, "best_epoch": None, "stopped": None}
    average = WeightAverage(model, config.ema) if config.ema else None
    if resume:
        saved = ckpt.read_state(out)
        if average is None:
            ckpt.load_weights(out, ckpt.LAST, model)
        else:  # last holds the average (what was evaluated), last-train the weights the optimiser was moving
            ckpt.load_weights(out, ckpt.LAST, average.module)
            ckpt.load_weights_file(out / ckpt.TRAIN_WEIGHTS_FILE, model)
        ckpt.load_optimizer(out, optimizer, saved["optimizer"])
        _restore_rng(ckpt.load_tensors(out / ckpt.RNG_FILE), generator, rank, device)
        state.update({k: saved[k] for k in ("epoch", "best", "best_epoch")})
        state["step"] = saved.get("step", 0)
        log.info("resuming %s after epoch %d", out, state["epoch"])
    elif main:
        info = {**run_info, "train": dataclasses.asdict(config), "world_size": world}
        ckpt.write_json(out / ckpt.CONFIG_FILE, info)
    if world > 1:
        dist.barrier()
    if config.compile == "on" or (config.compile == "auto" and device.type == "cuda"):
        compile_networks(model)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)
    ctx = autocast(device, config.precision)
    sign = 1.0 if select[1] == "min" else -1.0
    started = time.monotonic()
    steps_per_epoch = source.steps_per_epoch()
    if config.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, config.max_steps_per_epoch)
    total_steps = steps_per_epoch * config.epochs
    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        net.train()
        sums: dict[str, Tensor] = {}
        rows = paired = steps = 0
        epoch_start = time.monotonic()
        with counter(f"epoch {epoch}/{config.epochs}", total=steps_per_epoch, enabled=progress and main) as advance:
            for groups in source.epoch(epoch):
                if steps >= steps_per_epoch:
                    break
                groups = shard(groups, rank, world)
                if not groups:
                    continue
                for group in optimizer.param_groups:
                    group["lr"] = config.learning_rate(state["step"], total_steps)
                metrics = train_step(net, optimizer, groups, ctx, generator, config.grad_clip,
                                     config.kl_scale(state["step"]))
                if average is not None:
                    average.update(state["step"])
                state["step"] += 1
                for k, v in metrics.items():
                    sums[k] = sums.get(k, 0.0) + v.float()
                rows += sum(next(iter(g.values())).shape[0] for g in groups) * world
                paired += sum(next(iter(g.values())).shape[0] for g in groups if len(g) > 1) * world
                steps += 1
                advance(1)
                if config.time_limit and _time_is_up(started, config.time_limit, world, device, steps):
                    state["stopped"] = f"time limit of {config.time_limit:g} s reached in epoch {epoch}"
                    break
                if steps % DIVERGENCE_CHECK_STEPS == 0 and _diverged(sums, world, device):
                    break
        if _diverged(sums, world, device):
            state["stopped"] = (f"diverged: the training loss is not finite in epoch {epoch}; this epoch is not "
                                f"saved, the run keeps epochs 1-{epoch - 1} (best: {state['best_epoch']}); "
                                "try a lower --lr or --grad-clip")
            log.error("stopping: %s", state["stopped"])
            break
        seconds = time.monotonic() - epoch_start
        record = {"epoch": epoch, "steps": steps, "seconds": round(seconds, 3), "lr": optimizer.param_groups[0]["lr"],
                  "samples_per_s": round(rows / seconds, 1), "paired_per_s": round(paired / seconds, 1)}
        record.update({f"train/{k}": float(v) / max(steps, 1) for k, v in sums.items()})
        if main:
            evaluated = model.eval() if average is None else average.module
            with torch.no_grad(), ctx:
                record.update(evaluate(evaluated))
            value = record.get(select[0])
            if value is None or not math.isfinite(value):
                raise InputError(f"evaluation returned no finite {select[0]!r}: {record}")
            improved = state["best"] is None or sign * value < sign * state["best"]
            if improved:
                state.update(best=value, best_epoch=epoch)
            record["best_epoch"] = state["best_epoch"]
            keep = improved, bool(config.save_every and epoch % config.save_every == 0)
            _save_epoch(out, epoch, evaluated, optimizer, _rng_states(generator, rank, world, device), state, record,
                        keep, trained=None if average is None else model)
            log.info("epoch %d: %s", epoch, _summary(record, select[0]))
        else:
            _rng_states(generator, rank, world, device)
        state["epoch"] = epoch
        if world > 1:
            dist.barrier()
        if state["stopped"]:
            log.warning("stopping: %s", state["stopped"])
            break
    return {"run": str(out), "best_epoch": state["best_epoch"], select[0]: state["best"],
            "epochs": state["epoch"], "stopped": state["stopped"], "seconds": round(time.monotonic() - started, 1)}


def _diverged(sums: dict[str, Tensor], world: int, device: torch.device) -> bool:
    """Whether the summed training loss of this epoch is not finite on any process (a NaN never recovers)."""
    loss = sums.get("loss")
    bad = loss is not None and not bool(torch.isfinite(loss))
    if world == 1:
        return bad
    flag = torch.tensor([1.0 if bad else 0.0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)  # every rank stops after the same step
    return bool(flag.item())


def _time_is_up(started: float, limit: float, world: int, device: torch.device, step: int) -> bool:
    up = time.monotonic() - started > limit
    if world == 1:
        return up
    if step % 10:
        return False
    flag = torch.tensor([1.0 if up else 0.0], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)  # every rank stops after the same step
    return bool(flag.item())


def _rng_states(generator: torch.Generator, rank: int, world: int, device: torch.device) -> dict[str, Tensor]:
    """Every process's random states, gathered (on every process, as DDP requires): the training generator
    (``rank<i>``) and torch's global generators (``cpu<i>``, ``cuda<i>``: dropout draws from them)."""
    mine = {"rank": generator.get_state(), "cpu": torch.get_rng_state()}
    if device.type == "cuda":
        mine["cuda"] = torch.cuda.get_rng_state(device)
    gathered = [mine]
    if world > 1:
        gathered = [None] * world
        dist.all_gather_object(gathered, mine)
    return {f"{key}{i}": value for i, states in enumerate(gathered) for key, value in states.items()}


def _restore_rng(saved: dict[str, Tensor], generator: torch.Generator, rank: int, device: torch.device) -> None:
    if f"rank{rank}" not in saved:
        raise CheckpointError(f"the saved random state has no entry for process {rank}; resume with as many "
                              "processes as the run was started with")
    generator.set_state(saved[f"rank{rank}"].to("cpu"))
    if f"cpu{rank}" in saved:  # runs of earlier versions saved the training generator only
        torch.set_rng_state(saved[f"cpu{rank}"].to("cpu"))
    if device.type == "cuda" and f"cuda{rank}" in saved:
        torch.cuda.set_rng_state(saved[f"cuda{rank}"].to("cpu"), device)


def _save_epoch(out: Path, epoch: int, model, optimizer, rng: dict[str, Tensor], state: dict, record: dict,
                keep: tuple[bool, bool], trained=None) -> None:
    """Epoch ``epoch``'s files as one unit (:func:`specvae.training.checkpoint.commit_epoch`): ``last`` weights,
    optimiser and random states, ``best`` when it improved and ``epoch-N`` when asked for (``keep``). ``model`` is
    what was evaluated; ``trained``, when given (the weight average is on), the model the optimiser trains."""
    weights = ckpt.state_dict(model)
    optimizer_tensors, optimizer_rest = ckpt.split_optimizer(optimizer)
    files = {f"{ckpt.LAST}.safetensors": lambda p: ckpt.write_tensors(p, weights),
             ckpt.OPTIMIZER_FILE: lambda p: ckpt.write_tensors(p, optimizer_tensors),
             ckpt.RNG_FILE: lambda p: ckpt.write_tensors(p, rng)}
    if trained is not None:
        trained_weights = ckpt.state_dict(trained)
        files[ckpt.TRAIN_WEIGHTS_FILE] = lambda p: ckpt.write_tensors(p, trained_weights)
    if keep[0]:
        files[f"{ckpt.BEST}.safetensors"] = lambda p: ckpt.write_tensors(p, weights)
    if keep[1]:
        files[f"epoch-{epoch}.safetensors"] = lambda p: ckpt.write_tensors(p, weights)
    ckpt.commit_epoch(out, epoch, files, {"step": state["step"], "best": state["best"],
                                          "best_epoch": state["best_epoch"], "optimizer": optimizer_rest}, record)


def _summary(record: dict, selected: str) -> str:
    keys = [k for k in record if k.startswith("val") or k == "train/loss"] + ["seconds"]
    return ", ".join(f"{k}={record[k]:.4g}" for k in dict.fromkeys(keys) if isinstance(record.get(k), float))
