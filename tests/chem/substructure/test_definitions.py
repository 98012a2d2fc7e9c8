"""The substructure definitions shipped in specvae/chem/data are exactly scikit-fingerprints' lists they were copied
from (scikit-fingerprints comes with the ``test`` extra; specvae itself does not import it)."""

from __future__ import annotations

import hashlib

import pytest

from specvae.chem.substructure import definitions

skfp = pytest.importorskip("skfp", reason="the cross-check needs scikit-fingerprints (pip install -e '.[test]')")


def test_laggner_smarts_are_scikit_fingerprints_file():
    from skfp.fingerprints.laggner import _load_patterns  # private, but this is the list specvae used to import

    names, patterns = definitions.laggner_smarts()
    expected_names, expected_patterns = _load_patterns()
    assert names == list(expected_names) and len(patterns) == 307
    assert [p for i, p in enumerate(patterns) if i != definitions.LAGGNER_SALT_BIT] == [
        p for i, p in enumerate(expected_patterns) if i != definitions.LAGGNER_SALT_BIT], "the salt bit is a rule"


def test_pubchem_smarts_are_scikit_fingerprints_lists():
    from skfp.fingerprints.pubchem import features

    expected = (features.SIMPLE_ATOM_PAIRS + features.SIMPLE_ATOM_NEIGHBORHOODS + features.DETAILED_ATOM_NEIGHBORHOODS
                + features.SIMPLE_SMARTS_PATTERNS + features.COMPLEX_SMARTS_PATTERNS)
    smarts = [b.definition for b in definitions.pubchem_bits() if b.kind == "smarts"]
    assert smarts == expected and len(smarts) == 618


def test_klekota_roth_smarts_are_scikit_fingerprints_list():
    from skfp.fingerprints import KlekotaRothFingerprint

    expected = [str(s) for s in KlekotaRothFingerprint().get_feature_names_out()]
    assert [b.definition for b in definitions.klekota_roth_bits()] == expected


def test_source_md_records_the_shipped_files():
    source = (definitions.DATA / "SOURCE.md").read_text()
    for name in definitions.DEFINITION_FILES:
        digest = hashlib.sha256((definitions.DATA / name).read_bytes()).hexdigest()
        assert f"`{name}`" in source and digest in source, f"{name}: provenance or sha256 missing from SOURCE.md"
