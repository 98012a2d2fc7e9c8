"""CASMI 2016 (positive) of an ensemble: several runs' fingerprint probabilities averaged, then ranked as
``specvae evaluate casmi`` ranks one model's.

    python scripts/ensemble_casmi.py --out runs/exp/ens_svae3 runs/exp/svae_wd1_ema runs/exp/svae_wd1_ema_seed1 ...

Each run predicts with its best checkpoint and without calibration (``--calibration none``, as the tables of
docs/training.md); ``--average logit`` averages log-odds instead of probabilities. The per-challenge table lands in
``OUT/casmi`` (``results.tsv``), so ``scripts/compare_seeds.py`` can compare two ensembles challenge by challenge.
A research tool: ``specvae rank`` and ``evaluate`` take one model.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


class Ensemble:
    """The mean of several predictors' bit probabilities (or log-odds), with the first one's fingerprint spec."""

    def __init__(self, predictors: list, average: str = "prob"):
        specs = {p.spec for p in predictors}
        if len(specs) != 1:
            raise SystemExit(f"the runs were trained on different fingerprints: {sorted(map(str, specs))}")
        self.predictors, self.average = predictors, average
        self.spec, self.ion_mode = predictors[0].spec, predictors[0].ion_mode
        self.confidence_model = predictors[0].confidence_model
        self.source = " + ".join(p.source for p in predictors)

    def predict_bits(self, spectra: np.ndarray, mode: str = "mean", **kwargs) -> np.ndarray:
        probs = np.stack([p.predict_bits(spectra, mode=mode, **kwargs) for p in self.predictors])
        if self.average == "prob":
            return probs.mean(0)
        probs = np.clip(probs, 1e-6, 1 - 1e-6)
        return 1 / (1 + np.exp(-(np.log(probs) - np.log1p(-probs)).mean(0)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories written by `specvae train`")
    parser.add_argument("--out", type=Path, required=True, help="output folder (its casmi/ holds the reports)")
    parser.add_argument("--casmi", type=Path, default=REPO.parent / "shared" / "data" / "casmi2016")
    parser.add_argument("--average", choices=("prob", "logit"), default="prob")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if not (args.casmi / "candidates").is_dir():
        parser.error(f"{args.casmi} is not the CASMI 2016 folder of ../shared/data (no candidates/ in it): --casmi")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    from specvae.retrieval.casmi import casmi2016_layout, evaluate_casmi
    from specvae.retrieval.predict import Predictor

    torch.set_num_threads(args.threads)
    ensemble = Ensemble([Predictor.from_run(r, calibration="none") for r in args.runs], args.average)
    summary = evaluate_casmi(**casmi2016_layout(args.casmi), predictor=ensemble, out=args.out / "casmi",
                             ion_mode="positive", overwrite=True)
    m = summary["metrics"]["positive"]
    print(f"{len(args.runs)} runs, {args.average} average: CASMI positive Top-1 / 3 / 10 {m['top1']} / {m['top3']} / "
          f"{m['top10']}, median rank {m['median_rank']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
