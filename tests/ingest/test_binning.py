"""Binning: bin edges, summing, scaling, off-grid peaks (dropped and counted, never clamped), batch = one by one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from specvae.ingest.binning import bin_batch, bin_index, bin_spectrum, densify
from specvae.schema import MAX_LOG_INTENSITY, N_BINS


@pytest.mark.parametrize(
    "mz, expected_bin",
    [
        (0.05, 0),
        (0.1, 0),  # upper edge of bin 0: (0, 0.1]
        (0.1000001, 1),
        (0.2, 1),
        (0.3, 2),  # 0.3 / 0.1 = 2.9999999999999996 in floating point; the decimal text means the edge
        (0.7, 6),
        (1.0, 9),
        (100.0, 999),
        (100.05, 1000),
        (100.1, 1000),
        (123.4, 1233),
        (1099.95, 10999),
        (1100.0, 10999),  # the last bin's upper edge is on the grid
    ],
)
def test_bin_edges(mz, expected_bin):
    assert bin_index(np.array([mz]))[0] == expected_bin, f"m/z {mz} should fall into bin {expected_bin}"


def test_every_decimal_edge_belongs_to_the_bin_below():
    edges = np.round(np.arange(1, N_BINS + 1) * 0.1, 1)  # 0.1, 0.2, ..., 1100.0 as the parser would read them
    np.testing.assert_array_equal(bin_index(edges), np.arange(N_BINS))


def test_off_grid_peaks_are_dropped_and_counted_not_clamped():
    bins, values, n_off = bin_spectrum([0.0, -1.0, 50.0, 1100.0, 1100.01, 1500.0], [5, 5, 10, 10, 99, 99])
    assert n_off == 4
    assert bins.tolist() == [499, 10999]
    assert values.max() == pytest.approx(MAX_LOG_INTENSITY), "the largest remaining bin is scaled to 100"


def test_peaks_in_one_bin_are_summed_then_scaled_then_log():
    bins, values, _ = bin_spectrum([100.01, 100.02, 200.0], [30.0, 30.0, 40.0])
    assert bins.tolist() == [1000, 1999]
    assert values.tolist() == pytest.approx([math.log1p(100.0), math.log1p(100.0 * 40 / 60)])
    assert values.dtype == np.float32 and bins.dtype == np.uint16


def test_values_lie_in_zero_to_ln101_and_zero_intensities_are_dropped():
    rng = np.random.default_rng(0)
    mz = rng.uniform(1, 1099, 500)
    intensity = rng.exponential(100, 500)
    intensity[:50] = 0
    batch = bin_batch(mz, intensity, np.array([500]))
    assert batch.zero_intensity == 50
    assert batch.values.min() >= 0 and batch.values.max() == pytest.approx(math.log(101))
    assert batch.peaks_kept[0] == 450


def test_unsorted_peaks_give_sorted_bins():
    bins, values, _ = bin_spectrum([300.0, 100.0, 200.0], [1.0, 3.0, 2.0])
    assert bins.tolist() == [999, 1999, 2999]
    assert values[0] == pytest.approx(math.log(101))


def test_batch_equals_one_by_one():
    rng = np.random.default_rng(1)
    spectra = [(rng.uniform(-5, 1200, n), rng.exponential(10, n)) for n in (0, 1, 7, 40, 3, 0, 120)]
    lengths = np.array([len(m) for m, _ in spectra])
    batch = bin_batch(np.concatenate([m for m, _ in spectra]), np.concatenate([i for _, i in spectra]), lengths)
    off = 0
    for i, (mz, intensity) in enumerate(spectra):
        bins, values, n_off = bin_spectrum(mz, intensity)
        b, v = batch.row(i)
        np.testing.assert_array_equal(b, bins)
        np.testing.assert_allclose(v, values, rtol=1e-6)
        off += n_off
    assert batch.off_grid_low + batch.off_grid_high == off


def test_bin_spectrum_rejects_bad_values():
    with pytest.raises(ValueError, match="negative"):
        bin_spectrum([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="NaN"):
        bin_spectrum([1.0, np.nan], [1.0, 1.0])
    with pytest.raises(ValueError, match="differ"):
        bin_spectrum([1.0, 2.0], [1.0])


def test_empty_spectrum():
    bins, values, n_off = bin_spectrum([], [])
    assert bins.size == 0 and values.size == 0 and n_off == 0


def test_densify_round_trip():
    rows = [bin_spectrum([100.0, 250.0], [1.0, 2.0]), bin_spectrum([], []), bin_spectrum([1100.0], [3.0])]
    dense = densify([r[0] for r in rows], [r[1] for r in rows])
    assert dense.shape == (3, N_BINS) and dense.dtype == np.float32
    assert dense[0, 999] == pytest.approx(math.log1p(50.0)) and dense[0, 2499] == pytest.approx(math.log(101))
    assert not dense[1].any()
    assert dense[2, 10999] == pytest.approx(math.log(101))
    assert densify([], []).shape == (0, N_BINS)
