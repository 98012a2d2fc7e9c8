"""Evaluate a list of bit definitions on many molecules: screen first, match only what the screen cannot decide.

For a batch of molecules:

1. rule bits (element and ring counts, fragments, salts) come from the atoms and ring information directly;
2. every SMARTS query is precompiled once; :class:`~specvae.chem.substructure.screen.Screen` tests the necessary
   conditions of all queries on the whole batch with array operations. Queries whose conditions are also sufficient
   (single atoms, single bonds between exactly described atoms) are answered there;
3. the remaining (molecule, query) pairs go to RDKit's matcher, one call per query for the whole batch: the batch is
   an RDKit ``SubstructLibrary`` and its search order is set to the molecules that passed the screen, so the loop over
   molecules runs in C++;
4. "at least n matches" bits count unique matches (``maxMatches=n``) only on molecules that match at all.

:func:`reference_bits` is the plain definition (one RDKit call per molecule and bit) that the tests compare against.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from specvae.chem.substructure.definitions import BitDef
from specvae.chem.substructure.rules import RuleEvaluator

BATCH_SIZE = 512  # molecules per screening batch: large enough to amortise per-query calls, small in memory


def _compile(smarts: str):
    from rdkit import Chem

    query = Chem.MolFromSmarts(smarts)
    if query is None:
        raise ValueError(f"invalid SMARTS in fingerprint definition: {smarts!r}")
    return query


def alternatives(smarts: str) -> list[str]:
    """Equivalent simpler queries whose matches together are the query's matches (presence only).

    A one-atom query that is an OR of recursive SMARTS, ``[$(A),$(B)]``, matches a molecule exactly when A or B
    does; A and B are screened and matched separately (RDKit would otherwise evaluate every recursive part on every
    atom). Anything else is returned unchanged.
    """
    from specvae.chem.substructure.screen import _recursive_smarts

    query = _compile(smarts)
    if query.GetNumAtoms() != 1 or query.GetNumBonds():
        return [smarts]
    lines = [line.strip() for line in query.GetAtomWithIdx(0).DescribeQuery().splitlines() if line.strip()]
    leaves = lines[1:] if lines[0] == "AtomOr" else lines
    if not leaves or any(leaf != "RecursiveStructure val in ()" for leaf in leaves):
        return [smarts]
    if lines[0] != "AtomOr" and len(leaves) != 1:
        return [smarts]
    inner = _recursive_smarts(query.GetAtomWithIdx(0).GetSmarts())
    if len(inner) != len(leaves):
        return [smarts]
    return [alt for part in inner for alt in alternatives(part)]


def _match_params(max_matches: int = 1):
    from rdkit import Chem

    params = Chem.SubstructMatchParameters()
    params.useChirality = False
    params.uniquify = True
    params.maxMatches = max_matches
    return params


class SubstructureEvaluator:
    """Computes the bits ``bits`` (in that order) for RDKit molecules.

    Parameters
    ----------
    bits
        The bit definitions (e.g. a mask's bits). Queries are compiled once here.
    """

    def __init__(self, bits: Sequence[BitDef]):
        from specvae.chem.substructure.screen import Screen

        self.bits = list(bits)
        self.rules = RuleEvaluator(self.bits)
        # one query per SMARTS bit, or several alternatives whose results are OR-ed into the bit
        columns, texts, counts = [], [], []
        for j, bit in enumerate(self.bits):
            if bit.kind != "smarts":
                continue
            parts = alternatives(bit.definition) if bit.min_count == 1 else [bit.definition]
            columns += [j] * len(parts)
            texts += parts
            counts += [bit.min_count] * len(parts)
        self.smarts_columns = np.array(columns, dtype=np.int64)
        self.queries = [_compile(text) for text in texts]
        self.min_counts = np.array(counts, dtype=np.int64)
        self.screen = Screen(self.queries, self.min_counts)
        self._bit_columns, self._query_bit = np.unique(self.smarts_columns, return_inverse=True)
        self._params = _match_params(1)
        self._count_params = {int(n): _match_params(int(n)) for n in set(self.min_counts.tolist()) if n > 1}

    @property
    def n_bits(self) -> int:
        return len(self.bits)

    def compute(self, mols: Sequence) -> np.ndarray:
        """Bits of each molecule: ``uint8`` array ``(len(mols), n_bits)`` of 0/1."""
        out = np.zeros((len(mols), self.n_bits), dtype=np.uint8)
        for start in range(0, len(mols), BATCH_SIZE):
            batch = mols[start:start + BATCH_SIZE]
            out[start:start + len(batch)] = self._compute_batch(batch)
        return out

    def _compute_batch(self, mols: Sequence) -> np.ndarray:
        from rdkit.Chem import rdSubstructLibrary

        from specvae.chem.substructure.rules import molecule_table
        from specvae.chem.substructure.screen import atom_codes, bond_triples

        n = len(mols)
        out = np.zeros((n, self.n_bits), dtype=np.uint8)
        tables = [molecule_table(mol) for mol in mols]
        if self.rules:
            for i, (mol, table) in enumerate(zip(mols, tables)):
                self.rules.evaluate(mol, out[i], table)
        if not len(self.queries):
            return out
        codes = [atom_codes(t) for t in tables]
        survivors = self.screen.survivors(codes, [bond_triples(t, c) for t, c in zip(tables, codes)])
        # Molecules with hydrogen atoms in the graph are outside the screen's model of H counts: match them fully.
        unscreened = np.array([bool((t.atomic_number == 1).any()) for t in tables], dtype=bool)
        survivors[unscreened] = True
        decided = np.broadcast_to(self.screen.exact, survivors.shape).copy()
        decided[unscreened] = False
        bit_hits = np.zeros((n, len(self._bit_columns)), dtype=bool)
        np.logical_or.at(bit_hits, (slice(None), self._query_bit), survivors & decided)
        todo = survivors & ~decided
        library = None
        for q in np.flatnonzero(todo.any(axis=0)):
            bit = self._query_bit[q]
            candidates = np.flatnonzero(todo[:, q] & ~bit_hits[:, bit])  # alternatives: stop at the first hit
            if not len(candidates):
                continue
            if library is None:
                library = rdSubstructLibrary.SubstructLibrary(rdSubstructLibrary.MolHolder())
                for mol in mols:
                    library.AddMol(mol)
            library.SetSearchOrder(candidates.tolist())
            found = library.GetMatches(self.queries[q], self._params, 1, len(candidates))
            matched = [found[k] for k in range(len(found))]
            need = int(self.min_counts[q])
            if need > 1:
                params = self._count_params[need]
                matched = [i for i in matched if len(mols[i].GetSubstructMatches(self.queries[q], params)) >= need]
            bit_hits[matched, bit] = True
        out[:, self._bit_columns] = bit_hits
        return out


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
