"""Builders for small, fully known inputs (used where a test needs exact control over the content)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from specvae import schema


def write_dataset(directory: Path, n_structures: int = 12, spectra_per_structure: int = 3, n_bits: int = 24,
                  n_spectrum_only: int = 2, n_molecule_only: int = 3, seed: int = 0, with_smiles: bool = False) -> Path:
    """A ``dataset.parquet`` whose spectra depend on their fingerprint (so that a model can learn something).

    Structures are assigned to splits round-robin (train, train, validation, test, ...), spectra of one structure
    share its split, and each spectrum lights bins that are a fixed function of the structure's set bits. With
    ``with_smiles`` every structure gets a real SMILES (alkanols, and alkylamines for the molecule-only rows), so
    that masses can be computed.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    rows = []
    split_cycle = [schema.TRAIN, schema.TRAIN, schema.VALIDATION, schema.TEST]
    for s in range(n_structures):
        bits = (rng.random(n_bits) < 0.3).astype(np.uint8)
        key = f"KEY{s:011d}"
        for j in range(spectra_per_structure):
            on = np.flatnonzero(bits)
            b = np.unique(np.concatenate([on * 37 + 100, rng.integers(0, schema.N_BINS, 3)])).astype(np.uint16)
            v = rng.uniform(0.5, schema.MAX_LOG_INTENSITY, len(b)).astype(np.float32)
            rows.append(dict(kind=schema.PAIRED, split=split_cycle[s % 4], key=key, bits=bits, b=b, v=v))
    for i in range(n_spectrum_only):
        b = np.unique(rng.integers(0, schema.N_BINS, 5)).astype(np.uint16)
        rows.append(dict(kind=schema.SPECTRUM_ONLY, split=schema.TRAIN, key=None, bits=None, b=b,
                         v=rng.uniform(0.5, 4.6, len(b)).astype(np.float32)))
    for i in range(n_molecule_only):
        rows.append(dict(kind=schema.MOLECULE_ONLY, split=schema.TRAIN, key=f"MOL{i:011d}",
                         bits=(rng.random(n_bits) < 0.3).astype(np.uint8), b=None, v=None))
    n = len(rows)
    columns = {name: [None] * n for name in schema.arrow_schema(n_bits).names}
    for i, r in enumerate(rows):
        columns[schema.ID][i] = f"row{i}"
        columns[schema.KIND][i] = r["kind"]
        columns[schema.SPLIT][i] = r["split"]
        columns[schema.SOURCE][i] = "builder"
        columns[schema.RECORD][i] = i
        columns[schema.LINE][i] = 0
        columns[schema.ION_MODE][i] = "positive" if r["b"] is not None else None
        columns[schema.INCHIKEY][i] = None if r["key"] is None else r["key"] + "-UHFFFAOYSA-N"
        columns[schema.INCHIKEY14][i] = r["key"]
        if r["key"] is not None and with_smiles:  # a real structure per key: n-alkanols, distinct masses
            columns[schema.SMILES][i] = "C" * (int(r["key"][3:]) + 1) + ("O" if r["key"].startswith("KEY") else "N")
        if r["b"] is not None:
            columns[schema.BINS][i] = r["b"].tolist()
            columns[schema.INTENSITIES][i] = r["v"].tolist()
            columns[schema.N_PEAKS][i] = len(r["b"])
        if r["bits"] is not None:
            columns[schema.FINGERPRINT][i] = np.packbits(r["bits"]).tobytes()
    meta = {schema.META_FINGERPRINT: json.dumps({"name": "test", "version": "1", "n_bits": n_bits}).encode(),
            schema.META_SCHEMA: schema.SCHEMA_VERSION.encode()}
    table = pa.table(columns, schema=schema.arrow_schema(n_bits).with_metadata(meta))
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, directory / schema.DATASET_FILE)
    return directory
