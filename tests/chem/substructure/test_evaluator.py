"""The compiled matcher reproduces RDKit exactly: predicate by predicate, and bit by bit on real and awkward molecules.

The reference is plain RDKit: :func:`~specvae.chem.substructure.evaluator.reference_bits` runs every query through
``GetSubstructMatches`` (``useChirality=False``, unique matches, the definition's count threshold) one molecule at
a time; a predicate's reference is the set of atoms (or bonds) that a one-atom (one-bond) SMARTS query with the
same query tree matches.
"""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem

from specvae.chem.fingerprints import get_fingerprinter
from specvae.chem.substructure.definitions import BitDef
from specvae.chem.substructure.evaluator import SubstructureEvaluator, reference_bits
from specvae.chem.substructure.molecule_batch import MoleculeBatch

AWKWARD = [
    "[Na+].[O-]C(=O)c1ccccc1", "[NH4+].[Cl-]", "C[N+](C)(C)C", "[2H]C([2H])([2H])O", "O=[N+]([O-])c1ccccc1",
    "[Fe+2]", "B(O)(O)c1ccccc1", "C1CC2CCC1C2", "C/C=C/C", "C[C@H](N)C(=O)O", "c1ccc2[nH]ccc2c1", "[CH3]", "C",
    "[Cu]<-N(C)C", "C$C", "[H][H]", "[H+].[Cl-]", "C1CC2CCC1CC2C[N+](C)(C)C.[O-]C(=O)C", "[13CH3]C(=O)O",
    "C1CC12CC2", "c1ccc2c(c1)ccc1ccccc12", "OC1C2CC3CC1CC(C2)C3", "[O-][n+]1ccccc1", "CS(=O)(=O)[N-]C(=O)C",
    "C=C=C", "C#N", "[Si](C)(C)(C)O[Si](C)(C)C", "FC(F)(F)C(F)(F)C(F)(F)F", "OCC(O)C(O)C(O)C(O)CO",
    "Clc1cc#ccc1Cl",  # an aryne: a triple bond flagged aromatic (the previous evaluator's screen missed its matches)
]


@pytest.fixture(scope="module")
def fixture_mols(fixtures):
    lines = (fixtures / "chem" / "molecules.smi").read_text().splitlines()
    mols = [Chem.MolFromSmiles(line.split("\t")[0]) for line in lines]
    assert len(mols) == 300 and all(m is not None for m in mols)
    return mols


def awkward_mols():
    mols = [Chem.MolFromSmiles(s) for s in AWKWARD]
    mols.append(Chem.AddHs(Chem.MolFromSmiles("OCC(=O)Nc1ccccc1")))  # hydrogen atoms in the graph
    kekule = Chem.MolFromSmiles("c1ccccc1C(=O)O")
    Chem.Kekulize(kekule, clearAromaticFlags=False)  # aromatic flags on single/double bonds
    mols.append(kekule)
    zero = Chem.RWMol(Chem.MolFromSmiles("CCO"))
    zero.GetBondWithIdx(0).SetBondType(Chem.BondType.ZERO)
    mols.append(zero.GetMol())
    assert all(m is not None for m in mols)
    return mols


@pytest.fixture(scope="module")
def specvae():
    return get_fingerprinter("specvae")


def test_compiled_evaluator_equals_plain_rdkit_on_300_molecules(specvae, fixture_mols):
    assert not len(specvae.evaluator.unsupported)  # every query compiled
    got = specvae.compute(fixture_mols)
    expected = reference_bits(fixture_mols, specvae.bits)
    cells = np.argwhere(got != expected)
    assert len(cells) == 0, [(Chem.MolToSmiles(fixture_mols[i]), specvae.bits[j]) for i, j in cells[:5]]


def test_compiled_evaluator_equals_plain_rdkit_on_awkward_molecules(specvae):
    mols = awkward_mols()
    got = specvae.compute(mols)
    expected = reference_bits(mols, specvae.bits)
    cells = np.argwhere(got != expected)
    assert len(cells) == 0, [(Chem.MolToSmiles(mols[i]), specvae.bits[j]) for i, j in cells[:5]]


