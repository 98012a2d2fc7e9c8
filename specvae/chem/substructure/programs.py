"""SMARTS queries compiled to graphs of atom and bond *predicates* that our own matcher evaluates exactly.

RDKit matches a SMARTS query by testing, for each query atom and bond, a query tree (AND, OR, NOT over primitives
such as "atomic number = 6" or "total H count = 2") against molecule atoms and bonds, inside a VF2 search. We read
those trees (``DescribeQuery``), translate each primitive into a comparison on a per-atom or per-bond *feature*
that :mod:`~specvae.chem.substructure.molecule_batch` computes with RDKit's own accessors, and hand the query graph
to the compiled matcher in :mod:`~specvae.chem.substructure.kernels`.

- A *predicate* is a normalised tree of ``("eq", feature, value)`` leaves, ``("rec", graph)`` leaves (a recursive
  SMARTS ``$(...)``: the atom is the first atom of a match of that graph), ``("true",)``, ``("not", p)``,
  ``("and", ps)`` and ``("or", ps)``. Equal trees share one column of the per-atom (or per-bond-type) truth table.
- A *graph* is a query's atoms (their predicate columns) and bonds (two atoms and a bond predicate column).
  Recursive SMARTS are graphs too, matched with their first atom anchored; a predicate that uses them is evaluated
  after them (its *level* is one more than theirs).

Only primitives whose meaning we reproduce exactly are accepted (:data:`ATOM_FEATURES`, :data:`BOND_PRIMITIVES`);
anything else raises :class:`Unsupported` and the query is left to RDKit. The tests compare every predicate with
RDKit's own atom and bond matching, and every bit with plain RDKit substructure matching.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# RDKit atom primitive -> (feature, how the value is read). Features are computed in batch.py.
ATOM_FEATURES = {
    "AtomType": "type",  # atomic number + 1000 if aromatic
    "AtomAtomicNum": "atomic_number",
    "AtomHCount": "total_h",  # getTotalNumHs(includeNeighbors=true)
    "AtomTotalDegree": "total_degree",
    "AtomExplicitDegree": "degree",
    "AtomFormalCharge": "charge",
    "AtomTotalValence": "total_valence",
    "AtomIsAromatic": "aromatic",
    "AtomInNRings": "n_rings",  # value -1: in any ring
    "AtomMinRingSize": "min_ring_size",  # 0 outside rings
    "AtomInRing": "in_ring",
    "AtomRingBondCount": "ring_bonds",
}
BOND_PRIMITIVES = ("BondOrder", "SingleOrAromaticBond", "BondInRing", "BondNull", "SingleOrDoubleBond",
                   "DoubleOrAromaticBond", "SingleOrDoubleOrAromaticBond")
SINGLE, DOUBLE, AROMATIC = 1, 2, 12  # RDKit BondType values
N_BOND_TYPES = 32  # RDKit BondType values are 0..21; bond key = type * 2 + in ring
N_BOND_KEYS = N_BOND_TYPES * 2
TRUE = ("true",)


class Unsupported(ValueError):
    """A query uses a primitive or a construct the compiled matcher does not reproduce exactly."""


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


def _cycle_bonds(query) -> set[tuple[int, int]]:
    """Bonds of a query graph that lie on a cycle (not bridges), as (begin, end) atom indices (Tarjan's bridges)."""
    n = query.GetNumAtoms()
    bonds = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in map(query.GetBondWithIdx, range(query.GetNumBonds()))]
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for k, (a, b) in enumerate(bonds):
        neighbours[a].append((b, k))
        neighbours[b].append((a, k))
    order, low = [-1] * n, [0] * n
    bridges = set()
    counter = 0
    for start in range(n):
        if order[start] >= 0:
            continue
        order[start] = low[start] = counter
        counter += 1
        stack = [(start, -1, iter(neighbours[start]))]
        while stack:
            x, via, edges = stack[-1]
            for y, k in edges:
                if k == via:
                    continue
                if order[y] < 0:
                    order[y] = low[y] = counter
                    counter += 1
                    stack.append((y, k, iter(neighbours[y])))
                    break
                low[x] = min(low[x], order[y])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[x])
                    if low[x] > order[parent]:
                        bridges.add(via)
    return {bond for k, bond in enumerate(bonds) if k not in bridges}


