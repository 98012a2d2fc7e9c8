"""A sound pre-screen for SMARTS queries: what a molecule must contain before a query can match it.

RDKit's pattern fingerprint barely narrows SMARTS queries (a SMARTS bond without an explicit order is a query bond the
pattern fingerprint ignores), so we derive necessary conditions from each query's atom and bond query trees
(``DescribeQuery``), and test them for a whole batch of molecules and all queries at once with array operations:

- every atom is described by a *code*: (atomic number, aromatic, total H count 0-3 or 4+, sign of the formal
  charge, in a ring, number of neighbours 0-3 or 4+). Every query atom becomes the set of codes it can match. A
  primitive outside this domain (valence, ring size, a negated recursive SMARTS, ...) constrains nothing, so the
  set is always a superset of the truth and the screen never rejects a true match. A recursive SMARTS ``$(X)``
  constrains the atom as X's first atom would;
- a query atom with ``k`` query bonds needs a molecule atom with at least ``k`` neighbours;
- a query whose atoms' code sets are contained in a set ``S`` ``m`` times needs ``m`` molecule atoms with codes in S;
- every query bond needs a molecule bond whose two atoms and bond (order, in ring) fit it.

A query is *exact* when these conditions are also sufficient: a single atom whose set is described exactly by the
domain, or a single bond between two such atoms. Exact queries never reach the substructure matcher.
"""

from __future__ import annotations

import numpy as np

N_ELEMENTS = 119
N_H = 5  # total H count 0, 1, 2, 3, 4 or more
N_CHARGE = 3  # negative, zero, positive
N_DEGREE = 5  # neighbours 0, 1, 2, 3, 4 or more
SHAPE = (N_ELEMENTS, 2, N_H, N_CHARGE, 2, N_DEGREE)
N_CODES = int(np.prod(SHAPE))
_ORDERS = {1: 0, 2: 1, 3: 2, 12: 3}  # bond order code; 4 = any other bond type
BOND_SHAPE = (5, 2)  # order x in ring
N_BOND_CODES = 10


def _none() -> np.ndarray:
    return np.zeros(SHAPE, dtype=bool)


def _all() -> np.ndarray:
    return np.ones(SHAPE, dtype=bool)


def _atom_leaf(name: str, value: int, negated: bool, recursive=None) -> tuple[np.ndarray, bool]:
    """Code set and exactness of one atom primitive (``negated``: written with ``!``)."""
    mask = _none()
    exact = True
    if name == "AtomType":
        number, aromatic = (value - 1000, 1) if value >= 1000 else (value, 0)
        if 0 <= number < N_ELEMENTS:
            mask[number, aromatic] = True
    elif name == "AtomAtomicNum":
        if 0 <= value < N_ELEMENTS:
            mask[value] = True
    elif name == "AtomHCount":
        mask[:, :, min(value, N_H - 1)] = True
        exact = value < N_H - 1
    elif name == "AtomFormalCharge":
        mask[:, :, :, 1 + int(np.sign(value))] = True
        exact = value == 0
    elif name == "AtomIsAromatic":
        mask[:, 1 if value else 0] = True
    elif name in ("AtomInNRings", "AtomRingBondCount", "AtomMinRingSize"):
        if value == 0:
            mask[:, :, :, :, 0] = True
        else:
            mask[:, :, :, :, 1] = True
            exact = value == -1 and name == "AtomInNRings"
    elif name == "AtomExplicitDegree":
        mask[..., min(value, N_DEGREE - 1)] = True
        exact = value < N_DEGREE - 1
    elif name == "AtomTotalDegree":  # neighbours + hydrogens
        for h in range(N_H):
            for d in range(N_DEGREE):
                if h + d == value or (h + d <= value and (h == N_H - 1 or d == N_DEGREE - 1)):
                    mask[:, :, h, :, :, d] = True
        exact = value < min(N_H, N_DEGREE) - 1
    elif name == "AtomNull":
        mask[:] = True
    elif name == "RecursiveStructure" and recursive is not None and not negated:
        return recursive, False
    else:  # valence, implicit H, negated recursive SMARTS, ...: no condition
        return _all(), False
    if negated:
        if not exact:
            return _all(), False
        mask = ~mask
    return mask, exact


