"""One spectrum as read from a file, and the metadata vocabulary every reader normalises to.

Readers (:mod:`specvae.readers.msp`, ``mgf``, ``mzml``, ``jsonfmt``) turn each record of a file into a
:class:`SpectrumRecord`. A record that cannot be used is still yielded, with ``error`` set to a short stable reason
code (``malformed_peak_line``, ``negative_intensity``, ...) and ``detail`` saying what and where, so that ingest can
write it to the rejects file: every record read is either written or reported.

Metadata keys are normalised across dialects (MassBank/NIST/RIKEN MSP, MoNA MSP ``Comments:``, GNPS/CASMI MGF,
MoNA/GNPS JSON, mzML): ``id, name, precursor_mz, adduct, ion_mode, ms_level, instrument_type, instrument,
collision_energy, smiles, inchi, inchikey, license, charge, retention_time``. Keys a reader does not know are kept
lower-cased with spaces as underscores.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

# Raw key (lower-cased, stripped) -> normalised key. Shared by MSP, MGF, JSON and MoNA "Comments" fields.
KEY_ALIASES = {
    # identifiers
    "db#": "id", "accession": "id", "spectrumid": "id", "spectrum_id": "id", "id": "id",
    "name": "name", "compound_name": "name", "compound name": "name", "title": "title",
    # precursor
    "precursormz": "precursor_mz", "precursor_mz": "precursor_mz", "precursor m/z": "precursor_mz",
    "pepmass": "precursor_mz", "precursor_mass": "precursor_mz",
    "precursortype": "adduct", "precursor_type": "adduct", "precursor type": "adduct", "adduct": "adduct",
    "charge": "charge",
    # acquisition
    "ionmode": "ion_mode", "ion_mode": "ion_mode", "ionization mode": "ion_mode", "ion mode": "ion_mode",
    "polarity": "ion_mode",
    "mslevel": "ms_level", "ms_level": "ms_level", "ms level": "ms_level", "spectrum_type": "ms_level",
    "ms_type": "ms_level",
    "instrumenttype": "instrument_type", "instrument_type": "instrument_type", "instrument type": "instrument_type",
    "source_instrument": "instrument_type",
    "instrument": "instrument",
    "collisionenergy": "collision_energy", "collision_energy": "collision_energy",
    "collision energy": "collision_energy",
    # structure
    "smiles": "smiles", "computed smiles": "computed_smiles",
    "inchi": "inchi", "computed inchi": "computed_inchi",
    "inchikey": "inchikey", "inchi key": "inchikey",
    # provenance
    "license": "license", "licence": "license",
    "num peaks": "num_peaks", "numpeaks": "num_peaks", "num_peaks": "num_peaks",
    "comments": "comments", "comment": "comments",
}

_NULL_TEXT = {"", "n/a", "na", "nan", "none", "null", "-", "?", "unknown", "0", "0.0"}
_NULL_STRUCTURE = {"", "n/a", "na", "nan", "none", "null", "-", "?", "unknown"}
_COMMENT_ITEM = re.compile(r'"([^"=]+)=([^"]*)"')
_DIGITS = re.compile(r"\d+")
_CHARGE = re.compile(r"^\s*([+-]?)(\d*)\s*([+-]?)")


@dataclass(slots=True)
class SpectrumRecord:
    """A spectrum read from a file, before cleaning and binning.

    Attributes
    ----------
    source
        The input file as given (path text).
    record
        0-based position of the record in its file (for mzML: the spectrum's index in the file).
    line
        1-based line where the record starts; 0 where the format has no lines (mzML).
    mz, intensity
        Peaks as ``float64`` arrays of equal length, in file order (empty when the record is unusable).
    metadata
        Normalised metadata (see the module docstring).
    error
        ``None``, or a short reason code saying why the record cannot be used.
    detail
        Human-readable detail for ``error`` (the offending line, value, ...).
    notes
        Codes of things the reader noticed about a usable record without rejecting it (``no_num_peaks``: an MSP
        record without a ``Num Peaks`` line, so its peak count could not be checked); ingest counts them per file.
    """

    source: str
    record: int
    line: int
    mz: np.ndarray
    intensity: np.ndarray
    metadata: dict = field(default_factory=dict)
    error: str | None = None
    detail: str = ""
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        pm = self.metadata.get("precursor_mz")
        state = f"error={self.error!r}" if self.error else f"{len(self.mz)} peaks, precursor m/z {pm}"
        return f"SpectrumRecord({self.source}#{self.record} line {self.line}, {state})"


EMPTY = np.zeros(0, dtype=np.float64)


def normal_key(raw: str) -> str:
    """The normalised metadata key for a raw field name (``"PRECURSORMZ"`` -> ``"precursor_mz"``)."""
    key = raw.strip().lower()
    return KEY_ALIASES.get(key) or key.replace(" ", "_")


def parse_float(text) -> float | None:
    """A finite float from text such as ``"179.07"`` or ``"222.023 10585360"`` (first token); else ``None``."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        token = str(text).strip().split(None, 1)
        if not token:
            return None
        try:
            value = float(token[0])
        except ValueError:
            return None
    return value if math.isfinite(value) else None


_RT_UNIT = re.compile(r"^\s*([-+]?[0-9.]+(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)")
# keys that hold a retention time, and the unit of a bare number in each (MGF RTINSECONDS: seconds; MassBank/NIST MSP
# RETENTIONTIME and MoNA "retention time": minutes)
RETENTION_KEYS = (("rtinseconds", 1.0), ("retention_time", 60.0), ("retentiontime", 60.0), ("rtinminutes", 60.0))


def retention_seconds(meta: dict) -> float | None:
    """The retention time in seconds from the first retention-time key of ``meta`` (:data:`RETENTION_KEYS`); a unit
    written after the number (``5.2 min``, ``312 s``) wins over the key's; ``None`` when absent or unreadable."""
    for key, scale in RETENTION_KEYS:
        text = meta.get(key)
        if text is None:
            continue
        if isinstance(text, (int, float)):
            value, unit = float(text), ""
        else:
            m = _RT_UNIT.match(str(text))
            if not m:
                continue
            try:
                value, unit = float(m.group(1)), m.group(2).lower()
            except ValueError:
                continue
        if unit.startswith("min"):
            scale = 60.0
        elif unit in ("s", "sec", "second", "seconds"):
            scale = 1.0
        elif unit in ("ms",):
            scale = 0.001
        seconds = value * scale
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    return None


def parse_charge(text) -> int | None:
    """Signed charge from ``"1+"``, ``"2-"``, ``"+1"``, ``"-1"``, ``"1"``, ``1``; ``None`` when absent or zero."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return int(text) or None
    m = _CHARGE.match(str(text))
    if not m or not m.group(2):
        return None
    value = int(m.group(2))
    if "-" in (m.group(1), m.group(3)):
        value = -value
    return value or None


def parse_ion_mode(text) -> str | None:
    """``"positive"``, ``"negative"`` or ``None`` from ``P``, ``POSITIVE``, ``Positive``, ``n``, ``negative``, ..."""
    if text is None:
        return None
    value = str(text).strip().lower()
    if value in ("p", "pos", "positive", "+", "positive ion"):
        return "positive"
    if value in ("n", "neg", "negative", "-", "negative ion"):
        return "negative"
    return None


def parse_ms_level(text) -> int | None:
    """MS level from ``2``, ``"2"``, ``"MS2"``, ``"ms2"``; ``None`` for absent or unrecognised text (``in-source``)."""
    if text is None:
        return None
    if isinstance(text, int):
        return text or None
    value = str(text).strip().upper()
    if value.startswith("MS"):
        value = value[2:]
    m = _DIGITS.fullmatch(value.strip())
    return (int(m.group(0)) or None) if m else None


def adduct_sign(adduct: str | None) -> str | None:
    """Ion mode implied by an adduct's trailing charge sign (``"[M+H]+"`` -> positive, ``"[M-H]-"`` -> negative)."""
    if not adduct:
        return None
    text = adduct.strip().rstrip("*")
    if text.endswith("]+") or re.search(r"\]\d*\+$", text):
        return "positive"
    if text.endswith("]-") or re.search(r"\]\d*-$", text):
        return "negative"
    return None


def split_mona_comments(text: str) -> dict:
    """``"key=value"`` items of a MoNA ``Comments:`` field, keys lower-cased (first occurrence wins)."""
    out: dict = {}
    for key, value in _COMMENT_ITEM.findall(text):
        out.setdefault(key.strip().lower(), value.strip())
    return out


def finish_metadata(meta: dict) -> tuple[dict, str | None, str]:
    """Normalise a reader's raw metadata in place; returns ``(metadata, error, detail)``.

    Applies the policy shared by all formats:

    - structure: ``smiles``/``inchi`` from explicit keys, else from MoNA ``Comments`` (``computed SMILES`` first,
      then ``SMILES``; ``computed InChI``, then ``InChI``); placeholders such as ``N/A`` count as absent;
    - ``precursor_mz``: a number > 0, else ``None`` (``0`` means "none" in MoNA GC exports); non-numeric text is
      an error (``invalid_precursor_mz``);
    - ``ion_mode``: the explicit field; when absent, the sign of the adduct, else the sign of the charge (recorded in
      ``ion_mode_from``: ``"field"``, ``"adduct"``, ``"charge"``);
    - ``ms_level``: integer or ``None``; ``charge``: signed integer or ``None``.
    """
    comments = meta.get("comments")
    if comments and '"' in comments:
        # MoNA MSP: '"SMILES=..." "InChI=..." "computed SMILES=..." "license=CC BY" ...'; only known keys are taken
        for raw, value in split_mona_comments(comments).items():
            key = KEY_ALIASES.get(raw)
            if key in ("smiles", "inchi", "computed_smiles", "computed_inchi"):
                meta.setdefault("comment_" + key, value)
            elif key is not None and key not in ("comments", "num_peaks", "name", "title"):
                meta.setdefault(key, value)
    for key in ("smiles", "inchi"):
        value = meta.get(key)
        if value is not None and _is_null(value, _NULL_STRUCTURE):
            meta[key] = value = None
        if not value:
            for alt in ("computed_" + key, "comment_computed_" + key, "comment_" + key):
                candidate = meta.get(alt)
                if candidate and not _is_null(candidate, _NULL_STRUCTURE):
                    meta[key] = str(candidate).strip()
                    break
            else:
                meta[key] = None
    inchi = meta.get("inchi")
    if inchi and inchi.startswith("InChI=InChI="):
        meta["inchi"] = inchi[6:]

    error, detail = None, ""
    raw_pm = meta.get("precursor_mz")
    if raw_pm is None or (isinstance(raw_pm, str) and _is_null(raw_pm, _NULL_TEXT)):
        meta["precursor_mz"] = None
    else:
        value = parse_float(raw_pm)
        if value is None:
            error, detail = "invalid_precursor_mz", f"precursor m/z {str(raw_pm)[:60]!r} is not a finite number"
            meta["precursor_mz"] = None
        else:
            meta["precursor_mz"] = value if value > 0 else None

    meta["retention_time"] = retention_seconds(meta)
    meta["charge"] = _memo(parse_charge, meta.get("charge"))
    meta["ms_level"] = _memo(parse_ms_level, meta.get("ms_level"))
    for key in ("adduct", "instrument_type", "instrument", "collision_energy", "license"):
        meta[key] = _memo(_clean_text, meta.get(key))
    meta["name"] = _clean_text(meta.get("name"))
    meta["id"] = _clean_text(meta.get("id"))
    mode = _memo(parse_ion_mode, meta.get("ion_mode"))
    source = "field" if mode else None
    if mode is None:
        mode = adduct_sign(meta.get("adduct"))
        source = "adduct" if mode else None
    if mode is None and meta["charge"]:
        mode = "positive" if meta["charge"] > 0 else "negative"
        source = "charge"
    meta["ion_mode"] = mode
    meta["ion_mode_from"] = source
    meta.setdefault("inchikey", None)
    return meta, error, detail


_CACHE: dict = {}  # (parser, text) -> parsed value, for fields with few distinct values (ion mode, adduct, ...)


def _memo(parse, value):
    if value is None or not isinstance(value, str):
        return parse(value)
    key = (parse, value)
    try:
        return _CACHE[key]
    except KeyError:
        if len(_CACHE) > 100_000:
            _CACHE.clear()
        out = _CACHE[key] = parse(value)
        return out


def _clean_text(value) -> str | None:
    """Stripped text, ``None`` for absent values and placeholders (``N/A``, ``nan``, ``none``, ``null``)."""
    if value is None:
        return None
    value = str(value).strip()
    return value if value and not (len(value) <= 4 and value.lower() in ("n/a", "nan", "none", "null")) else None


def _is_null(value, tokens: set) -> bool:
    """Whether ``value`` is a placeholder from ``tokens`` (all short, so long texts are never lower-cased)."""
    text = str(value).strip()
    return len(text) <= 8 and text.lower() in tokens
