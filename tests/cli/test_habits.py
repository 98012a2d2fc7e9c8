"""What a user expects of any command line: --version, -q/-v anywhere, flags as flags, help that fits 80 columns,
usage errors in one line, shipped data manifests found by name (also from a non-editable install)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from specvae.cli import app
from specvae.cli._app import show_progress

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[2] / "specvae" / "data" / "massbank_demo.msp.gz"


def _commands(group, path=()):
    """(path, command) of every command and group of the app."""
    for name, cmd in group.commands.items():
        yield (*path, name), cmd
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_version_option_and_command():
    from specvae import __version__

    for args in (["--version"], ["version"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and result.output.strip() == f"specvae {__version__}", result.output


def test_quiet_and_verbose_after_the_command():
    logger = logging.getLogger("specvae")
    result = runner.invoke(app, ["version", "-vv"])
    assert result.exit_code == 0, result.output
    assert logger.level == logging.DEBUG and show_progress()
    result = runner.invoke(app, ["data", "list", "-q"])
    assert result.exit_code == 0, result.output
    assert logger.level == logging.WARNING and not show_progress()
    result = runner.invoke(app, ["version"])  # not given: the root's default (info, progress bars)
    assert logger.level == logging.INFO and show_progress()


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=" ".join)
def test_help_fits_80_columns_with_whole_option_names_and_flags_as_flags(path):
    result = runner.invoke(app, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    cmd = dict(COMMANDS)[path]
    for param in cmd.params:
        if getattr(param, "hidden", False):
            continue
        for name in [*param.opts, *param.secondary_opts]:
            if name.startswith("-"):
                assert name in result.output, f"{name} missing or cut in {' '.join(path)} --help"


def test_a_flag_takes_no_value():
    result = runner.invoke(app, ["ingest", str(SAMPLE), "--out", "x", "--overwrite=true"])
    assert result.exit_code == 1
    assert result.output.startswith("specvae: error:") and "--overwrite" in result.output


@pytest.mark.parametrize("args, words", [
    (["ingest", str(SAMPLE), "--out", "{tmp}/d", "--fractions", "0.8,0.1"], "--fractions"),
    (["ingest", str(SAMPLE), "--out", "{tmp}/d", "--ion-mode", "sideways"], "ion mode"),
    (["train", "--epochs", "many"], "--epochs"),
    (["rank", "--no-such-option"], "--no-such-option"),
    (["no-such-command"], "no-such-command"),
])
def test_usage_and_value_errors_are_one_line(tmp_path, args, words):
    result = runner.invoke(app, ["-q", *(a.format(tmp=tmp_path) for a in args)])  # -q: no log lines
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("specvae: error:") and words in lines[0], result.output
    assert not (tmp_path / "d").exists()


def test_data_verify_a_shipped_manifest_by_name(tmp_path):
    result = runner.invoke(app, ["data", "list"])
    assert result.exit_code == 0 and "massbank" in result.output and "casmi2016" in result.output
    result = runner.invoke(app, ["data", "verify", "massbank", "--root", str(tmp_path), "--fast"])
    assert result.exit_code == 1 and result.output.startswith("missing "), result.output
    result = runner.invoke(app, ["data", "verify", "no-such-data", "--root", str(tmp_path)])
    assert result.exit_code == 1 and "specvae: error: no data manifest 'no-such-data'" in result.output


@pytest.mark.slow
def test_manifests_come_with_a_non_editable_install(tmp_path):
    """pip install (not editable) into a folder: the manifests are package data, found by name from anywhere."""
    root = Path(__file__).resolve().parents[2]
    target = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--quiet",
                          "--target", str(target), str(root)], capture_output=True, text=True)
    if pip.returncode != 0:
        pytest.skip(f"pip could not build the package here: {pip.stderr.strip()[-300:]}")
    assert sorted(p.name for p in (target / "specvae" / "data" / "manifests").glob("*.yaml")) == \
        sorted(p.name for p in (root / "data-manifests").glob("*.yaml"))
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-m", "specvae", "data", "verify", "mnist", "--root", str(tmp_path),
                          "--fast"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 1 and out.stdout.count("missing") == 4, out.stdout + out.stderr
