"""Ranking speed: milliseconds per spectrum for N cached candidates (target: under 50 ms for 10,000 on a CPU).

Needs no trained model. Parts:

1. ``score``: :func:`specvae.retrieval.scoring.score_packed` on *random* packed fingerprints against *random* bit
   probabilities (the arithmetic does not depend on the values), and ``score+rank``: the full
   :func:`specvae.retrieval.scoring.rank_candidates` (cross-entropy, average ranks with ties, sorted table with
   SMILES/InChIKey/id/name).
2. With ``--pool``: real structures from a structure file (canonicalised beforehand, not timed), then per spectrum
   ``db query+rank`` (candidates from a structure database built from them: binary search + fingerprints stored in
   the database) and ``cache+rank`` (fingerprints looked up in a warm :class:`specvae.chem.cache.FingerprintCache`,
   when this specvae has one), and the cold cost of computing the fingerprints (``cold compute``, measured on
   ``--cold`` molecules and scaled to N).
3. With ``--model RUN``: the model's prediction per spectrum (batch of 1 and batch of 64 random spectra).

Example::

    python benchmarks/rank.py --pool ../shared/data/structures/pubchem_cas_chemicals/pubchem_cas_71k.tsv.gz
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median and minimum milliseconds of ``fn()`` over ``repeats`` runs (after one warm-up run).

    On a shared machine the median includes waiting for the CPU; the minimum is close to the cost on an idle core.
    """
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times)


def fake_candidates(n: int):
    from specvae.chem.structures import Structure
    from specvae.retrieval.candidates import Candidates

    structures = [Structure(smiles="C" * (1 + i % 30), inchikey=f"{i:014d}-UHFFFAOYSA-N", formula="C", mass=12.0,
                            charge=0) for i in range(n)]
    return Candidates(structures=structures, ids=[str(i) for i in range(n)], names=[""] * n,
                      merged_ids=[[] for _ in range(n)], n_read=n)


def bench_scoring(sizes, n_bits: int, repeats: int, rng) -> list[tuple]:
    from specvae.retrieval.scoring import rank_candidates, score_packed

    rows = []
    for n in sizes:
        probs = rng.random(n_bits).astype(np.float32)
        packed = np.packbits(rng.random((n, n_bits)) < 0.15, axis=1)
        cands = fake_candidates(n)
        rows.append((n, "score", timed(lambda: score_packed(probs, packed), repeats)))
        rows.append((n, "score+rank", timed(lambda: rank_candidates(probs, cands, packed), repeats)))
    return rows


