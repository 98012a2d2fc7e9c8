"""Ingest: spectrum files (MSP, MGF, mzML, MoNA/GNPS JSON; gzip or not) -> a Parquet dataset for training.

Reading (:mod:`specvae.readers`, re-exported here), cleaning (:mod:`~specvae.ingest.clean`, one table of steps),
binning (:mod:`~specvae.ingest.binning`), assembling (structures, fingerprints, splits: :mod:`~specvae.ingest.assemble`)
and writing (:mod:`~specvae.ingest.writer`, :mod:`~specvae.ingest.report`) are separate, documented steps:

>>> from specvae.ingest import read_spectra, bin_spectrum
>>> bins, values, n_off_grid = bin_spectrum([0.3, 100.0, 1200.0], [10.0, 20.0, 5.0])
>>> bins.tolist(), n_off_grid
([2, 999], 1)

``ingest(inputs, out_dir)`` runs the whole pipeline (the ``specvae ingest`` command is a thin wrapper over it).
"""

from specvae.ingest.binning import bin_batch, bin_spectrum, densify
from specvae.ingest.clean import (
    STEPS,
    Cleaning,
    require_instrument_type,
    require_ion_mode,
    require_minimum_number_of_peaks,
    require_ms_level,
    require_precursor_mz,
    select_by_mz,
)
from specvae.ingest.pipeline import ingest
from specvae.readers.records import SpectrumRecord
from specvae.readers.spectra import detect_format, read_spectra

__all__ = [
    "STEPS",
    "Cleaning",
    "SpectrumRecord",
    "bin_batch",
    "bin_spectrum",
    "densify",
    "detect_format",
    "ingest",
    "read_spectra",
    "require_instrument_type",
    "require_ion_mode",
    "require_minimum_number_of_peaks",
    "require_ms_level",
    "require_precursor_mz",
    "select_by_mz",
]
