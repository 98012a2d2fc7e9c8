"""Structure files in every supported format; invalid records are data (reported), not exceptions."""

from __future__ import annotations

import gzip

import pytest

from specvae.chem.structures import StructureError, parse_record
from specvae.errors import InputError
from specvae.readers.structures import input_format, read_structures

ETHANOL_MOLBLOCK = """ethanol
  RDKit          2D

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.2990    0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    2.5981   -0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  2  3  1  0
M  END
>  <ID>
E1

$$$$
"""
BROKEN_MOLBLOCK = """broken
  RDKit          2D

  2  1  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
M  END
$$$$
"""


@pytest.mark.parametrize("name, fmt", [("a.smi", "lines"), ("a.txt.gz", "lines"), ("b.CSV", "csv"),
                                       ("c.tsv.gz", "tsv"), ("d.sdf", "sdf"), ("e.msp.gz", "msp")])
def test_format_from_suffix(name, fmt):
    assert input_format(name) == fmt


def test_unknown_suffix_is_an_input_error():
    with pytest.raises(InputError, match="cannot tell the format"):
        input_format("molecules.xlsx")


def test_smiles_file_with_names_comments_header_and_a_bad_line(tmp_path):
    path = tmp_path / "in.smi"
    path.write_text("SMILES\n# comment\nCCO ethanol\n\nnot_a_smiles\nc1ccccc1\tbenzene ring\n")
    records = list(read_structures(path))
    assert [r.smiles for r in records] == ["CCO", "not_a_smiles", "c1ccccc1"]
    assert [r.name for r in records] == ["ethanol", "", "benzene ring"]
    assert [r.line for r in records] == [3, 5, 6]
    assert parse_record(records[0])[1].inchikey == "LFQSCWFLJHTTHZ-UHFFFAOYSA-N"
    with pytest.raises(StructureError, match="invalid SMILES"):
        parse_record(records[1])


def test_gzipped_csv_finds_structure_id_and_name_columns(tmp_path):
    path = tmp_path / "in.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("Identifier,CompoundName,SMILES\n1,ethanol,CCO\n2,nothing,\n")
    records = list(read_structures(path))
    assert [(r.id, r.name, r.smiles) for r in records] == [("1", "ethanol", "CCO"), ("2", "nothing", "")]
    with pytest.raises(StructureError, match="no structure"):
        parse_record(records[1])


def test_tsv_with_inchi_only(tmp_path):
    path = tmp_path / "in.tsv"
    path.write_text("name\tInChI\nethanol\tInChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3\n")
    (record,) = read_structures(path)
    assert parse_record(record)[1].smiles == "CCO"


def test_table_without_a_structure_column_is_an_input_error(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("name,mass\nx,1\n")
    with pytest.raises(InputError, match="no SMILES or InChI column"):
        list(read_structures(path))


def test_sdf_good_and_broken_blocks(tmp_path):
    path = tmp_path / "in.sdf"
    path.write_text(ETHANOL_MOLBLOCK + BROKEN_MOLBLOCK)
    good, broken = read_structures(path)
    assert (good.name, good.id) == ("ethanol", "E1")
    assert parse_record(good)[1].smiles == "CCO"
    with pytest.raises(StructureError, match="invalid SDF record"):
        parse_record(broken)


def test_msp_keys_and_mona_comments(tmp_path):
    path = tmp_path / "in.msp"
    path.write_text("NAME: a\nSMILES: CCO\nDB#: X1\nNum Peaks: 1\n10\t100\n\n"
                    'Name: b\nComments: "SMILES=c1ccccc1" "InChI=InChI=1S/C6H6/c1-2-4-6-5-3-1/h1-6H"\n'
                    "Num Peaks: 1\n10\t100\n")
    first, second = read_structures(path)
    assert (first.id, first.smiles) == ("X1", "CCO")
    assert second.smiles == "c1ccccc1" and second.inchi.startswith("InChI=1S/C6H6")


def test_empty_files(tmp_path):
    for name in ("empty.smi", "empty.sdf"):
        (tmp_path / name).write_text("")
        assert list(read_structures(tmp_path / name)) == []
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="is empty"):
        list(read_structures(tmp_path / "empty.csv"))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(read_structures(tmp_path / "absent.smi"))
