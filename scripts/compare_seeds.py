"""Seed-pooled CASMI 2016 comparison of two models, each trained with several seeds.

    python scripts/compare_seeds.py RUN_A0,RUN_A1,... RUN_B0,RUN_B1,...

Each RUN is a run directory with `specvae evaluate casmi --out RUN/casmi`. Prints mean +- sd of the positive
challenges' Top-1/3/10/median over the seeds, and per challenge: hits over the seeds (A vs B) and the mean log
rank (A vs B), each with a two-sided sign test over the challenges that differ."""
import sys
from math import comb

import numpy as np
import pandas as pd


def table(name):
    t = pd.read_csv(f"{name}/casmi/results.tsv", sep="\t")
    return t[t.ion_mode == "positive"].set_index("challenge")["rank"]


def p_two_sided(a, b):
    n, k = a + b, min(a, b)
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2 ** n) if n else 1.0


groups = [arg.split(",") for arg in sys.argv[1:3]]
ranks = [pd.concat([table(n).rename(n) for n in g], axis=1) for g in groups]
for g, r in zip(groups, ranks):
    m = np.array([[(r[c] <= k).sum() for k in (1, 3, 10)] + [r[c].median()] for c in r.columns], float)
    sd = m.std(0, ddof=1) if len(m) > 1 else [None] * m.shape[1]  # one seed: no spread to state
    print(f"{g[0]} and {len(g) - 1} more: " + " / ".join(f"{mu:.1f}" + (f"±{s:.1f}" if s is not None else "")
                                                         for mu, s in zip(m.mean(0), sd)),
          "| per seed:", "; ".join("/".join(f"{v:g}" for v in row) for row in m))
hits = [(r <= 1).sum(axis=1) for r in ranks]
a, b = int((hits[0] > hits[1]).sum()), int((hits[0] < hits[1]).sum())
print(f"challenges with more Top-1 hits over the seeds, A : B = {a} : {b} (p = {p_two_sided(a, b):.3f}); "
      f"hits in all {int(hits[0].sum())} : {int(hits[1].sum())}")
lr = [np.log(r).mean(axis=1) for r in ranks]
a, b = int((lr[0] < lr[1]).sum()), int((lr[0] > lr[1]).sum())
print(f"challenges with the better mean log rank, A : B = {a} : {b} (p = {p_two_sided(a, b):.3f})")
