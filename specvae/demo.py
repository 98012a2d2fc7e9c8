"""The whole pipeline on the MassBank sample shipped with the package: ``specvae demo``.

1. ``ingest`` the 2,000 packaged spectra (475 structures, open licences; ``specvae/data/SOURCE.md``);
2. ``train`` an SVAE on the training split (CPU-sized, with the two options that made SVAE learn in
   ``docs/training.md``: cross reconstruction and KL weight 0.1), best epoch by validation retrieval, calibrated;
3. write the test-split spectra as an MGF file and every structure of the sample as a candidate list, and ``rank``
   the candidates for each test spectrum with that model;
4. rank them again with the default model shipped with the package (trained on MassBank without these test
   structures) and with the bit-frequency baseline (which ignores the spectrum), and report where the true structure
   ranks for each (Top-1/5/10, median) next to a random ordering.

Every step writes what the corresponding command writes, so the output directory shows a user what each stage
produces. The demo uses a learning rate of 1e-3 (the paper: 1e-4 over 140 epochs) so that a few CPU minutes show
learning.
"""

from __future__ import annotations

import csv
import logging
from importlib.resources import files
from pathlib import Path

import numpy as np

from specvae import outputs, schema
from specvae.training import checkpoint as ckpt

log = logging.getLogger("specvae.demo")


def packaged_sample() -> Path:
    """Path of the MassBank sample inside the installed package."""
    return Path(str(files("specvae") / "data" / "massbank_demo.msp.gz"))


