"""Damaged text files are labelled for what they are: a number cut by the end of the file, junk between records, a
record without ``Num Peaks`` (read, with a note), binary data under a text extension (refused)."""

from __future__ import annotations

import pytest

from specvae.errors import InputError
from specvae.readers import read_spectra
from specvae.readers.spectra import iter_tasks

HEAD = "NAME: x\nPRECURSORMZ: 127.0\nSMILES: CCO\n"


def records(tmp_path, text: str | bytes, name: str = "f.msp"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return [(r.error, r.notes) for r in read_spectra(path)]


@pytest.mark.parametrize("tail, expected", [
    ("297.1333\t121042.", ("truncated_record", ())),  # the file stops inside a number
    ("297.1333\t1.5e", ("truncated_record", ())),
    ("297.1333\t121042.\n", (None, ())),  # the same text with its line break: a complete file
    ("297.1333\t121042", (None, ())),  # undetectable; ingest warns that the file has no final line break
])
def test_a_file_that_ends_inside_a_number(tmp_path, tail, expected):
    assert records(tmp_path, HEAD + "Num Peaks: 2\n41.0\t100\n" + tail) == [expected]
    assert records(tmp_path, HEAD + "41.0\t100\n" + tail, "nonum.msp") == [(expected[0], ("no_num_peaks",))], (
        "the same without Num Peaks")


def test_the_missing_final_line_break_is_a_fact_about_the_file(tmp_path):
    for text, expected in ((HEAD + "Num Peaks: 1\n41.0\t100", True), (HEAD + "Num Peaks: 1\n41.0\t100\n", False)):
        (tmp_path / "f.msp").write_text(text)
        info: dict = {}
        list(iter_tasks(tmp_path / "f.msp", info=info))
        assert info["no_final_newline"] is expected


@pytest.mark.parametrize("junk", ["this is junk !!\n@@@ more junk", "12 garbage 3\nzzz", "\x01\x02garbage\xff"])
def test_junk_between_records_is_a_malformed_record_not_a_truncated_one(tmp_path, junk):
    good = HEAD + "Num Peaks: 1\n41.0\t100\n"
    assert records(tmp_path, good + "\n" + junk + "\n\n" + good) == [(None, ()), ("malformed_record", ()), (None, ())]
    assert records(tmp_path, good + "\n" + junk)[-1] == ("malformed_record", ()), "also at the end of the file"


@pytest.mark.parametrize("name", ["x.mgf", "x.msp", "x.json"])
def test_binary_data_under_a_text_extension_is_refused(tmp_path, name):
    (tmp_path / name).write_bytes(bytes(range(256)) * 64)
    with pytest.raises(InputError, match=f"is not a text {name[2:].upper()} file"):
        list(read_spectra(tmp_path / name))


def test_a_stray_control_byte_in_a_text_file_is_no_reason_to_refuse_it(tmp_path):
    assert records(tmp_path, HEAD.replace("x", "x\x00y") + "Num Peaks: 1\n41.0\t100\n") == [(None, ())]
