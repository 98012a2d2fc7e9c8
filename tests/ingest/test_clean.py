"""Cleaning steps: one signature, the documented missing-metadata policy, counts per step."""

from __future__ import annotations

import numpy as np
import pytest

from specvae.ingest.clean import (
    Cleaning,
    inlet_of,
    require_instrument_type,
    require_ion_mode,
    require_license,
    require_ms_level,
    require_precursor_mz,
    select_by_mz,
)
from specvae.ingest.process import process_records
from specvae.readers.records import SpectrumRecord, finish_metadata


def make(mz=(100.0, 200.0), intensity=(1.0, 2.0), **meta) -> SpectrumRecord:
    metadata, error, detail = finish_metadata(dict(meta))
    return SpectrumRecord("x.msp", 0, 1, np.asarray(mz, float), np.asarray(intensity, float), metadata, error, detail)


@pytest.mark.parametrize(
    "meta, expected",
    [
        ({"ion_mode": "Positive"}, "positive"),
        ({"ion_mode": "P"}, "positive"),
        ({"ion_mode": "N"}, "negative"),
        ({"ion_mode": "n/a", "charge": "1-"}, "negative"),
        ({"adduct": "[M+H]+"}, "positive"),
        ({"adduct": "[M-H]-", "charge": "1+"}, "negative"),  # the adduct outranks the charge
        ({"charge": "2+"}, "positive"),
        ({"charge": "0"}, None),
        ({}, None),
    ],
)
def test_ion_mode_derivation(meta, expected):
    assert make(**meta).metadata["ion_mode"] == expected


def test_require_ion_mode_unknown_removed_by_default():
    assert require_ion_mode(make(ion_mode="positive")) is not None
    assert require_ion_mode(make(ion_mode="negative")) is None
    assert require_ion_mode(make()) is None
    assert require_ion_mode(make(), keep_unknown=True) is not None
    assert require_ion_mode(make(ion_mode="negative"), mode="negative") is not None


@pytest.mark.parametrize("level, kept", [("2", True), ("MS2", True), ("1", False), ("MS3", False), (None, True)])
def test_require_ms_level_keeps_unknown(level, kept):
    meta = {"ms_level": level} if level is not None else {}
    assert (require_ms_level(make(**meta)) is not None) == kept


@pytest.mark.parametrize(
    "text, inlet",
    [("LC-ESI-QTOF", "LC"), ("LC-APCI-QFT", "LC"), ("HPLC-ESI-TOF", "LC"), ("UPLC", "LC"), ("GC-EI-TOF", "GC"),
     ("GC Orbitrap", "GC"), ("EI-B", "EI"), ("DI-ESI-Orbitrap", "DI"), ("MALDI-TOFTOF", "MALDI"),
     ("Linear Ion Trap", None), ("-Q-Exactive Plus Orbitrap Res 70k", None), ("ESI-QTOF", None), (None, None),
     ("APCI-ITFT", None)],
)
def test_inlet_of(text, inlet):
    assert inlet_of(text) == inlet


def test_require_instrument_type():
    assert require_instrument_type(make(instrument_type="LC-ESI-QTOF")) is not None
    assert require_instrument_type(make(instrument_type="GC-EI-TOF")) is None
    assert require_instrument_type(make(instrument_type="Q Exactive")) is not None, "unknown inlet kept"
    assert require_instrument_type(make(instrument_type="Q Exactive"), keep_unknown=False) is None
    assert require_instrument_type(make(instrument_type="GC-EI-TOF"), inlets=("GC",)) is not None


def test_require_precursor_mz():
    assert require_precursor_mz(make(precursor_mz="179.07")) is not None
    assert require_precursor_mz(make(precursor_mz="0")) is None
    assert require_precursor_mz(make()) is None


def test_non_numeric_precursor_is_a_record_error():
    record = make(precursor_mz="abc")
    assert record.error == "invalid_precursor_mz" and "abc" in record.detail


def test_select_by_mz():
    record = select_by_mz(make(mz=(50.0, 100.0, 150.0), intensity=(1, 1, 1)), mz_from=60, mz_to=150)
    assert record.mz.tolist() == [100.0, 150.0]


def test_pipeline_counts_each_step_and_keeps_order():
    records = [
        make(ion_mode="positive", precursor_mz="100", instrument_type="LC-ESI-QTOF", ms_level="2"),
        make(ion_mode="negative", precursor_mz="100"),
        make(ion_mode="positive", precursor_mz="100", ms_level="1"),
        make(ion_mode="positive", precursor_mz="100", instrument_type="GC-EI"),
        make(ion_mode="positive"),
        make(ion_mode="positive", precursor_mz="100", mz=(1200.0,), intensity=(5.0,)),
        make(ion_mode="positive", precursor_mz="100", mz=(10.0, 20.0, 30.0), intensity=(1, 1, 1)),
    ]
    for i, r in enumerate(records):
        r.record = i
    cleaning = Cleaning(mz_min=15.0)
    result = process_records(records, cleaning)
    reasons = {rec: reason for rec, _, reason, _ in result.rejects}
    assert reasons == {1: "require_ion_mode", 2: "require_ms_level", 3: "require_instrument_type",
                       4: "require_precursor_mz", 5: "require_minimum_number_of_peaks"}
    assert result.record == [0, 6]
    assert result.steps["require_ms_level"] == {"removed": 1, "kept_unknown": 5, "peaks_removed": 0}
    assert result.steps["select_by_mz"]["peaks_removed"] == 1
    assert result.peaks["off_grid_high"] == 1
    assert result.counts.tolist() == [2, 2]


def test_cleaning_validates_settings():
    with pytest.raises(ValueError, match="ion mode"):
        Cleaning(ion_mode="both")
    with pytest.raises(ValueError, match="inlet"):
        Cleaning(instrument_types=("LCMS",))
    with pytest.raises(ValueError, match="empty"):
        Cleaning(mz_min=500, mz_max=100)


@pytest.mark.parametrize("license, exclude, kept", [
    ("CC BY-NC-SA", ("NC",), False),
    ("CC BY-NC", ("NC",), False),
    ("CC BY-NC-ND 4.0", ("ND",), False),
    ("CC BY-SA", ("NC", "ND"), True),
    ("CC BY", ("CC BY-NC",), True),  # every word of the exclusion must be in the licence
    ("cc by-nc-sa", ("CC BY-NC",), False),  # case and separators do not matter
    ("dl-de/by-2-0", ("NC",), True),
    ("CC0", ("NC",), True),
])
def test_require_license_matches_words(license, exclude, kept):
    assert (require_license(make(license=license), exclude) is not None) == kept


def test_require_license_unknown_and_settings():
    assert require_license(make(), ("NC",)) is not None
    assert require_license(make(), ("NC",), keep_unknown=False) is None
    with pytest.raises(ValueError, match="at least one word"):
        Cleaning(exclude_licenses=("  ",))
    assert Cleaning(exclude_licenses=("NC",)).to_dict()["exclude_licenses"] == ["NC"]
