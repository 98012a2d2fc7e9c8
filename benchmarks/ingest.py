"""Benchmark: parse + clean + bin of an MSP library with specvae and with matchms, same file, same run.

    python benchmarks/ingest.py                      # the full MassBank file in ../shared/data (63,098 spectra)
    python benchmarks/ingest.py --limit 5000         # a quick run on the first 5,000 records
    python benchmarks/ingest.py PATH.msp[.gz] --workers 1 2

What is timed (the file is decompressed once beforehand; both sides read the same plain .msp):

- matchms: ``load_from_msp`` (default settings), then the equivalent of our default cleaning with matchms filters
  (``require_correct_ms_level(2)``, ``require_correct_ionmode("positive")``, an LC instrument-type check on the
  metadata, ``require_precursor_mz``, ``require_minimum_number_of_peaks(1)``), then a per-spectrum NumPy binning
  to the same 11000-bin grid (drop off-grid and zero peaks, sum per bin, scale to 100, log1p), kept sparse.
- specvae: :func:`specvae.ingest.pipeline.process_files` (parse + clean + bin), with 1 and N processes, and once more
  reading the .gz directly.

Then the whole ``ingest`` (structures, fingerprints, splits, Parquet) is timed end to end. Speed targets live here,
never in the tests.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (robust to other jobs sharing the cores)."""
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def default_path() -> Path | None:
    for parent in REPO.parents:
        candidate = parent / "shared" / "data" / "massbank" / "MassBank_LC-MSMS_positive.msp.gz"
        if candidate.exists():
            return candidate
    return None


def prepare(path: Path, limit: int | None, folder: Path) -> Path:
    """A plain .msp copy of ``path`` (first ``limit`` records when given)."""
    out = folder / "bench.msp"
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as src, open(out, "w") as dst:
        if limit is None:
            shutil.copyfileobj(src, dst)
        else:
            n = 0
            for line in src:
                if line.startswith("NAME:") or line.startswith("Name:"):
                    n += 1
                    if n > limit:
                        break
                dst.write(line)
    return out


def count_records(path: Path) -> int:
    with open(path) as fh:
        return sum(1 for line in fh if line[:5].upper() == "NAME:")


def run_matchms(path: Path) -> tuple[float, float, int]:
    import logging

    from matchms.filtering import (
        require_correct_ionmode,
        require_correct_ms_level,
        require_minimum_number_of_peaks,
        require_precursor_mz,
    )
    from matchms.importing import load_from_msp

    from specvae.ingest.clean import inlet_of

    logging.getLogger("matchms").setLevel(logging.ERROR)
    c, t = cpu_seconds(), time.perf_counter()
    kept = 0
    for s in load_from_msp(str(path)):
        s = require_correct_ms_level(s, 2)
        s = require_correct_ionmode(s, "positive") if s is not None else None
        if s is not None and inlet_of(s.get("instrument_type")) not in (None, "LC"):
            s = None
        s = require_precursor_mz(s, minimum_accepted_mz=0.0) if s is not None else None
        s = require_minimum_number_of_peaks(s, n_required=1) if s is not None else None
        if s is None:
            continue
        mz, intensity = s.peaks.mz, s.peaks.intensities
        keep = (mz > 0) & (mz <= 1100.0) & (intensity > 0)
        if not keep.any():
            continue
        k = mz[keep] / 0.1
        r = np.rint(k)
        b = np.where(np.abs(k - r) <= 1e-7, r - 1, np.floor(k)).astype(np.int64)
        bins, inverse = np.unique(b, return_inverse=True)
        summed = np.bincount(inverse, weights=intensity[keep])
        values = np.log1p(100.0 * summed / summed.max()).astype(np.float32)
        kept += bins.size > 0 and values.size > 0
    return time.perf_counter() - t, cpu_seconds() - c, kept


def run_specvae(path: Path, workers: int) -> tuple[float, float, int]:
    from specvae.ingest.clean import Cleaning
    from specvae.ingest.pipeline import process_files

    c, t = cpu_seconds(), time.perf_counter()
    rows, *_ = process_files([path], Cleaning(), workers=workers)
    return time.perf_counter() - t, cpu_seconds() - c, len(rows)


