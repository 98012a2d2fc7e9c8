"""Spectra -> the model's 11000-bin grid (0.1 Da over m/z 0-1100), stored sparsely.

Bin ``i`` (0-based) holds m/z in ``(0.1 * i, 0.1 * (i + 1)]``. Peaks in one bin are summed, the spectrum is scaled so
that its largest bin is 100, then ``log(1 + I)``: values lie in ``[0, ln 101]`` (the decoder's clamp). Peaks with
m/z <= 0 or > 1100 are dropped and counted (never folded into the last bin, unlike the reference code), and so are
zero-intensity peaks.

Floating point at bin edges: ``m/z * 10`` is rounded to the nearest integer when it lies within ``EDGE_TOL`` of one,
so that an m/z written as ``0.3`` (stored as 0.299999...) or ``100.0`` falls into the bin whose upper edge it is
(bin 2, bin 999), as the decimal text means.

:func:`bin_batch` does the work for many spectra at once (a handful of NumPy passes over all peaks of a batch);
:func:`bin_spectrum` is the one-spectrum convenience; :func:`densify` turns sparse rows into the dense matrix the
model eats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from specvae.schema import BIN_WIDTH, N_BINS

EDGE_TOL = 1e-7  # in units of bins (1e-8 Da): far below any instrument's precision, far above float64 error
SCALE = 100.0  # the base peak after scaling


@dataclass(slots=True)
class BinnedBatch:
    """Sparse binned spectra of a batch: row ``i`` is ``bins[offsets[i]:offsets[i + 1]]`` (and ``values``)."""

    bins: np.ndarray  # uint16, sorted within each row
    values: np.ndarray  # float32, log(1 + I) with the largest bin at log(101)
    offsets: np.ndarray  # int64, length n + 1
    peaks_kept: np.ndarray  # int64 per row: input peaks that landed on the grid with intensity > 0
    off_grid_low: int  # peaks dropped with m/z <= 0
    off_grid_high: int  # peaks dropped with m/z > 1100
    zero_intensity: int  # on-grid peaks dropped because their intensity is 0

    @property
    def counts(self) -> np.ndarray:
        """Occupied bins per row."""
        return np.diff(self.offsets)

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.bins[lo:hi], self.values[lo:hi]


def bin_index(mz: np.ndarray) -> np.ndarray:
    """Bin of each m/z (int64; may be < 0 or >= 11000 for m/z off the grid)."""
    k = np.asarray(mz, dtype=np.float64) / BIN_WIDTH
    nearest = np.rint(k)
    on_edge = np.abs(k - nearest) <= EDGE_TOL
    return np.where(on_edge, nearest - 1, np.floor(k)).astype(np.int64)


def bin_batch(mz: np.ndarray, intensity: np.ndarray, lengths: np.ndarray) -> BinnedBatch:
    """Bin many spectra given as concatenated peaks; spectrum ``i`` has ``lengths[i]`` consecutive peaks.

    Intensities must be finite and >= 0 (readers reject other records before this).
    """
    mz = np.asarray(mz, dtype=np.float64)
    intensity = np.asarray(intensity, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.int64)
    n = len(lengths)
    row = np.repeat(np.arange(n, dtype=np.int64), lengths)
    b = bin_index(mz)
    low = (b < 0) | (mz <= 0)
    high = b >= N_BINS
    on_grid = ~(low | high)
    zero = on_grid & (intensity <= 0)
    keep = on_grid & ~zero
    peaks_kept = np.bincount(row[keep], minlength=n).astype(np.int64)
    key = row[keep] * N_BINS + b[keep]
    val = intensity[keep]
    if key.size > 1 and not np.all(key[1:] > key[:-1]):  # unsorted m/z or several peaks in one bin
        order = np.argsort(key, kind="stable")
        key, val = key[order], val[order]
        first = np.ones(key.size, dtype=bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        val = np.add.reduceat(val, starts)
        key = key[starts]
    rows = key // N_BINS
    counts = np.bincount(rows, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    base = np.zeros(n, dtype=np.float64)
    _row_max(val, offsets, counts, base)
    values = np.log1p(SCALE * val / base[rows]).astype(np.float32)
    return BinnedBatch(
        bins=(key - rows * N_BINS).astype(np.uint16),
        values=values,
        offsets=offsets,
        peaks_kept=peaks_kept,
        off_grid_low=int(low.sum()),
        off_grid_high=int(high.sum()),
        zero_intensity=int(zero.sum()),
    )


def _row_max(val: np.ndarray, offsets: np.ndarray, counts: np.ndarray, out: np.ndarray) -> None:
    nonempty = counts > 0
    if nonempty.any():
        out[nonempty] = np.maximum.reduceat(val, offsets[:-1][nonempty])


def bin_spectrum(mz, intensity) -> tuple[np.ndarray, np.ndarray, int]:
    """Bin one spectrum: ``(bins uint16[k], values float32[k], n_off_grid)``.

    Parameters
    ----------
    mz, intensity
        Peaks (any order; equal length). Intensities must be finite and >= 0.

    Returns
    -------
    bins
        Sorted occupied bin indices (0..10999).
    values
        ``log(1 + 100 * I / I_max)`` of each occupied bin (float32; the base peak is ``ln 101``).
    n_off_grid
        Peaks dropped because their m/z is <= 0 or > 1100 (zero-intensity peaks are dropped without being counted
        here).

    Raises
    ------
    ValueError
        When the arrays differ in length or hold NaN, infinite or negative intensities.
    """
    mz = np.asarray(mz, dtype=np.float64).ravel()
    intensity = np.asarray(intensity, dtype=np.float64).ravel()
    if mz.shape != intensity.shape:
        raise ValueError(f"m/z ({mz.size}) and intensity ({intensity.size}) arrays differ in length")
    if not (np.isfinite(mz).all() and np.isfinite(intensity).all()):
        raise ValueError("peaks hold NaN or infinite values")
    if intensity.size and intensity.min() < 0:
        raise ValueError("peaks hold negative intensities")
    batch = bin_batch(mz, intensity, np.array([mz.size]))
    return batch.bins, batch.values, batch.off_grid_low + batch.off_grid_high


def densify(bins_list: Sequence, values_list: Sequence) -> np.ndarray:
    """Dense ``float32`` matrix ``(n, 11000)`` from sparse rows (lists or arrays of bins and values)."""
    n = len(bins_list)
    if n != len(values_list):
        raise ValueError(f"{n} bin rows but {len(values_list)} value rows")
    out = np.zeros((n, N_BINS), dtype=np.float32)
    if n == 0:
        return out
    lengths = np.fromiter((len(b) for b in bins_list), dtype=np.int64, count=n)
    if lengths.sum() == 0:
        return out
    cols = np.concatenate([np.asarray(b, dtype=np.int64) for b in bins_list])
    vals = np.concatenate([np.asarray(v, dtype=np.float32) for v in values_list])
    out[np.repeat(np.arange(n), lengths), cols] = vals
    return out
