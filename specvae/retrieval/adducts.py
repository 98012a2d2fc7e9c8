"""Precursor ion types (adducts): the arithmetic between a molecule's monoisotopic mass and its precursor m/z.

An adduct is written the usual way, ``[nM+A-B]z±`` (``[M+H]+``, ``[M+Na]+``, ``[M+NH4]+``, ``[2M+H]+``,
``[M+2H]2+``, ``[M-H]-``, ``[M+HCOO]-``, ``[M+FA-H]-``, ...). For an adduct ``a`` with ``n`` molecules, mass change
``delta`` (Da) and charge ``z``::

    m/z = (n * M + delta) / |z|        M = (|z| * m/z - delta) / n

where ``delta`` is the sum of the added and removed groups' monoisotopic masses minus ``z`` electron masses (so
``[M+H]+`` adds a proton, 1.007276 Da).

``[M]+`` and ``[M]-`` mean a *permanently charged* molecule (a quaternary ammonium, a phosphonium): its mass, as
RDKit computes it from the charged structure, is already the ion's mass (electrons accounted for), so ``delta = 0``,
and a database query for ``[M]+`` returns only molecules with formal charge +1, while every other adduct returns only
neutral molecules (:attr:`Adduct.molecule_charge`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from specvae.errors import InputError

ELECTRON = 0.000548579909065  # Da (CODATA 2018)
# monoisotopic masses of the most abundant isotopes (Da, AME 2016 / IUPAC)
ELEMENTS = {
    "H": 1.00782503223, "C": 12.0, "N": 14.00307400443, "O": 15.99491461957, "Na": 22.9897692820,
    "K": 38.9637064864, "Li": 7.0160034366, "Cl": 34.968852682, "Br": 78.9183376, "S": 31.9720711744,
    "P": 30.97376199842, "F": 18.99840316273, "I": 126.9044719, "Ca": 39.962590863, "Fe": 55.93493633,
}
PROTON = ELEMENTS["H"] - ELECTRON
# abbreviations used inside adduct names
GROUPS = {"FA": "HCOOH", "Hac": "CH3COOH", "HAc": "CH3COOH", "ACN": "CH3CN", "MeOH": "CH3OH", "DMSO": "C2H6OS",
          "TFA": "C2HF3O2", "IsoProp": "C3H8O"}

_ADDUCT = re.compile(r"^\[?(?P<n>\d*)M(?P<terms>(?:[+-]\d*[A-Za-z][A-Za-z0-9]*)*)\]?(?P<z>\d*)(?P<sign>[+-]?)\*?$")
_TERM = re.compile(r"([+-])(\d*)([A-Za-z][A-Za-z0-9]*)")
_FORMULA = re.compile(r"([A-Z][a-z]?)(\d*)")


@dataclass(frozen=True)
class Adduct:
    """A precursor ion type: ``name`` (canonical, e.g. ``"[M+H]+"``), ``n_molecules``, ``delta`` (Da), ``charge``."""

    name: str
    n_molecules: int
    delta: float
    charge: int

    @property
    def ion_mode(self) -> str:
        """``"positive"`` or ``"negative"``."""
        return "positive" if self.charge > 0 else "negative"

    @property
    def molecule_charge(self) -> int:
        """Formal charge of the molecules this adduct applies to: ``charge`` for ``[M]+``/``[M]-``, else 0."""
        return self.charge if self.delta == 0.0 and self.n_molecules == 1 else 0

    def mz(self, mass: float) -> float:
        """Precursor m/z of a molecule of monoisotopic ``mass`` (Da) observed as this adduct."""
        return (self.n_molecules * mass + self.delta) / abs(self.charge)

    def mass(self, mz: float) -> float:
        """Monoisotopic mass (Da) of the molecule behind a precursor at ``mz`` observed as this adduct."""
        return (abs(self.charge) * mz - self.delta) / self.n_molecules

    def mass_window(self, mz: float, ppm: float) -> tuple[float, float]:
        """Molecule masses (Da, inclusive bounds) whose ion lies within ``ppm`` of ``mz`` (tolerance on the m/z)."""
        tol = abs(mz) * ppm * 1e-6
        return self.mass(mz - tol), self.mass(mz + tol)


def formula_mass(formula: str) -> float:
    """Monoisotopic mass (Da) of a simple formula such as ``"HCOOH"`` or ``"NH4"`` (no brackets, no charges)."""
    formula = GROUPS.get(formula, formula)
    if not formula or "".join(m.group(0) for m in _FORMULA.finditer(formula)) != formula:
        raise InputError(f"cannot read the formula {formula!r} in an adduct; write groups such as H, Na, NH4, HCOO")
    total = 0.0
    for symbol, count in _FORMULA.findall(formula):
        if symbol not in ELEMENTS:
            raise InputError(f"unknown element {symbol!r} in adduct group {formula!r}; known: {', '.join(ELEMENTS)}")
        total += ELEMENTS[symbol] * int(count or 1)
    return total


def parse_adduct(text: str) -> Adduct:
    """The :class:`Adduct` written as ``text`` (``"[M+H]+"``, ``"M+Na"``, ``"[M+2H]2+"``, ``"[M-H]-"`` ...).

    Without a charge suffix, a single added H/alkali/NH4 means ``+1`` and a single removed H or added halide/formate/
    acetate means ``-1``; anything else needs the suffix.

    Raises
    ------
    InputError
        When the text is not an adduct this module can compute.
    """
    raw = (text or "").strip().replace(" ", "")
    match = _ADDUCT.match(raw)
    if not match:
        raise InputError(f"cannot read the adduct {text!r}; write it like [M+H]+, [M+Na]+, [M-H]- or [2M+H]+")
    n = int(match["n"] or 1)
    terms = _TERM.findall(match["terms"])
    if match["sign"]:
        charge = int(match["z"] or 1) * (1 if match["sign"] == "+" else -1)
    else:
        charge = _implied_charge(terms)
        if charge == 0:
            raise InputError(f"adduct {text!r} has no charge; write it with one, e.g. [{raw.strip('[]')}]+")
    delta = 0.0
    for sign, count, group in terms:
        delta += (1 if sign == "+" else -1) * int(count or 1) * formula_mass(group)
    if terms:
        delta -= charge * ELECTRON
    core = f"{n if n > 1 else ''}M" + "".join(f"{s}{c}{g}" for s, c, g in terms)
    name = f"[{core}]{abs(charge) if abs(charge) > 1 else ''}{'+' if charge > 0 else '-'}"
    return Adduct(name=name, n_molecules=n, delta=delta, charge=charge)


def _implied_charge(terms) -> int:
    if len(terms) != 1 or terms[0][1] not in ("", "1"):
        return 0
    sign, _, group = terms[0]
    if sign == "+" and group in ("H", "Na", "K", "Li", "NH4"):
        return 1
    if (sign == "-" and group == "H") or (sign == "+" and group in ("Cl", "Br", "HCOO", "CH3COO")):
        return -1
    return 0


# Common ESI adducts (canonical names); the first of each mode is the default.
POSITIVE_ADDUCTS = ("[M+H]+", "[M+Na]+", "[M+NH4]+", "[M+K]+", "[M+H-H2O]+", "[M]+", "[M+2H]2+", "[2M+H]+",
                    "[M+Li]+", "[M+ACN+H]+")
NEGATIVE_ADDUCTS = ("[M-H]-", "[M+Cl]-", "[M+HCOO]-", "[M+CH3COO]-", "[M-H2O-H]-", "[M]-", "[M-2H]2-", "[2M-H]-",
                    "[M+Br]-")
ADDUCTS = {name: parse_adduct(name) for name in POSITIVE_ADDUCTS + NEGATIVE_ADDUCTS}


def default_adduct(ion_mode: str | None) -> Adduct:
    """``[M+H]+`` for positive mode (and when the mode is unknown), ``[M-H]-`` for negative mode."""
    return ADDUCTS["[M-H]-"] if ion_mode == "negative" else ADDUCTS["[M+H]+"]