def _parse_lines(text: str) -> list[tuple[int, list[str]]]:
    return [((len(line) - len(line.lstrip(" "))) // 2, line.split()) for line in text.splitlines() if line.strip()]


def _tree(lines, position, leaf):
    """Parse ``lines[position]`` and its children: ``(predicate, next position)``."""
    depth, tokens = lines[position]
    negate = False
    if tokens and tokens[0] == "not":
        negate, tokens = True, tokens[1:]
    if not tokens:
        raise Unsupported("empty query node")
    name = tokens[0]
    if name in ("AtomAnd", "AtomOr", "BondAnd", "BondOr"):
        if len(tokens) != 1:
            raise Unsupported(f"query node {' '.join(tokens)!r}")
        children = []
        position += 1
        while position < len(lines) and lines[position][0] > depth:
            if lines[position][0] != depth + 1:
                raise Unsupported("malformed query tree")
            child, position = _tree(lines, position, leaf)
            children.append(child)
        if not children:
            raise Unsupported("empty AND/OR")
        node = _combine("and" if name.endswith("And") else "or", children)
    else:
        node = leaf(tokens)
        position += 1
    return (_negate(node) if negate else node), position


def _negate(node):
    if node[0] == "not":
        return node[1]
    return ("not", node)


def _combine(op, children):
    flat = []
    for child in children:
        if child[0] == op:
            flat.extend(child[1])
        else:
            flat.append(child)
    if op == "and":
        flat = [c for c in flat if c != TRUE]
        if not flat:
            return TRUE
    elif TRUE in flat:
        return TRUE
    flat = list(dict.fromkeys(flat))
    return flat[0] if len(flat) == 1 else (op, tuple(flat))


def _equality(tokens) -> tuple[str, int, bool]:
    """``NAME VALUE =|!= val`` -> (name, value, negated)."""
    if len(tokens) != 4 or tokens[3] != "val" or tokens[2] not in ("=", "!="):
        raise Unsupported(f"query primitive {' '.join(tokens)!r}")
    try:
        value = int(tokens[1])
    except ValueError:
        raise Unsupported(f"query primitive {' '.join(tokens)!r}") from None
    return tokens[0], value, tokens[2] == "!="


def _atom_leaf(tokens, recursive: list):
    name = tokens[0]
    if name == "AtomNull" and len(tokens) == 1:
        return TRUE
    if name == "RecursiveStructure":
        if not recursive:
            raise Unsupported("recursive SMARTS not found in the atom's SMARTS")
        node = ("rec", recursive.pop(0))
        return ("not", node) if "not" in tokens[1:] else node
    name, value, negated = _equality(tokens)
    if name not in ATOM_FEATURES:
        raise Unsupported(f"atom primitive {name}")
    feature = ATOM_FEATURES[name]
    if name == "AtomInNRings" and value == -1:
        node = ("eq", "in_ring", 1)
    elif name in ("AtomIsAromatic", "AtomInRing"):
        node = ("eq", feature, int(bool(value)))
    else:
        node = ("eq", feature, value)
    return ("not", node) if negated else node


def _bond_leaf(tokens):
    name = tokens[0]
    if name == "BondNull" and len(tokens) == 1:
        return TRUE
    name, value, negated = _equality(tokens)
    if name not in BOND_PRIMITIVES:
        raise Unsupported(f"bond primitive {name}")
    if name == "BondOrder":
        node = ("eq", "bond_type", value)
    elif name == "BondInRing":
        node = ("eq", "bond_in_ring", int(bool(value)))
    else:
        types = {"SingleOrAromaticBond": (SINGLE, AROMATIC), "SingleOrDoubleBond": (SINGLE, DOUBLE),
                 "DoubleOrAromaticBond": (DOUBLE, AROMATIC),
                 "SingleOrDoubleOrAromaticBond": (SINGLE, DOUBLE, AROMATIC)}[name]
        node = _combine("or", [("eq", "bond_type", t) for t in types])
        if value != 1:
            node = ("not", node)
    return ("not", node) if negated else node


def evaluate(node, features: dict, size: int, recursive=None, cache: dict | None = None) -> np.ndarray:
    """A predicate's truth values over arrays of features (``recursive[g]``: the result of recursive graph g)."""
    if cache is not None and node in cache:
        return cache[node]
    kind = node[0]
    if kind == "true":
        out = np.ones(size, dtype=bool)
    elif kind == "eq":
        out = features[node[1]] == node[2]
    elif kind == "rec":
        out = recursive[node[1]]
    elif kind == "not":
        out = ~evaluate(node[1], features, size, recursive, cache)
    else:
        parts = [evaluate(child, features, size, recursive, cache) for child in node[1]]
        out = np.logical_and.reduce(parts) if kind == "and" else np.logical_or.reduce(parts)
    if cache is not None:
        cache[node] = out
    return out


def recursive_graphs(node) -> set[int]:
    """The recursive graphs a predicate refers to."""
    if node[0] == "rec":
        return {node[1]}
    if node[0] == "not":
        return recursive_graphs(node[1])
    if node[0] in ("and", "or"):
        return set().union(*(recursive_graphs(c) for c in node[1]))
    return set()


@dataclass
class Graph:
    """A query graph: atom predicate columns, bonds ``(atom, atom, bond predicate column)`` and its level."""

    smarts: str
    atoms: list[int]
    bonds: list[tuple[int, int, int]]
    level: int = 0


@dataclass
class Programs:
    """Every predicate and graph needed by a list of queries (main queries first, in order)."""

    atom_predicates: list = field(default_factory=list)  # predicate trees, one column each
    atom_levels: list = field(default_factory=list)
    atom_smarts: list = field(default_factory=list)  # the SMARTS of one query atom with that predicate (for tests)
    bond_predicates: list = field(default_factory=list)
    bond_smarts: list = field(default_factory=list)
    graphs: list = field(default_factory=list)
    _atom_index: dict = field(default_factory=dict)
    _bond_index: dict = field(default_factory=dict)
    _graph_index: dict = field(default_factory=dict)

    def atom_column(self, node, smarts: str = "") -> int:
        if node not in self._atom_index:
            level = max((self.graphs[g].level + 1 for g in recursive_graphs(node)), default=0)
            self._atom_index[node] = len(self.atom_predicates)
            self.atom_predicates.append(node)
            self.atom_levels.append(level)
            self.atom_smarts.append(smarts)
        return self._atom_index[node]

    def bond_column(self, node, smarts: str = "") -> int:
        if node not in self._bond_index:
            self._bond_index[node] = len(self.bond_predicates)
            self.bond_predicates.append(node)
            self.bond_smarts.append(smarts)
        return self._bond_index[node]

    def sort_by_level(self) -> None:
        """Renumber atom predicates so that each level's columns are contiguous (level 0 first)."""
        order = sorted(range(len(self.atom_predicates)), key=lambda c: self.atom_levels[c])
        new = {old: k for k, old in enumerate(order)}
        self.atom_predicates = [self.atom_predicates[c] for c in order]
        self.atom_levels = [self.atom_levels[c] for c in order]
        self.atom_smarts = [self.atom_smarts[c] for c in order]
        self._atom_index = {node: new[c] for node, c in self._atom_index.items()}
        for graph in self.graphs:
            graph.atoms = [new[c] for c in graph.atoms]

    def graph(self, smarts: str, depth: int = 0) -> int:
        """Compile a SMARTS into a graph (shared by text); raises :class:`Unsupported`."""
        if smarts in self._graph_index:
            return self._graph_index[smarts]
        if depth > 8:
            raise Unsupported("recursive SMARTS nested too deeply")
        from rdkit import Chem

        query = Chem.MolFromSmarts(smarts)
        if query is None:
            raise ValueError(f"invalid SMARTS in fingerprint definition: {smarts!r}")
        if query.GetNumAtoms() == 0:
            raise Unsupported("empty query")
        # An embedding maps a cycle of the query onto a cycle of the molecule, whose atoms and bonds are ring
        # atoms and ring bonds (a cycle basis, RDKit's rings, covers every cycle edge): say so in the predicates.
        cyclic = _cycle_bonds(query)
        ring_atoms = {i for bond in cyclic for i in bond}
        atoms = []
        for atom in query.GetAtoms():
            node, text = self._atom_predicate(atom, depth), atom.GetSmarts()
            if atom.GetIdx() in ring_atoms:
                node, text = _combine("and", [node, ("eq", "in_ring", 1)]), f"[$({text});R]"
            atoms.append(self.atom_column(node, text))
        bonds = []
        for b in query.GetBonds():
            node, text = self._bond_predicate(b), b.GetSmarts() or "-,:"
            if (b.GetBeginAtomIdx(), b.GetEndAtomIdx()) in cyclic:
                node, text = _combine("and", [node, ("eq", "bond_in_ring", 1)]), f"{text};@"
            bonds.append((b.GetBeginAtomIdx(), b.GetEndAtomIdx(), self.bond_column(node, text)))
        level = max(self.atom_levels[c] for c in atoms)
        self._graph_index[smarts] = len(self.graphs)
        self.graphs.append(Graph(smarts, atoms, bonds, level))
        return self._graph_index[smarts]

    def _atom_predicate(self, atom, depth: int):
        if not atom.HasQuery():
            number = atom.GetAtomicNum()
            return ("eq", "type", number + (1000 if atom.GetIsAromatic() else 0))
        text = atom.DescribeQuery()
        recursive = []
        if "RecursiveStructure" in text:
            inner = recursive_smarts(atom.GetSmarts())
            if len(inner) != text.count("RecursiveStructure"):
                raise Unsupported("cannot pair recursive SMARTS with the query tree")
            recursive = [self.graph(s, depth + 1) for s in inner]
        lines = _parse_lines(text)
        node, end = _tree(lines, 0, lambda tokens: _atom_leaf(tokens, recursive))
        if end != len(lines) or recursive:
            raise Unsupported("query tree not fully read")
        return node

    def _bond_predicate(self, bond):
        if not bond.HasQuery():
            return ("eq", "bond_type", int(bond.GetBondType()))
        lines = _parse_lines(bond.DescribeQuery())
        node, end = _tree(lines, 0, _bond_leaf)
        if end != len(lines):
            raise Unsupported("bond query tree not fully read")
        return node

    def bond_table(self) -> np.ndarray:
        """Truth table ``(N_BOND_KEYS, bond predicates)`` over every bond key (type * 2 + in ring)."""
        keys = np.arange(N_BOND_KEYS)
        features = {"bond_type": keys // 2, "bond_in_ring": keys % 2}
        cache: dict = {}
        table = np.zeros((N_BOND_KEYS, max(len(self.bond_predicates), 1)), dtype=np.uint8)
        for j, node in enumerate(self.bond_predicates):
            table[:, j] = evaluate(node, features, N_BOND_KEYS, cache=cache)
        return table


# ---------------------------------------------------------------------------------------------------------------
# Implication between predicates: "every atom (bond) satisfying p satisfies q". Sound but incomplete: rules over
# the trees and the meaning of each feature; where no rule applies the answer is "not proven" (False).


def _constraints(leaf) -> dict:
    """An ``eq`` leaf as constraints on base features (type = atomic number + 1000 * aromatic; ring = in a ring,
    which n_rings > 0 and min_ring_size > 0 each imply and n_rings = 0 or min_ring_size = 0 each exclude)."""
    _, feature, value = leaf
    if feature == "type":
        return {"atomic_number": value % 1000, "aromatic": value // 1000}
    if feature == "in_ring":
        return {"ring": value}
    if feature in ("n_rings", "min_ring_size"):
        return {feature: value, "ring": int(value > 0)}
    return {feature: value}


def _leaf_implies(p, q) -> bool:
    known = _constraints(p)
    return all(known.get(f) == v for f, v in _constraints(q).items())


def _leaf_excludes(p, q) -> bool:
    """No atom satisfies both leaves."""
    a, b = _constraints(p), _constraints(q)
    return any(f in b and b[f] != v for f, v in a.items())


def implies(p, q, _cache: dict = {}) -> bool:  # noqa: B006 (a deliberate memo)
    """Whether predicate p implies predicate q (proven by rules; False when not proven)."""
    key = (p, q)
    if key in _cache:
        return _cache[key]
    if q == TRUE or p == q:
        result = True
    elif p == TRUE:
        result = False
    elif p[0] == "or":
        result = all(implies(c, q) for c in p[1])
    elif q[0] == "and":
        result = all(implies(p, c) for c in q[1])
    elif (p[0] == "and" and any(implies(c, q) for c in p[1])) or (q[0] == "or" and any(implies(p, c) for c in q[1])):
        result = True
    elif p[0] == "not" and q[0] == "not":
        result = implies(q[1], p[1])
    elif p[0] == "eq" and q[0] == "eq":
        result = _leaf_implies(p, q)
    elif p[0] == "eq" and q[0] == "not" and q[1][0] == "eq":
        result = _leaf_excludes(p, q[1])
    else:
        result = False
    _cache[key] = result
    return result


def atom_implications(programs: Programs) -> np.ndarray:
    """``(predicates, predicates)`` uint8: entry [p, q] = 1 where atom predicate p is proven to imply q."""
    preds = programs.atom_predicates
    table = np.zeros((len(preds), len(preds)), dtype=np.uint8)
    for i, p in enumerate(preds):
        for j, q in enumerate(preds):
            table[i, j] = implies(p, q)
    return table


def bond_implications(programs: Programs) -> np.ndarray:
    """``(bond predicates, bond predicates)`` uint8: [p, q] = 1 where p implies q (exact: over every bond key)."""
    truth = programs.bond_table().astype(bool)[:, :len(programs.bond_predicates)]
    return (~(truth[:, :, None] & ~truth[:, None, :]).any(axis=0)).astype(np.uint8)
