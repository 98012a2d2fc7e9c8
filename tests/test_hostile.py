"""Every case of the hostile corpus (tests/hostile_corpus.py) gets exactly its promised outcome through the command
line: written with the change recorded, rejected with its reason, or a one-line error with exit status 1; never a
traceback, never a silent change, never code run from a file."""

from __future__ import annotations

import json
import os

import pytest
from hostile_corpus import CASES, Error, Rejected, Written
from typer.testing import CliRunner

from specvae.cli import app


def invoke(args, cwd):
    here = os.getcwd()
    os.chdir(cwd)  # a payload.py beside the run would be importable from here
    try:
        return CliRunner().invoke(app, [str(a) for a in args])
    finally:
        os.chdir(here)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_gets_its_promised_outcome(case, tmp_path):
    if case.name == "gpu_on_a_machine_without_cuda":
        torch = pytest.importorskip("torch")
        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    result = invoke(case.make(tmp_path), tmp_path)
    output = result.output
    assert "Traceback" not in output and (result.exception is None or isinstance(result.exception, SystemExit)), (
        f"{case.name}: {result.exception!r}\n{output}")
    assert not (tmp_path / "EXECUTED").exists(), "code named by an input file was run"
    expected = case.expected
    if isinstance(expected, Error):
        errors = [line for line in output.splitlines() if line.startswith("specvae: error:")]
        assert result.exit_code == 1 and len(errors) == 1, output
        assert expected.text in errors[0], errors[0]
        assert "Zen of Python" not in output
    elif isinstance(expected, Rejected):
        assert result.exit_code == 0, output
        text = (tmp_path / expected.path).read_text()
        reasons = [json.loads(line)["reason"] for line in text.splitlines()] if expected.path.endswith(".jsonl") \
            else [line.split("\t")[4] for line in text.splitlines()[1:]]
        assert any(r.startswith(expected.reason) for r in reasons), reasons
    else:
        assert isinstance(expected, Written)
        assert result.exit_code == 0, output
        assert expected.check(tmp_path, output), output
