"""The cleaning pipeline: matchms-style steps, one signature, each switchable and counted.

Every step is ``step(record, **params) -> SpectrumRecord | None``: ``require_*`` steps return the record or ``None``
(the record is then rejected with the step's name as reason); ``select_*`` steps return the record with fewer peaks.
:class:`Cleaning` holds the settings (defaults = the paper's setting: positive mode, LC-MS/MS, MS2) and
:func:`steps` turns them into the ordered pipeline that ingest runs and reports.

Missing metadata (what each step does when it cannot tell):

- ``require_ion_mode``: the ion mode comes from the ion mode field, else from the sign of the adduct
  (``[M+H]+``), else from the sign of the charge (``CHARGE=1+``); a record whose mode is still unknown is removed
  (mixing negative-mode spectra into a positive-mode model is worse than losing a few spectra). Set
  ``keep_unknown_ion_mode`` to keep them.
- ``require_ms_level``: MGF and many MSP files have no MS level field; a record without one is kept (they are
  MS/MS libraries, and ``require_precursor_mz`` removes EI/MS1 records, which have no precursor). A stated level
  other than the required one removes the record.
- ``require_instrument_type``: the instrument type (MSP ``Instrument_type``, MGF ``SOURCE_INSTRUMENT``, GNPS
  ``Ion_Source``, MoNA ``instrument type``) is matched against the inlets allowed (default ``LC``, as a word: ``LC-ESI-
  QTOF``, ``UPLC``, ``HPLC-ESI``). A type that names another inlet or ionisation (GC, EI, CI, DI/direct infusion,
  MALDI, FAB, APGC) removes the record; a missing or uninformative one (``Linear Ion Trap``, ``Q-Exactive Plus``) is
  kept unless ``keep_unknown_instrument`` is off.
- ``require_precursor_mz``: a missing, zero or negative precursor m/z removes the record.
- ``require_license``: off by default. ``exclude_licenses`` lists licences to leave out by their words (``NC`` for
  every non-commercial Creative Commons licence, ``ND`` for no-derivatives), e.g. to build a training set whose
  records allow redistribution of what is trained on them; a record without a licence is kept unless
  ``keep_unknown_license`` is off.
- ``select_by_mz``: off by default (the grid itself drops peaks outside m/z (0, 1100] and counts them).
- ``require_minimum_number_of_peaks``: counts peaks that reach the grid with intensity > 0 (after
  ``select_by_mz``), so it runs after binning.

:data:`STEPS` is the one table of steps: each step's name, function, parameters (from :class:`Cleaning`), how a
rejection is described and when it runs. Ingest runs it (:mod:`specvae.ingest.process`) and reports it
(:mod:`specvae.ingest.report`) from that table alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from specvae.readers.records import SpectrumRecord

_INLETS = {
    "LC": re.compile(r"(?<![A-Z])(?:U?H?P?LC|NANO-?LC|LC/MS|LC-MS)(?![A-Z])"),
    "GC": re.compile(r"(?<![A-Z])(?:GC|APGC)(?![A-Z])"),
    "DI": re.compile(r"(?<![A-Z])(?:DI|DIRECT INFUSION|FIA|INFUSION)(?![A-Z])"),
    "EI": re.compile(r"(?<![A-Z])(?:EI|CI)(?![A-Z])"),
    "MALDI": re.compile(r"(?<![A-Z])(?:MALDI|FAB|SIMS|DESI|LDI)(?![A-Z])"),
}


@dataclass(frozen=True)
class Cleaning:
    """Settings of the cleaning pipeline; the defaults are the paper's setting (positive mode, LC-MS/MS, MS2).

    ``None`` (or ``False`` for ``require_precursor``) switches a step off.
    """

    ion_mode: str | None = "positive"  # "positive", "negative" or None (keep both; "any" is read as None)
    keep_unknown_ion_mode: bool = False  # unknown polarity could be either; see the module docstring
    ms_level: int | None = 2
    keep_unknown_ms_level: bool = True  # MGF has no MS level field
    instrument_types: tuple[str, ...] | None = ("LC",)  # allowed inlets: LC, GC, DI, EI, MALDI
    keep_unknown_instrument: bool = True  # many files give only the mass analyser ("Q-Exactive Plus")
    require_precursor: bool = True
    min_peaks: int | None = 1  # peaks on the grid with intensity > 0; 1 = "not empty after binning"
    mz_min: float | None = None  # select_by_mz lower bound (exclusive of nothing: keeps mz >= mz_min)
    mz_max: float | None = None  # select_by_mz upper bound (keeps mz <= mz_max)
    exclude_licenses: tuple[str, ...] | None = None  # e.g. ("NC", "ND"): records whose licence has all the words
    keep_unknown_license: bool = True  # records without a licence field

    def __post_init__(self):
        if isinstance(self.ion_mode, str) and self.ion_mode.strip().lower() in ("positive", "negative", "any"):
            mode = self.ion_mode.strip().lower()
            object.__setattr__(self, "ion_mode", None if mode == "any" else mode)
        if self.ion_mode not in (None, "positive", "negative"):
            raise ValueError(f"ion mode must be positive, negative or any (keep both), not {self.ion_mode!r}")
        if self.ms_level is not None and self.ms_level < 1:
            raise ValueError(f"MS level must be >= 1, not {self.ms_level}")
        if self.instrument_types is not None:
            unknown = [t for t in self.instrument_types if t.upper() not in _INLETS]
            if unknown:
                raise ValueError(f"unknown instrument inlet(s) {unknown}; choose from {', '.join(_INLETS)}")
        if self.min_peaks is not None and self.min_peaks < 0:
            raise ValueError(f"minimum number of peaks must be >= 0, not {self.min_peaks}")
        if self.exclude_licenses is not None and not all(_license_words(e) for e in self.exclude_licenses):
            raise ValueError(f"an excluded licence needs at least one word, got {list(self.exclude_licenses)}")
        if self.mz_min is not None and self.mz_max is not None and self.mz_min > self.mz_max:
            raise ValueError(f"m/z range is empty: {self.mz_min} > {self.mz_max}")

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("instrument_types", "exclude_licenses"):
            if data[key] is not None:
                data[key] = list(data[key])
        return data


def inlet_of(instrument_type: str | None) -> str | None:
    """The inlet/ionisation family an instrument type names (``"LC-ESI-QTOF"`` -> ``"LC"``), or ``None``."""
    if not instrument_type:
        return None
    text = instrument_type.upper()
    for name, pattern in _INLETS.items():
        if pattern.search(text):
            return name
    return None


def _instrument(record: SpectrumRecord) -> str | None:
    return record.metadata.get("instrument_type") or record.metadata.get("ion_source")


# --- the steps: (record, **params) -> record | None -------------------------------------------------------------

def require_ion_mode(record: SpectrumRecord, mode: str = "positive", keep_unknown: bool = False):
    """Keep records of ion mode ``mode`` (``"positive"`` or ``"negative"``); unknown mode: see ``keep_unknown``."""
    found = record.metadata.get("ion_mode")
    if found is None:
        return record if keep_unknown else None
    return record if found == mode else None


def require_ms_level(record: SpectrumRecord, level: int = 2, keep_unknown: bool = True):
    """Keep records of MS level ``level``; records without a stated level are kept when ``keep_unknown``."""
    found = record.metadata.get("ms_level")
    if found is None:
        return record if keep_unknown else None
    return record if found == level else None


def require_instrument_type(record: SpectrumRecord, inlets: tuple[str, ...] = ("LC",), keep_unknown: bool = True):
    """Keep records whose instrument type names one of ``inlets`` (default LC); unknown: see ``keep_unknown``."""
    found = inlet_of(_instrument(record))
    if found is None:
        return record if keep_unknown else None
    return record if found in inlets else None


def require_precursor_mz(record: SpectrumRecord):
    """Keep records with a precursor m/z > 0."""
    pm = record.metadata.get("precursor_mz")
    return record if pm is not None and pm > 0 else None


def _license_words(text: str) -> frozenset[str]:
    """``"CC BY-NC-SA 4.0"`` -> ``{"CC", "BY", "NC", "SA", "4.0"}``."""
    return frozenset(re.split(r"[\s\-_/]+", text.strip().upper())) - {""}


def require_license(record: SpectrumRecord, exclude: tuple[str, ...] = (), keep_unknown: bool = True):
    """Remove records whose licence has every word of one of ``exclude`` (``"NC"`` matches ``CC BY-NC-SA``,
    ``"CC BY-NC"`` matches ``CC BY-NC`` and ``CC BY-NC-SA``); records without a licence: see ``keep_unknown``."""
    found = record.metadata.get("license")
    if not found:
        return record if keep_unknown else None
    words = _license_words(found)
    return None if any(_license_words(e) <= words for e in exclude) else record


def select_by_mz(record: SpectrumRecord, mz_from: float = 0.0, mz_to: float = 1100.0):
    """Keep only peaks with ``mz_from <= m/z <= mz_to`` (the record itself is always returned)."""
    keep = (record.mz >= mz_from) & (record.mz <= mz_to)
    if not keep.all():
        record.mz, record.intensity = record.mz[keep], record.intensity[keep]
    return record


def require_minimum_number_of_peaks(n_peaks: np.ndarray, n_required: int = 1) -> np.ndarray:
    """Vectorised over a batch (runs after binning): which rows have at least ``n_required`` peaks kept."""
    return np.asarray(n_peaks) >= n_required


# --- the table: every step once, with its settings, its "could not tell" test and how a rejection reads -----------

def _mz_range(c: Cleaning) -> dict | None:
    if c.mz_min is None and c.mz_max is None:
        return None
    return {"mz_from": -np.inf if c.mz_min is None else c.mz_min, "mz_to": np.inf if c.mz_max is None else c.mz_max}


def _instrument_detail(record: SpectrumRecord, p: dict) -> str:
    text = _instrument(record)
    found = inlet_of(text) or "unknown inlet"
    return f"instrument type {text or 'unknown'!s} ({found}), required {'/'.join(p['inlets'])}"


def _peaks_detail(record: SpectrumRecord, p: dict, peaks_kept: int, peaks_read: int) -> str:
    return f"{peaks_kept} peaks on the grid with intensity > 0 (of {peaks_read} read), required {p['n_required']}"


@dataclass(frozen=True)
class StepDef:
    """One cleaning step: its name (= the reason a record it removes is rejected with), its function, its parameters
    from :class:`Cleaning` (``None``: switched off), the rejection detail, whether a kept record's value was unknown,
    and its stage: ``record`` (may remove the record), ``peaks`` (removes peaks only) or ``binned`` (vectorised over
    the binned batch)."""

    name: str
    func: Callable
    params: Callable[[Cleaning], dict | None]
    describe: Callable[..., str] | None = None
    unknown: Callable[[SpectrumRecord], bool] | None = None
    stage: str = "record"


STEPS: tuple[StepDef, ...] = (
    StepDef("require_ms_level", require_ms_level,
            lambda c: None if c.ms_level is None else {"level": c.ms_level, "keep_unknown": c.keep_unknown_ms_level},
            lambda r, p: f"MS level {r.metadata.get('ms_level') or 'unknown'}, required {p['level']}",
            lambda r: r.metadata.get("ms_level") is None),
    StepDef("require_ion_mode", require_ion_mode,
            lambda c: None if c.ion_mode is None else {"mode": c.ion_mode, "keep_unknown": c.keep_unknown_ion_mode},
            lambda r, p: f"ion mode {r.metadata.get('ion_mode') or 'unknown'}, required {p['mode']}",
            lambda r: r.metadata.get("ion_mode") is None),
    StepDef("require_instrument_type", require_instrument_type,
            lambda c: None if c.instrument_types is None else {
                "inlets": tuple(t.upper() for t in c.instrument_types), "keep_unknown": c.keep_unknown_instrument},
            _instrument_detail, lambda r: inlet_of(_instrument(r)) is None),
    StepDef("require_precursor_mz", require_precursor_mz, lambda c: {} if c.require_precursor else None,
            lambda r, p: "no precursor m/z"),
    StepDef("require_license", require_license,
            lambda c: None if not c.exclude_licenses else {"exclude": tuple(c.exclude_licenses),
                                                           "keep_unknown": c.keep_unknown_license},
            lambda r, p: f"licence {r.metadata.get('license') or 'unknown'}, excluded {', '.join(p['exclude'])}",
            lambda r: not r.metadata.get("license")),
    StepDef("select_by_mz", select_by_mz, _mz_range, stage="peaks"),
    StepDef("require_minimum_number_of_peaks", require_minimum_number_of_peaks,
            lambda c: {"n_required": c.min_peaks} if c.min_peaks else None, _peaks_detail, stage="binned"),
)


@dataclass
class Step:
    """One configured step of the pipeline (a row of :data:`STEPS` with its parameters) and its counts."""

    definition: StepDef
    params: dict
    removed: int = 0
    kept_unknown: int = 0
    peaks_removed: int = 0

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def stage(self) -> str:
        return self.definition.stage

    def describe(self, record: SpectrumRecord, **facts) -> str:
        """Detail text for a record this step removed (what was found, what was required)."""
        return self.definition.describe(record, self.params, **facts)


def steps(cleaning: Cleaning) -> list[Step]:
    """The steps ``cleaning`` switches on, in the order they run (the ``binned`` step runs after binning)."""
    return [Step(d, params) for d in STEPS if (params := d.params(cleaning)) is not None]


def run_steps(record: SpectrumRecord, pipeline: list[Step]) -> Step | None:
    """Run the per-record steps (stages ``record`` and ``peaks``) on ``record``; returns the step that removed it."""
    for step in pipeline:
        d = step.definition
        if d.stage == "peaks":
            before = len(record.mz)
            d.func(record, **step.params)
            step.peaks_removed += before - len(record.mz)
        elif d.stage == "record":
            if d.func(record, **step.params) is None:
                step.removed += 1
                return step
            if d.unknown is not None and step.params.get("keep_unknown") and d.unknown(record):
                step.kept_unknown += 1
    return None
