"""A batch of molecules as flat arrays: atom features, bonds, neighbour lists and rings, read once through RDKit.

Every value the compiled matcher and the rule bits look at comes from RDKit's own accessors (``GetTotalNumHs``,
``GetTotalDegree``, ``GetTotalValence``, ring information, ...), so predicates evaluated on these arrays mean what
RDKit's query primitives mean. Atoms of molecule i are ``mol_start[i]:mol_start[i + 1]`` in every atom array,
bonds ``bond_mol_start[i]:bond_mol_start[i + 1]``; atom and bond indices are global to the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np

from specvae.chem.substructure.programs import N_BOND_TYPES

AROMATIC_TYPE = 12


class MoleculeBatch:
    """Flat arrays for ``mols`` (see the module docstring). ``ok[i]`` is False for molecules RDKit cannot describe
    (ring information or implicit valences never computed, e.g. unsanitised); they have no atoms here and the
    evaluator gives them to RDKit (which raises, as it always did)."""

    def __init__(self, mols: Sequence):
        from rdkit import Chem

        n = len(mols)
        atom_get = (Chem.Atom.GetAtomicNum, Chem.Atom.GetIsAromatic, Chem.Atom.GetTotalNumHs,
                    Chem.Atom.GetFormalCharge, Chem.Atom.GetTotalValence)
        bond_get = (Chem.Bond.GetBeginAtomIdx, Chem.Bond.GetEndAtomIdx, Chem.Bond.GetBondType,
                    Chem.Bond.GetIsAromatic)
        atom_columns = [[] for _ in atom_get]
        bond_columns = [[] for _ in bond_get]
        ring_atoms = []
        n_atoms = np.zeros(n, dtype=np.int64)
        n_bonds = np.zeros(n, dtype=np.int64)
        n_rings = np.zeros(n, dtype=np.int64)
        ok = np.ones(n, dtype=bool)
        for i, mol in enumerate(mols):
            try:  # RDKit raises where ring information or implicit valences were never computed
                info = mol.GetRingInfo()
                rings_a = info.AtomRings() if info.NumRings() else ()
                atoms = list(map(mol.GetAtomWithIdx, range(mol.GetNumAtoms())))
                bonds = list(map(mol.GetBondWithIdx, range(mol.GetNumBonds())))
                atom_values = [list(map(get, atoms)) for get in atom_get]
                bond_values = [list(map(get, bonds)) for get in bond_get]
            except RuntimeError:
                ok[i] = False
                continue
            for column, values in zip(atom_columns, atom_values):
                column.extend(values)
            for column, values in zip(bond_columns, bond_values):
                column.extend(values)
            n_atoms[i], n_bonds[i], n_rings[i] = len(atoms), len(bonds), len(rings_a)
            ring_atoms.append(rings_a)
        self.n = n
        self.ok = ok
        self.mol_start = np.concatenate([[0], np.cumsum(n_atoms)])
        self.bond_mol_start = np.concatenate([[0], np.cumsum(n_bonds)])
        total_atoms, total_bonds = int(self.mol_start[-1]), int(self.bond_mol_start[-1])
        self.mol_of_atom = np.repeat(np.arange(n), n_atoms)
        (self.atomic_number, self.aromatic, self.hydrogens, self.charge, self.total_valence) = (
            np.array(column, dtype=np.int64).reshape(total_atoms) for column in atom_columns)
        # self.hydrogens: GetTotalNumHs(), implicit and bracket H, not H atoms of the graph

        bonds = [np.array(column, dtype=np.int64).reshape(total_bonds) for column in bond_columns]
        offset = np.repeat(self.mol_start[:-1], n_bonds)
        self.bond_begin = bonds[0] + offset
        self.bond_end = bonds[1] + offset
        self.bond_type = bonds[2]
        self.bond_aromatic = bonds[3]
        if len(self.bond_type) and (self.bond_type.max() >= N_BOND_TYPES or self.bond_type.min() < 0):
            raise ValueError("unknown RDKit bond type")

        ends = np.concatenate([self.bond_begin, self.bond_end])
        self.degree = np.bincount(ends, minlength=total_atoms)
        # neighbour lists (CSR): for atom a, neighbours adj_nbr[adj_start[a]:adj_start[a+1]] via bonds adj_bond
        others = np.concatenate([self.bond_end, self.bond_begin])
        bond_ids = np.concatenate([np.arange(total_bonds), np.arange(total_bonds)])
        order = np.argsort(ends, kind="stable")
        self.adj_nbr = others[order]
        self.adj_bond = bond_ids[order]
        self.adj_start = np.concatenate([[0], np.cumsum(self.degree)])

        # rings: flat member lists (global atom / bond indices), one size per ring
        self.ring_mol = np.repeat(np.arange(n), n_rings)
        self.ring_size = np.fromiter((len(r) for rings in ring_atoms for r in rings), dtype=np.int64,
                                     count=int(n_rings.sum()))
        atom_offset = np.repeat(self.mol_start[:-1], n_rings)
        members = np.repeat(np.arange(len(self.ring_size)), self.ring_size)
        self.ring_atom = np.fromiter(chain.from_iterable(chain.from_iterable(ring_atoms)), dtype=np.int64,
                                     count=int(self.ring_size.sum())) + atom_offset[members]
        self.ring_start = np.concatenate([[0], np.cumsum(self.ring_size)]).astype(np.int64)
        self.ring_bond = np.zeros(len(self.ring_atom), dtype=np.int64)
        if len(self.ring_atom):
            from specvae.chem.substructure.kernels import ring_bonds

            bad = np.zeros(n, dtype=bool)
            ring_bonds(self.ring_start, self.ring_atom, self.ring_mol, self.adj_start, self.adj_nbr, self.adj_bond,
                       self.ring_bond, bad)
            self.ok &= ~bad

        self.bond_in_ring = np.zeros(total_bonds, dtype=np.int64)
        self.bond_in_ring[self.ring_bond] = 1
        self.n_rings = np.bincount(self.ring_atom, minlength=total_atoms)
        self.in_ring = (self.n_rings > 0).astype(np.int64)
        self.min_ring_size = np.zeros(total_atoms, dtype=np.int64)
        if len(self.ring_atom):
            big = np.full(total_atoms, np.iinfo(np.int64).max)
            np.minimum.at(big, self.ring_atom, self.ring_size[members])
            self.min_ring_size = np.where(self.n_rings > 0, big, 0)
        # SMARTS counts: H and X include hydrogen atoms bonded in the graph (getTotalNumHs(true), getTotalDegree)
        self.total_h = self.hydrogens
        self.total_degree = self.degree + self.hydrogens
        hydrogen_atoms = np.flatnonzero(self.atomic_number == 1)
        if len(hydrogen_atoms):
            self.total_h = self.hydrogens.copy()
            for i in np.unique(self.mol_of_atom[hydrogen_atoms]):
                mol = mols[i]
                start, stop = self.mol_start[i], self.mol_start[i + 1]
                atoms = list(map(mol.GetAtomWithIdx, range(mol.GetNumAtoms())))
                self.total_h[start:stop] = [a.GetTotalNumHs(True) for a in atoms]
                self.total_degree[start:stop] = [a.GetTotalDegree() for a in atoms]
        ring_ends = np.concatenate([self.bond_begin[self.bond_in_ring == 1], self.bond_end[self.bond_in_ring == 1]])
        self.ring_bonds = np.bincount(ring_ends, minlength=total_atoms)
        self.bond_key = self.bond_type * 2 + self.bond_in_ring
        self.adj_key = self.bond_key[self.adj_bond]

    def features(self) -> dict[str, np.ndarray]:
        """Per-atom features named as in :data:`~specvae.chem.substructure.programs.ATOM_FEATURES`."""
        return {
            "type": self.atomic_number + 1000 * self.aromatic,
            "atomic_number": self.atomic_number,
            "total_h": self.total_h,
            "total_degree": self.total_degree,
            "degree": self.degree,
            "charge": self.charge,
            "total_valence": self.total_valence,
            "aromatic": self.aromatic,
            "n_rings": self.n_rings,
            "min_ring_size": self.min_ring_size,
            "in_ring": self.in_ring,
            "ring_bonds": self.ring_bonds,
        }

    def element_counts(self) -> np.ndarray:
        """``(molecules, 119)`` atoms per atomic number; column 1 counts every hydrogen (atoms, implicit, bracket)."""
        counts = np.zeros((self.n, 119), dtype=np.int64)
        np.add.at(counts, (self.mol_of_atom, np.minimum(self.atomic_number, 118)), 1)
        counts[:, 1] += np.bincount(self.mol_of_atom, weights=self.hydrogens, minlength=self.n).astype(np.int64)
        return counts

    def ring_class_counts(self, max_size: int, n_classes: int) -> np.ndarray:
        """``(molecules, max_size + 1, classes)``: as :func:`~specvae.chem.substructure.rules.ring_class_counts`."""
        counts = np.zeros((self.n, max_size + 1, n_classes), dtype=np.int64)
        if not len(self.ring_size):
            return counts
        starts = self.ring_start[:-1]
        numbers = self.atomic_number[self.ring_atom]
        # bond order code of rules.molecule_table: aromatic flag first, then single
        aromatic_bond = self.bond_aromatic[self.ring_bond] == 1
        single_bond = (self.bond_type[self.ring_bond] == 1) & ~aromatic_bond
        carbon_only = np.logical_and.reduceat(numbers == 6, starts)
        nitrogen = np.logical_or.reduceat(numbers == 7, starts)
        hetero = np.logical_or.reduceat((numbers != 6) & (numbers != 1), starts)
        aromatic = np.logical_and.reduceat(aromatic_bond, starts)
        saturated = np.logical_and.reduceat(single_bond, starts)
        sat_or_arom = saturated | aromatic
        unsaturated = ~sat_or_arom
        flags = np.stack([np.ones_like(aromatic), sat_or_arom & carbon_only, sat_or_arom & nitrogen,
                          sat_or_arom & hetero, unsaturated & carbon_only, unsaturated & nitrogen,
                          unsaturated & hetero, aromatic, aromatic & ~carbon_only], axis=1).astype(np.int64)
        np.add.at(counts, (self.ring_mol, 0), flags)
        small = self.ring_size <= max_size
        np.add.at(counts, (self.ring_mol[small], self.ring_size[small]), flags[small])
        return counts

    def fragment_counts(self) -> np.ndarray:
        """Connected components (fragments) of each molecule."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        total = len(self.atomic_number)
        graph = coo_matrix((np.ones(len(self.bond_begin)), (self.bond_begin, self.bond_end)), shape=(total, total))
        _, labels = connected_components(graph, directed=False)
        first = np.zeros(total, dtype=bool)
        first[np.unique(labels, return_index=True)[1]] = True
        return np.bincount(self.mol_of_atom[first], minlength=self.n)
