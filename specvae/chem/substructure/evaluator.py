"""Evaluate a list of bit definitions on many molecules: :class:`SubstructureEvaluator`.

What ``get_fingerprinter("specvae").compute`` uses, batch by batch of molecules:

1. every SMARTS query is compiled once into a graph of atom and bond predicates
   (:mod:`~specvae.chem.substructure.programs`); each molecule's atoms, bonds and rings are read once through RDKit
   (:class:`~specvae.chem.substructure.molecule_batch.MoleculeBatch`);
2. atom predicates become a truth table over all atoms of the batch; recursive SMARTS ``$(...)`` are matched first,
   anchored at each atom, by the compiled matcher;
3. the compiled matcher (:mod:`~specvae.chem.substructure.kernels`, numba) decides every (molecule, query) pair:
   queries run from general to specific, a query whose proven generalisation failed is not searched, and
   ring-size queries are answered by enumerating rings;
4. rule bits (element and ring counts, fragments, salts) come from the same arrays.

Queries with a primitive the compiler does not reproduce, and molecules RDKit cannot describe (unsanitised), go to
:func:`reference_bits`: plain RDKit matching, one call per molecule and bit, which is also what the tests check the
compiled matcher against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from specvae.chem.substructure.definitions import BitDef
from specvae.chem.substructure.rules import RuleEvaluator

BATCH_SIZE = 512  # molecules per batch: large enough to amortise per-batch work, small in memory


def _compile(smarts: str):
    from rdkit import Chem

    query = Chem.MolFromSmarts(smarts)
    if query is None:
        raise ValueError(f"invalid SMARTS in fingerprint definition: {smarts!r}")
    return query


def _match_params(max_matches: int = 1):
    from rdkit import Chem

    params = Chem.SubstructMatchParameters()
    params.useChirality = False
    params.uniquify = True
    params.maxMatches = max_matches
    return params


# Molecules whose atoms set the search order (rare predicates first): common metabolites, drugs, lipids, pesticides.
# Any choice gives the same bits; this one only makes the order, and so the speed, independent of the input.
CALIBRATION_SMILES = """
Cn1cnc2c1c(=O)n(C)c(=O)n2C CC(=O)Oc1ccccc1C(=O)O CC(C)Cc1ccc(cc1)C(C)C(=O)O CC(=O)Nc1ccc(O)cc1
OC[C@H]1OC(O)[C@H](O)[C@@H](O)[C@@H]1O OC[C@H]1O[C@@](CO)(O[C@H]2O[C@H](CO)[C@@H](O)[C@H](O)[C@H]2O)[C@@H](O)[C@@H]1O
CC(C)CCCC(C)C1CCC2C1(CCC3C2CC=C4C3(CCC(C4)O)C)C CCCCCCCCCCCCCCCC(=O)O
CCCCCCCCCCCCCCCC(=O)OCC(COP(=O)([O-])OCC[N+](C)(C)C)OC(=O)CCCCCCCC=CCCCCCCCC
Nc1ncnc2c1ncn2C1OC(COP(=O)(O)OP(=O)(O)OP(=O)(O)O)C(O)C1O NC(Cc1c[nH]c2ccccc12)C(=O)O
NC(CCC(=O)NC(CS)C(=O)NCC(=O)O)C(=O)O CC1(C)SC2C(NC(=O)Cc3ccccc3)C(=O)N2C1C(=O)O
OCC(NC(=O)C(Cl)Cl)C(O)c1ccc(cc1)[N+](=O)[O-] OC(=O)Cc1ccccc1Nc1c(Cl)cccc1Cl CNCCC(Oc1ccc(cc1)C(F)(F)F)c1ccccc1
CN1CCC23C4C1CC5=C2C(=C(C=C5)O)OC3C(C=C4)O Oc1cc(O)c2c(c1)oc(-c1ccc(O)c(O)c1)c(O)c2=O CN1CCCC1c1cccnc1
CCNc1nc(Cl)nc(NC(C)C)n1 OC(=O)CNCP(=O)(O)O ClC(Cl)(Cl)C(c1ccc(Cl)cc1)c1ccc(Cl)cc1 Cc1cc(NS(=O)(=O)c2ccc(N)cc2)no1
OC(=O)c1cn(C2CC2)c2cc(N3CCNCC3)c(F)cc2c1=O CC(=O)CC(c1ccccc1)c1c(O)c2ccccc2oc1=O CC12CCC3c4ccc(O)cc4CCC3C1CCC2O
CC(=CCO)C=CC=C(C)C=CC1=C(C)CCCC1(C)C Cc1ncc(C[n+]2csc(CCO)c2C)c(N)n1 CN(C)CCOC(=O)c1ccccc1 OC(=O)CC(O)(CC(=O)O)C(=O)O
CCC(=C(c1ccccc1)c1ccc(OCCN(C)C)cc1)c1ccccc1 CN(C)C(=N)N=C(N)N COc1ccc2[nH]c(nc2c1)S(=O)Cc1ncc(C)c(OC)c1C
NCCc1ccc(O)c(O)c1 CCN(CC)CC(=O)Nc1c(C)cccc1C COc1ccc2cc(ccc2c1)C(C)C(=O)O O=C1NC(=O)C(=C1)Br
Nc1nc2ncc(CNc3ccc(cc3)C(=O)NC(CCC(=O)O)C(=O)O)nc2c(=O)[nH]1 Brc1ccc(cc1)C1=NCC(=O)Nc2ccc(I)cc12 C[Si](C)(C)OC(=O)C#N
[Na+].[O-]S(=O)(=O)c1ccc(cc1)N=Nc1ccc(O)cc1 CSCCC(N)C(=O)O C1CCC2(CC1)OCCO2 O=C(O)c1ccncc1
Fc1ccc(cc1)C(=O)CCCN1CCC(O)(CC1)c1ccc(Cl)cc1 c1cc2ccc3cccc4ccc(c1)c2c34 OP(=O)(O)OCC1OC(n2cnc3c(N)ncnc32)C(O)C1O
CC(C)(C)c1ccc(O)cc1 O=[N+]([O-])c1ccc(cc1)S(=O)(=O)N C=CC(=O)OCC
""".split()


class SubstructureEvaluator:
    """Computes the bits ``bits`` (in that order) for RDKit molecules: compiled matching, RDKit where it cannot.

    Every SMARTS query is compiled (:mod:`~specvae.chem.substructure.programs`) into a graph of atom and bond
    predicates; for a batch of molecules the predicates become truth tables over all atoms (RDKit's atom
    properties, read once per molecule in :class:`~specvae.chem.substructure.molecule_batch.MoleculeBatch`) and the
    numba matcher (:mod:`~specvae.chem.substructure.kernels`) decides every (molecule, query) pair. Queries are
    tried from general to specific, and a query one of whose proven generalisations failed is not tried at all
    (:meth:`_implications`). Queries the compiler does not accept and molecules the batch cannot describe go to
    :func:`reference_bits`.
    """

    def __init__(self, bits: Sequence[BitDef]):
        from specvae.chem.substructure.programs import Programs, Unsupported

        self.bits = list(bits)
        self.rules = RuleEvaluator(self.bits)
        programs = Programs()
        columns, graphs, needs, unsupported = [], [], [], []
        for j, bit in enumerate(self.bits):
            if bit.kind != "smarts":
                continue
            _compile(bit.definition)  # invalid SMARTS: ValueError, as before
            try:
                graphs.append(programs.graph(bit.definition))
            except Unsupported:
                unsupported.append(j)
                continue
            columns.append(j)
            needs.append(bit.min_count)
        self.columns = np.array(columns, dtype=np.int64)
        self.graphs = np.array(graphs, dtype=np.int64)
        self.needs = np.array(needs, dtype=np.int64)
        self.unsupported = np.array(unsupported, dtype=np.int64)
        programs.sort_by_level()
        self.programs = programs
        self._prepare(programs)
        if len(self.graphs):
            self._calibrate()
            self._implications()

    @property
    def n_bits(self) -> int:
        return len(self.bits)

    def compute(self, mols: Sequence) -> np.ndarray:
        """Bits of each molecule: ``uint8`` array ``(len(mols), n_bits)`` of 0/1, in batches of :data:`BATCH_SIZE`."""
        out = np.zeros((len(mols), self.n_bits), dtype=np.uint8)
        for start in range(0, len(mols), BATCH_SIZE):
            batch = mols[start:start + BATCH_SIZE]
            out[start:start + len(batch)] = self._compute_batch(batch)
        return out

    def _prepare(self, programs) -> None:
        """Flat arrays of every graph and predicate, for the kernels."""
        from specvae.chem.substructure.programs import recursive_graphs

        graphs = programs.graphs
        self.n_predicates = len(programs.atom_predicates)
        self.levels = np.array(programs.atom_levels, dtype=np.int64)
        sizes = np.array([len(g.atoms) for g in graphs], dtype=np.int64)
        self.atom_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.atom_pred = np.array([c for g in graphs for c in g.atoms], dtype=np.int64)
        degree = []
        for g in graphs:
            d = [0] * len(g.atoms)
            for a, b, _ in g.bonds:
                d[a] += 1
                d[b] += 1
            degree += d
        self.atom_degree = np.array(degree, dtype=np.int64)
        self.bond_start = np.concatenate([[0], np.cumsum([len(g.bonds) for g in graphs])]).astype(np.int64)
        self.bond_a = np.array([a for g in graphs for a, _, _ in g.bonds], dtype=np.int64)
        self.bond_b = np.array([b for g in graphs for _, b, _ in g.bonds], dtype=np.int64)
        self.bond_pred = np.array([p for g in graphs for _, _, p in g.bonds], dtype=np.int64)
        # one search order per (graph, root atom); a graph with m atoms, n bonds and c components has n - m + c
        # back bonds (bonds closing rings) whatever the root
        backs = np.array([len(g.bonds) - len(g.atoms) + _components(len(g.atoms), g.bonds) for g in graphs],
                         dtype=np.int64)
        self.plan_start = np.concatenate([[0], np.cumsum(sizes * sizes)]).astype(np.int64)
        self.back_plan_start = np.concatenate([[0], np.cumsum(sizes * backs)]).astype(np.int64)
        n_positions = int(self.plan_start[-1])
        self.pos_pred = np.zeros(n_positions, dtype=np.int64)
        self.pos_degree = np.zeros(n_positions, dtype=np.int64)
        self.parent = np.zeros(n_positions, dtype=np.int64)
        self.parent_bond_pred = np.zeros(n_positions, dtype=np.int64)
        self.back_start = np.zeros(n_positions + 1, dtype=np.int64)
        self.back_pos = np.zeros(max(int(self.back_plan_start[-1]), 1), dtype=np.int64)
        self.back_pred = np.zeros(max(int(self.back_plan_start[-1]), 1), dtype=np.int64)
        self.bond_ok = programs.bond_table()
        self.anchored = np.zeros(len(graphs), dtype=bool)  # graphs of recursive SMARTS (maybe main queries too)
        for node in programs.atom_predicates:
            self.anchored[list(recursive_graphs(node))] = True
        # necessary condition per graph: enough atoms for each of its predicates
        req_start, req_pred, req_count = [0], [], []
        for g in graphs:
            counts: dict[int, int] = {}
            for c in g.atoms:
                counts[c] = counts.get(c, 0) + 1
            req_pred += list(counts)
            req_count += list(counts.values())
            req_start.append(len(req_pred))
        self.req_start = np.array(req_start, dtype=np.int64)
        self.req_pred = np.array(req_pred, dtype=np.int64)
        self.req_count = np.array(req_count, dtype=np.int64)
        self.graph_level = np.array([g.level for g in graphs], dtype=np.int64)
        # graphs that are one cycle of equal atoms and bonds (ring-size queries): enumerated, not searched
        self.cycle_graphs: dict[int, tuple[int, int, int]] = {}  # graph -> (atom predicate, bond predicate, size)
        for g, graph in enumerate(graphs):
            m = len(graph.atoms)
            if (m >= 3 and len(graph.bonds) == m and len(set(graph.atoms)) == 1
                    and len({p for _, _, p in graph.bonds}) == 1 and all(d == 2 for d in
                                                                         self.atom_degree[self.atom_start[g]:
                                                                                          self.atom_start[g + 1]])
                    and _components(m, graph.bonds) == 1):
                self.cycle_graphs[g] = (graph.atoms[0], graph.bonds[0][2], m)
        # until _calibrate and _implications: every root 0, queries in bit order, no implications
        self._root = np.zeros(len(graphs), dtype=np.int64)
        self.order = np.arange(len(self.graphs), dtype=np.int64)
        self.general_start = np.zeros(len(self.graphs) + 1, dtype=np.int64)
        self.general = np.zeros(1, dtype=np.int64)
        self._plan(np.zeros(max(self.n_predicates, 1)))

    def _plan(self, frequency: np.ndarray) -> None:
        """Search orders from every root, and each graph's root: the atom with the rarest predicate."""
        from specvae.chem.substructure.kernels import plan

        plan(self.atom_start, self.atom_pred, self.atom_degree, self.bond_start, self.bond_a, self.bond_b,
             self.bond_pred, self.plan_start, self.back_plan_start, frequency.astype(np.float64), self.pos_pred,
             self.pos_degree, self.parent, self.parent_bond_pred, self.back_start, self.back_pos, self.back_pred)
        rarity = frequency[self.atom_pred] if len(self.atom_pred) else np.zeros(0)
        self._root = np.array([int(np.argmin(rarity[a:b])) if b > a else 0
                               for a, b in zip(self.atom_start[:-1], self.atom_start[1:])], dtype=np.int64)

    def _calibrate(self) -> None:
        """Search orders from predicate frequencies on :data:`CALIBRATION_SMILES` (this also compiles the
        kernels, before any worker process is forked). Recursive predicates count as rare: they are."""
        from rdkit import Chem

        from specvae.chem.substructure.molecule_batch import MoleculeBatch

        batch = MoleculeBatch([Chem.MolFromSmiles(s) for s in CALIBRATION_SMILES])
        _, counts = self.atom_table(batch)
        frequency = counts.sum(axis=0).astype(np.float64) / max(len(batch.atomic_number), 1)
        frequency[self.levels > 0] = 0.0
        self._plan(frequency)
        self._match(batch)

    def _implications(self) -> None:
        """Order the queries from general to specific, and record each query's direct proven generalisations.

        Query A *generalises* query B when A's graph embeds into B's with every atom and bond predicate of B
        implying the one of A it is mapped to (:func:`~specvae.chem.substructure.programs.implies`): then every
        molecule that matches B matches A, so a molecule without a match of A (needing one match) has none of B
        either. The embeddings are found by the matcher itself, run on the queries as if they were molecules.
        """
        from scipy import sparse

        from specvae.chem.substructure.kernels import count_predicates, match_molecules
        from specvae.chem.substructure.programs import atom_implications, bond_implications

        graphs = [self.programs.graphs[g] for g in self.graphs]
        n = len(graphs)
        atom_implies = atom_implications(self.programs)
        sizes = np.array([len(g.atoms) for g in graphs], dtype=np.int64)
        mol_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        preds = np.array([c for g in graphs for c in g.atoms], dtype=np.int64)
        begin = np.array([mol_start[k] + a for k, g in enumerate(graphs) for a, _, _ in g.bonds], dtype=np.int64)
        end = np.array([mol_start[k] + b for k, g in enumerate(graphs) for _, b, _ in g.bonds], dtype=np.int64)
        key = np.array([p for g in graphs for _, _, p in g.bonds], dtype=np.int64)
        ends = np.concatenate([begin, end])
        order = np.argsort(ends, kind="stable")
        adj_nbr = np.concatenate([end, begin])[order]
        adj_key = np.concatenate([key, key])[order]
        adj_start = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=len(preds)))]).astype(np.int64)
        atom_ok = np.ascontiguousarray(atom_implies[preds]) if len(preds) else np.zeros((0, 1), np.uint8)
        counts = np.zeros((n, atom_ok.shape[1]), dtype=np.int64)
        count_predicates(atom_ok, mol_start, np.arange(atom_ok.shape[1], dtype=np.int64), counts)
        general = np.flatnonzero(self.needs == 1)
        embeds = np.zeros((n, len(general)), dtype=np.uint8)  # [B, A]: A embeds into B
        match_molecules(self.graphs[general], np.ones(len(general), dtype=np.int64), self._root[self.graphs[general]],
                        mol_start, self.atom_start, self.plan_start, self.pos_pred, self.pos_degree, self.parent,
                        self.parent_bond_pred, self.back_start, self.back_pos, self.back_pred, self.req_start,
                        self.req_pred, self.req_count, adj_start, adj_nbr, adj_key, atom_ok,
                        bond_implications(self.programs), counts, np.arange(len(general), dtype=np.int64),
                        np.zeros(len(general) + 1, dtype=np.int64), np.zeros(1, dtype=np.int64),
                        np.zeros(embeds.shape, dtype=np.uint8), embeds)
        rows, cols = np.nonzero(embeds)
        relation = sparse.csr_matrix((np.ones(len(rows), np.int8), (general[cols], rows)), shape=(n, n))
        relation.setdiag(0)
        relation.eliminate_zeros()
        relation = relation.astype(bool)
        while True:  # transitive closure (implication chains)
            closed = (relation + relation @ relation).astype(bool)
            if closed.nnz == relation.nnz:
                break
            relation = closed
        # strict order: A before B when A generalises B (equivalent queries: by index)
        dense = relation.toarray()
        index = np.arange(n)
        strict = dense & (~dense.T | (index[:, None] < index[None, :]))
        strict_sparse = sparse.csr_matrix(strict)
        direct = strict & ~(strict_sparse @ strict_sparse).toarray().astype(bool)
        self.order = np.argsort(strict.sum(axis=0), kind="stable").astype(np.int64)
        lists = [np.flatnonzero(direct[:, b]) for b in range(n)]
        self.general_start = np.concatenate([[0], np.cumsum([len(x) for x in lists])]).astype(np.int64)
        self.general = np.concatenate(lists + [np.zeros(1, np.int64)]).astype(np.int64)

    def _compute_batch(self, mols: Sequence) -> np.ndarray:
        from specvae.chem.substructure.molecule_batch import MoleculeBatch

        n = len(mols)
        out = np.zeros((n, self.n_bits), dtype=np.uint8)
        if n == 0:
            return out
        batch = MoleculeBatch(mols)
        if self.rules:
            self.rules.evaluate_batch(batch, out)
        if len(self.graphs):
            out[:, self.columns] = self._match(batch)
        if len(self.unsupported):  # queries the compiler does not accept: RDKit for every molecule
            out[:, self.unsupported] = reference_bits(mols, [self.bits[j] for j in self.unsupported])
        bad = np.flatnonzero(~batch.ok)
        if len(bad):  # molecules the batch cannot describe: RDKit for every bit (it raises for most of them)
            out[bad] = reference_bits([mols[i] for i in bad], self.bits)
        return out

    def _cycles(self, batch, graphs, atom_ok, needs=None) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """For cycle graphs (see :data:`cycle_graphs`): graph -> (atom on such a cycle ``(atoms,)``, number of
        distinct cycles per molecule, up to the graph's need ``(molecules,)``)."""
        from specvae.chem.substructure.kernels import cycles

        groups: dict[tuple[int, int], list[int]] = {}
        for g in graphs:
            atom_pred, bond_pred, _ = self.cycle_graphs[g]
            groups.setdefault((atom_pred, bond_pred), []).append(g)
        found = {}
        for (atom_pred, bond_pred), members in groups.items():
            lengths = np.array(sorted({self.cycle_graphs[g][2] for g in members}), dtype=np.int64)
            most = max([1] + [int(needs[g]) for g in members] if needs else [1])
            on_cycle = np.zeros((len(batch.atomic_number), len(lengths)), dtype=np.uint8)
            count = np.zeros((batch.n, len(lengths)), dtype=np.int64)
            cycles(batch.mol_start, batch.adj_start, batch.adj_nbr, batch.adj_key, atom_ok, self.bond_ok, atom_pred,
                   bond_pred, lengths, most, on_cycle, count)
            for g in members:
                k = int(np.searchsorted(lengths, self.cycle_graphs[g][2]))
                found[g] = (on_cycle[:, k], count[:, k])
        return found

    def atom_table(self, batch) -> tuple[np.ndarray, np.ndarray]:
        """Truth table of every atom predicate on every atom of a batch (``uint8 (atoms, predicates)``) and the
        number of atoms of each molecule for which each predicate holds (``(molecules, predicates)``)."""
        from specvae.chem.substructure.kernels import count_predicates, match_anchored
        from specvae.chem.substructure.programs import evaluate

        programs = self.programs
        n_atoms = len(batch.atomic_number)
        atom_ok = np.zeros((n_atoms, max(self.n_predicates, 1)), dtype=np.uint8)
        mol_count = np.zeros((batch.n, atom_ok.shape[1]), dtype=np.int64)
        if not n_atoms:
            return atom_ok, mol_count
        features = batch.features()
        bounds = np.searchsorted(self.levels, np.arange(int(self.levels.max(initial=0)) + 2))  # level blocks
        level0 = np.arange(bounds[0], bounds[1])
        if len(level0):  # predicates without recursive SMARTS: once per distinct atom
            keys, inverse = _atom_keys(features)
            key_features = {name: values[keys] for name, values in features.items()}
            cache: dict = {}
            table = np.empty((len(keys), len(level0)), dtype=np.uint8)
            for k, c in enumerate(level0):
                table[:, k] = evaluate(programs.atom_predicates[c], key_features, len(keys), cache=cache)
            atom_ok[:, bounds[0]:bounds[1]] = table[inverse]
        count_predicates(atom_ok, batch.mol_start, level0, mol_count)
        cache = {}
        recursive: dict[int, np.ndarray] = {}
        for level in range(1, len(bounds) - 1):
            graphs = np.flatnonzero(self.anchored & (self.graph_level == level - 1))
            cyclic = [g for g in graphs.tolist() if g in self.cycle_graphs]
            for g, (on_cycle, _) in self._cycles(batch, cyclic, atom_ok).items():
                recursive[g] = on_cycle.astype(bool)
            graphs = np.array([g for g in graphs.tolist() if g not in self.cycle_graphs], dtype=np.int64)
            result = np.zeros((n_atoms, len(graphs)), dtype=np.uint8)
            if len(graphs):
                match_anchored(graphs, batch.mol_start, self.atom_start, self.plan_start, self.pos_pred,
                               self.pos_degree, self.parent, self.parent_bond_pred, self.back_start, self.back_pos,
                               self.back_pred, self.req_start, self.req_pred, self.req_count, batch.adj_start,
                               batch.adj_nbr, batch.adj_key, atom_ok, self.bond_ok, mol_count, result)
            for k, g in enumerate(graphs):
                recursive[int(g)] = result[:, k].astype(bool)
            columns = np.arange(bounds[level], bounds[level + 1])
            block = np.empty((len(columns), n_atoms), dtype=np.uint8)
            for k, c in enumerate(columns):
                block[k] = evaluate(programs.atom_predicates[c], features, n_atoms, recursive, cache)
            atom_ok[:, bounds[level]:bounds[level + 1]] = block.T
            count_predicates(atom_ok, batch.mol_start, columns, mol_count)
        return atom_ok, mol_count

    def _match(self, batch) -> np.ndarray:
        from specvae.chem.substructure.kernels import match_molecules

        bits = np.zeros((batch.n, len(self.graphs)), dtype=np.uint8)
        if not len(batch.atomic_number):
            return bits
        atom_ok, mol_count = self.atom_table(batch)
        known = np.zeros((batch.n, len(self.graphs)), dtype=np.uint8)
        cyclic = {int(g): j for j, g in enumerate(self.graphs.tolist()) if g in self.cycle_graphs}
        needs = {int(g): int(self.needs[j]) for g, j in cyclic.items()}
        for g, (_, count) in self._cycles(batch, list(cyclic), atom_ok, needs).items():
            j = cyclic[g]
            known[:, j] = np.where(count >= self.needs[j], 1, 2)
        match_molecules(self.graphs, self.needs, self._root[self.graphs], batch.mol_start, self.atom_start,
                        self.plan_start, self.pos_pred, self.pos_degree, self.parent, self.parent_bond_pred,
                        self.back_start, self.back_pos, self.back_pred, self.req_start, self.req_pred,
                        self.req_count, batch.adj_start, batch.adj_nbr, batch.adj_key, atom_ok, self.bond_ok,
                        mol_count, self.order, self.general_start, self.general, known, bits)
        return bits