def test_batches_and_order_do_not_change_bits(specvae, fixture_mols):
    mols = fixture_mols[:60] + awkward_mols()
    together = specvae.compute(mols)
    one_by_one = np.vstack([specvae.compute([m]) for m in mols])
    reversed_ = specvae.compute(mols[::-1])[::-1]
    np.testing.assert_array_equal(together, one_by_one)
    np.testing.assert_array_equal(together, reversed_)


def test_every_atom_predicate_equals_rdkit_atom_matching(specvae, fixture_mols):
    evaluator = specvae.evaluator
    mols = fixture_mols + awkward_mols()
    batch = MoleculeBatch(mols)
    atom_ok, counts = evaluator.atom_table(batch)
    params = Chem.SubstructMatchParameters()
    params.uniquify = False
    params.maxMatches = 100000
    for c, smarts in enumerate(evaluator.programs.atom_smarts):
        query = Chem.MolFromSmarts(smarts)
        assert query.GetNumAtoms() == 1, smarts
        expected = np.zeros(len(atom_ok), dtype=np.uint8)
        for i, mol in enumerate(mols):
            for (a,) in mol.GetSubstructMatches(query, params):
                expected[batch.mol_start[i] + a] = 1
        wrong = np.flatnonzero(atom_ok[:, c] != expected)
        assert not len(wrong), (smarts, [Chem.MolToSmiles(mols[batch.mol_of_atom[a]]) for a in wrong[:3]])
        np.testing.assert_array_equal(counts[:, c], np.bincount(batch.mol_of_atom, weights=expected,
                                                                minlength=len(mols)))


def test_every_bond_predicate_equals_rdkit_bond_matching(specvae, fixture_mols):
    evaluator = specvae.evaluator
    mols = fixture_mols[:100] + awkward_mols() + [Chem.MolFromSmiles("C$C"), Chem.MolFromSmiles("[Cu]<-N")]
    batch = MoleculeBatch(mols)
    params = Chem.SubstructMatchParameters()
    params.uniquify = False
    params.maxMatches = 100000
    for c, smarts in enumerate(evaluator.programs.bond_smarts):
        query = Chem.MolFromSmarts(f"*{smarts}*")
        expected = set()
        for i, mol in enumerate(mols):
            for a, b in mol.GetSubstructMatches(query, params):
                expected.add(batch.bond_mol_start[i] + mol.GetBondBetweenAtoms(a, b).GetIdx())
        got = set(np.flatnonzero(evaluator.bond_ok[batch.bond_key, c]).tolist())
        assert got == expected, smarts


@pytest.mark.parametrize("smarts, need", [("CC", 2), ("CC", 5), ("C~C~C", 3), ("c1ccccc1", 2), ("[#6]~[#6]", 9),
                                          ("[OX2H]", 2), ("C(C)(C)C", 2), ("*~*~*~*", 3)])
def test_count_thresholds_count_unique_atom_sets(smarts, need):
    bits = [BitDef("maccs", 0, "smarts", smarts, need, "count")]
    mols = [Chem.MolFromSmiles(s) for s in ("CCCCCC", "CC(C)(C)C", "c1ccc2ccccc2c1", "c1ccccc1-c1ccccc1",
                                            "OCC(O)CO", "C1CC1", "CC(C)C(C)C", "C")]
    got = SubstructureEvaluator(bits).compute(mols)
    np.testing.assert_array_equal(got, reference_bits(mols, bits))


def test_recursive_and_ring_queries():
    smarts = ["[$(C=O);!$(C(=O)O)]", "[C;$(C(=O)[OH1]),$(C#N)]", "[$([#6]1~[#6]~[#6]~[#6]~[#6]~[#6]1)]",
              "[R2]", "[r5]", "[!R]~[R]", "*@*", "*!@*", "[x3]", "[$(*~[$(*=O)])]", "C1CCCCC1", "c1ccc2ccccc2c1",
              "[#6;X3;v4]", "[D3;!H0]", "[#7;+]", "[h1]", "[N;D{2-3}]"]
    bits = [BitDef("laggner", i, "smarts", s, 1, s) for i, s in enumerate(smarts)]
    mols = [Chem.MolFromSmiles(s) for s in ("CC(=O)O", "CC(=O)C", "CC#N", "c1ccc2ccccc2c1", "C1CC2CCC1CC2",
                                            "C1CCCC1C", "C[NH3+]", "CN(C)C", "O=C1CCCCC1")]
    evaluator = SubstructureEvaluator(bits)
    assert evaluator.unsupported.tolist() == [15, 16]  # implicit H count and ranges: left to RDKit
    np.testing.assert_array_equal(evaluator.compute(mols), reference_bits(mols, bits))


