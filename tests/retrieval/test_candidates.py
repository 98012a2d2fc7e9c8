"""Candidate files: column detection, canonical form, salts, duplicate merging, invalid rows, empty files."""

from __future__ import annotations

import gzip

import pytest

from specvae.chem.structures import parse
from specvae.errors import InputError
from specvae.readers.structures import read_structures
from specvae.retrieval.candidates import load_candidates, write_rejects

ETHANOL_KEY = "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"
CASMI_HEADER = '"Identifier","CompoundName","MonoisotopicMass","MolecularFormula","SMILES","InChI","InChIKey"\n'


def write(path, text):
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def test_casmi_style_csv_with_invalid_rows_and_duplicates(tmp_path):
    text = CASMI_HEADER + (
        '1,"Ethanol",46.04,"C2H6O","CCO","InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3","WRONG-KEY-IS-IGNORED"\n'
        '2,"Ethanol again",46.04,"C2H6O","OCC","",""\n'
        '3,"broken",0,"","C1CC(","",""\n'  # invalid SMILES, no InChI fallback
        '4,"from InChI",46.04,"C2H6O","","InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3",""\n'
        '5,"Hexane",86.1,"C6H14","CCCCCC","",""\n'
        '6,"nothing",0,"","","",""\n'
        '7,"bad SMILES, good InChI",0,"","C1CC(","InChI=1S/CH4O/c1-2/h2H,1H3",""\n')
    cands = load_candidates(write(tmp_path / "c.csv.gz", text))
    assert cands.n_read == 7 and len(cands) == 3 and cands.n_merged == 2
    assert cands.ids == ["1", "5", "7"] and cands.names == ["Ethanol", "Hexane", "bad SMILES, good InChI"]
    assert cands.merged_ids[0] == ["2", "4"], "merged duplicates keep the first id and list the others"
    assert cands.structures[0].inchikey == ETHANOL_KEY, "identity comes from RDKit, not the InChIKey column"
    assert [(r.row, r.line) for r in cands.rejects] == [(2, 4), (5, 7)]
    assert "invalid SMILES" in cands.rejects[0].reason and "no structure" in cands.rejects[1].reason
    assert write_rejects(cands.rejects, tmp_path / "rejects.tsv", context="spectrum 1") == 2
    assert (tmp_path / "rejects.tsv").read_text().splitlines()[0] == "context\tsource\trow\tline\treason\ttext"


def test_salt_keeps_largest_organic_fragment_and_merges_with_the_free_base():
    salt, base = parse("CCN(CC)CC.Cl"), parse("CCN(CC)CC")
    assert salt.inchikey == base.inchikey and salt.smiles == "CCN(CC)CC" and "largest of 2" in salt.note
    acetate = parse("CC(=O)[O-].[Na+]")
    assert acetate.smiles == "CC(=O)O" and acetate.charge == 0 and acetate.mass == pytest.approx(60.021129, abs=1e-6)
    choline = parse("C[N+](C)(C)CCO.[Cl-]")
    assert choline.charge == 1 and choline.mass == pytest.approx(104.106990, abs=1e-6), "[M]+: ion mass"


def test_tsv_without_quotes_and_id_columns(tmp_path):
    text = ("inchikey\tinchi\tname\thmdb_ids\tchebi_ids\n"
            "X\tInChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3\tEthanol \"absolute\tHMDB0000108\tCHEBI:16236;CHEBI:44594\n")
    (row,) = read_structures(write(tmp_path / "pool.tsv", text))
    assert row.id == "HMDB0000108" and row.other_ids == ["CHEBI:16236", "CHEBI:44594"]
    assert row.name == 'Ethanol "absolute' and row.smiles == "" and row.inchi.startswith("InChI=1S/C2H6O")


def test_smiles_lines_and_sdf(tmp_path):
    text = "# comment\nCCO Ethyl alcohol\nInChI=1S/CH4/h1H4\n"
    rows = list(read_structures(write(tmp_path / "c.smi", text)))
    assert [(r.smiles, r.inchi, r.name, r.line) for r in rows] == [
        ("CCO", "", "Ethyl alcohol", 2), ("", "InChI=1S/CH4/h1H4", "", 3)]
    from rdkit import Chem

    mol = Chem.MolFromSmiles("c1ccccc1O")
    mol.SetProp("_Name", "phenol-title")
    mol.SetProp("NAME", "Phenol")
    block = Chem.MolToMolBlock(mol) + "> <NAME>\nPhenol\n\n$$$$\n"
    (row,) = read_structures(write(tmp_path / "c.sdf", block))
    assert (row.smiles, row.id, row.name) == ("Oc1ccccc1", "phenol-title", "Phenol")


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("\n\n", "is empty"),
    ("id,name\n1,foo\n", "no SMILES or InChI column"),
    ("SMILES,id\n", "no candidate rows"),
])
def test_unusable_candidate_files(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_candidates(write(tmp_path / "c.csv", text))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_candidates(tmp_path / "nope.csv")


def test_unreadable_aromatic_smiles_falls_back_to_kekule():
    from rdkit import Chem

    # ChEBI/HMDB anion whose neutralised form RDKit writes as aromatic SMILES that it cannot read back
    canon = parse(inchi="InChI=1S/C6H7N2O3/c9-5(10)2-1-4-6(11)8-3-7-4/h3H,1-2H2,(H,9,10)(H,7,8,11)/q-1")
    assert "Kekulé" in canon.note and Chem.MolFromSmiles(canon.smiles) is not None


def test_fingerprints_in_chunks_equal_one_pass():
    import numpy as np

    from specvae.chem.fingerprints import get_fingerprinter
    from specvae.retrieval.candidates import candidate_fingerprints

    spec = get_fingerprinter("morgan2").spec
    structures = [parse(s) for s in ("CCO", "c1ccccc1O", "CC(=O)O", "CCN(CC)CC", "OCC(O)CO")]
    packed = candidate_fingerprints(structures + structures[:2], spec)
    assert packed.shape == (7, 256) and (packed[5:] == packed[:2]).all()
    assert np.array_equal(candidate_fingerprints(structures, spec, chunk_size=2), packed[:5])


def test_canonical_forms_are_cached_failures_included(tmp_path, monkeypatch):
    from specvae.chem.cache import FingerprintCache
    from specvae.chem.structures import Unparsed, parse_many

    cache = FingerprintCache(tmp_path / "cache.sqlite")
    texts = [("CCO", ""), ("C1CC(", ""), ("", "InChI=1S/CH4/h1H4")]
    first = parse_many(texts, cache=cache)
    import specvae.chem.structures as structures

    monkeypatch.setattr(structures, "parse", lambda *a, **k: pytest.fail("parsed again despite the cache"))
    second = parse_many(texts, cache=cache)
    assert second == first
    assert second[0].inchikey == "LFQSCWFLJHTTHZ-UHFFFAOYSA-N" and isinstance(second[1], Unparsed)
