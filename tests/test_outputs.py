"""Output directories (specvae.outputs) and the commands that write them: ``--overwrite`` replaces only what specvae
wrote, one writer per output (a second one fails at once with one line), outputs are published whole, staging
directories of killed runs are cleaned up (only our own)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from rank_helpers import write_tiny_run
from typer.testing import CliRunner

from specvae import outputs
from specvae.cli import app

MGF = "".join(f"BEGIN IONS\nTITLE={t}\nPEPMASS=95.0491\nCHARGE=1+\n77.04 100\n95.05 50\nEND IONS\n"
              for t in ("a", "b", "c"))


def invoke(*args):
    return CliRunner().invoke(app, ["-q", *map(str, args)])


def error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("specvae: error:")]
    assert result.exit_code == 1 and len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return write_tiny_run(tmp_path_factory.mktemp("run") / "run")


@pytest.fixture
def queries(tmp_path):
    (tmp_path / "q.mgf").write_text(MGF)
    (tmp_path / "c.csv").write_text("id,smiles\nc1,c1ccccc1O\nc2,Oc1ccccc1C\n")
    return tmp_path


def foreign(path):
    path.mkdir()
    (path / "thesis.tex").write_text("weeks of work")
    return path


def rank(queries, run, out, *more):
    return invoke("rank", queries / "q.mgf", "--model", run, "--candidates", queries / "c.csv", "--out", out,
                  "--no-cache", *more)


def test_overwrite_refuses_a_directory_specvae_did_not_write(queries, run, tmp_path):
    for command in (["rank", queries / "q.mgf", "--model", run, "--candidates", queries / "c.csv"],
                    ["train", "--data", tmp_path, "--preset", "tiny"],
                    ["evaluate", "casmi", "--challenges", tmp_path, "--solutions", tmp_path / "s.csv", "--model", run,
                     "--candidates", tmp_path]):
        out = foreign(tmp_path / f"mine-{command[0]}")
        line = error_line(invoke(*command, "--out", out, "--overwrite"))
        assert "refusing to replace" in line and "specvae did not write it" in line
        assert (out / "thesis.tex").read_text() == "weeks of work"


def test_overwrite_replaces_an_earlier_output_whole(queries, run, tmp_path):
    out = tmp_path / "ranked"
    assert rank(queries, run, out).exit_code == 0
    assert outputs.marker(out)["kind"] == "rank"
    (queries / "q.mgf").write_text(MGF.replace("TITLE=b", "TITLE=z"))
    assert rank(queries, run, out).exit_code == 1, "no --overwrite: refused"
    result = rank(queries, run, out, "--overwrite")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (out / "rankings").iterdir())
    assert names == ["a.tsv", "c.tsv", "z.tsv"], "the first run's b.tsv is gone: the output is the second run's"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert "another" in error_line(invoke("ingest", queries / "q.mgf", "--out", out, "--overwrite")), (
        "a rank output is not a dataset")


def test_a_second_writer_fails_at_once_and_leaves_the_first_ones_output(queries, run, tmp_path):
    out = tmp_path / "ranked"
    with outputs.locked(out):  # another process is writing `out`
        line = error_line(rank(queries, run, out))
        assert "is being written by another specvae process" in line
        assert not out.exists()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        other = subprocess.run([sys.executable, "-m", "specvae", "-q", "rank", queries / "q.mgf", "--model", run,
                                "--candidates", queries / "c.csv", "--out", out, "--no-cache"], env=env,
                               capture_output=True, text=True, timeout=120)
        assert other.returncode == 1 and other.stderr.count("specvae: error:") == 1, other.stderr
        assert "another specvae process" in other.stderr and "Traceback" not in other.stderr
    assert rank(queries, run, out).exit_code == 0, "free again once the first writer is done"


def test_staging_directories_are_unique_and_stale_ones_of_ours_are_removed(queries, run, tmp_path):
    out = tmp_path / "ranked"
    a, b = outputs.staging(out, "rank"), outputs.staging(out, "rank")
    assert a != b and a.parent == b.parent == tmp_path and a.name.startswith(".ranked.tmp-")
    theirs = tmp_path / ".ranked.tmp-not-ours"
    theirs.mkdir()
    (theirs / "data").write_text("someone else's")
    assert rank(queries, run, out).exit_code == 0
    assert not a.exists() and not b.exists(), "left by killed runs: removed by the next writer"
    assert (theirs / "data").exists(), "a directory without the marker is not ours"


def test_an_output_set_aside_by_a_killed_publish_is_removed_once_the_output_is_back(tmp_path):
    out, old = tmp_path / "ranked", tmp_path / ".ranked.old-1234"
    old.mkdir()
    outputs.write_marker(old, "rank")
    assert outputs.remove_stale(out) == [] and old.exists(), "the only copy while the output is missing"
    out.mkdir()
    assert outputs.remove_stale(out) == [old] and not old.exists()


def test_a_killed_ingest_leaves_nothing_the_next_one_keeps(tmp_path, fixtures):
    out = tmp_path / "ds"
    stale = outputs.staging(out, "dataset")
    (stale / "dataset.parquet").write_bytes(b"PAR1 half")
    result = invoke("ingest", fixtures / "ingest" / "riken_five.msp", "--out", out, "--fingerprint", "morgan2",
                    "--no-cache")
    assert result.exit_code == 0, result.output
    assert not stale.exists() and outputs.marker(out)["kind"] == "dataset"


def test_outputs_of_earlier_versions_are_recognised(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("config.json", "state.json", "best.safetensors"):
        (run / name).write_text("{}")
    outputs.check_replaceable(run, "run", overwrite=True)
    (run / "state.json").unlink()
    with pytest.raises(FileExistsError, match="specvae did not write it"):
        outputs.check_replaceable(run, "run", overwrite=True)
    ranked = tmp_path / "ranked"
    ranked.mkdir()
    (ranked / "summary.tsv").write_text("label\trecord\n")
    outputs.check_replaceable(ranked, "rank", overwrite=True)
    with pytest.raises(FileExistsError, match="not a dataset output"):
        outputs.write_marker(ranked, "rank")
        outputs.check_replaceable(ranked, "dataset", overwrite=True)


def test_a_train_killed_in_its_first_epoch_can_be_run_again(tmp_path):
    from builders import write_dataset

    data = write_dataset(tmp_path / "data", n_structures=8)
    out = tmp_path / "run"
    out.mkdir()
    outputs.write_marker(out, "run")
    (out / "config.json").write_text(json.dumps({"model": {}}))  # written at the start; no epoch completed
    line = error_line(invoke("train", "--data", data, "--out", out, "--preset", "tiny", "--epochs", "1", "--resume"))
    assert "nothing to resume" in line and "without --resume" in line
    result = invoke("train", "--data", data, "--out", out, "--preset", "tiny", "--epochs", "1", "--batch-size", "4",
                    "--retrieval-candidates", "0")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "state.json").read_text())["epoch"] == 1
    (out / "last.safetensors").write_bytes(b"\x00" * 100)
    line = error_line(invoke("train", "--data", data, "--out", out, "--preset", "tiny", "--epochs", "2", "--resume"))
    assert "last.safetensors is not a readable safetensors file" in line
    for checkpoint, text in (("../../x", "unknown checkpoint '../../x'"),
                             ("last", "last.safetensors is not a readable safetensors file")):
        line = error_line(invoke("calibrate", "--model", out, "--checkpoint", checkpoint))
        assert text in line


def test_resume_continues_with_the_runs_own_settings(tmp_path):
    from builders import write_dataset

    data = write_dataset(tmp_path / "data", n_structures=8)
    out = tmp_path / "run"
    result = invoke("train", "--data", data, "--out", out, "--preset", "tiny", "--epochs", "1", "--batch-size", "4",
                    "--lr", "3e-3", "--supervision", "0.5", "--retrieval-candidates", "0", "--threads", "1")
    assert result.exit_code == 0, result.output
    # neither --data nor --lr again: both come from the run's config.json, not from the defaults; an interrupted
    # run has no settings.yaml (written at the end), so the test resumes without one
    (out / "settings.yaml").unlink()
    result = invoke("train", "--out", out, "--epochs", "2", "--resume", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "is not used" not in result.output
    lrs = [json.loads(line)["lr"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert lrs == [3e-3, 3e-3]
    # the share of pairs fixes the training streams: a different --supervision is refused aloud, not taken
    result = invoke("train", "--out", out, "--epochs", "3", "--resume", "--supervision", "1", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "supervision stays 0.5, as the run started; 1.0 is not used" in " ".join(result.output.split())
    assert json.loads((out / "config.json").read_text())["supervision"] == 0.5


@pytest.mark.parametrize("command", [["calibrate", "--model", "RUN"],
                                     ["evaluate", "casmi", "--challenges", "TMP", "--solutions", "TMP/s.csv",
                                      "--model", "RUN", "--candidates", "TMP", "--out", "TMP/ev"]])
def test_gpu_without_cuda_is_one_line(command, run, tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    args = [str(run) if a == "RUN" else a.replace("TMP", str(tmp_path)) for a in command]
    assert "asked for a GPU" in error_line(invoke(*args, "--gpu", "0"))