def _bond_leaf(name: str, value: int, negated: bool, recursive=None) -> tuple[np.ndarray, bool]:
    mask = np.zeros(BOND_SHAPE, dtype=bool)
    if name == "SingleOrAromaticBond":
        mask[[0, 3]] = True
    elif name == "BondOrder" and value in _ORDERS:
        mask[_ORDERS[value]] = True
    elif name == "BondInRing":
        mask[:, 1 if value else 0] = True
    elif name == "BondNull":
        mask[:] = True
    else:
        return np.ones(BOND_SHAPE, dtype=bool), False
    return (~mask if negated else mask), True


def _parse_tree(text: str) -> list[tuple[int, list[str]]]:
    """``DescribeQuery`` text -> ``(depth, tokens)`` per line (two spaces of indentation per level)."""
    return [((len(line) - len(line.lstrip(" "))) // 2, line.split()) for line in text.splitlines() if line.strip()]


def _fold(lines, leaf, everything, recursive, position=0, required=True, collect=None):
    """Evaluate the query tree at ``lines[position]``: ``(mask, exact, next position)``.

    ``recursive`` holds ``(code set, SMARTS)`` for the recursive SMARTS leaves, consumed in order. The SMARTS of a
    recursive leaf that every match must satisfy (reached through ANDs only, not negated) is appended to ``collect``.
    """
    depth, tokens = lines[position]
    name = tokens[0]
    if name in ("AtomAnd", "AtomOr", "BondAnd", "BondOr"):
        end = position + 1
        while end < len(lines) and lines[end][0] > depth:
            end += 1
        if len(tokens) > 1:  # a negated compound: no condition
            return everything(), False, end
        children = []
        position += 1
        required = required and name.endswith("And")
        while position < end:
            mask, exact, position = _fold(lines, leaf, everything, recursive, position, required, collect)
            children.append((mask, exact))
        masks = [m for m, _ in children]
        combined = np.logical_and.reduce(masks) if name.endswith("And") else np.logical_or.reduce(masks)
        return combined, all(e for _, e in children), position
    value, negated = 0, False
    if len(tokens) >= 4 and tokens[-1] == "val":
        try:
            value = int(tokens[1])
        except ValueError:
            value = 0
        negated = tokens[-2] == "!="
    sub = None
    if name == "RecursiveStructure":
        negated = "not" in tokens
        sub, smarts = recursive.pop(0) if recursive else (None, None)
        if required and not negated and smarts is not None and collect is not None:
            collect.append(smarts)
    mask, exact = leaf(name, value, negated, sub)
    return mask, exact, position + 1


def recursive_smarts(atom_smarts: str) -> list[str]:
    """The SMARTS inside each ``$( )`` of an atom's SMARTS, in order (outermost level only)."""
    found = []
    i = 0
    while i < len(atom_smarts):
        if atom_smarts.startswith("$(", i):
            depth, j = 0, i + 1
            while j < len(atom_smarts):
                depth += {"(": 1, ")": -1}.get(atom_smarts[j], 0)
                if depth == 0:
                    break
                j += 1
            found.append(atom_smarts[i + 2:j])
            i = j + 1
        else:
            i += 1
    return found


def atom_code_set(query, index: int, collect: list | None = None) -> tuple[np.ndarray, bool]:
    """The codes query atom ``index`` can match (a superset of the truth) and whether the set is exact.

    SMARTS of recursive queries that any molecule matching this atom must contain are appended to ``collect``.
    """
    from rdkit import Chem

    atom = query.GetAtomWithIdx(index)
    if not atom.HasQuery():
        mask = _none()
        mask[atom.GetAtomicNum(), int(atom.GetIsAromatic())] = True
        exact = False
    else:
        text = atom.DescribeQuery()
        recursive = []
        if "RecursiveStructure" in text:
            inner = recursive_smarts(atom.GetSmarts())
            if len(inner) == text.count("RecursiveStructure"):
                for smarts in inner:
                    sub = Chem.MolFromSmarts(smarts)
                    usable = sub is not None and sub.GetNumAtoms() > 0
                    recursive.append((atom_code_set(sub, 0)[0] if usable else _all(), smarts if usable else None))
        mask, exact, _ = _fold(_parse_tree(text), _atom_leaf, _all, recursive, collect=collect)
    degree = atom.GetDegree()
    if degree:  # k query bonds need k distinct neighbours
        mask = mask.copy()
        mask[..., : min(degree, N_DEGREE - 1)] = False
    return mask, exact


def bond_code_set(bond) -> tuple[np.ndarray, bool]:
    """The (order, in ring) combinations a query bond can match and whether the set is exact."""
    if not bond.HasQuery():
        mask = np.zeros(BOND_SHAPE, dtype=bool)
        order = 3 if bond.GetIsAromatic() else _ORDERS.get(int(bond.GetBondType()), 4)
        mask[order] = True
        return mask, False
    mask, exact, _ = _fold(_parse_tree(bond.DescribeQuery()), _bond_leaf, lambda: np.ones(BOND_SHAPE, bool), [])
    return mask, exact


def atom_codes(table) -> np.ndarray:
    """The code of every atom (flat indices into :data:`SHAPE`) from a :class:`~.rules.MoleculeTable`."""
    if not len(table.atomic_number):
        return np.zeros(0, dtype=np.int64)
    return np.ravel_multi_index(
        (np.minimum(table.atomic_number, N_ELEMENTS - 1), table.aromatic, np.minimum(table.hydrogens, N_H - 1),
         1 + np.sign(table.charge), table.in_ring, np.minimum(table.degree, N_DEGREE - 1)), SHAPE)


def bond_triples(table, codes: np.ndarray) -> np.ndarray:
    """``(2 * n_bonds, 3)`` array of (atom code, atom code, bond code), each bond in both directions."""
    if not len(table.bond_begin):
        return np.zeros((0, 3), dtype=np.int64)
    a1, a2 = codes[table.bond_begin], codes[table.bond_end]
    bond = table.bond_order * 2 + table.bond_in_ring
    return np.concatenate([np.stack([a1, a2, bond], 1), np.stack([a2, a1, bond], 1)])


class Screen:
    """Necessary (and, for exact queries, sufficient) conditions of many queries, tested on batches of molecules.

    Parameters
    ----------
    queries
        RDKit query molecules (from SMARTS).
    min_counts
        Matches each query needs (1 = presence). A single-atom exact query counts atoms exactly; other queries with
        ``min_count > 1`` are never exact.
    """

    def __init__(self, queries, min_counts=None):
        from scipy import sparse

        min_counts = list(min_counts) if min_counts is not None else [1] * len(queries)
        self._set_index: dict[bytes, int] = {}
        self._sets: list[np.ndarray] = []
        self._pair_index: dict[tuple[int, int], int] = {}
        self._bond_index: dict[tuple[int, int, bytes], int] = {}
        self._bond_rows: list[tuple[int, int, np.ndarray]] = []
        self._atom_cache: dict[tuple[str, int], tuple[int, bool, tuple[str, ...]]] = {}
        self._inside_cache: dict[tuple[int, int], bool] = {}
        self._everything = self._intern(np.ones(N_CODES, dtype=bool))
        self.exact = np.zeros(len(queries), dtype=bool)
        rows, cols = [], []  # (query, ("pair" | "bond", index)) incidence
        for q, (query, min_count) in enumerate(zip(queries, min_counts)):
            pairs, bonds, exact = self._requirements(query, min_count, depth=0)
            self.exact[q] = exact
            for kind, index in set(pairs) | set(bonds):
                rows.append(q)
                cols.append((kind, index))
        self.sets = np.array(self._sets, dtype=bool).reshape(len(self._sets), N_CODES)
        pairs = sorted(self._pair_index, key=self._pair_index.get)
        self.pair_set = np.array([s for s, _ in pairs], dtype=np.int64)
        self.pair_need = np.array([n for _, n in pairs], dtype=np.float32)
        self.bond_a = np.array([a for a, _, _ in self._bond_rows], dtype=np.int64)
        self.bond_b = np.array([b for _, b, _ in self._bond_rows], dtype=np.int64)
        self.bond_mask = np.array([m for _, _, m in self._bond_rows], dtype=bool).reshape(-1, N_BOND_CODES)
        offset = {"pair": 0, "bond": len(pairs)}
        flat_cols = [offset[kind] + index for kind, index in cols]
        self.incidence = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, flat_cols)),
                                           shape=(len(queries), len(pairs) + len(self._bond_rows)))
        self.n_queries = len(queries)

    def _intern(self, mask: np.ndarray) -> int:
        key = np.packbits(mask).tobytes()
        if key not in self._set_index:
            self._set_index[key] = len(self._sets)
            self._sets.append(mask)
        return self._set_index[key]

    def _atom(self, query, index: int, on_cycle: bool) -> tuple[int, bool, tuple[str, ...]]:
        """``(set id, exact, required recursive SMARTS)`` of a query atom, cached by SMARTS, degree and cycle."""
        atom = query.GetAtomWithIdx(index)
        key = (atom.GetSmarts(), atom.GetDegree(), on_cycle)
        if key not in self._atom_cache:
            inner: list[str] = []
            mask, exact = atom_code_set(query, index, inner)
            if on_cycle:  # an atom on a cycle of the query can only match an atom on a cycle: a ring atom
                mask = mask.copy()
                mask[:, :, :, :, 0, :] = False
            self._atom_cache[key] = (self._intern(mask.reshape(-1)), exact, tuple(inner))
        return self._atom_cache[key]

    def _inside(self, x: int, y: int) -> bool:
        """Set ``x`` is a subset of set ``y``."""
        key = (x, y)
        if key not in self._inside_cache:
            self._inside_cache[key] = x == y or not (self._sets[x] & ~self._sets[y]).any()
        return self._inside_cache[key]

    def _requirements(self, query, min_count: int, depth: int):
        """Requirement ids ``[("pair", i)], [("bond", j)]`` of a query and whether they decide it exactly."""
        from rdkit import Chem

        cycle_bonds = _cycle_bonds(query)
        on_cycle = set()
        for bond in cycle_bonds:
            on_cycle.update(bond)
        described = [self._atom(query, i, i in on_cycle) for i in range(query.GetNumAtoms())]
        ids = [d[0] for d in described]
        exacts = [d[1] for d in described]
        inner = [smarts for d in described for smarts in d[2]]
        pairs, bonds = [], []
        for set_id in dict.fromkeys(ids):
            if set_id == self._everything:
                continue
            need = sum(1 for other in ids if self._inside(other, set_id))
            if len(ids) == 1:
                need = max(need, min_count)
            key = (set_id, need)
            pairs.append(("pair", self._pair_index.setdefault(key, len(self._pair_index))))
        bonds_exact = True
        for bond in query.GetBonds():
            bmask, bexact = bond_code_set(bond)
            bonds_exact &= bexact
            if (bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()) in cycle_bonds:  # maps to a ring bond
                bmask = bmask.copy()
                bmask[:, 0] = False
            a, b = ids[bond.GetBeginAtomIdx()], ids[bond.GetEndAtomIdx()]
            if a == self._everything and b == self._everything and bmask.all():
                continue
            key = (a, b, np.packbits(bmask.reshape(-1)).tobytes())
            if key not in self._bond_index:
                self._bond_index[key] = len(self._bond_rows)
                self._bond_rows.append((key[0], key[1], bmask.reshape(-1)))
            bonds.append(("bond", self._bond_index[key]))
        # a recursive SMARTS that every match must satisfy: the molecule contains it, so its conditions hold too
        if depth < 3:
            for smarts in inner:
                sub = Chem.MolFromSmarts(smarts)
                if sub is not None and sub.GetNumAtoms():
                    sub_pairs, sub_bonds, _ = self._requirements(sub, 1, depth + 1)
                    pairs += sub_pairs
                    bonds += sub_bonds
        n_atoms = query.GetNumAtoms()
        exact = False
        if n_atoms == 1:
            exact = exacts[0]
        elif n_atoms == 2 and query.GetNumBonds() == 1 and bonds_exact and min_count == 1:
            exact = all(exacts)  # one bond between two exactly described atoms
        return pairs, bonds, bool(exact)

    def survivors(self, codes: list[np.ndarray], triples: list[np.ndarray]) -> np.ndarray:
        """``(n_molecules, n_queries)`` bool: may the query match the molecule (exact queries: does it)?"""
        from scipy import sparse

        n = len(codes)
        if n == 0:
            return np.zeros((0, self.n_queries), dtype=bool)
        ok = []
        if len(self.pair_set):
            sizes = np.fromiter((len(c) for c in codes), dtype=np.int64, count=n)
            all_codes = np.concatenate(codes) if sizes.sum() else np.zeros(0, np.int64)
            mol_of_atom = np.repeat(np.arange(n), sizes)
            unique, inverse = np.unique(all_codes, return_inverse=True)
            hist = np.zeros((len(unique), n), dtype=np.float32)
            np.add.at(hist, (inverse, mol_of_atom), 1.0)
            counts = self.sets[:, unique].astype(np.float32) @ hist  # (sets, molecules)
            ok.append(counts[self.pair_set] >= self.pair_need[:, None])
        if len(self.bond_a):
            sizes = np.fromiter((len(t) for t in triples), dtype=np.int64, count=n)
            present = np.zeros((len(self.bond_a), n), dtype=bool)
            if sizes.sum():
                all_triples = np.concatenate(triples)
                mol_of_bond = np.repeat(np.arange(n), sizes)
                keys = (all_triples[:, 0] * N_CODES + all_triples[:, 1]) * N_BOND_CODES + all_triples[:, 2]
                unique, inverse = np.unique(keys, return_inverse=True)
                ua, rest = np.divmod(unique, N_CODES * N_BOND_CODES)
                ub, uc = np.divmod(rest, N_BOND_CODES)
                used_sets = np.union1d(self.bond_a, self.bond_b)
                lookup = np.full(len(self.sets), -1, dtype=np.int64)
                lookup[used_sets] = np.arange(len(used_sets))
                sets_a = self.sets[used_sets][:, ua]  # (used sets, unique triples)
                sets_b = self.sets[used_sets][:, ub]
                fits = sets_a[lookup[self.bond_a]] & sets_b[lookup[self.bond_b]] & self.bond_mask[:, uc]
                where = sparse.csr_matrix((np.ones(len(keys), np.float32), (inverse, mol_of_bond)),
                                          shape=(len(unique), n))
                present = (sparse.csr_matrix(fits, dtype=np.float32) @ where).toarray() > 0
            ok.append(present)
        if not ok:
            return np.ones((n, self.n_queries), dtype=bool)
        failed = np.vstack(ok) == 0
        misses = self.incidence @ failed.astype(np.float32)  # (queries, molecules)
        return (misses == 0).T


def _cycle_bonds(query) -> set[tuple[int, int]]:
    """Bonds of the query graph that lie on a cycle (not bridges), as (begin, end) atom index pairs."""
    n = query.GetNumAtoms()
    if query.GetNumBonds() < n:
        return set()  # (a connected graph needs as many bonds as atoms for a cycle; else we give up, soundly)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in query.GetBonds()]
    for a, b in bonds:
        neighbours[a].append(b)
        neighbours[b].append(a)
    on_cycle = set()
    for a, b in bonds:  # the bond is on a cycle if b is reachable from a without it
        seen, stack = {a}, [a]
        while stack:
            x = stack.pop()
            for y in neighbours[x]:
                if (x, y) in ((a, b), (b, a)) or y in seen:
                    continue
                seen.add(y)
                stack.append(y)
        if b in seen:
            on_cycle.add((a, b))
    return on_cycle
