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

    from specvae.chem.structures import mol_from_text, parse_structure, standardize

    mol, structure = parse_structure(smiles=text)
    assert structure.smiles == expected_smiles
    assert structure.inchikey == Chem.MolToInchiKey(Chem.MolFromSmiles(expected_smiles))
    assert standardize(mol_from_text(text))[1] == note


@pytest.mark.parametrize("smiles", [
    "CC(=O)Nc1ccccc1",  # acetanilide: RDKit rebuilds it from InChI as an imidic acid
    "NC(=O)CCC(N)C(=O)O",  # glutamine
    "O=c1[nH]c2ccccc2c(-c2ccccc2)c1O",  # a 2-quinolinone (ring lactam)
    "O=c1cc[nH]c(=O)[nH]1",  # uracil
    "Nc1ccn(C2CC(O)C(CO)O2)c(=O)n1",  # deoxycytidine: lactim and ring imine
    "Nc1nc2[nH]cnc2c(=O)[nH]1",  # guanine
    "CC(C)[C@H]1C(=O)N2CCC[C@H]2[C@]2(O)O[C@](NC(=O)[C@@H]3C=C4c5cccc6[nH]cc(c56)C[C@H]4N(C)C3)(C(C)C)C(=O)N12",
])
def test_structures_given_as_inchi_get_the_drawing_of_their_smiles(smiles):
    from rdkit import Chem

    from specvae.chem.structures import parse_structure

    inchi = Chem.MolToInchi(Chem.MolFromSmiles(smiles))
    assert "O" in Chem.MolToSmiles(Chem.MolFromInchi(inchi))  # (RDKit's own rebuild is what needs the fix)
    from_smiles, from_inchi = parse_structure(smiles=smiles)[1], parse_structure(inchi=inchi)[1]
    assert from_inchi == from_smiles


def test_amide_form_leaves_other_molecules_alone():
    from rdkit import Chem

    from specvae.chem.structures import amide_form

    for smiles in ["OC(=O)c1ccccc1O", "CC(=O)O", "N=C(N)NCCCC(N)C(=O)O", "Oc1ccccc1", "C[N+](C)(C)C"]:
        mol = Chem.MolFromSmiles(smiles)
        assert Chem.MolToSmiles(amide_form(mol)) == Chem.MolToSmiles(mol)


def test_ingest_fingerprints_the_first_drawing_of_an_inchikey():
    import numpy as np
    from rdkit import Chem

    from specvae.chem.fingerprints import get_fingerprinter, packed_fingerprints
    from specvae.chem.structures import Structure

    lactam = Structure("O=c1[nH]c2ccccc2c(-c2ccccc2)c1O", "QSRVMXWVVMILDI-UHFFFAOYSA-N")
    lactim = Structure("Oc1nc2ccccc2c(-c2ccccc2)c1O", "QSRVMXWVVMILDI-UHFFFAOYSA-N")
    fp = get_fingerprinter("specvae")
    first = packed_fingerprints([lactam, lactim], fp)[1].tobytes()  # both rows: the first drawing's bits
    other = packed_fingerprints([lactim, lactam], fp)[0].tobytes()
    assert first != other  # the two drawings really differ in their bits
    expected = np.packbits(fp.compute([Chem.MolFromSmiles(lactam.smiles)]), axis=1)[0].tobytes()
    assert first == expected

