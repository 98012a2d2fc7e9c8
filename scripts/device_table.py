"""The training table at the paper's widths, trained on a borrowed GPU machine that has no RDKit.

specvae's training, test-split scoring and prediction need torch, numpy, pandas and pyarrow only, which a bare CUDA
image has. RDKit is needed twice, and both are done on the machine that has it:

- the monoisotopic masses of the dataset's structures, which choose the validation and test decoys
  (:mod:`specvae.datasets.decoys`): ``prepare`` computes them with RDKit, ``train`` looks them up;
- the candidates' fingerprints of the CASMI 2016 evaluation: ``train`` predicts the fingerprints of the binned
  challenge spectra that ``prepare`` wrote, and ``rank`` ranks the candidates with those probabilities through the
  same :func:`specvae.retrieval.casmi.evaluate_casmi` that ``specvae evaluate casmi`` runs.

Each run is the ``specvae train`` command line of :data:`RUNS` plus :data:`COMMON` and :data:`ON_GPU`, run in one
process so that CUDA and the imports start once. Usage (the middle step on the GPU machine, ``devdata`` carried there)::

    python scripts/device_table.py prepare --data runs/massbank --casmi ../shared/data/casmi2016 --out devdata
    python scripts/device_table.py train --prepared devdata --out $OUT --time-limit 125 --budget 470
    python scripts/device_table.py rank --results DIR/results --casmi ../shared/data/casmi2016 --out runs/gpu
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import sys
import tarfile
import time
import traceback
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The runs, in order of priority: each a `specvae train` command line (COMMON is added).
RUNS: dict[str, list[str]] = {
    # The supervised reference at the paper's widths (11000-10000-5000-2048-2149), regularised as the CPU MLP.
    "mlp_paper": ["--model", "mlp", "--preset", "paper", "--set", "dropout=0.2", "--set", "batchnorm=false",
                  "--lr", "3e-4", "--batch-size", "256", "--grad-clip", "200"],
    # SVAE at the paper's widths with the objective of the CPU recipe r29b (docs/training.md).
    "svae_paper_r29b": ["--model", "svae", "--preset", "paper", "--lr", "3e-4", "--batch-size", "256",
                        "--grad-clip", "200", "--set", "cross_reconstruction=1", "--set", "kl_weight=0",
                        "--set", "cross_from_mean=true", "--set", "dropout=0.2", "--set", "batchnorm=false",
                        "--set", "logvar_bound=10"],
    # The paper's SVAE as published: widths, objective, lr 1e-4, batch 250.
    "svae_paper": ["--model", "svae", "--preset", "paper"],
}
COMMON = ["--epochs", "140", "--select", "val_top1", "--compile", "off"]
ON_GPU = ["--gpu", "0", "--threads", "4"]
REHEARSAL = ["--preset", "tiny", "--epochs", "2", "--max-steps-per-epoch", "3", "--threads", "1"]  # after RUNS'
MASSES = "masses.json"
CASMI = "casmi_positive.npz"

log = logging.getLogger("device_table")


def prepare(data: Path, casmi: Path, out: Path) -> None:
    """Copy the dataset, write the RDKit masses of its SMILES and the binned positive CASMI challenge spectra."""
    import pyarrow.parquet as pq

    from specvae import schema
    from specvae.datasets.decoys import monoisotopic_masses
    from specvae.ingest.binning import densify
    from specvae.retrieval.casmi import casmi2016_layout, find_challenges, load_challenge_spectra, read_solutions

    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(data, out / data.name, dirs_exist_ok=True)
    smiles = sorted({s for s in pq.read_table(data / schema.DATASET_FILE, columns=[schema.SMILES])
                    .column(schema.SMILES).to_pylist() if s})
    mass = monoisotopic_masses(smiles)
    (out / MASSES).write_text(json.dumps({s: float(m) for s, m in zip(smiles, mass) if np.isfinite(m)}))
    layout = casmi2016_layout(casmi)
    sols = read_solutions(layout["solutions"])
    queries, _ = load_challenge_spectra(find_challenges(layout["challenges"], sols, "positive"), sols)
    spectra = queries.spectra
    np.savez_compressed(out / CASMI, names=np.array([s.label for s in spectra]),
                        spectra=densify([s.bins for s in spectra], [s.values for s in spectra]))
    print(f"{out}: dataset, {len(mass)} masses, {len(spectra)} challenge spectra")


def train(prepared: Path, out: Path, time_limit: float, budget: float, names: list[str],
          rehearse: bool = False) -> None:
    """Train the runs of :data:`RUNS` in turn while ``budget`` seconds last; score each on the test split and
    predict the CASMI spectra; everything small goes into ``out/results`` (and ``out/results.tar.gz``).

    ``rehearse``: the same steps on the CPU at the ``tiny`` preset for a few steps, with RDKit, matchms and
    pyteomics made unimportable as on the GPU machine: the check to run before spending device time."""
    import os

    os.environ.setdefault("SPECVAE_FSYNC", "0")
    for absent in ("rdkit", "matchms", "pyteomics"):  # as on the GPU machine: an import of them fails
        sys.modules[absent] = None
    import torch

    from specvae.datasets import decoys
    from specvae.retrieval.predict import Predictor
    from specvae.training.spectra import split_metrics

    started = time.monotonic()
    known = json.loads((prepared / MASSES).read_text())
    decoys.monoisotopic_masses = lambda smiles: np.array([known.get(s, np.nan) for s in smiles], dtype=float)
    casmi = np.load(prepared / CASMI)
    shm = Path("/dev/shm")  # checkpoints of half a billion parameters: written to memory where it has room
    scratch = (shm if shm.is_dir() and shutil.disk_usage(shm).free > 40 * 2**30 else Path("/tmp")) / "specvae-runs"
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    cuda = not rehearse
    device = torch.cuda.get_device_name(0) if cuda else "CPU rehearsal"
    print(f"torch {torch.__version__}, {device}; runs written to {scratch}", flush=True)
    for name in names:
        left = budget - (time.monotonic() - started)
        if left < 60:
            print(f"{name}: skipped, {left:.0f} s of the budget left", flush=True)
            continue
        run = scratch / name
        args = ["train", "--data", str(prepared / "massbank"), "--out", str(run), *COMMON, *RUNS[name],
                "--time-limit", str(min(time_limit, max(30.0, left - 60))), *(REHEARSAL if rehearse else ON_GPU)]
        print(f"=== {name}: specvae {' '.join(args)}", flush=True)
        clock = time.monotonic()
        try:
            _cli(args)
            report = {"train_seconds": round(time.monotonic() - clock, 1),
                      "test": split_metrics(run, data_dir=prepared / "massbank", gpu=0 if cuda else None)}
            predictor = Predictor.from_run(run, device="cuda" if cuda else "cpu", calibration="none")
            probs = predictor.predict_bits(casmi["spectra"])
            np.savez_compressed(results / f"{name}.casmi.npz", names=casmi["names"], probs=probs,
                                spectra_sha1=np.array([_digest(r) for r in casmi["spectra"]]))
            report["device"] = device
            if cuda:
                report["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
            (results / f"{name}.report.json").write_text(json.dumps(report, indent=2))
            print(f"{name}: test {report['test']['model']}", flush=True)
        except (Exception, SystemExit) as exc:  # keep going with the next run; the log says what happened
            traceback.print_exc()
            print(f"{name}: FAILED ({type(exc).__name__}: {exc})", flush=True)
        finally:
            if cuda:
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
        if run.is_dir():
            keep = results / name
            keep.mkdir(exist_ok=True)
            for f in run.iterdir():
                if f.is_file() and f.suffix != ".safetensors":
                    shutil.copy2(f, keep / f.name)
            shutil.rmtree(run, ignore_errors=True)
        with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
            tar.add(results, arcname="results")
    print(f"total {time.monotonic() - started:.0f} s", flush=True)


def _cli(args: list[str]) -> None:
    from specvae.cli import app

    try:
        app(args=args, prog_name="specvae", standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise


def _digest(row: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(row, dtype=np.float32).tobytes()).hexdigest()


class StoredPredictions:
    """A predictor whose probabilities were computed elsewhere: it answers the spectra it was given, found by
    their binned values (anything else is an error, never a guess)."""

    def __init__(self, npz: Path, run: Path):
        from specvae.retrieval.predict import fingerprint_spec
        from specvae.training import checkpoint as ckpt
        from specvae.training.confidence import load as load_confidence

        stored = np.load(npz)
        self.probs = {d: p for d, p in zip(stored["spectra_sha1"], stored["probs"])}
        config = ckpt.read_config(run)
        self.spec = fingerprint_spec(config)
        self.ion_mode = config.get("ion_mode")
        self.confidence_model = load_confidence(run)
        self.source = f"{run} (predicted on the GPU machine)"

    def predict_bits(self, spectra: np.ndarray, mode: str = "mean", n_samples: int = 1, seed: int = 0,
                     **_) -> np.ndarray:
        if mode != "mean":
            raise ValueError("stored predictions are posterior means")
        rows = [self.probs.get(_digest(r)) for r in np.asarray(spectra, dtype=np.float32)]
        if any(p is None for p in rows):
            raise ValueError(f"{sum(p is None for p in rows)} spectra have no stored prediction: the predictions "
                             "were made for other spectra (rerun `prepare` and `train`)")
        return np.stack(rows)


def rank(results: Path, casmi: Path, out: Path, names: list[str]) -> None:
    """``specvae evaluate casmi`` (positive, raw probabilities) of every run in ``results`` with its stored
    predictions; prints one line per run."""
    from specvae.chem.cache import FingerprintCache
    from specvae.retrieval.casmi import casmi2016_layout, evaluate_casmi

    for name in names:
        npz = results / f"{name}.casmi.npz"
        if not npz.is_file():
            print(f"{name}: no predictions")
            continue
        summary = evaluate_casmi(**casmi2016_layout(casmi), predictor=StoredPredictions(npz, results / name),
                                 out=out / name / "casmi", ion_mode="positive", cache=FingerprintCache(None),
                                 overwrite=True)
        m = summary["metrics"]["positive"]
        print(f"{name}: CASMI positive Top-1/3/10 {m['top1']}/{m['top3']}/{m['top10']}, median rank "
              f"{m['median_rank']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--casmi", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("train")
    t.add_argument("--prepared", type=Path, required=True)
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--time-limit", type=float, default=100.0,
                   help="wall seconds per run, evaluation and checkpoints included (specvae train --time-limit)")
    t.add_argument("--budget", type=float, default=480.0, help="seconds for all runs; a run is skipped when "
                   "less than a minute is left")
    t.add_argument("--runs", default=",".join(RUNS))
    t.add_argument("--rehearse", action="store_true", help="the same steps on the CPU, tiny and short")
    r = sub.add_parser("rank")
    r.add_argument("--results", type=Path, required=True)
    r.add_argument("--casmi", type=Path, required=True)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--runs", default=",".join(RUNS))
    a = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if a.step == "prepare":
        prepare(a.data, a.casmi, a.out)
    elif a.step == "train":
        train(a.prepared, a.out, a.time_limit, a.budget, a.runs.split(","), a.rehearse)
    else:
        rank(a.results, a.casmi, a.out, a.runs.split(","))


if __name__ == "__main__":
    main()
