"""The structure database: build from real structures, salts and charges, mass/adduct queries, ppm window edges."""

from __future__ import annotations

import pytest

from specvae.errors import CheckpointError, InputError
from specvae.retrieval.adducts import ADDUCTS
from specvae.retrieval.db import StructureDB, build_db

FP = "morgan2"  # fast; the database stores whichever fingerprint it is built with


@pytest.fixture(scope="module")
def db_path(tmp_path_factory, fixtures):
    extra = tmp_path_factory.mktemp("in") / "extra.smi"
    extra.write_text("C1CC( broken\nC[N+](C)(C)CCO choline again\nCCO Ethanol\n")
    out = tmp_path_factory.mktemp("db") / "structures.parquet"
    record = build_db([fixtures / "structures" / "pubchem_cas_sample.tsv", extra], out, fingerprint=FP)
    assert record["rows_read"] == 55 + 3 and record["rejected"] == 1
    return out


def test_build_record_and_layout(db_path):
    import pyarrow.parquet as pq

    db = StructureDB(db_path)
    assert db.spec.name == FP and len(db) == db.record["n_structures"]
    src = {s["file"]: s for s in db.record["sources"]}
    assert "MIT" in src["pubchem_cas_sample.tsv"]["licence"], "licence note read from the SOURCE.md beside the input"
    assert src["extra.smi"] == {**src["extra.smi"], "rows": 3, "written": 1, "rejected": 1, "merged": 1}
    table = pq.read_table(db_path)
    assert table.column_names == ["id", "name", "source", "inchikey", "inchikey14", "smiles", "formula",
                                  "monoisotopic_mass", "charge", "merged_ids", "fingerprint"]
    masses = table["monoisotopic_mass"].to_pylist()
    assert masses == sorted(masses)
    assert len(set(table["inchikey14"].to_pylist())) == len(db), "one row per first InChIKey block"
    rejects = (db_path.parent / "structures.parquet.rejects.tsv").read_text().splitlines()
    assert len(rejects) == 2 and "invalid SMILES" in rejects[1]


def test_hexoses_without_stereo_are_merged(db_path):
    cands, packed = StructureDB(db_path).query(ADDUCTS["[M+H]+"].mz(180.063388), ["[M+H]+"], ppm=5)
    assert all(f == "C6H12O6" for s in cands.structures for f in [s.formula])
    glucose = cands.ids.index("CID:206")
    assert "CID:5793" in cands.merged_ids[glucose], "D-glucose (no stereo in PubChem SMILES) merges into CID 206"
    assert packed.shape == (len(cands), 256) and cands.adducts == ["[M+H]+"] * len(cands)


def test_permanent_charge_only_matches_M_plus(db_path):
    db = StructureDB(db_path)
    cands, _ = db.query(104.106990, ["[M]+"], ppm=5)
    assert cands.ids == ["CID:305"] and cands.merged_ids == [["CID:6209"]]
    assert cands.structures[0].charge == 1
    assert len(db.query(104.106990, ["[M+H]+"], ppm=5)[0]) == 0, "no neutral molecule at 103.0997 Da"


def test_salt_is_found_as_its_free_acid(db_path):
    cands, _ = StructureDB(db_path).query(ADDUCTS["[M+Na]+"].mz(295.016684), ["[M+H]+", "[M+Na]+"], ppm=10)
    assert set(cands.ids) == {"CID:3033", "CID:4037"} and set(cands.adducts) == {"[M+Na]+"}
    assert "CID:4038" in cands.merged_ids[cands.ids.index("CID:4037")], "meclofenamate sodium = meclofenamic acid"


@pytest.mark.parametrize("ppm_off, found", [(9.9, True), (-9.9, True), (10.1, False), (-10.1, False)])
def test_ppm_window_edges(db_path, ppm_off, found):
    mz_true = ADDUCTS["[M+H]+"].mz(194.080376)  # C8H10N4O2
    mz = mz_true / (1 + ppm_off * 1e-6)  # the true ion is ppm_off ppm of the query m/z away
    cands, _ = StructureDB(db_path).query(mz, ["[M+H]+"], ppm=10)
    assert (len(cands) == 4) is found and (len(cands) == 0) is not found


def test_errors(db_path, tmp_path):
    from specvae.chem.fingerprints import FingerprintSpec

    with pytest.raises(FileExistsError):
        build_db([db_path.parent / "x.smi"], db_path)
    with pytest.raises(CheckpointError, match="rebuild"):
        StructureDB(db_path).check_spec(FingerprintSpec("specvae", "1", 2149))
    with pytest.raises(InputError):
        StructureDB(db_path).query(float("nan"), ["[M+H]+"])
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        build_db([tmp_path / "empty.csv"], tmp_path / "db.parquet", fingerprint=FP)
