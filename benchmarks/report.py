"""Time of the HTML report (``report.html``) for 1,000 spectra, against ranking the same spectra without it.

    python benchmarks/report.py [--spectra 1000]

The packaged MassBank sample is ingested into a temporary directory; its first N paired spectra are written as an MGF
(as ``specvae demo`` writes its test spectra) and every structure of the sample (475) is the candidate list, ranked
for every spectrum (no mass check, so each spectrum shows five candidates) with the packaged default model. The
report draws each distinct structure once (RDKit drawings are cached by SMILES).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spectra", type=int, default=1000)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import numpy as np
    import pyarrow.parquet as pq

    from specvae import schema
    from specvae.chem.cache import FingerprintCache
    from specvae.demo import packaged_sample
    from specvae.ingest import ingest
    from specvae.retrieval.predict import Predictor, default_model_dir
    from specvae.retrieval.ranking import rank_spectra

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = FingerprintCache()
        ingest([packaged_sample()], tmp / "data", cache=cache)
        t = pq.read_table(tmp / "data" / schema.DATASET_FILE).to_pydict()
        rows = [i for i, k in enumerate(t[schema.KIND]) if k == schema.PAIRED][: args.spectra]
        with open(tmp / "q.mgf", "w") as mgf:
            for i in rows:
                mz = (np.asarray(t[schema.BINS][i]) + 0.5) * schema.BIN_WIDTH
                intensity = np.expm1(np.asarray(t[schema.INTENSITIES][i], dtype=float))
                mgf.write(f"BEGIN IONS\nTITLE={t[schema.ID][i]}\nPEPMASS={t[schema.PRECURSOR_MZ][i]}\n"
                          f"RTINSECONDS={60 + i}\n" + "".join(f"{m:.4f} {v:.6g}\n" for m, v in zip(mz, intensity))
                          + "END IONS\n")
        seen = {}
        for key, smiles, name in zip(t[schema.INCHIKEY14], t[schema.SMILES], t[schema.NAME]):
            seen.setdefault(key, (smiles, name or ""))
        with open(tmp / "c.csv", "w") as fh:
            fh.write("id,name,smiles\n" + "".join(f'{k},"{n}",{s}\n' for k, (s, n) in seen.items()))
        predictor = Predictor.from_run(default_model_dir())
        times = {}
        rank_spectra(tmp / "q.mgf", predictor, tmp / "warm-up", candidates=tmp / "c.csv", mass_check=False,
                     cache=cache, report=False)  # fingerprints into the cache, model and code warm
        for report in (False, True):
            start = time.perf_counter()
            rank_spectra(tmp / "q.mgf", predictor, tmp / f"out-{report}", candidates=tmp / "c.csv", mass_check=False,
                         cache=cache, report=report)
            times[report] = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (tmp / "out-True").rglob("*.html"))
        pages = len(list((tmp / "out-True").rglob("*.html")))
        print(f"{len(rows)} spectra, {len(seen)} candidates each: rank without report {times[False]:.1f} s, with "
              f"report {times[True]:.1f} s (report {times[True] - times[False]:.1f} s); {pages} HTML files, "
              f"{size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
