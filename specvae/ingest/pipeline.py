"""``ingest()``: spectrum files (+ optional molecules) -> a Parquet dataset directory with rejects and a report.

Stages, each counted in ``report.json``:

1. read + clean + bin every input (MSP/MGF chunks run in ``workers`` processes);
2. parse each distinct structure text once; exclude listed structures (InChIKey first block);
3. fingerprint each distinct InChIKey once;
4. assign structure-disjoint splits; write ``dataset.parquet``, ``rejects.jsonl``, ``report.json`` (and
   ``standardised.jsonl``, the structures standardisation changed) atomically.

Every record read is written or rejected: ``read == written + rejected`` for spectra and for molecules. An ingest that
would write no spectrum although it read some (every record rejected) is an error naming the reasons, and writes
nothing.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Sequence

import numpy as np

from specvae import outputs, schema
from specvae.chem.bits import Fingerprinter
from specvae.chem.fingerprints import DEFAULT_FINGERPRINT
from specvae.datasets.splits import DEFAULT_FRACTIONS
from specvae.errors import InputError
from specvae.ingest.assemble import assemble
from specvae.ingest.clean import Cleaning
from specvae.ingest.process import META_COLUMNS, BatchResult, process_records, process_task
from specvae.ingest.report import build_report, dataset_metadata
from specvae.readers.spectra import detect_format, iter_tasks
from specvae.readers.textio import check_readable

log = logging.getLogger("specvae.ingest")
# the option that switches a cleaning step off, for the error when every spectrum was rejected
SWITCH_OFF = {"require_ion_mode": "--ion-mode any (or --keep-unknown-ion-mode)",
              "require_instrument_type": "--instrument-type any", "require_ms_level": "--ms-level 0",
              "require_precursor_mz": "--no-require-precursor", "require_minimum_number_of_peaks": "--min-peaks 0",
              "require_license": "no --exclude-license"}
# what a reader note (SpectrumRecord.notes) says, for the log
NOTES = {"no_num_peaks": "had no Num Peaks line (their peak count could not be checked)"}


class _Rows:
    """Accumulates the kept spectra of all inputs in input order."""

    def __init__(self):
        self.source: list[str] = []
        self.record: list[int] = []
        self.line: list[int] = []
        self.meta = {k: [] for k in META_COLUMNS}
        self.bins: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.peak_mz: list[np.ndarray] = []
        self.peak_intensity: list[np.ndarray] = []
        self.peak_counts: list[np.ndarray] = []

    def add(self, source: str, offset: int, result: BatchResult) -> None:
        n = len(result.record)
        self.source.extend([source] * n)
        self.record.extend(r + offset for r in result.record)
        self.line.extend(result.line)
        for key in META_COLUMNS:
            self.meta[key].extend(result.meta[key])
        self.bins.append(result.bins)
        self.values.append(result.values)
        self.counts.append(result.counts)
        self.peak_mz.append(result.peak_mz)
        self.peak_intensity.append(result.peak_intensity)
        self.peak_counts.append(result.peak_counts)

    def __len__(self) -> int:
        return len(self.record)


def ingest(inputs: Sequence[str | os.PathLike], out_dir: str | os.PathLike, *,
           molecules: Sequence[str | os.PathLike] | None = None, exclude_inchikeys: str | os.PathLike | None = None,
           fingerprint: str | Fingerprinter = DEFAULT_FINGERPRINT, fractions: Sequence[float] = DEFAULT_FRACTIONS,
           seed: int = 0, cleaning: Cleaning | None = None, workers: int = 1, overwrite: bool = False,
           progress: bool = False, cache=None, record_settings: dict | None = None) -> dict:
    """Ingest spectrum files into a dataset directory ``out_dir``; returns the report (also in ``report.json``).

    Parameters
    ----------
    inputs
        Spectrum files: ``.msp``, ``.mgf``, ``.mzML``, ``.json`` (MoNA/GNPS), each optionally ``.gz``.
    out_dir
        Dataset directory to create (``dataset.parquet``, ``rejects.jsonl``, ``report.json``).
    molecules
        Optional structure file(s) (SMILES, CSV/TSV with SMILES or InChI, SDF) whose structures become
        ``molecule_only`` rows (unpaired fingerprints).
    exclude_inchikeys
        Optional file of InChIKeys (or first blocks, or a CSV/TSV with an InChIKey column): spectra and molecules of
        these structures are rejected as ``excluded_structure``.
    fingerprint
        Fingerprint name (see :func:`specvae.chem.fingerprints.available`) or a ``Fingerprinter``; default
        ``"specvae"``.
    fractions
        (train, validation, test) fractions, by structure; default (0.8, 0.1, 0.1).
    seed
        Seed of the split hash; default 0.
    cleaning
        :class:`~specvae.ingest.clean.Cleaning` settings; default ``Cleaning()`` (positive, LC, MS2).
    workers
        Processes for parsing/cleaning/binning, structure parsing and fingerprints; default 1.
    overwrite
        Replace an existing dataset directory; default False (``FileExistsError``).
    progress
        Draw progress bars on stderr; default False.
    cache
        Fingerprint cache passed to :func:`specvae.chem.fingerprints.compute_fingerprints`.
    record_settings
        Settings to write into the dataset as ``settings.yaml`` (the CLI passes the resolved settings).

    Returns
    -------
    dict
        The report: inputs, settings, ``spectra`` (read / written / paired / spectrum_only / rejected by reason),
        ``molecules``, cleaning steps, peaks dropped, structures, splits, timings.

    Raises
    ------
    specvae.errors.InputError
        When spectra were read but every one was rejected (the message gives the reasons); nothing is written.
    """
    from specvae.chem.fingerprints import get_fingerprinter
    from specvae.datasets.splits import check_fractions, read_inchikeys
    from specvae.ingest.writer import check_out_dir

    t_start = time.perf_counter()
    inputs = [os.fspath(p) for p in ([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)]
    molecules = [] if molecules is None else [os.fspath(p) for p in (
        [molecules] if isinstance(molecules, (str, os.PathLike)) else molecules)]
    if not inputs and not molecules:
        raise ValueError("no input files given")
    for path in inputs:
        check_readable(path)
        detect_format(path)
    for path in molecules:
        check_readable(path)
    fractions = check_fractions(fractions)
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, not {workers}")
    cleaning = Cleaning() if cleaning is None else cleaning
    fingerprinter = get_fingerprinter(fingerprint) if isinstance(fingerprint, str) else fingerprint
    excluded = read_inchikeys(exclude_inchikeys) if exclude_inchikeys is not None else set()
    check_out_dir(out_dir, overwrite)
    with outputs.locked(out_dir):
        report = _ingest(inputs, check_out_dir(out_dir, overwrite), molecules, (exclude_inchikeys, excluded),
                         fingerprinter, fractions, seed, cleaning, workers, overwrite, progress, cache, record_settings)
        report["timings"]["total_s"] = round(time.perf_counter() - t_start, 3)
        _rewrite_report(out_dir, report)
    log.info("ingested %s spectra (%s paired) into %s", report["spectra"]["written"], report["spectra"]["paired"],
             out_dir)
    return report


def _ingest(inputs, out, molecules, exclusion, fingerprinter, fractions, seed, cleaning, workers, overwrite, progress,
            cache, record_settings) -> dict:
    """The stages of :func:`ingest` (its docstring), run while holding the output's lock."""
    from specvae.ingest.writer import write_dataset

    exclude_inchikeys, excluded = exclusion
    pool = _pool(workers)
    try:
        timings = {}
        t = time.perf_counter()
        rows, rejects, steps, peaks, files = process_files(inputs, cleaning, pool=pool, workers=workers,
                                                           progress=progress)
        timings["read_clean_bin_s"] = time.perf_counter() - t

        t = time.perf_counter()
        table, molecule_report, structure_report, split_report, changes = assemble(
            rows, rejects, sources=[f["path"] for f in files], molecules=molecules, excluded=excluded,
            fingerprinter=fingerprinter, seed=seed, fractions=fractions, pool=pool, workers=workers, cache=cache,
            progress=progress, timings=timings)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    t = time.perf_counter()
    report = build_report(files=files, rows=rows, table=table, rejects=rejects, steps=steps, peaks=peaks,
                          molecules=molecule_report, structures=structure_report, splits=split_report,
                          cleaning=cleaning, fingerprinter=fingerprinter, fractions=fractions, seed=seed,
                          excluded=(exclude_inchikeys, len(excluded)), molecules_path=molecules, timings=timings)
    _check_something_written(report)
    table = table.replace_schema_metadata(dataset_metadata(fingerprinter, seed, fractions))
    extra = {schema.STANDARDISED_FILE: "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in changes)}
    if record_settings is not None:
        from specvae.settings import SETTINGS_FILE, settings_text

        extra[SETTINGS_FILE] = settings_text(record_settings, "ingest")
    write_dataset(out, table, rejects, report, overwrite, extra=extra)
    timings["write_s"] = time.perf_counter() - t
    report["timings"] = {k: round(v, 3) for k, v in timings.items()}
    return report


def _check_something_written(report: dict) -> None:
    """An ingest that read spectra and would write none of them, or found no spectrum record in its spectrum files,
    is an error naming why (nothing is written)."""
    s = report["spectra"]
    if report["inputs"] and not s["read"]:
        names = ", ".join(f"{f['path']} ({str(f['format']).upper()})" for f in report["inputs"])
        raise InputError(f"{names} holds no spectrum record: is it the format its name says? Nothing written")
    if s["read"] and not s["written"]:
        reasons = list(s["rejected_by_reason"].items())
        hints = [SWITCH_OFF[reason] for reason, _ in reasons if reason in SWITCH_OFF]
        raise InputError(f"every one of the {s['read']:,} spectra read was rejected ("
                         + ", ".join(f"{reason} {n:,}" for reason, n in reasons[:5]) + "); nothing written"
                         + (f"; to keep them: {', '.join(hints)}" if hints else "")
                         + " (docs/ingest.md lists the reasons)")


def _pool(workers: int):
    if workers <= 1:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Linux: fork (instant start, and a caller's script needs no `if __name__ == "__main__"` guard). The pool is
    # created before any progress bar thread exists and a fork pool starts all its workers at the first submit, so
    # no Python thread is forked mid-flight. Elsewhere (macOS, Windows) fork is unsafe: spawn.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))
    for _ in range(workers):  # import the heavy modules in every worker while this process reads the first chunk
        pool.submit(_warm_up)
    return pool


def _warm_up() -> None:
    import pyarrow.csv  # noqa: F401

    import specvae.chem.structures  # noqa: F401
    import specvae.ingest.process  # noqa: F401


def process_files(inputs: Sequence, cleaning: Cleaning, *, pool=None, workers: int = 1, progress: bool = False):
    """Read, clean and bin ``inputs`` (the first stage of :func:`ingest`, also what ``benchmarks/ingest.py`` times).

    Returns ``(rows, rejects, steps, peaks, files)``: the kept spectra (columns + sparse bins), rejection entries,
    per-step counts, peak counts and one report entry per file. ``pool`` (a process pool) is created and closed here
    when not given and ``workers`` > 1.
    """
    own = pool is None and workers > 1
    pool = _pool(workers) if own else pool
    try:
        rows, rejects, steps, peaks, files = _Rows(), [], {}, Counter(), []
        for path in inputs:
            files.append(_read_input(os.fspath(path), cleaning, pool, workers, rows, rejects, steps, peaks, progress))
        return rows, rejects, steps, peaks, files
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def _read_input(path: str, cleaning: Cleaning, pool, workers: int, rows: _Rows, rejects: list, steps: dict,
                peaks: Counter, progress: bool) -> dict:
    """Read, clean and bin one input file into ``rows``; returns the file's entry of the report."""
    from specvae.progress import counter

    info: dict = {}
    n_read = n_kept = n_rejected = non_utf8 = 0
    notes: Counter = Counter()
    offset = 0
    pending: deque = deque()
    size = os.path.getsize(path)
    done_bytes = 0

    def collect(result: BatchResult) -> None:
        nonlocal offset, n_read, n_kept, n_rejected, non_utf8
        rows.add(path, offset, result)
        for record, line, reason, detail in result.rejects:
            rejects.append({"source": path, "record": record + offset, "line": line, "reason": reason,
                            "detail": detail})
        for name, counts in result.steps.items():
            steps.setdefault(name, Counter()).update(counts)
        peaks.update(result.peaks)
        n_read += result.n_read
        n_kept += len(result.record)
        n_rejected += len(result.rejects)
        non_utf8 += result.non_utf8
        notes.update(result.notes)
        offset += result.n_read

    with counter(f"Reading {os.path.basename(path)}", total=size, enabled=progress) as advance:
        for task in iter_tasks(path, path, info):
            if pool is not None and hasattr(task, "parse"):
                pending.append(pool.submit(process_task, task, cleaning))
                while len(pending) > 2 * workers:
                    collect(pending.popleft().result())
            else:
                while pending:
                    collect(pending.popleft().result())
                collect(process_task(task, cleaning) if hasattr(task, "parse") else process_records(task, cleaning))
            now = min(info.get("bytes", 0), size)
            advance(now - done_bytes)
            done_bytes = now
        while pending:
            collect(pending.popleft().result())
    entry = {"path": path, "format": info.get("format"), "records": n_read, "written": n_kept,
             "rejected": n_rejected}
    if not n_read:
        log.warning("%s holds no %s record: nothing read from it", path, str(info.get("format")).upper())
    if notes:
        entry["notes"] = dict(sorted(notes.items()))
        for note, n in notes.items():
            log.warning("%s: %d records %s", path, n, NOTES.get(note, note))
    if info.get("no_final_newline"):
        entry["no_final_newline"] = True
        log.warning("%s does not end with a line break: the last value of its last record may have been cut", path)
    if info.get("truncated"):
        entry["truncated"] = True
        log.warning("%s ends early (truncated or corrupt); its last record is rejected as truncated_record", path)
    if info.get("non_utf8"):
        entry["non_utf8_records"] = non_utf8
    if "ms1_scans_skipped" in info:
        entry["ms1_scans_skipped"] = info["ms1_scans_skipped"]
    return entry


def _rewrite_report(out, report: dict) -> None:
    """Add the final timings to ``report.json`` (the directory is already complete; this is a small in-place file)."""
    outputs.write_atomically(os.path.join(out, schema.REPORT_FILE),
                             json.dumps(report, indent=2, ensure_ascii=False) + "\n")