def bench_pool(pool: Path, sizes, fingerprint: str, repeats: int, cold: int, workers: int, rng) -> list[tuple]:
    from specvae.chem.cache import FingerprintCache
    from specvae.chem.fingerprints import get_fingerprinter
    from specvae.chem.structures import Structure, parse_many
    from specvae.readers.structures import read_structures
    from specvae.retrieval.adducts import ADDUCTS
    from specvae.retrieval.candidates import candidate_fingerprints
    from specvae.retrieval.db import StructureDB, build_db
    from specvae.retrieval.scoring import rank_candidates

    n_max = max(sizes)
    rows, structures = [], []
    reader = read_structures(pool)
    while len(structures) < n_max:
        batch = [next(reader, None) for _ in range(5000)]
        batch = [r for r in batch if r is not None]
        if not batch:
            break
        structures += [c for c in parse_many([(r.smiles, r.inchi) for r in batch], workers=workers)
                       if isinstance(c, Structure)]
    structures = list({s.inchikey14: s for s in structures}.values())[:n_max]
    spec = get_fingerprinter(fingerprint).spec
    probs = rng.random(spec.n_bits).astype(np.float32)
    sample = structures[1:cold + 1]
    candidate_fingerprints(structures[:1], spec, cache=None)  # one-time set-up (pattern compilation) not counted
    start = time.perf_counter()
    candidate_fingerprints(sample, spec, cache=None, workers=workers)
    per_molecule = (time.perf_counter() - start) * 1e3 / len(sample)
    has_cache = importlib.util.find_spec("specvae.chem.cache") is not None
    cache = FingerprintCache(Path(tempfile.mkdtemp()) / "fingerprints.sqlite") if has_cache else None
    with tempfile.TemporaryDirectory() as tmp:
        smi = Path(tmp) / "pool.smi"
        smi.write_text("".join(f"{s.smiles} {i}\n" for i, s in enumerate(structures)))
        build_db([smi], Path(tmp) / "db.parquet", fingerprint=fingerprint, cache=cache, workers=workers)
        db = StructureDB(Path(tmp) / "db.parquet")
        masses = np.sort(db.masses)
        for n in sizes:
            subset = structures[:n]
            # a precursor window that returns n candidates: centre on the median mass, widen until n rows fall inside
            centre = float(np.median(masses))
            lo_i = max(0, np.searchsorted(masses, centre) - n // 2)
            hi_mass, lo_mass = masses[min(len(masses) - 1, lo_i + n - 1)], masses[lo_i]
            mz = ADDUCTS["[M+H]+"].mz((hi_mass + lo_mass) / 2)
            ppm = (hi_mass - lo_mass) / 2 / mz * 1e6 + 1e-6
            found = len(db.query(mz, ["[M+H]+"], ppm=ppm)[0])
            rows.append((found, "db query+rank", timed(
                lambda: rank_candidates(probs, *db.query(mz, ["[M+H]+"], ppm=ppm)), repeats)))
            if cache is not None:
                from specvae.retrieval.candidates import Candidates

                cands = Candidates(structures=subset, ids=[""] * n, names=[""] * n, merged_ids=[[] for _ in subset])
                rows.append((n, "cache+rank", timed(lambda: rank_candidates(
                    probs, cands, candidate_fingerprints(subset, spec, cache=cache)), max(3, repeats // 4))))
            rows.append((n, f"cold compute ({fingerprint}, from {len(sample)})", (per_molecule * n, float("nan"))))
    if cache is None:
        rows.append((n_max, "cache+rank", (float("nan"), float("nan"))))
    return rows


def bench_model(run: Path, repeats: int, rng) -> list[tuple]:
    from specvae.retrieval.predict import Predictor

    predictor = Predictor.from_run(run)
    rows = []
    for batch in (1, 64):
        dense = np.zeros((batch, 11000), np.float32)
        for row in dense:
            row[rng.integers(0, 11000, 30)] = rng.uniform(0.5, 4.6, 30)
        median, fastest = timed(lambda: predictor.predict_bits(dense), max(3, repeats // 4))
        rows.append((batch, f"model prediction (batch {batch}, {run.name})", (median / batch, fastest / batch)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", default="1000,10000,100000", help="Candidate counts (comma-separated).")
    parser.add_argument("--bits", type=int, default=2149, help="Fingerprint width for the random part (2149).")
    parser.add_argument("--pool", type=Path, help="Structure file for the real-structure part (SMILES/InChI table).")
    parser.add_argument("--fingerprint", default=None, help="Fingerprint for the pool part (default: specvae's "
                                                            "default if available, else morgan2).")
    parser.add_argument("--cold", type=int, default=500, help="Molecules to time the cold fingerprint compute on.")
    parser.add_argument("--model", type=Path, help="A run directory to time predictions with.")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    from specvae.chem.fingerprints import DEFAULT_FINGERPRINT, available

    fingerprint = args.fingerprint or (DEFAULT_FINGERPRINT if DEFAULT_FINGERPRINT in available() else "morgan2")
    sizes = [int(s) for s in args.candidates.split(",")]
    rng = np.random.default_rng(0)
    rows = bench_scoring(sizes, args.bits, args.repeats, rng)
    if args.pool:
        rows += bench_pool(args.pool, [s for s in sizes if s <= 20000], fingerprint, args.repeats, args.cold,
                           args.workers, rng)
    if args.model:
        rows += bench_model(args.model, args.repeats, rng)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; fingerprint {fingerprint}; "
          f"median and minimum of {args.repeats} runs")
    print(f"{'candidates':>10}  {'what':<42} {'median ms':>10} {'min ms':>8}")
    for n, what, (median, fastest) in rows:
        if not np.isfinite(median):
            print(f"{n:>10,}  {what:<42} n/a (no specvae.chem.cache in this version)")
            continue
        print(f"{n:>10,}  {what:<42} {median:>10.1f} {fastest:>8.1f}".replace(" nan", "  - "))


if __name__ == "__main__":
    main()
