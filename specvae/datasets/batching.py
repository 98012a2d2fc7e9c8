"""Semi-supervised steps: each step draws one batch from every non-empty stream (paper section 4; reference code).

With streams paired / x1-only / x2-only, a step is one paired batch plus one batch of each unpaired stream, and one
optimiser step is taken on the sum of their losses. An epoch is one pass over the largest stream; smaller streams
are cycled, each pass in a fresh permutation. Every batch has exactly ``batch_size`` rows unless its whole stream
is smaller. The order depends only on ``(seed, epoch)``, so a resumed run sees the batches it would have seen.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np


class SemiSupervisedBatches:
    """Row-index batches for named streams, e.g. ``{"paired": ..., "spectrum": ..., "fingerprint": ...}``."""

    def __init__(self, streams: Mapping[str, np.ndarray], batch_size: int, seed: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.streams = {k: np.asarray(v, dtype=np.int64) for k, v in streams.items() if len(v)}
        if not self.streams:
            raise ValueError("no training data: every stream is empty")
        self.batch_size = batch_size
        self.seed = seed

    def steps_per_epoch(self) -> int:
        return math.ceil(max(len(v) for v in self.streams.values()) / self.batch_size)

    def epoch(self, epoch: int) -> Iterator[dict[str, np.ndarray]]:
        """Yield ``steps_per_epoch()`` steps, each a dict stream name -> row indices."""
        rng = np.random.default_rng([self.seed, epoch])
        cursors = {name: _cycle(rows, rng) for name, rows in self.streams.items()}
        for _ in range(self.steps_per_epoch()):
            yield {name: _take(cursor, min(self.batch_size, len(self.streams[name])))
                   for name, cursor in cursors.items()}


def _cycle(rows: np.ndarray, rng: np.random.Generator) -> Iterator[int]:
    while True:
        yield from rows[rng.permutation(len(rows))]


def _take(cursor: Iterator[int], n: int) -> np.ndarray:
    return np.fromiter(cursor, dtype=np.int64, count=n)