def _components(n_atoms: int, bonds) -> int:
    root = list(range(n_atoms))

    def find(x):
        while root[x] != x:
            x = root[x]
        return x

    for a, b, _ in bonds:
        root[find(a)] = find(b)
    return sum(1 for x in range(n_atoms) if find(x) == x)


def _atom_keys(features: dict) -> tuple[np.ndarray, np.ndarray]:
    """Indices of one atom per distinct feature combination, and each atom's combination."""
    key = np.zeros(len(next(iter(features.values()))), dtype=np.int64)
    width = 0
    for values in features.values():
        low = int(values.min(initial=0))
        span = int(values.max(initial=0)) - low + 1
        bits = max(span - 1, 1).bit_length()
        width += bits
        if width > 62:  # too wide to pack: distinct rows the slow way
            columns = np.stack(list(features.values()), axis=1)
            _, first, inverse = np.unique(columns, axis=0, return_index=True, return_inverse=True)
            return first, inverse.reshape(-1)
        key = (key << bits) | (values - low)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse


def reference_bits(mols: Sequence, bits: Sequence[BitDef]) -> np.ndarray:
    """The same bits computed the plain way: one RDKit call per molecule and bit (slow; for tests)."""
    queries = {j: _compile(b.definition) for j, b in enumerate(bits) if b.kind == "smarts"}
    rules = RuleEvaluator(bits)
    params = {b.min_count: _match_params(b.min_count) for b in bits}
    out = np.zeros((len(mols), len(bits)), dtype=np.uint8)
    for i, mol in enumerate(mols):
        rules.evaluate(mol, out[i])
        for j, query in queries.items():
            need = bits[j].min_count
            out[i, j] = len(mol.GetSubstructMatches(query, params[need])) >= need
    return out
