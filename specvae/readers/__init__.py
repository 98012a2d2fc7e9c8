"""Readers: every file format specvae reads, turned into records that keep their position and what went wrong.

- spectra (:func:`read_spectra`, by extension): MSP (:mod:`~specvae.readers.msp`), MGF (:mod:`~specvae.readers.mgf`),
  mzML (:mod:`~specvae.readers.mzml`), MoNA/GNPS JSON (:mod:`~specvae.readers.jsonfmt`), each optionally gzip-compressed
  (:mod:`~specvae.readers.textio`), into :class:`SpectrumRecord` with normalised metadata
  (:mod:`~specvae.readers.records`) and peaks (:mod:`~specvae.readers.peaks`);
- structures (:func:`read_structures`): CSV/TSV, SMILES/InChI lines, SDF and MSP (through the spectrum reader) into
  :class:`StructureRecord`, the text as written; :mod:`specvae.chem.structures` parses them.

A record that cannot be used is yielded too, with its reason, so that callers report it instead of dropping it. This
room imports nothing else of specvae but its errors: ingest, chem and retrieval all build on it.
"""

from specvae.readers.records import SpectrumRecord
from specvae.readers.spectra import detect_format, read_spectra
from specvae.readers.structures import StructureRecord, read_structures

__all__ = ["SpectrumRecord", "StructureRecord", "detect_format", "read_spectra", "read_structures"]
