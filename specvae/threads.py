"""How many threads a compute command uses: ``--threads``, else ``$SPECVAE_THREADS``, else the cores that are free.

PyTorch starts one thread per core by default. On a machine shared with other jobs that oversubscribes the cores and
can make a run ten times slower (a demo run took 28 s with one thread and about 300 s with the default while another
job ran), so the default here is the number of cores this process may use minus the load that other processes put on
them (the one-minute load average), and at least one.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("specvae")


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def free_cores() -> int:
    """:func:`available_cores` minus the rounded one-minute load average, at least 1."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return max(1, min(available_cores(), available_cores() - round(load)))


def resolve_threads(threads: int | None) -> int:
    """The number of threads to use for ``threads`` (``None``: ``$SPECVAE_THREADS``, else :func:`free_cores`)."""
    if threads is None:
        env = os.environ.get("SPECVAE_THREADS", "").strip()
        if env:
            try:
                threads = int(env)
            except ValueError:
                raise ValueError(f"SPECVAE_THREADS must be a whole number, not {env!r}") from None
    if threads is None:
        return free_cores()
    if threads < 1:
        raise ValueError(f"--threads must be at least 1, not {threads}")
    return threads


def use_threads(threads: int | None, torch_too: bool = True) -> int:
    """Set ``OMP_NUM_THREADS`` (for libraries and processes started later) and, with ``torch_too``, PyTorch's
    intra-op threads; returns the number."""
    n = resolve_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(n)
    os.environ["MKL_NUM_THREADS"] = str(n)
    if torch_too:
        import torch

        torch.set_num_threads(n)
    log.debug("using %d thread(s) (%d core(s) available)", n, available_cores())
    return n
