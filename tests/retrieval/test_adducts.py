"""Adduct arithmetic: precursor m/z <-> monoisotopic mass, names, ppm windows."""

from __future__ import annotations

import pytest

from specvae.errors import InputError
from specvae.retrieval.adducts import ADDUCTS, ELECTRON, PROTON, default_adduct, parse_adduct

GLUCOSE = 180.063388  # C6H12O6, Da


@pytest.mark.parametrize("name, mz", [
    ("[M+H]+", 181.070664),  # published values (e.g. the Fiehn lab adduct calculator)
    ("[M+Na]+", 203.052609),
    ("[M+NH4]+", 198.097213),
    ("[M+K]+", 219.026547),
    ("[M+H-H2O]+", 163.060100),
    ("[M+2H]2+", 91.038970),
    ("[2M+H]+", 361.134052),
    ("[M-H]-", 179.056112),
    ("[M+Cl]-", 215.032789),
    ("[M+HCOO]-", 225.061591),
    ("[M+CH3COO]-", 239.077241),
    ("[M-2H]2-", 89.024418),
    ("[2M-H]-", 359.119500),
])
def test_adduct_mz_of_glucose(name, mz):
    adduct = ADDUCTS[name]
    assert adduct.mz(GLUCOSE) == pytest.approx(mz, abs=2e-6)
    assert adduct.mass(adduct.mz(GLUCOSE)) == pytest.approx(GLUCOSE, abs=1e-9), "mass() inverts mz()"


def test_permanently_charged_molecule_is_its_own_ion():
    choline = 104.106990  # C5H14NO+ as RDKit computes it: atoms minus one electron
    assert ADDUCTS["[M]+"].mz(choline) == choline
    assert ADDUCTS["[M]+"].molecule_charge == 1 and ADDUCTS["[M+H]+"].molecule_charge == 0
    assert PROTON == pytest.approx(1.007276, abs=1e-6) and ELECTRON == pytest.approx(0.00054858, abs=1e-8)


@pytest.mark.parametrize("text, name", [
    ("M+H", "[M+H]+"), ("[M+H]", "[M+H]+"), ("[M+H]1+", "[M+H]+"), (" [M+Na]+ ", "[M+Na]+"), ("M-H", "[M-H]-"),
    ("[M+FA-H]-", "[M+FA-H]-"), ("[M]+", "[M]+"), ("M+", "[M]+"), ("[M+H]+*", "[M+H]+"),
])
def test_parse_names(text, name):
    assert parse_adduct(text).name == name


def test_formic_acid_alias_equals_formate():
    assert parse_adduct("[M+FA-H]-").delta == pytest.approx(ADDUCTS["[M+HCOO]-"].delta, abs=1e-9)


@pytest.mark.parametrize("text", ["", "M++H", "[M+Xx]+", "[M+H2O]", "hello"])
def test_bad_adducts(text):
    with pytest.raises(InputError):
        parse_adduct(text)


def test_ppm_window_is_on_the_mz():
    lo, hi = ADDUCTS["[M+H]+"].mass_window(181.070664, ppm=10)
    assert hi - lo == pytest.approx(2 * 181.070664 * 10e-6, rel=1e-9)
    assert lo < GLUCOSE < hi
    lo2, hi2 = ADDUCTS["[M+2H]2+"].mass_window(91.038970, ppm=10)
    assert hi2 - lo2 == pytest.approx(2 * 2 * 91.038970 * 10e-6, rel=1e-9), "doubly charged: mass tolerance doubles"


def test_default_adducts():
    assert default_adduct("positive").name == "[M+H]+"
    assert default_adduct(None).name == "[M+H]+"
    assert default_adduct("negative").name == "[M-H]-"
