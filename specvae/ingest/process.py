"""Parse + clean + bin one work unit (a text chunk or a list of records): the part of ingest that runs in workers.

The result is columnar and compact (metadata columns as lists, binned spectra as flat arrays with offsets), so that
sending it back from a worker process costs little. Record indices are relative to the work unit; the caller adds
the unit's offset.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from specvae.ingest.binning import bin_batch
from specvae.ingest.clean import Cleaning, run_steps, steps
from specvae.readers.records import SpectrumRecord

# metadata carried into the dataset (besides structure text); see specvae.schema
META_COLUMNS = ("id", "name", "precursor_mz", "adduct", "instrument_type", "instrument", "collision_energy",
                "ion_mode", "ms_level", "license", "smiles", "inchi", "inchikey", "retention_time")


@dataclass
class BatchResult:
    """Kept spectra (columns + sparse bins) and rejections of one work unit."""

    n_read: int = 0
    record: list = field(default_factory=list)  # chunk-relative record index of each kept spectrum
    line: list = field(default_factory=list)
    meta: dict = field(default_factory=lambda: {k: [] for k in META_COLUMNS})
    bins: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint16))
    values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    peak_mz: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))  # measured peaks after cleaning
    peak_intensity: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    peak_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    rejects: list = field(default_factory=list)  # (record, line, reason, detail)
    steps: dict = field(default_factory=dict)  # step name -> {"removed", "kept_unknown", "peaks_removed"}
    peaks: Counter = field(default_factory=Counter)
    non_utf8: int = 0
    notes: Counter = field(default_factory=Counter)  # reader notes of usable records (SpectrumRecord.notes)


def process_task(task, cleaning: Cleaning) -> BatchResult:
    """Worker entry point: parse a :class:`~specvae.readers.spectra.TextTask` (or take a record list), clean, bin."""
    records = task.parse() if hasattr(task, "parse") else task
    return process_records(records, cleaning)


def process_records(records: list[SpectrumRecord], cleaning: Cleaning) -> BatchResult:
    """Clean and bin ``records``; every record ends up kept or in ``rejects``."""
    out = BatchResult(n_read=len(records))
    pipeline = steps(cleaning)
    kept: list[SpectrumRecord] = []
    for r in records:
        if r.metadata.get("non_utf8"):
            out.non_utf8 += 1
        if r.error is not None:
            out.rejects.append((r.record, r.line, r.error, r.detail))
            continue
        out.notes.update(r.notes)
        removed_by = run_steps(r, pipeline)
        if removed_by is not None:
            out.rejects.append((r.record, r.line, removed_by.name, removed_by.describe(r)))
            continue
        kept.append(r)
    if kept:
        kept = _bin(kept, [s for s in pipeline if s.stage == "binned"], out)
    for step in pipeline:
        out.steps[step.name] = {"removed": step.removed, "kept_unknown": step.kept_unknown,
                                "peaks_removed": step.peaks_removed}
    if kept:
        _measured_peaks(kept, out)
    meta = out.meta
    for r in kept:
        out.record.append(r.record)
        out.line.append(r.line)
        m = r.metadata
        for key in META_COLUMNS:
            meta[key].append(m.get(key))
    return out


def _measured_peaks(kept: list[SpectrumRecord], out: BatchResult) -> None:
    """The cleaned peaks of ``kept`` at the file's resolution (zero intensities left out, as binning does)."""
    mz = np.concatenate([r.mz for r in kept]).astype(np.float64, copy=False)
    intensity = np.concatenate([r.intensity for r in kept]).astype(np.float64, copy=False)
    lengths = np.fromiter((len(r.mz) for r in kept), dtype=np.int64, count=len(kept))
    good = intensity > 0
    if not good.all():
        owner = np.repeat(np.arange(len(kept)), lengths)
        lengths = np.bincount(owner[good], minlength=len(kept)).astype(np.int64)
        mz, intensity = mz[good], intensity[good]
    out.peak_mz, out.peak_intensity, out.peak_counts = mz, intensity, lengths


def _bin(kept: list[SpectrumRecord], after_binning: list, out: BatchResult) -> list[SpectrumRecord]:
    """Bin ``kept`` into ``out``, run the steps that need the binned peaks; returns the records still kept."""
    lengths = np.fromiter((len(r.mz) for r in kept), dtype=np.int64, count=len(kept))
    mz = np.concatenate([r.mz for r in kept])
    intensity = np.concatenate([r.intensity for r in kept])
    binned = bin_batch(mz, intensity, lengths)
    out.peaks.update(read=int(lengths.sum()), off_grid_low=binned.off_grid_low, off_grid_high=binned.off_grid_high,
                     zero_intensity=binned.zero_intensity)
    ok = np.ones(len(kept), dtype=bool)
    for step in after_binning:
        passed = step.definition.func(binned.peaks_kept, **step.params)
        step.removed += int((ok & ~passed).sum())
        for i in np.flatnonzero(ok & ~passed):
            r = kept[i]
            out.rejects.append((r.record, r.line, step.name,
                                step.describe(r, peaks_kept=int(binned.peaks_kept[i]), peaks_read=int(lengths[i]))))
        ok &= passed
    if after_binning:
        out.rejects.sort(key=lambda item: item[0])
    counts = binned.counts
    if ok.all():
        out.bins, out.values, out.counts = binned.bins, binned.values, counts
        return kept
    entries = np.repeat(ok, counts)
    out.bins, out.values, out.counts = binned.bins[entries], binned.values[entries], counts[ok]
    return [r for r, good in zip(kept, ok) if good]
