"""An ingested dataset (``DIR/dataset.parquet``) in memory, and the tensors a training step needs.

The table is read once into a CSR layout (``indptr``, ``bins``, ``values``: the sparse spectra of every row, zero
length for structure-only rows) and a packed fingerprint matrix. Both move to the training device whole (MassBank:
about 60 MB), and each batch is densified there with one scatter and one bit-unpacking, so no data loader process
is needed and the GPU never waits on the host.

:func:`training_streams` turns the splits into the three semi-supervised streams of the paper: paired rows,
spectrum-only rows and fingerprint-only rows, with ``supervision`` deciding which training structures stay paired.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from specvae import schema
from specvae.chem.fingerprints import FingerprintSpec
from specvae.datasets.manifests import sha256
from specvae.errors import InputError

log = logging.getLogger("specvae.datasets")


@dataclass
class SpectraDataset:
    """All rows of an ingested dataset: metadata arrays, CSR spectra, packed fingerprints."""

    path: Path
    ids: np.ndarray  # (N,) object
    kinds: np.ndarray  # (N,) object: paired | spectrum_only | molecule_only
    splits: np.ndarray  # (N,) object: train | validation | test
    inchikey14: np.ndarray  # (N,) object, None where no structure
    ion_modes: np.ndarray  # (N,) object
    indptr: np.ndarray  # (N + 1,) int64
    bins: np.ndarray  # (nnz,) int64
    values: np.ndarray  # (nnz,) float32
    fingerprints: np.ndarray  # (N, ceil(n_bits / 8)) uint8, zero rows where no structure
    has_spectrum: np.ndarray  # (N,) bool
    has_fingerprint: np.ndarray  # (N,) bool
    spec: FingerprintSpec
    sha256: str

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, directory: str | Path) -> SpectraDataset:
        """Read ``directory/dataset.parquet`` written by ``specvae ingest``."""
        import pyarrow.parquet as pq

        path = Path(directory)
        file = path / schema.DATASET_FILE if path.is_dir() else path
        if not file.exists():
            raise FileNotFoundError(2, "no ingested dataset (run `specvae ingest` first)", str(file))
        # only what training and ranking use (not the measured peaks, which only `specvae export` reads)
        wanted = (schema.ID, schema.KIND, schema.SPLIT, schema.INCHIKEY14, schema.ION_MODE, schema.BINS,
                  schema.INTENSITIES, schema.FINGERPRINT)
        present = set(pq.read_schema(file).names)
        table = pq.read_table(file, columns=[c for c in wanted if c in present])
        spec = FingerprintSpec.from_table(table, file, "specvae ingest")
        n = table.num_rows
        spectra = table.column(schema.BINS).combine_chunks()
        values = table.column(schema.INTENSITIES).combine_chunks()
        has_spectrum = ~np.asarray(spectra.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        indptr = np.asarray(spectra.offsets.to_numpy(), dtype=np.int64)
        if spectra.offset or len(indptr) != n + 1:
            raise InputError(f"{file}: unexpected layout of the {schema.BINS} column")
        flat_bins = np.array(spectra.values.to_numpy(), dtype=np.int64)  # a writable copy for torch
        flat_values = np.array(values.values.to_numpy(), dtype=np.float32)
        fp_col = table.column(schema.FINGERPRINT).combine_chunks()
        has_fp = ~np.asarray(fp_col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        width = schema.n_packed_bytes(spec.n_bits)
        fps = np.zeros((n, width), dtype=np.uint8)
        if has_fp.any():
            filled = fp_col.filter(fp_col.is_valid())
            fps[has_fp] = np.frombuffer(b"".join(v.as_py() for v in filled), dtype=np.uint8).reshape(-1, width)

        def strings(name):
            return np.asarray(table.column(name).to_pylist(), dtype=object)

        return cls(path=file, ids=strings(schema.ID), kinds=strings(schema.KIND), splits=strings(schema.SPLIT),
                   inchikey14=strings(schema.INCHIKEY14), ion_modes=strings(schema.ION_MODE), indptr=indptr,
                   bins=flat_bins, values=flat_values, fingerprints=fps, has_spectrum=has_spectrum,
                   has_fingerprint=has_fp, spec=spec, sha256=sha256(file))

    def rows(self, split: str, kind: str) -> np.ndarray:
        """Row indices of one split and kind."""
        return np.flatnonzero((self.splits == split) & (self.kinds == kind))

    def ion_mode(self) -> str | None:
        """The ion mode of all spectra if they share one, else ``None``."""
        modes = set(self.ion_modes[self.has_spectrum].tolist()) - {None}
        return modes.pop() if len(modes) == 1 else None

    def describe(self) -> dict:
        counts = {f"{s}/{k}": int(((self.splits == s) & (self.kinds == k)).sum()) for s in schema.SPLITS
                  for k in schema.KINDS}
        return {"path": str(self.path), "sha256": self.sha256, "rows": len(self), "fingerprint": json.loads(
            self.spec.to_json()), "ion_mode": self.ion_mode(), "counts": counts}


@dataclass
class Streams:
    """Row indices of the three semi-supervised streams (training split) plus evaluation rows."""

    paired: np.ndarray
    spectrum: np.ndarray  # spectrum-only: unpaired spectra
    fingerprint: np.ndarray  # fingerprint-only: rows whose fingerprint is used alone, one per structure
    validation: np.ndarray  # paired validation rows
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {k: int(len(getattr(self, k))) for k in ("paired", "spectrum", "fingerprint", "validation", "test")}


def training_streams(ds: SpectraDataset, supervision: float = 1.0, seed: int = 0,
                     use_unpaired: bool = True) -> Streams:
    """Split the training rows into paired / spectrum-only / fingerprint-only streams.

    ``supervision`` is the fraction of training *structures* (first InChIKey blocks) whose spectra stay paired with
    their fingerprint; the others are presented unpaired: their spectra join the spectrum-only stream and their
    fingerprint (once per structure) the fingerprint-only stream. With ``use_unpaired``, the dataset's own
    spectrum-only and molecule-only training rows (spectra without structure, ``--molecules``) join the streams too.
    """
    if not 0.0 <= supervision <= 1.0:
        raise InputError(f"supervision must be between 0 and 1, got {supervision}")
    paired_rows = ds.rows(schema.TRAIN, schema.PAIRED)
    structures = np.unique(ds.inchikey14[paired_rows].astype(str))
    rng = np.random.default_rng(seed)
    n_keep = int(round(supervision * len(structures)))
    kept = set(rng.permutation(structures)[:n_keep].tolist())
    is_kept = np.fromiter((k in kept for k in ds.inchikey14[paired_rows]), dtype=bool, count=len(paired_rows))
    unpaired = paired_rows[~is_kept]
    _, first = np.unique(ds.inchikey14[unpaired].astype(str), return_index=True)
    spectrum = [unpaired]
    fingerprint = [unpaired[np.sort(first)]]
    if use_unpaired:
        spectrum.append(ds.rows(schema.TRAIN, schema.SPECTRUM_ONLY))
        fingerprint.append(ds.rows(schema.TRAIN, schema.MOLECULE_ONLY))
    return Streams(paired=paired_rows[is_kept], spectrum=np.concatenate(spectrum),
                   fingerprint=np.concatenate(fingerprint), validation=ds.rows(schema.VALIDATION, schema.PAIRED),
                   test=ds.rows(schema.TEST, schema.PAIRED))


class DeviceSpectra:
    """The dataset's spectra and fingerprints on one device; builds dense batches from row indices."""

    def __init__(self, ds: SpectraDataset, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.n_bits = ds.spec.n_bits
        self.indptr = torch.as_tensor(ds.indptr, device=self.device)
        self.bins = torch.as_tensor(ds.bins, device=self.device)
        self.values = torch.as_tensor(ds.values, device=self.device)
        self.fingerprints = torch.as_tensor(ds.fingerprints, device=self.device)
        self._shifts = torch.arange(7, -1, -1, dtype=torch.uint8, device=self.device)

    def spectra(self, rows: np.ndarray | Tensor) -> Tensor:
        """Dense ``(B, 11000)`` float32 log-intensity spectra of ``rows``."""
        rows = torch.as_tensor(rows, device=self.device)
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        out = torch.zeros((len(rows), schema.N_BINS), dtype=torch.float32, device=self.device)
        total = int(lengths.sum())
        if total:
            which = torch.repeat_interleave(torch.arange(len(rows), device=self.device), lengths, output_size=total)
            offset = torch.arange(total, device=self.device) - torch.repeat_interleave(
                torch.cumsum(lengths, 0) - lengths - starts, lengths, output_size=total)
            out[which, self.bins[offset]] = self.values[offset]
        return out

    def fingerprint_bits(self, rows: np.ndarray | Tensor) -> Tensor:
        """``(B, n_bits)`` float32 0/1 fingerprints of ``rows``."""
        packed = self.fingerprints[torch.as_tensor(rows, device=self.device)]  # (B, n_bytes)
        bits = (packed.unsqueeze(-1) >> self._shifts) & 1  # (B, n_bytes, 8)
        return bits.flatten(1)[:, : self.n_bits].float()

    def bit_frequencies(self, rows: np.ndarray, batch_size: int = 4096) -> Tensor:
        """``(n_bits,)`` share of ``rows`` with each bit set (float32; rows must not be empty)."""
        counts = torch.zeros(self.n_bits, dtype=torch.float64, device=self.device)
        for start in range(0, len(rows), batch_size):
            counts += self.fingerprint_bits(rows[start:start + batch_size]).sum(0, dtype=torch.float64)
        return (counts / len(rows)).float()
