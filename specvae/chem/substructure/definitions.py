"""The bit pool: every bit definition of the substructure families, in CSI:FingerID's family order.

The pool is read from definition files shipped in ``specvae/chem/data`` (provenance and licences:
``specvae/chem/data/SOURCE.md``) and from RDKit, only when the pool or a mask is (re)built:

=============  ======  ===========================================================================================
family         bits    source of the definitions
=============  ======  ===========================================================================================
laggner        307     ``SMARTS_InteLigand.txt``: Christian Laggner's SMARTS (as CDK's SubstructureFingerprinter and
                       scikit-fingerprints' ``LaggnerFingerprint``); bit 298 "Salt" is a rule (two or more
                       fragments, an anion and a cation), as there.
pubchem        881     the CACTVS/PubChem keys: element counts and ring counts (built here), and the 618 SMARTS of
                       ``pubchem_smarts.tsv`` (scikit-fingerprints' ``pubchem.features``). Element and ring bits
                       follow the PubChem specification and CDK's PubchemFingerprinter where scikit-fingerprints 2.1
                       deviates (see ``docs/fingerprint.md``).
klekota_roth   4860    ``klekota_roth_smarts.txt`` (Klekota & Roth 2008, as in CDK and scikit-fingerprints).
maccs          166     RDKit ``MACCSkeys.smartsPatts`` (keys 1-166; "more than n matches" keys; keys 125 and 166
                       are rules, key 1 "isotope" is never set by RDKit).
=============  ======  ===========================================================================================

OpenBabel FP3 (55 bits) is not in the pool: see ``docs/fingerprint.md``.

Each bit is a :class:`BitDef` whose ``kind`` says how ``definition`` is evaluated (``min_count`` is the threshold):

- ``smarts``: at least ``min_count`` unique matches of the SMARTS ``definition``;
- ``element``: at least ``min_count`` atoms of element ``definition`` (``H`` counts all hydrogens, implicit or not);
- ``ring``: at least ``min_count`` rings of the smallest set of smallest rings matching ``definition``
  (``size=N|any class=C``, see :data:`RING_CLASSES`);
- ``salt``: two or more fragments, one atom with a negative and one with a positive formal charge;
- ``fragments``: at least ``min_count`` disconnected fragments;
- ``never``: a key RDKit does not implement (always 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"  # specvae/chem/data
DEFINITION_FILES = ("SMARTS_InteLigand.txt", "pubchem_smarts.tsv", "klekota_roth_smarts.txt")
FAMILIES = ("laggner", "pubchem", "klekota_roth", "maccs")
FAMILY_SIZES = {"laggner": 307, "pubchem": 881, "klekota_roth": 4860, "maccs": 166}
KINDS = ("smarts", "element", "ring", "salt", "fragments", "never")

# PubChem ring classes (CDK PubchemFingerprinter semantics): "saturated" = every ring bond single and not aromatic,
# "aromatic" = every ring bond aromatic, "unsaturated" = neither saturated nor aromatic.
RING_CLASSES = (
    "any",
    "saturated_or_aromatic_carbon_only",
    "saturated_or_aromatic_nitrogen",
    "saturated_or_aromatic_hetero",
    "unsaturated_carbon_only",
    "unsaturated_nitrogen",
    "unsaturated_hetero",
    "aromatic",
    "hetero_aromatic",
)
# PubChem section 2: count thresholds per ring size.
_RING_THRESHOLDS = {3: (1, 2), 4: (1, 2), 5: (1, 2, 3, 4, 5), 6: (1, 2, 3, 4, 5), 7: (1, 2), 8: (1, 2), 9: (1,),
                    10: (1,)}
# PubChem section 1: element count thresholds, in key order.
_ELEMENT_THRESHOLDS = (
    ("H", (4, 8, 16, 32)), ("Li", (1, 2)), ("B", (1, 2, 4)), ("C", (2, 4, 8, 16, 32)), ("N", (1, 2, 4, 8)),
    ("O", (1, 2, 4, 8, 16)), ("F", (1, 2, 4)), ("Na", (1, 2)), ("Si", (1, 2)), ("P", (1, 2, 4)), ("S", (1, 2, 4, 8)),
    ("Cl", (1, 2, 4, 8)), ("K", (1, 2)), ("Br", (1, 2, 4)), ("I", (1, 2, 4)),
) + tuple((symbol, (1,)) for symbol in (
    "Be Mg Al Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Kr Rb Sr Y Zr Nb Mo Ru Rh Pd Ag Cd In Sn Sb Te Xe Cs Ba Lu "
    "Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Tc U").split())

LAGGNER_SALT_BIT = 298
MACCS_AROMATIC_RINGS_KEY = 125  # "more than one aromatic ring" (RDKit key numbering, 1-based)
MACCS_FRAGMENTS_KEY = 166  # "more than one fragment"
MACCS_ISOTOPE_KEY = 1  # not implemented by RDKit


@dataclass(frozen=True)
class BitDef:
    """One bit: its family, its position in the family (0-based), how it is evaluated, and a readable name."""

    family: str
    family_bit: int
    kind: str
    definition: str
    min_count: int = 1
    name: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return self.family, self.family_bit


def ring_definition(size: int | None, ring_class: str) -> str:
    """The ``definition`` text of a ring bit: ``"size=6 class=aromatic"`` (``size=any`` for every size)."""
    if ring_class not in RING_CLASSES:
        raise ValueError(f"unknown ring class {ring_class!r}; choose one of {', '.join(RING_CLASSES)}")
    return f"size={'any' if size is None else size} class={ring_class}"


def parse_ring_definition(text: str) -> tuple[int | None, str]:
    """Inverse of :func:`ring_definition`: ``(size or None, class)``."""
    try:
        fields = dict(token.split("=", 1) for token in text.split())
        size = None if fields["size"] == "any" else int(fields["size"])
        ring_class = fields["class"]
    except (KeyError, ValueError):
        raise ValueError(f"invalid ring definition {text!r}; expected 'size=N|any class=NAME'") from None
    if ring_class not in RING_CLASSES:
        raise ValueError(f"invalid ring definition {text!r}: unknown class {ring_class!r}")
    return size, ring_class


def _data_lines(name: str) -> list[str]:
    """The lines of a shipped definition file, without comments and blank lines."""
    with open(DATA / name, encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip() and not line.startswith("#")]


# Names the file gives twice, told apart as scikit-fingerprints (and so the shipped mask) tells them apart.
LAGGNER_RENAMED = {16: "Dialkylthioether (aliphatic O)", 36: "Dialkylthioether (aliphatic S)",
                   19: "Alkylarylthioether (aliphatic S)", 37: "Alkylarylthioether (aliphatic O)",
                   108: "Amidine (basic, not part of aromatic ring)",
                   119: "Amidine (not substituted by carbonyl or thiocarbonyl, not part of a ring)"}


def laggner_smarts() -> tuple[list[str], list[str]]:
    """Names and SMARTS of ``SMARTS_InteLigand.txt`` (``Name: SMARTS`` lines; ``Urea:`` has no space)."""
    names, patterns = [], []
    for line in _data_lines("SMARTS_InteLigand.txt"):
        name, smarts = ("Urea:", line.removeprefix("Urea:")) if line.startswith("Urea:") else line.split()
        names.append(LAGGNER_RENAMED.get(len(names), name.removesuffix(":").strip()))
        patterns.append(smarts.strip())
    return names, patterns


@lru_cache(maxsize=1)
def laggner_bits() -> tuple[BitDef, ...]:
    """The 307 Laggner (CDK SubstructureFingerprinter) bits."""
    names, patterns = laggner_smarts()
    bits = []
    for i, (name, smarts) in enumerate(zip(names, patterns)):
        if i == LAGGNER_SALT_BIT:
            bits.append(BitDef("laggner", i, "salt", "fragments>=2 anion cation", 1, str(name)))
        else:
            bits.append(BitDef("laggner", i, "smarts", smarts, 1, str(name)))
    return tuple(bits)


@lru_cache(maxsize=1)
def pubchem_bits() -> tuple[BitDef, ...]:
    """The 881 PubChem keys: 115 element counts, 148 ring counts, 618 SMARTS (``pubchem_smarts.tsv``)."""
    bits: list[BitDef] = []

    def add(kind, definition, min_count, name):
        bits.append(BitDef("pubchem", len(bits), kind, definition, min_count, name))

    for symbol, thresholds in _ELEMENT_THRESHOLDS:
        for n in thresholds:
            add("element", symbol, n, f"{symbol} >= {n}")
    classes = RING_CLASSES[:7]
    for size, thresholds in _RING_THRESHOLDS.items():
        for n in thresholds:
            for ring_class in classes:
                add("ring", ring_definition(size, ring_class), n, f">= {n} {ring_class} ring(s) of size {size}")
    for n in (1, 2, 3, 4):
        add("ring", ring_definition(None, "aromatic"), n, f">= {n} aromatic ring(s)")
        add("ring", ring_definition(None, "hetero_aromatic"), n, f">= {n} hetero-aromatic ring(s)")
    for line in _data_lines("pubchem_smarts.tsv")[1:]:  # after the header "section<TAB>smarts"
        smarts = line.split("\t")[1]
        add("smarts", smarts, 1, smarts)
    return tuple(bits)


@lru_cache(maxsize=1)
def klekota_roth_bits() -> tuple[BitDef, ...]:
    """The 4860 Klekota-Roth SMARTS (``klekota_roth_smarts.txt``)."""
    return tuple(BitDef("klekota_roth", i, "smarts", s, 1, s) for i, s in enumerate(_data_lines(
        "klekota_roth_smarts.txt")))


@lru_cache(maxsize=1)
def maccs_bits() -> tuple[BitDef, ...]:
    """The 166 MACCS keys as RDKit defines them (family bit i = RDKit key i + 1)."""
    from rdkit.Chem import MACCSkeys

    bits = []
    for key in range(1, 167):
        smarts, more_than = MACCSkeys.smartsPatts[key]
        i = key - 1
        if key == MACCS_ISOTOPE_KEY:
            bits.append(BitDef("maccs", i, "never", "isotope (not implemented by RDKit)", 1, f"key {key}"))
        elif key == MACCS_AROMATIC_RINGS_KEY:
            bits.append(BitDef("maccs", i, "ring", ring_definition(None, "aromatic"), 2, f"key {key}"))
        elif key == MACCS_FRAGMENTS_KEY:
            bits.append(BitDef("maccs", i, "fragments", "fragments", 2, f"key {key}"))
        else:
            bits.append(BitDef("maccs", i, "smarts", smarts, more_than + 1, f"key {key}"))
    return tuple(bits)


def bit_pool(families: tuple[str, ...] = FAMILIES) -> list[BitDef]:
    """Every bit of ``families`` (default all four), in family order then family bit order."""
    builders = {"laggner": laggner_bits, "pubchem": pubchem_bits, "klekota_roth": klekota_roth_bits,
                "maccs": maccs_bits}
    pool = []
    for family in families:
        if family not in builders:
            raise ValueError(f"unknown fingerprint family {family!r}; choose from {', '.join(FAMILIES)}")
        bits = builders[family]()
        if len(bits) != FAMILY_SIZES[family]:
            raise RuntimeError(f"family {family} has {len(bits)} bits, expected {FAMILY_SIZES[family]}")
        pool.extend(bits)
    return pool
