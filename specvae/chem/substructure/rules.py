"""Per-molecule atom and bond tables, and the bits that are rules rather than SMARTS.

:func:`molecule_table` reads every atom and bond of a molecule once; the rule bits (element counts,
ring counts, fragments, salts) are computed from these arrays without further RDKit calls per atom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from specvae.chem.substructure.definitions import RING_CLASSES, BitDef, parse_ring_definition

_MAX_RING_SIZE = 10  # PubChem's ring keys go up to size 10; "size=any" classes count every ring


@dataclass
class MoleculeTable:
    """Atom columns (one entry per atom) and bond columns (one per bond) of a molecule."""

    atomic_number: np.ndarray
    aromatic: np.ndarray
    hydrogens: np.ndarray  # H count of the atom (implicit and bracket H; H atoms of the graph not included)
    charge: np.ndarray
    in_ring: np.ndarray
    degree: np.ndarray
    bond_begin: np.ndarray
    bond_end: np.ndarray
    bond_order: np.ndarray  # 0 single, 1 double, 2 triple, 3 aromatic, 4 other
    bond_in_ring: np.ndarray


_ORDER_CODE = {1: 0, 2: 1, 3: 2, 12: 3}


def molecule_table(mol) -> MoleculeTable:
    """One pass over the atoms and bonds of ``mol``."""
    n = mol.GetNumAtoms()
    atoms = np.zeros((n, 6), dtype=np.int64)
    get_atom = mol.GetAtomWithIdx
    for i in range(n):
        a = get_atom(i)
        atoms[i] = (a.GetAtomicNum(), a.GetIsAromatic(), a.GetTotalNumHs(), a.GetFormalCharge(), a.IsInRing(),
                    a.GetDegree())
    m = mol.GetNumBonds()
    bonds = np.zeros((m, 4), dtype=np.int64)
    get_bond = mol.GetBondWithIdx
    for j in range(m):
        b = get_bond(j)
        order = 3 if b.GetIsAromatic() else _ORDER_CODE.get(int(b.GetBondType()), 4)
        bonds[j] = (b.GetBeginAtomIdx(), b.GetEndAtomIdx(), order, b.IsInRing())
    return MoleculeTable(*atoms.T, *bonds.T)


def element_counts(mol) -> dict[str, int]:
    """Atoms per element symbol; ``"H"`` counts every hydrogen (explicit atoms, bracket and implicit H)."""
    from rdkit import Chem

    table = molecule_table(mol)
    table_pt = Chem.GetPeriodicTable()
    counts: dict[str, int] = {}
    for number in table.atomic_number.tolist():
        symbol = table_pt.GetElementSymbol(number) if number else "*"
        counts[symbol] = counts.get(symbol, 0) + 1
    counts["H"] = counts.get("H", 0) + int(table.hydrogens.sum())
    return counts


def ring_class_counts(mol, table: MoleculeTable | None = None) -> np.ndarray:
    """Ring counts ``(size 0..10, class)``: row ``size`` for rings of that size, row 0 for rings of any size.

    Rings are RDKit's ring information (the symmetrised smallest set of smallest rings). Classes are
    :data:`~specvae.chem.substructure.definitions.RING_CLASSES` (CDK PubchemFingerprinter semantics).
    """
    counts = np.zeros((_MAX_RING_SIZE + 1, len(RING_CLASSES)), dtype=np.int32)
    info = mol.GetRingInfo()
    if info.NumRings() == 0:
        return counts
    table = table or molecule_table(mol)
    atom_rings, bond_rings = info.AtomRings(), info.BondRings()
    sizes = np.fromiter((len(r) for r in atom_rings), dtype=np.int64, count=len(atom_rings))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    numbers = table.atomic_number[np.fromiter((i for r in atom_rings for i in r), dtype=np.int64)]
    orders = table.bond_order[np.fromiter((i for r in bond_rings for i in r), dtype=np.int64)]
    carbon_only = np.logical_and.reduceat(numbers == 6, starts)
    nitrogen = np.logical_or.reduceat(numbers == 7, starts)
    hetero = np.logical_or.reduceat((numbers != 6) & (numbers != 1), starts)
    aromatic = np.logical_and.reduceat(orders == 3, starts)
    saturated = np.logical_and.reduceat(orders == 0, starts)
    sat_or_arom = saturated | aromatic
    unsaturated = ~sat_or_arom
    flags = np.stack([np.ones_like(aromatic), sat_or_arom & carbon_only, sat_or_arom & nitrogen, sat_or_arom & hetero,
                      unsaturated & carbon_only, unsaturated & nitrogen, unsaturated & hetero, aromatic,
                      aromatic & ~carbon_only], axis=1).astype(np.int32)  # (rings, classes)
    counts[0] = flags.sum(axis=0)
    small = sizes <= _MAX_RING_SIZE
    np.add.at(counts, sizes[small], flags[small])
    return counts


class RuleEvaluator:
    """Evaluates every non-SMARTS bit of a list of :class:`BitDef` in one pass per molecule."""

    def __init__(self, bits: Sequence[BitDef]):
        from rdkit import Chem

        table = Chem.GetPeriodicTable()
        elements, rings, self.salts, fragments = [], [], [], []
        for column, bit in enumerate(bits):
            if bit.kind == "element":
                number = 1 if bit.definition == "H" else table.GetAtomicNumber(bit.definition)
                elements.append((column, number, bit.min_count))
            elif bit.kind == "ring":
                size, ring_class = parse_ring_definition(bit.definition)
                rings.append((column, size or 0, RING_CLASSES.index(ring_class), bit.min_count))
            elif bit.kind == "salt":
                self.salts.append(column)
            elif bit.kind == "fragments":
                fragments.append((column, bit.min_count))
            elif bit.kind not in ("smarts", "never"):
                raise ValueError(f"unknown bit kind {bit.kind!r} for {bit.family} bit {bit.family_bit}")
        self.element_columns, self.element_numbers, self.element_needs = (
            np.array(v, dtype=np.int64) for v in (zip(*elements) if elements else ([], [], [])))
        self.ring_columns, self.ring_rows, self.ring_classes, self.ring_needs = (
            np.array(v, dtype=np.int64) for v in (zip(*rings) if rings else ([], [], [], [])))
        self.fragment_columns = np.array([c for c, _ in fragments], dtype=np.int64)
        self.fragment_needs = np.array([n for _, n in fragments], dtype=np.int64)
        self.columns = (self.element_columns.tolist() + self.ring_columns.tolist() + self.salts
                        + self.fragment_columns.tolist())

    def __bool__(self) -> bool:
        return bool(self.columns)

    def evaluate(self, mol, row: np.ndarray, table: MoleculeTable | None = None) -> None:
        """Set the rule bits of ``mol`` in ``row`` (a ``uint8`` vector over all bits)."""
        if not self.columns:
            return
        table = table or molecule_table(mol)
        if len(self.element_columns):
            counts = np.bincount(table.atomic_number, minlength=119)
            counts[1] += table.hydrogens.sum()
            row[self.element_columns] = counts[self.element_numbers] >= self.element_needs
        if len(self.ring_columns):
            rings = ring_class_counts(mol, table)
            row[self.ring_columns] = rings[self.ring_rows, self.ring_classes] >= self.ring_needs
        if self.salts or len(self.fragment_columns):
            from rdkit import Chem

            n_fragments = len(Chem.GetMolFrags(mol))
            if self.salts:
                row[self.salts] = n_fragments >= 2 and bool((table.charge < 0).any()) and bool((table.charge > 0).any())
            row[self.fragment_columns] = n_fragments >= self.fragment_needs

    def evaluate_batch(self, batch, out: np.ndarray) -> None:
        """Set the rule bits of every molecule of a :class:`~specvae.chem.substructure.molecule_batch.MoleculeBatch` in
        ``out`` (``uint8`` rows over all bits), as :meth:`evaluate` does one molecule at a time."""
        if not self.columns:
            return
        if len(self.element_columns):
            counts = batch.element_counts()
            out[:, self.element_columns] = counts[:, self.element_numbers] >= self.element_needs
        if len(self.ring_columns):
            rings = batch.ring_class_counts(_MAX_RING_SIZE, len(RING_CLASSES))
            out[:, self.ring_columns] = rings[:, self.ring_rows, self.ring_classes] >= self.ring_needs
        if self.salts or len(self.fragment_columns):
            n_fragments = batch.fragment_counts()
            if self.salts:
                negative = np.bincount(batch.mol_of_atom, weights=batch.charge < 0, minlength=batch.n) > 0
                positive = np.bincount(batch.mol_of_atom, weights=batch.charge > 0, minlength=batch.n) > 0
                out[:, self.salts] = ((n_fragments >= 2) & negative & positive)[:, None]
            if len(self.fragment_columns):
                out[:, self.fragment_columns] = n_fragments[:, None] >= self.fragment_needs