def run_ingest(path: Path, workers: int, fingerprint: str, folder: Path) -> dict:
    from specvae.ingest import ingest

    out = folder / f"ds-{workers}"
    t = time.perf_counter()
    report = ingest([path], out, fingerprint=fingerprint, workers=workers, overwrite=True)
    report["wall_s"] = time.perf_counter() - t
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=default_path(),
                        help="MSP file (.msp or .msp.gz); default: ../shared/data/massbank/MassBank_LC-MSMS_positive"
                             ".msp.gz")
    parser.add_argument("--limit", type=int, default=None, help="Only the first N records (quick run).")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Process counts to time (default 1 2).")
    parser.add_argument("--skip-matchms", action="store_true", help="Do not run matchms (no ratio).")
    parser.add_argument("--skip-ingest", action="store_true", help="Do not time the full ingest.")
    parser.add_argument("--fingerprint", default=None,
                        help="Fingerprint for the full ingest (default: specvae if available, else morgan2).")
    args = parser.parse_args(argv)
    if args.path is None or not args.path.exists():
        print("benchmarks/ingest.py: no input; pass the path of an MSP file", file=sys.stderr)
        return 2
    from specvae.chem.fingerprints import available

    fingerprint = args.fingerprint or ("specvae" if "specvae" in available() else "morgan2")
    with tempfile.TemporaryDirectory(prefix="specvae-bench-") as tmp:
        folder = Path(tmp)
        plain = prepare(args.path, args.limit, folder)
        n = count_records(plain)
        print(f"input: {args.path} ({n:,} records{'' if args.limit is None else ', --limit'}), "
              f"{os.cpu_count()} CPUs")
        rows = []
        if not args.skip_matchms:
            rows.append(("matchms load_from_msp + filters + numpy binning", *run_matchms(plain)))
        for w in args.workers:
            rows.append((f"specvae parse + clean + bin, {w} process{'es' if w > 1 else ''}", *run_specvae(plain, w)))
        if args.limit is None and args.path.suffix == ".gz":
            w = max(args.workers)
            rows.append((f"specvae, reading the .gz directly, {w} process{'es' if w > 1 else ''}",
                         *run_specvae(args.path, w)))
        base, base_cpu = (rows[0][1], rows[0][2]) if not args.skip_matchms else (None, None)
        print()
        print(f"{'parse + clean + bin':<54} {'wall s':>7} {'spectra/s':>10} {'ratio':>7} {'CPU s':>7} {'ratio':>7} "
              f"{'kept':>7}")
        for name, seconds, cpu, kept in rows:
            ratio = f"{base / seconds:6.1f}x" if base else "-"
            cpu_ratio = f"{base_cpu / cpu:6.1f}x" if base_cpu else "-"
            print(f"{name:<54} {seconds:7.2f} {n / seconds:10,.0f} {ratio:>7} {cpu:7.2f} {cpu_ratio:>7} {kept:7,}")
        print("(ratio = matchms / specvae; CPU s = CPU time of the process and its workers, robust to other jobs)")
        if not args.skip_ingest:
            print()
            print(f"full ingest of {args.path.name if args.limit is None else plain.name} "
                  f"(fingerprint {fingerprint}), wall time and stages:")
            source = args.path if args.limit is None else plain
            for w in args.workers:
                report = run_ingest(source, w, fingerprint, folder)
                t = report["timings"]
                s = report["spectra"]
                print(f"  {w} process{'es' if w > 1 else ''}: {report['wall_s']:.1f} s total | read+clean+bin "
                      f"{t['read_clean_bin_s']:.1f} s, structures {t['structures_s']:.1f} s, fingerprints "
                      f"{t['fingerprints_s']:.1f} s, write {t['write_s']:.1f} s | written {s['written']:,} "
                      f"(paired {s['paired']:,}), rejected {s['rejected']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
