"""Splits by structure (InChIKey first block), deterministic and stable; exclusion lists in every layout."""

from __future__ import annotations

from collections import Counter

import pytest

from specvae.datasets.splits import assign_splits, check_fractions, read_inchikeys, split_of
from specvae.errors import InputError

BLOCKS = [f"{i:014d}".translate(str.maketrans("0123456789", "ABCDEFGHIJ")) for i in range(4000)]


def test_same_structure_same_split_and_fractions_roughly_held():
    rows = BLOCKS * 3  # three spectra per structure
    splits = assign_splits(rows, [f"id{i}" for i in range(len(rows))], seed=0)
    by_block: dict[str, set] = {}
    for block, split in zip(rows, splits):
        by_block.setdefault(block, set()).add(split)
    assert all(len(s) == 1 for s in by_block.values()), "a structure never spans two splits"
    counts = Counter(next(iter(s)) for s in by_block.values())
    assert counts["train"] / 4000 == pytest.approx(0.8, abs=0.03)
    assert counts["validation"] / 4000 == pytest.approx(0.1, abs=0.02)


def test_split_is_stable_when_data_are_added_and_depends_on_seed():
    before = dict(zip(BLOCKS[:100], assign_splits(BLOCKS[:100], [""] * 100)))
    after = dict(zip(BLOCKS, assign_splits(BLOCKS, [""] * len(BLOCKS))))
    assert all(after[b] == s for b, s in before.items())
    other_seed = assign_splits(BLOCKS, [""] * len(BLOCKS), seed=1)
    assert other_seed != list(after.values())
    assert split_of("KWILGNNWGSNMPA", seed=0) == split_of("KWILGNNWGSNMPA", seed=0)


def test_rows_without_structure_split_by_id():
    splits = assign_splits([None, None], ["a#1", "a#1"], seed=0)
    assert splits[0] == splits[1]


def test_custom_fractions():
    splits = assign_splits(BLOCKS, [""] * len(BLOCKS), fractions=(0.5, 0.0, 0.5))
    assert "validation" not in splits
    with pytest.raises(InputError, match="sum to 1"):
        check_fractions((0.8, 0.1, 0.2))
    with pytest.raises(InputError):
        check_fractions((1.2, -0.1, -0.1))


def test_read_inchikeys_plain_lines(tmp_path):
    path = tmp_path / "keys.txt"
    path.write_text("# answers\nKWILGNNWGSNMPA-UHFFFAOYSA-N\n\nuwpjyqyrswyigz\nVILFVXYKHXVYAB-UHFFFAOYSA-N extra\n")
    assert read_inchikeys(path) == {"KWILGNNWGSNMPA", "UWPJYQYRSWYIGZ", "VILFVXYKHXVYAB"}


def test_read_inchikeys_csv_and_tsv(tmp_path):
    csv_path = tmp_path / "a.csv"
    csv_path.write_text('"name","InChIKey"\n"x","KWILGNNWGSNMPA-UHFFFAOYSA-N"\n"y",""\n')
    assert read_inchikeys(csv_path) == {"KWILGNNWGSNMPA"}
    tsv_path = tmp_path / "a.tsv"
    tsv_path.write_text("id\tinchikey14\n1\tUWPJYQYRSWYIGZ\n")
    assert read_inchikeys(tsv_path) == {"UWPJYQYRSWYIGZ"}


def test_read_inchikeys_rejects_garbage_with_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("KWILGNNWGSNMPA\nnot-a-key\n")
    with pytest.raises(InputError, match="line 2"):
        read_inchikeys(path)
    with pytest.raises(FileNotFoundError):
        read_inchikeys(tmp_path / "missing.txt")


def test_casmi_solutions_csv_works_directly(shared_data):
    keys = read_inchikeys(shared_data / "casmi2016" / "solutions" / "casmi_2016_challenge_test.csv")
    assert "UWPJYQYRSWYIGZ" in keys and 150 < len(keys) <= 208
