"""The CLI stays thin and fast: no heavy import at start-up, one-line errors, help for every command."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from specvae.cli import app


def test_help_does_not_import_heavy_packages():
    code = (
        "import sys; from specvae.cli import app; "
        "heavy = [m for m in ('torch', 'rdkit', 'matchms', 'pyteomics', 'pandas', 'pyarrow') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"specvae.cli imports heavy packages at start-up: {out.stdout.strip()}"


def test_help_lists_commands():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    assert "version" in result.output


def test_version():
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.startswith("specvae ")
