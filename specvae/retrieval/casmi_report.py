"""Reports of a CASMI-style evaluation: ``results.tsv``, ``summary.json``, ``summary.md`` and the ``topk.png`` curve."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

TOP_K = (1, 3, 5, 10)
RESULT_COLUMNS = ("challenge", "ion_mode", "precursor_mz", "adducts", "n_candidates", "n_rejected", "answer_inchikey14",
                  "answer_in_candidates", "rank", "answer_score", "best_score", "top_inchikey14", "top_smiles",
                  "top_probability", "confidence", "top1_right", "status")
GROUP_TITLES = {"all": "all", "positive": "positive", "negative": "negative"}


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("\t", " ")


def results_tsv(results: list[dict]) -> str:
    """One row per challenge (:data:`RESULT_COLUMNS`), tab-separated with a header."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter="\t", lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    writer.writerows([_cell(r[c]) for c in RESULT_COLUMNS] for r in results)
    return text.getvalue()


def _count(n: int, of: int) -> str:
    return f"{n} ({100 * n / of:.1f} %)" if of else str(n)


def summary_markdown(summary: dict) -> str:
    """The summary as a Markdown page: settings, one table row per ion mode, the published anchors, conventions."""
    s = summary["settings"]
    source = f"candidate lists in `{s['candidates']}`" if s.get("candidates") else \
        f"structure database `{s['db']}` (±{s['ppm']} ppm, adducts {s['adducts'] or 'by ion mode'})"
    fp = s["fingerprint"]
    how = "posterior mean" if s["mode"] == "mean" else \
        f"mean of {s['n_samples']} posterior samples (seed {s['seed']})"
    lines = ["# CASMI evaluation", "",
             f"- model: `{s.get('model', '?')}` (trained on {s.get('model_ion_mode') or 'unknown'} mode; "
             f"fingerprint {fp['name']} v{fp['version']}, {fp['n_bits']} bits)",
             f"- prediction: {how}",
             f"- challenges: `{s['challenges']}`, solutions `{s['solutions']}`"
             + (f", {s['ion_mode']} mode only" if s.get("ion_mode") else "")
             + (f", first {s['limit']}" if s.get("limit") else ""),
             f"- candidates: {source}", ""]
    if s.get("command"):
        lines += ["```", s["command"], "```", ""]
    header = "| ion mode | challenges | answer ranked | " + " | ".join(f"Top-{k}" for k in TOP_K) + \
        " | mean rank | median rank | median candidates |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    metrics = summary["metrics"]
    for group, m in metrics.items():
        if group == "all" and len(metrics) == 2:  # one ion mode only: its own row says the same
            continue
        tops = " | ".join(_count(m[f"top{k}"], m["challenges"]) for k in TOP_K)
        mean = "" if m["mean_rank"] is None else f"{m['mean_rank']:.1f}"
        median = "" if m["median_rank"] is None else f"{m['median_rank']:g}"
        lines.append(f"| {GROUP_TITLES[group]} | {m['challenges']} | {m['answer_ranked']} | {tops} | {mean} | "
                     f"{median} | {m['median_candidates']:g} |")
    lines += ["", "Anchors (CASMI 2016 category 2, the 127 positive challenges, published): " + "; ".join(
        f"{name} Top-1 {a['top1']} and Top-10 {a['top10']} of {a['of']}" for name, a in summary["anchors"].items()), "",
        "Ties get the average rank. Top-k counts challenges whose answer (first InChIKey block) has rank <= k, out of "
        "all challenges: an answer missing from the candidates or an unusable spectrum is a miss. Mean and median rank "
        "are over the challenges whose answer was ranked.", "",
        "Seconds: " + ", ".join(f"{k} {v}" for k, v in summary["seconds"].items()), ""]
    conf = summary.get("confidence")
    if conf:
        lines += ["## Confidence of the top hit", "",
                  "| confidence | challenges | top hit right | share right |", "|---|---:|---:|---:|"]
        for b in conf["bins"]:
            share = f"{100 * b['top1_right'] / b['challenges']:.0f} %" if b["challenges"] else ""
            lines.append(f"| {b['bin'][0]:g}-{b['bin'][1]:g} | {b['challenges']} | {b['top1_right']} | {share} |")
        lines += ["", f"Of the {conf['confident']} top hits given confidence >= 0.5, {conf['confident_right']} are "
                  f"right; over all {conf['challenges']} challenges with a confidence, {conf['top1_right']} top hits "
                  f"are right (mean confidence {conf['mean_confidence']:.3f}).", ""]
    return "\n".join(lines)


def plot_topk(results: list[dict], path: Path, max_k: int | None = None, summary: dict | None = None) -> None:
    """Share of challenges with the answer in the top k, for k = 1..max_k (default: up to 100), per ion mode; with a
    ``summary``, its model in the title and, for the 127 positive CASMI 2016 challenges, the published anchors
    (CSI:FingerID Top-1 and Top-10) and a random ordering of each challenge's candidates as baselines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_max = max([r["n_candidates"] for r in results] + [10])
    max_k = max_k or min(100, n_max)
    ks = np.arange(1, max_k + 1)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for group in ("all", "positive", "negative"):
        rows = [r for r in results if group == "all" or r["ion_mode"] == group]
        if not rows or (group != "all" and len(rows) == len(results)):
            continue
        ranks = np.array([np.inf if r["rank"] is None else r["rank"] for r in rows])
        ax.step(ks, [100 * np.mean(ranks <= k) for k in ks], where="post", label=f"{group} (n={len(rows)})")
    counts = np.array([r["n_candidates"] for r in results if r["n_candidates"]], dtype=float)
    if len(counts):  # a random ordering: the answer within the top k with probability min(k / n, 1)
        random = [100 * np.mean(np.minimum(k / counts, 1.0)) * len(counts) / len(results) for k in ks]
        ax.plot(ks, random, color="0.5", ls=":", label="random ordering")
    s = (summary or {}).get("settings", {})
    positive = [r for r in results if r["ion_mode"] == "positive"]
    if summary and len(positive) == len(results) and s.get("candidates"):
        for name, a in summary.get("anchors", {}).items():
            if len(results) == a["of"]:
                ax.plot([1, 10], [100 * a["top1"] / a["of"], 100 * a["top10"] / a["of"]], "k^", ms=6,
                        label=f"{name} (published)")
    ax.set_xscale("log")
    ax.set_xlabel("k (candidates inspected)")
    ax.set_ylabel("challenges with the answer in the top k (%)")
    ax.set_title(f"Top-k, {len(results)} challenges" + (f"; model {Path(s['model']).name or s['model']}"
                                                         if s.get("model") else ""), fontsize=9)
    ax.set_ylim(0, 100)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


def write_reports(results: list[dict], summary: dict, out: Path) -> None:
    """Write ``results.tsv``, ``summary.json``, ``summary.md`` and ``topk.png`` into ``out`` (created if needed)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "results.tsv", results_tsv(results))
    _write(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    _write(out / "summary.md", summary_markdown(summary))
    plot_topk(results, out / "topk.png", summary=summary)
