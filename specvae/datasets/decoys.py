"""Candidate lists for validation retrieval: each validation structure among the structures nearest to it in mass.

The task a model is used for is ranking candidate structures of the right mass, so the validation split is scored
the same way during training: every paired validation spectrum ranks its own structure among ``n_candidates - 1``
decoys, the training and validation structures (paired or structure-only rows, distinct first InChIKey blocks)
closest to it in monoisotopic mass. A fixed number of nearest masses rather than a ppm window, because in a dataset
of a few thousand structures a 10 ppm window holds one structure for most spectra (MassBank with the CASMI 2016
answers excluded: median 1, mean 1.7 within 10 ppm); with a large structure pool the nearest candidates all lie
within a few ppm and the two definitions meet. Test structures never take part, except in the lists of the test
split itself (``with_test``, for ``specvae evaluate split --split test``), which draw on every structure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specvae import schema

log = logging.getLogger("specvae.datasets")


@dataclass
class DecoySets:
    """For ``rows`` (dataset row indices): ``candidates[i]`` are row indices whose fingerprints are the candidates of
    ``rows[i]``, its own structure's row in column 0; a row of -1 where the structure has no mass."""

    rows: np.ndarray  # (N,) the paired validation rows
    candidates: np.ndarray  # (N, K) row indices into the dataset; column 0: the answer

    @property
    def n_candidates(self) -> int:
        return int(self.candidates.shape[1])

    @property
    def n_ranked(self) -> int:
        """Rows with a candidate list."""
        return int((self.candidates[:, 0] >= 0).sum()) if self.candidates.size else 0


def monoisotopic_masses(smiles: list[str]) -> np.ndarray:
    """Monoisotopic masses (Da) of SMILES strings (NaN where RDKit cannot parse one)."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem.Descriptors import ExactMolWt

    RDLogger.DisableLog("rdApp.*")
    out = np.full(len(smiles), np.nan)
    for i, s in enumerate(smiles):
        mol = Chem.MolFromSmiles(s) if s else None
        if mol is not None:
            out[i] = ExactMolWt(mol)
    return out


def validation_decoys(dataset_file: str | Path, rows: np.ndarray, n_candidates: int = 100,
                      with_test: bool = False) -> DecoySets:
    """The candidate lists of :mod:`this module <specvae.datasets.decoys>` for the paired validation ``rows`` (for
    paired test rows with ``with_test``: the test structures join the decoys)."""
    import pyarrow.parquet as pq

    table = pq.read_table(dataset_file, columns=[schema.INCHIKEY14, schema.SMILES, schema.SPLIT, schema.KIND])
    key = np.asarray(table.column(schema.INCHIKEY14).to_pylist(), dtype=object)
    smiles = table.column(schema.SMILES).to_pylist()
    split = np.asarray(table.column(schema.SPLIT).to_pylist(), dtype=object)
    kind = np.asarray(table.column(schema.KIND).to_pylist(), dtype=object)
    usable = (kind != schema.SPECTRUM_ONLY) & (key != None)  # noqa: E711
    pool = np.flatnonzero(usable if with_test else usable & (split != schema.TEST))
    _, first = np.unique(key[pool].astype(str), return_index=True)
    pool = pool[np.sort(first)]  # one row per structure
    mass = monoisotopic_masses([smiles[i] for i in pool])
    pool, mass = pool[np.isfinite(mass)], mass[np.isfinite(mass)]
    order = np.argsort(mass, kind="stable")
    pool, mass = pool[order], mass[order]
    row_of = {k: r for k, r in zip(key[pool], pool)}
    k = min(n_candidates, len(pool))
    structures = np.unique(key[rows].astype(str))
    lists: dict[str, np.ndarray] = {}
    for s in structures:
        own = row_of.get(s)
        if own is None:
            continue
        at = int(np.flatnonzero(pool == own)[0])
        lo, hi = max(0, at - k), min(len(pool), at + k + 1)  # the k nearest on either side cover the k nearest
        near = np.arange(lo, hi)
        near = near[near != at]
        near = near[np.argsort(np.abs(mass[near] - mass[at]), kind="stable")[: k - 1]]
        lists[s] = np.concatenate([[own], pool[near]])
    missing = np.array([key[r] not in lists for r in rows], dtype=bool)
    if missing.any():
        log.warning("%d of %d spectra left out of retrieval: their structure has no parsable SMILES",
                    int(missing.sum()), len(rows))
    candidates = np.full((len(rows), k), -1, dtype=np.int64)
    for i, r in enumerate(rows):
        if not missing[i]:
            candidates[i] = lists[key[r]]
    return DecoySets(rows=rows, candidates=candidates)
