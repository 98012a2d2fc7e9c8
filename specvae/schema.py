"""Names, types and constants shared by every stage: the single source of column names.

An ingested dataset is a directory::

    DIR/
      dataset.parquet   one row per spectrum (paired or spectrum-only) and per structure-only molecule
      rejects.jsonl     one JSON object per rejected input record: source, record, line, reason, detail
      report.json       counts: records read, written (paired / spectrum-only / molecule-only), rejected by reason,
                        peaks dropped by reason, cleaning steps, settings
      standardised.jsonl  one JSON object per written row whose structure standardisation changed (a salt reduced
                        to its largest organic fragment, a charge neutralised): source, record, line, given, smiles,
                        change
      settings.yaml     the settings of the ingest (``specvae ingest --config`` reads it)
      .specvae-output   the marker: specvae wrote this directory (:mod:`specvae.outputs`)

Spectra are stored sparsely: ``bins`` (list<uint16>, sorted bin indices 0..10999) and ``intensities``
(list<float32>, log(1 + I) with the largest bin scaled to I = 100 before the log). A binned MS/MS spectrum has tens of
occupied bins out of 11000, so the sparse layout is about 100x smaller than a dense float32 vector (44 kB) and needs no
compression tricks; :func:`specvae.datasets.spectra` densifies a batch on the device in one scatter.

The measured peaks are kept too, after cleaning and at the file's resolution: ``peak_mz`` (list<float64>) and
``peak_intensity`` (list<float64>), in file order, without peaks that cleaning removed (``--mz-min``/``--mz-max``)
or peaks of zero intensity; peaks beyond the bin grid (m/z above 1100) are kept here, though the bins leave them out.
``specvae export`` writes them as MGF or MSP. Datasets written before these columns existed lack them (and
``retention_time``); everything but ``export`` reads them as before.

Fingerprints are stored packed (``numpy.packbits``, big bit order, ``ceil(n_bits / 8)`` bytes in a fixed-size binary
column); the fingerprint's name, version and width are in the Parquet key-value metadata (:data:`META_FINGERPRINT`).
"""

from __future__ import annotations

SCHEMA_VERSION = "1"

# --- the spectrum grid (paper: 11000 bins of 0.1 Da over m/z 0-1100) ---------------------------------------------
N_BINS = 11000
BIN_WIDTH = 0.1  # Da
MZ_MAX = N_BINS * BIN_WIDTH  # 1100.0; bin i (0-based) holds m/z in (0.1 * i, 0.1 * (i + 1)]
MAX_LOG_INTENSITY = 4.61512051684126  # log(1 + 100): the base peak after scaling

# --- dataset files ----------------------------------------------------------------------------------------------
DATASET_FILE = "dataset.parquet"
REJECTS_FILE = "rejects.jsonl"
REPORT_FILE = "report.json"
STANDARDISED_FILE = "standardised.jsonl"

# --- columns of dataset.parquet -----------------------------------------------------------------------------------
ID = "id"  # unique within the dataset: the record's accession when it has one, else "<file>#<record>"
SOURCE = "source"  # input file name as given on the command line
RECORD = "record"  # 0-based position of the record in its source file
LINE = "line"  # 1-based line where the record starts (0 when the format has no lines, e.g. mzML)
NAME = "name"
PRECURSOR_MZ = "precursor_mz"
ADDUCT = "adduct"  # precursor type, e.g. "[M+H]+"
INSTRUMENT_TYPE = "instrument_type"
INSTRUMENT = "instrument"
COLLISION_ENERGY = "collision_energy"  # free text as in the source ("35 % (nominal)", "20 eV")
ION_MODE = "ion_mode"  # "positive" | "negative" | null
MS_LEVEL = "ms_level"
LICENSE = "license"
INCHIKEY = "inchikey"  # full InChIKey computed by RDKit from the parsed structure
INCHIKEY14 = "inchikey14"  # first block: the structure identity used for splits, exclusion and evaluation
SMILES = "smiles"  # RDKit canonical isomeric SMILES
N_PEAKS = "n_peaks"  # occupied bins
BINS = "bins"
INTENSITIES = "intensities"
PEAK_MZ = "peak_mz"  # measured peaks after cleaning (float64, file order)
PEAK_INTENSITY = "peak_intensity"
RETENTION_TIME = "retention_time"  # seconds, where the source states it
FINGERPRINT = "fingerprint"
SPLIT = "split"
KIND = "kind"

# values of KIND
PAIRED = "paired"
SPECTRUM_ONLY = "spectrum_only"
MOLECULE_ONLY = "molecule_only"
KINDS = (PAIRED, SPECTRUM_ONLY, MOLECULE_ONLY)

# values of SPLIT
TRAIN, VALIDATION, TEST = "train", "validation", "test"
SPLITS = (TRAIN, VALIDATION, TEST)

# --- Parquet key-value metadata ---------------------------------------------------------------------------------
META_SCHEMA = b"specvae.schema_version"
META_FINGERPRINT = b"specvae.fingerprint"  # JSON: {"name", "version", "n_bits"}
META_BINNING = b"specvae.binning"  # JSON: {"n_bins", "bin_width", "mz_max", "transform"}
META_SPLIT = b"specvae.split"  # JSON: {"seed", "fractions"}
META_VERSION = b"specvae.version"


def n_packed_bytes(n_bits: int) -> int:
    """Bytes needed to store ``n_bits`` packed bits (8 bits per byte, last byte zero-padded)."""
    return (n_bits + 7) // 8


def arrow_schema(n_bits: int):
    """The pyarrow schema of ``dataset.parquet`` for a fingerprint of ``n_bits`` bits."""
    import pyarrow as pa

    return pa.schema(
        [
            (ID, pa.string()),
            (KIND, pa.string()),
            (SPLIT, pa.string()),
            (SOURCE, pa.string()),
            (RECORD, pa.int64()),
            (LINE, pa.int64()),
            (NAME, pa.string()),
            (PRECURSOR_MZ, pa.float64()),
            (ADDUCT, pa.string()),
            (INSTRUMENT_TYPE, pa.string()),
            (INSTRUMENT, pa.string()),
            (COLLISION_ENERGY, pa.string()),
            (ION_MODE, pa.string()),
            (MS_LEVEL, pa.int8()),
            (LICENSE, pa.string()),
            (INCHIKEY, pa.string()),
            (INCHIKEY14, pa.string()),
            (SMILES, pa.string()),
            (N_PEAKS, pa.int32()),
            (BINS, pa.list_(pa.uint16())),
            (INTENSITIES, pa.list_(pa.float32())),
            (PEAK_MZ, pa.list_(pa.float64())),
            (PEAK_INTENSITY, pa.list_(pa.float64())),
            (RETENTION_TIME, pa.float64()),
            (FINGERPRINT, pa.binary(n_packed_bytes(n_bits))),
        ]
    )
