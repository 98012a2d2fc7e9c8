"""Training throughput of the spectra model: paired samples/s and model FLOP utilisation (MFU).

Compares, in one run on the same device, plain fp32 eager training with bf16 autocast, and bf16 autocast with the
networks compiled by ``torch.compile`` (the settings ``specvae train`` uses on a GPU). One step is the paper's
semi-supervised step: a paired batch plus a spectrum-only and a fingerprint-only batch of ``--batch-size`` rows each.
Batches are synthetic with MassBank's sparsity (about 30 occupied bins of 11000 per spectrum, 20 % of fingerprint
bits on): the model's cost does not depend on the values.

FLOPs per step are counted exactly by ``torch.utils.flop_counter`` on the meta device (forward + backward). MFU is
achieved FLOP/s over the device's dense bf16 peak (``--peak-tflops``; known GPUs are recognised by name). On a CPU
there is no published peak: the table shows the fraction of a measured fp32 matrix-multiply rate instead.

Usage::

    python benchmarks/train_throughput.py --gpu 0                      # paper size (tables A.8/A.9) on GPU 0
    python benchmarks/train_throughput.py --preset small --steps 5     # a CPU-sized run
"""

from __future__ import annotations

import argparse
import time

import torch

from specvae.models import build_model, count_parameters, spectra_model_config
from specvae.training.loop import TrainConfig, autocast, compile_networks, make_optimizer, resolve_device, train_step

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "L4": 121.0}
MASSBANK_TRAIN_PAIRED = 50_000  # about 80 % of the 63,098 MassBank spectra


def synthetic_batch(n: int, n_bits: int, device, generator) -> tuple[torch.Tensor, torch.Tensor]:
    spectra = torch.zeros(n, 11000, device=device)
    cols = torch.randint(0, 11000, (n, 30), device=device, generator=generator)
    spectra.scatter_(1, cols, torch.rand(n, 30, device=device, generator=generator) * 4.6)
    bits = (torch.rand(n, n_bits, device=device, generator=generator) < 0.2).float()
    return spectra, bits


def flops_per_step(model_name: str, preset: str, batch: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = build_model(spectra_model_config(model_name, preset=preset))
        x1, x2 = torch.rand(batch, 11000), torch.rand(batch, 2149)
        with FlopCounterMode(display=False) as counter:
            loss, _ = model([{"spectrum": x1, "fingerprint": x2}, {"spectrum": x1}, {"fingerprint": x2}])
            loss.backward()
    return float(counter.get_total_flops())


def measured_matmul_tflops(device, dtype=torch.float32, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e12


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_mode(model_name, preset, device, batch, steps, warmup, precision, compiled, profile: int = 0) -> dict:
    torch.manual_seed(0)
    model = build_model(spectra_model_config(model_name, preset=preset)).to(device).train()
    if compiled:
        compile_networks(model)
    optimizer = make_optimizer(model, TrainConfig(lr=1e-4))  # the optimiser training uses (fused Adam)
    gen = torch.Generator(device=device).manual_seed(0)
    x1, x2 = synthetic_batch(batch, 2149, device, gen)
    groups = [{"spectrum": x1, "fingerprint": x2}, {"spectrum": x1.roll(1, 0)}, {"fingerprint": x2.roll(1, 0)}]
    ctx = autocast(device, precision)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(warmup):
        train_step(model, optimizer, groups, ctx, gen)
    _sync(device)
    warm = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(steps):
        train_step(model, optimizer, groups, ctx, gen)
    _sync(device)
    seconds = (time.perf_counter() - start) / steps
    if profile:
        print_profile(lambda: train_step(model, optimizer, groups, ctx, gen), device, profile)
    memory = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return {"step_s": seconds, "paired_per_s": batch / seconds, "warmup_s": warm, "memory_gib": memory,
            "parameters": count_parameters(model)}


def print_profile(step, device, rows: int, steps: int = 3) -> None:
    """The operators taking the most device time (CPU time on a CPU) over ``steps`` profiled steps."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(steps):
            step()
        _sync(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    print(f"profile of {steps} steps, by {key}:")
    print(prof.key_averages().table(sort_by=key, row_limit=rows, max_name_column_width=60), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", type=int, default=None, help="CUDA device (default: CPU)")
    parser.add_argument("--model", default="svae")
    parser.add_argument("--preset", default=None, help="paper (default on GPU) or small (default on CPU)")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak of the device")
    parser.add_argument("--modes", default="fp32-eager,bf16-eager,bf16-compile")
    parser.add_argument("--profile", type=int, default=0, metavar="ROWS",
                        help="after each mode, print its ROWS most expensive operators (torch.profiler)")
    args = parser.parse_args()

    device = resolve_device(args.gpu)
    preset = args.preset or ("paper" if device.type == "cuda" else "small")
    torch.set_float32_matmul_precision("high")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    peak = args.peak_tflops or next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)
    flops = flops_per_step(args.model, preset, args.batch_size)
    cpu_peak = measured_matmul_tflops(device) if device.type == "cpu" else None
    print(f"device: {name}; model {args.model}, preset {preset}, batch {args.batch_size} per stream; "
          f"{flops / 1e12:.3f} TFLOP per step (forward + backward, counted)")
    if peak:
        print(f"bf16 dense peak used for MFU: {peak:.0f} TFLOP/s")
    elif cpu_peak:
        print(f"no published CPU peak: utilisation is relative to a measured fp32 2048^3 matmul, "
              f"{cpu_peak * 1e3:.1f} GFLOP/s")
    header = (f"\n{'mode':<14}{'step (ms)':>11}{'paired/s':>11}{'TFLOP/s':>10}{'util.':>8}"
              f"{'vs ' + args.modes.split(',')[0]:>18}{'140 ep. MassBank':>18}{'mem (GiB)':>11}")
    print(header, flush=True)
    rows = []
    for mode in args.modes.split(","):  # each row as soon as it is measured: a run cut short keeps its rows
        precision, how = mode.split("-")
        r = run_mode(args.model, preset, device, args.batch_size, args.steps, args.warmup, precision,
                     compiled=how == "compile", profile=args.profile)
        achieved = flops / r["step_s"] / 1e12
        r.update(mode=mode, tflops=achieved, mfu=achieved / (peak or cpu_peak))
        rows.append(r)
        epochs_s = 140 * MASSBANK_TRAIN_PAIRED / r["paired_per_s"]
        print(f"{r['mode']:<14}{r['step_s'] * 1e3:>11.1f}{r['paired_per_s']:>11.0f}{r['tflops']:>10.3f}"
              f"{r['mfu']:>8.1%}{r['paired_per_s'] / rows[0]['paired_per_s']:>17.2f}x{epochs_s / 60:>15.1f} min"
              f"{r['memory_gib']:>11.1f}", flush=True)
    print(f"\nparameters: {rows[0]['parameters']:,}; 140-epoch estimate assumes {MASSBANK_TRAIN_PAIRED:,} paired "
          "training spectra per epoch (MassBank, 80 % train split) at the measured rate")


if __name__ == "__main__":
    main()
