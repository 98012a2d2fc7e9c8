"""One canonical form for every structure: parsing, standardisation, description."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("text, expected_smiles, note", [
    ("CC(=O)[O-].[Na+]", "CC(=O)O", "largest of 2 fragments; neutralised"),  # a salt is its organic ion
    ("Cl.CN1CCC[C@H]1c1cccnc1", "CN1CCC[C@H]1c1cccnc1", "largest of 2 fragments"),  # nicotine hydrochloride
    ("C[N+](C)(C)CCO", "C[N+](C)(C)CCO", ""),  # choline: permanently charged, stays charged
    ("CCO", "CCO", ""),
])
def test_every_structure_is_standardised_the_same_way(text, expected_smiles, note):
    from rdkit import Chem

    from specvae.chem.molecules import mol_from_text, parse_structure, standardize

    mol, structure = parse_structure(smiles=text)
    assert structure.smiles == expected_smiles
    assert structure.inchikey == Chem.MolToInchiKey(Chem.MolFromSmiles(expected_smiles))
    assert standardize(mol_from_text(text))[1] == note
