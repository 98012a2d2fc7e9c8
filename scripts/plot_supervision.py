"""Plot CASMI 2016 Top-10 against the share of paired training data, one line per model.

Each RUN is a run directory of ``specvae train`` in which ``specvae evaluate casmi --out RUN/casmi-best`` has been run;
the model and supervision come from the run's ``config.json``, the result from ``casmi-best/summary.json``. The
bit-frequency baseline (which needs no pairs) is drawn as a horizontal line when ``--baseline`` gives its Top-10.

    python scripts/plot_supervision.py runs/exp/mlp_s001 runs/exp/mlp_s01 runs/exp/mlp_e12 \\
        runs/exp/svae_r10_s001 runs/exp/svae_r10_s01 --point svae:1.0:37 --baseline 8 --out docs/img/supervision.png

Several runs of one model at one supervision (seeds) are drawn as their mean with a bar from the lowest to the
highest. It also prints the points as a markdown table.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def points(runs: list[Path], metric: str, summary: str) -> dict[str, list[tuple[float, float, Path]]]:
    """``{model: [(supervision, metric value, run), ...]}`` sorted by supervision."""
    by_model: dict[str, list[tuple[float, float, Path]]] = defaultdict(list)
    for run in runs:
        config = json.loads((run / "config.json").read_text())
        result = json.loads((run / summary / "summary.json").read_text())["metrics"]["positive"]
        by_model[config["model"]["model"]].append((config.get("supervision") or 1.0, result[metric], run))
    return {model: sorted(rows) for model, rows in by_model.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--metric", default="top10", help="top1, top3, top10 or median_rank (default top10)")
    parser.add_argument("--summary", default="casmi-best", help="evaluate's output folder inside each run")
    parser.add_argument("--point", action="append", default=[], metavar="MODEL:SUPERVISION:VALUE",
                        help="a result recorded earlier whose run is no longer on disk, e.g. mlp:1.0:50 (repeatable)")
    parser.add_argument("--baseline", type=float, help="the bit-frequency baseline's value of the metric")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    args = parser.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_model = points(args.runs, args.metric, args.summary)
    for point in args.point:
        model, supervision, value = point.split(":")
        by_model.setdefault(model, []).append((float(supervision), float(value), Path("(recorded earlier)")))
        by_model[model].sort()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    print(f"| model | supervision | CASMI 2016 {args.metric} | run |\n|---|---:|---:|---|")
    for model, rows in by_model.items():
        seeds = defaultdict(list)
        for s, v, run in rows:
            seeds[100 * s].append(v)
            print(f"| {model} | {100 * s:g} % | {v} | `{run}` |")
        xs = sorted(seeds)
        ys = [sum(seeds[x]) / len(seeds[x]) for x in xs]
        spread = [[y - min(seeds[x]) for x, y in zip(xs, ys)], [max(seeds[x]) - y for x, y in zip(xs, ys)]]
        ax.errorbar(xs, ys, yerr=spread, marker="o", capsize=3, label=model.upper())
    if args.baseline is not None:
        ax.axhline(args.baseline, color="grey", linestyle="--", label="bit-frequency baseline")
    ax.set_xscale("log")
    ax.set_xlabel("paired training structures (%)")
    ax.set_ylabel(f"CASMI 2016 positive, {args.metric} (of 127)")
    ax.set_title("Ranking against supervision (CPU-sized models)")
    ax.legend()
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