def test_unsanitised_molecules_fail_as_before(specvae):
    mol = Chem.MolFromSmiles("c1ccccc1O", sanitize=False)
    with pytest.raises(RuntimeError):
        reference_bits([mol], specvae.bits)
    with pytest.raises(RuntimeError):
        specvae.compute([mol])


def test_predicate_implications_hold_on_real_atoms(specvae, fixture_mols):
    from specvae.chem.substructure.programs import atom_implications

    evaluator = specvae.evaluator
    atom_ok, _ = evaluator.atom_table(MoleculeBatch(fixture_mols + awkward_mols()))
    implied = atom_implications(evaluator.programs).astype(bool)
    assert implied.sum() > 2 * len(implied)  # more than the diagonal
    ok = atom_ok.astype(bool)
    counter = ok.T.astype(np.int64) @ (~ok).astype(np.int64)  # [p, q]: atoms where p holds and q does not
    assert not (implied & (counter > 0)).any()


def test_generalisations_hold_on_reference_bits(specvae, fixture_mols):
    evaluator = specvae.evaluator
    expected = reference_bits(fixture_mols, specvae.bits)[:, evaluator.columns].astype(bool)
    position = np.empty(len(evaluator.order), dtype=np.int64)
    position[evaluator.order] = np.arange(len(evaluator.order))
    n_edges = 0
    for j in range(len(evaluator.graphs)):
        for g in evaluator.general[evaluator.general_start[j]:evaluator.general_start[j + 1]]:
            n_edges += 1
            assert evaluator.needs[g] == 1 and position[g] < position[j]
            assert not (expected[:, j] & ~expected[:, g]).any(), (specvae.bits[evaluator.columns[g]].definition,
                                                                  specvae.bits[evaluator.columns[j]].definition)
    assert n_edges > len(evaluator.graphs)


def test_skipping_by_generalisation_changes_no_bit(specvae, fixture_mols):
    evaluator = SubstructureEvaluator(specvae.bits)
    mols = fixture_mols + awkward_mols()
    with_skips = evaluator.compute(mols)
    evaluator.order = np.arange(len(evaluator.graphs), dtype=np.int64)
    evaluator.general_start = np.zeros(len(evaluator.graphs) + 1, dtype=np.int64)
    np.testing.assert_array_equal(evaluator.compute(mols), with_skips)


def test_cycle_queries_are_enumerated_exactly():
    """One-cycle queries (ring sizes) go to the cycle enumerator, not the search: same bits as RDKit."""
    smarts = [("*1~*~*~*~*~*~1", 1), ("*1~*~*~*~*~*~1", 2), ("*1~*~*~*~*~*~1", 3), ("C1CCC1", 1), ("*1~*~*~1", 2),
              ("[$([R]1@[R]@[R]@[R]@[R]@[R]@[R]@[R]@1)]", 1), ("[$([R]1@[R]@[R]@[R]@[R]@[R]@[R]@[R]@[R]@[R]@1)]", 1),
              ("[$(*1~*~*~*~*~1);O]", 1), ("c1ccccc1", 2), ("[R]1@[R]@[R]@[R]@[R]@[R]1", 1)]  # last: not one kind
    bits = [BitDef("maccs", i, "smarts", s, n, s) for i, (s, n) in enumerate(smarts)]
    mols = [Chem.MolFromSmiles(s) for s in (
        "C12C3C4C1C5C2C3C45", "C1CC2CCC1CC2", "C1CC2CC1C1CCCCC21", "C12C3C1C23", "c1ccc2ccccc2c1", "C1CCCCCCCCC1",
        "C1CC2CCC3CCCC4CCC1C2C34", "CC1(C)CCCC2(C)C1CCC1(C)C2CCC2CC(O)CCC21C", "O1CCOCCOCCOCCOCCOCC1",
        "c1ccc2c(c1)c1ccccc1c1ccccc21", "C1CC1", "CCCC", "C1CCC2(CC1)CCCCC2")]
    evaluator = SubstructureEvaluator(bits)
    assert len(evaluator.cycle_graphs) == 7
    np.testing.assert_array_equal(evaluator.compute(mols), reference_bits(mols, bits))
