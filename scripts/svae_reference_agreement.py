"""Agreement of our substructure bits with the svae_spectra reference's 2149-bit strings (``fp_short``).

Usage::

    python scripts/svae_reference_agreement.py [PATH/TO/svae_spectra_examples/test.csv]

The reference mask is unknown, so reference columns are aligned, in order, to columns of our unmasked pool
(:func:`specvae.chem.substructure.compare.align_columns`); the table reports agreement per family of the aligned
columns. The method and its caveats are in docs/fingerprint.md.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    import numpy as np

    from specvae.chem.fingerprints import get_fingerprinter
    from specvae.chem.structures import parse_structure
    from specvae.chem.substructure.compare import agreement_by_family, align_columns

    shared = Path(os.environ.get("SPECVAE_SHARED_DATA", REPO.parent / "shared" / "data"))
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else shared / "svae_spectra_examples" / "test.csv"
    csv.field_size_limit(2**31 - 1)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    mols, reference = [], []
    for row in rows:
        mols.append(parse_structure(smiles=row["SMILES"])[0])
        reference.append([int(c) for c in row["fp_short"].strip()])
    reference = np.array(reference, dtype=np.uint8)
    pool = get_fingerprinter("specvae-pool")
    ours = pool.compute(mols)
    families = pool.families()
    assignment = align_columns(reference, ours)
    report = agreement_by_family(reference, ours, assignment, families)
    print(f"{len(mols)} molecules, {reference.shape[1]} reference bits, {ours.shape[1]} pool bits ({path})")
    print(f"{'family':14s} {'ref cols':>8s} {'agree':>7s} {'baseline':>8s} {'informative':>11s} "
          f"{'agree(inf)':>10s} {'recall(1s)':>10s}")
    for family, row in report.items():
        if not row["columns"]:
            print(f"{family:14s} {0:8d}")
            continue
        if family == "unassigned":
            print(f"{family:14s} {row['columns']:8d} {'-':>7s} {'-':>8s} {row['informative_columns']:11d}  "
                  f"(reference on-fraction {row['reference_on_fraction']:.3f})")
            continue
        cells = {key: f"{row[key]:.3f}" if key in row else "-" for key in
                 ("agreement", "majority_baseline", "agreement_informative", "recall_of_reference_ones")}
        print(f"{family:14s} {row['columns']:8d} {cells['agreement']:>7s} {cells['majority_baseline']:>8s} "
              f"{row.get('informative_columns', 0):11d} {cells['agreement_informative']:>10s} "
              f"{cells['recall_of_reference_ones']:>10s}")
    # where the families start in the reference, as aligned
    starts = {}
    for j, p in enumerate(assignment):
        if p >= 0:
            starts.setdefault(str(families[p]), j)
    print("first reference column aligned to each family:", starts)
    mine = get_fingerprinter("specvae")
    chosen = {(b.family, b.family_bit) for b in mine.bits}
    aligned_in_mask = sum((pool.bits[p].family, pool.bits[p].family_bit) in chosen for p in assignment if p >= 0)
    print(f"aligned pool columns that are also in our {mine.spec}: {aligned_in_mask} of {(assignment >= 0).sum()}")


if __name__ == "__main__":
    main()
