"""Benchmark: the ``specvae`` fingerprint against scikit-fingerprints' substructure families, same molecules.

Usage::

    python benchmarks/fingerprints.py [--n 5000] [--seed 0] [--workers 2] [--repeat 3] [--skip-baseline]

Molecules: ``--n`` structures drawn with ``--seed`` from the CASMI 2016 candidate lists and MassBank in
``../shared/data`` (``SPECVAE_SHARED_DATA``), or the committed fixture ``tests/fixtures/chem/molecules.smi`` when that
folder is absent. SMILES are parsed once, outside the timings, except in the rows marked "from SMILES" (which include
parsing, as ``compute_fingerprints`` does).

Wall-clock rates depend on what else runs on the machine; molecules per CPU-second (of this process and its worker
processes) do much less, so the comparison with scikit-fingerprints is made on those: "x baseline" is the ratio of
molecules per CPU-second to that of scikit-fingerprints' four families together, measured in the same run. The
specvae rows without a cache are the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import csv
import glob
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def load_smiles(n: int, seed: int) -> tuple[list[str], str]:
    import numpy as np

    shared = Path(os.environ.get("SPECVAE_SHARED_DATA", REPO.parent / "shared" / "data"))
    pool: list[str] = []
    source = ""
    candidates = sorted(glob.glob(str(shared / "casmi2016" / "candidates" / "*.csv.gz")))
    if candidates:
        for path in candidates:
            with gzip.open(path, "rt", newline="") as handle:
                pool += [row["SMILES"] for row in csv.DictReader(handle) if row.get("SMILES")]
        massbank = shared / "massbank" / "MassBank_LC-MSMS_positive.msp.gz"
        if massbank.exists():
            with gzip.open(massbank, "rt") as handle:
                pool += sorted({line[7:].strip() for line in handle if line.startswith("SMILES:")})
        source = f"CASMI 2016 candidates + MassBank SMILES from {shared}"
    else:
        fixture = REPO / "tests" / "fixtures" / "chem" / "molecules.smi"
        pool = [line.split()[0] for line in fixture.read_text().splitlines() if line.strip()]
        source = f"fixture {fixture.relative_to(REPO)}"
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pool), size=min(n, len(pool)), replace=False)
    return [pool[i] for i in chosen], source


def _cpu() -> float:
    """CPU seconds of this process and of its finished child processes."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(func, *args, **kwargs):
    """``(wall seconds, CPU seconds of this process and its worker processes, result)``."""
    start, cpu = time.perf_counter(), _cpu()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, _cpu() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="molecules (default 5000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes for the parallel rows (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the specvae rows without cache (best kept)")
    parser.add_argument("--skip-baseline", action="store_true", help="skip scikit-fingerprints (slow)")
    args = parser.parse_args()

    from rdkit import RDLogger

    from specvae.chem.cache import FingerprintCache
    from specvae.chem.fingerprints import compute_fingerprints, compute_smiles, get_fingerprinter
    from specvae.chem.structures import parse_structure

    RDLogger.DisableLog("rdApp.*")
    smiles, source = load_smiles(args.n, args.seed)
    parsed = []
    for text in smiles:
        try:
            parsed.append(parse_structure(smiles=text))
        except ValueError:
            pass
    mols = [m for m, _ in parsed]
    structures = [s for _, s in parsed]
    canonical = [s.smiles for s in structures]
    n = len(mols)
    print(f"{n} molecules ({source}; seed {args.seed}); {os.cpu_count()} CPUs")

    rows = []
    fp = get_fingerprinter("specvae")
    compile_s, _, _ = timed(lambda: fp.evaluator)
    print(f"{fp.spec}: compiled {len(fp.bits)} bit definitions in {compile_s:.2f} s (once per process)")
    fp.compute(mols[:20])  # warm-up

    def best(func, *call_args, **kwargs):
        runs = [timed(func, *call_args, **kwargs) for _ in range(max(args.repeat, 1))]
        return min(runs, key=lambda run: run[1])

    rows.append(("specvae, 1 process (molecules)", *best(fp.compute, mols)))
    rows.append(("specvae, 1 process (from SMILES)", *best(compute_smiles, canonical, fp, workers=1)))
    rows.append((f"specvae, {args.workers} processes (from SMILES)",
                 *best(compute_smiles, canonical, fp, workers=args.workers)))
    with tempfile.TemporaryDirectory() as tmp:
        cache = FingerprintCache(Path(tmp) / "fingerprints.sqlite")
        rows.append((f"specvae, cache cold, {args.workers} processes",
                     *timed(compute_fingerprints, structures, fp, cache=cache, workers=args.workers)))
        rows.append(("specvae, cache warm", *timed(compute_fingerprints, structures, fp, cache=cache)))
        cache.close()
    ours = {name: result for name, _, _, result in rows}
    reference = ours["specvae, 1 process (molecules)"]
    for name, result in ours.items():
        if (result != reference).any():
            print(f"WARNING: {name} differs from the 1-process result")

    baseline_total = baseline_cpu = None
    if not args.skip_baseline:
        from skfp.fingerprints import KlekotaRothFingerprint, LaggnerFingerprint, MACCSFingerprint, PubChemFingerprint

        baseline_total = baseline_cpu = 0.0
        for cls in (LaggnerFingerprint, PubChemFingerprint, KlekotaRothFingerprint, MACCSFingerprint):
            transformer = cls(n_jobs=1)
            seconds, cpu, _ = timed(transformer.transform, mols)
            baseline_total += seconds
            baseline_cpu += cpu
            rows.append((f"scikit-fingerprints {cls.__name__}, 1 process", seconds, cpu, None))
        rows.append(("scikit-fingerprints, four families together, 1 process", baseline_total, baseline_cpu, None))

    print(f"\n{'what':55s} {'wall s':>7s} {'molecules/s':>11s} {'mol/CPU-s':>10s} {'x baseline':>10s}")
    for name, seconds, cpu, _ in rows:
        rate = n / seconds if seconds > 0 else float("inf")
        per_cpu = n / cpu if "warm" not in name and cpu > 0 else None
        ratio = f"{per_cpu / (n / baseline_cpu):9.1f}x" if baseline_total and per_cpu else ""
        per_cpu_text = f"{per_cpu:10.0f}" if per_cpu else "-"
        print(f"{name:55s} {seconds:7.2f} {rate:11.0f} {per_cpu_text:>10s} {ratio:>10s}")
    print("\nmol/CPU-s: molecules per CPU-second used by this process and its workers: a per-core rate that other "
          "load on the machine does not distort (for the parallel rows it includes start-up and transfer costs).\n"
          "x baseline: mol/CPU-s relative to scikit-fingerprints' four families together, same molecules, same run.")
    print("\nscikit-fingerprints has no OpenBabel FP3; the specvae pool has none either (docs/fingerprint.md).")


if __name__ == "__main__":
    main()