def _write_queries_and_candidates(data_dir: Path, out: Path) -> list[str]:
    """Test spectra as MGF (their measured peaks and metadata) and all structures as a candidate CSV.

    Returns the true InChIKey first block of every test spectrum, in the order of the MGF's records.
    """
    import pyarrow.parquet as pq

    from specvae.datasets.export import mgf_text

    table = pq.read_table(data_dir / schema.DATASET_FILE).to_pydict()
    truth: list[str] = []
    with open(out / "test_spectra.mgf", "w", encoding="utf-8") as mgf:
        for i, split in enumerate(table[schema.SPLIT]):
            if split != schema.TEST or table[schema.KIND][i] != schema.PAIRED:
                continue
            truth.append(table[schema.INCHIKEY14][i])
            # the measured peaks (as a user's query file holds them), without the answer's SMILES and InChIKey
            mgf.write(mgf_text({column: values[i] for column, values in table.items()}, structure=False))
    seen: dict[str, tuple[str, str]] = {}
    for key, smiles, name in zip(table[schema.INCHIKEY14], table[schema.SMILES], table[schema.NAME]):
        if key and key not in seen:
            seen[key] = (smiles, name or "")
    with open(out / "candidates.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "name", "smiles"])
        writer.writerows([key, name, smiles] for key, (smiles, name) in seen.items())
    return truth


def _true_ranks(ranked: Path, truth: list[str]) -> list[float]:
    """The rank of the true structure of every ranked test spectrum: ``summary.tsv`` says which ranking file holds
    which record of the query file."""
    import pandas as pd

    from specvae.retrieval.ranking import RANKED, ranking_path

    summary = pd.read_csv(ranked / "summary.tsv", sep="\t", dtype={"label": str})
    summary = summary[summary["status"] == RANKED]
    ranks = []
    for label, record in zip(summary["label"], summary["record"]):
        table = pd.read_csv(ranking_path(ranked, label), sep="\t")
        hit = table[table["inchikey"].str.startswith(truth[int(record)])]
        ranks.append(float(hit["rank"].iloc[0]))
    return ranks


def run_demo(out: str | Path, epochs: int = 10, overwrite: bool = False, progress: bool = False) -> dict:
    """Run ingest -> train -> rank on the packaged sample into ``out``; returns the summary (the CLI prints it).

    ``out`` must be new, empty, or (with ``overwrite``) an earlier demo output (:mod:`specvae.outputs`).
    """
    out = Path(out)
    outputs.check_replaceable(out, KIND, overwrite)
    with outputs.locked(out):
        outputs.check_replaceable(out, KIND, overwrite)
        if out.exists():
            outputs.remove_ours(out, KIND)
        out.mkdir(parents=True)
        outputs.write_marker(out, KIND)
        return _run(out, epochs, progress)


KIND = "demo"  # the kind of output directory (specvae.outputs)


# the SVAE the demo trains: the small preset with the options of docs/training.md that made SVAE learn
DEMO_MODEL = {"sparse_input": True, "cross_reconstruction": 1.0, "kl_weight": 0.1}


def _run(out: Path, epochs: int, progress: bool) -> dict:
    from specvae.chem.cache import FingerprintCache
    from specvae.ingest import ingest
    from specvae.retrieval.predict import BitFrequencyPredictor, Predictor, default_model_dir
    from specvae.retrieval.ranking import rank_spectra
    from specvae.training.loop import TrainConfig
    from specvae.training.spectra import train_spectra

    cache = FingerprintCache()
    log.info("1/4 ingest %s", packaged_sample())
    report = ingest([packaged_sample()], out / "data", cache=cache, progress=progress)
    log.info("2/4 train an SVAE for %d epochs", epochs)
    summary = train_spectra(out / "data", out / "run", model="svae", preset="small", model_overrides=DEMO_MODEL,
                            progress=progress, config=TrainConfig(epochs=epochs, batch_size=64, lr=1e-3))
    truth = _write_queries_and_candidates(out / "data", out)
    n_candidates = sum(1 for _ in open(out / "candidates.csv")) - 1
    predictors = {"svae": (Predictor.from_run(out / "run"), out / "ranked")}
    if (default_model_dir() / ckpt.CONFIG_FILE).exists():
        predictors["default"] = (Predictor.from_run(default_model_dir()), out / "ranked-default-model")
    predictors["bit_frequency"] = (BitFrequencyPredictor.from_dataset(out / "data"), out / "ranked-bit-frequency")
    ranking = {}
    for step, (name, (predictor, directory)) in enumerate(predictors.items(), start=3):
        log.info("%d/4 rank every structure of the sample for each test spectrum (%s)", min(step, 4), name)
        rank_spectra(out / "test_spectra.mgf", predictor, directory, candidates=out / "candidates.csv",
                     mass_check=False, cache=cache, progress=progress)
        ranks = np.asarray(_true_ranks(directory, truth))
        ranking[name] = {"top1": int((ranks <= 1).sum()), "top5": int((ranks <= 5).sum()),
                         "top10": int((ranks <= 10).sum()), "median_rank": float(np.median(ranks)),
                         "out": str(directory)}
    config = ckpt.read_json(out / "run" / ckpt.CONFIG_FILE)
    records = [r for r in ckpt.read_metrics(out / "run") if r["epoch"] == summary["best_epoch"]]
    calibration = ckpt.read_json(out / "run" / "calibration.json") if (out / "run" / "calibration.json").exists() \
        else {}
    result = {
        "out": str(out), "spectra": report["spectra"]["written"], "structures": n_candidates,
        "best_epoch": summary["best_epoch"], "epochs": summary["epochs"], "select": summary["select"],
        "validation": records[-1] if records else {}, "baseline": config.get("bit_frequency_baseline", {}),
        "calibrated_val_fp_ce": calibration.get("out_of_fold", {}).get(calibration.get("recommended"), {}).get("fp_ce"),
        "test_spectra": len(truth), "ranking": ranking, "random_median_rank": (n_candidates + 1) / 2,
        "report": str(out / "ranked" / "report.html"), "training_curve": str(out / "run" / "training_curve.png"),
    }
    import json

    outputs.write_atomically(out / SUMMARY_JSON, json.dumps(result, indent=2) + "\n")
    outputs.write_atomically(out / SUMMARY_TEXT, summary_text(result) + "\n")
    return result


SUMMARY_JSON, SUMMARY_TEXT = "summary.json", "summary.txt"  # the demo's summary, as data and as printed
NAMES = {"svae": "SVAE trained here", "default": "default model (packaged)", "bit_frequency": "bit-frequency baseline"}


def summary_text(s: dict) -> str:
    """The summary ``specvae demo`` prints (and writes to ``summary.txt``), from the dict :func:`run_demo` returns."""
    out = s["out"]
    v, b, r = s["validation"], s["baseline"], s["ranking"]
    lines = [f"ingested {s['spectra']:,} spectra of {s['structures']} structures; trained an SVAE, best epoch "
             f"{s['best_epoch']} of {s['epochs']} by {s['select']}"]
    if "val_top1" in v and "val_top1" in b:
        lines.append(f"validation spectra, each ranking its structure among 100 of similar mass: Top-1 "
                     f"{v['val_top1']:.0%} (bit-frequency baseline {b['val_top1']:.0%}), Top-10 {v['val_top10']:.0%} "
                     f"({b['val_top10']:.0%})")
    ce = s["calibrated_val_fp_ce"] or v.get("val_fp_ce")
    if ce is not None and "val_fp_ce" in b:
        lines.append(f"validation fingerprint cross-entropy {ce:.1f} nats per spectrum"
                     f"{' (calibrated)' if s['calibrated_val_fp_ce'] else ''}; predicting each bit's training "
                     f"frequency instead: {b['val_fp_ce']:.1f}; lower is better")
    lines.append(f"ranked all {s['structures']} structures for each of {s['test_spectra']} test spectra "
                 f"(structures never seen in training); where the true structure ranks:")
    for key, m in r.items():
        lines.append(f"  {NAMES[key]:<26} Top-1 {m['top1']:>3}, Top-5 {m['top5']:>3}, Top-10 {m['top10']:>3}; "
                     f"median rank {m['median_rank']:g}")
    lines.append(f"  {'random ordering':<26} median rank {s['random_median_rank']:g}")
    lines.append(f"outputs: {out}/data (ingest), {out}/run (model; training_curve.png), {out}/ranked (one ranking "
                 f"per test spectrum), {out}/ranked-default-model, {out}/ranked-bit-frequency")
    lines.append(f"open {s['report']} in a browser: every test spectrum with its top candidates drawn; this summary "
                 f"is in {out}/{SUMMARY_TEXT} and {out}/{SUMMARY_JSON}")
    return "\n".join(lines)
