"""The shipped mask file, the mask rule, and the ``specvae`` fingerprinter built from them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rdkit import Chem

from specvae.chem.fingerprints import FingerprintSpec, available, get_fingerprinter
from specvae.chem.substructure.definitions import FAMILIES, BitDef
from specvae.chem.substructure.evaluator import SubstructureEvaluator, reference_bits
from specvae.chem.substructure.mask import Mask, mask_path, rank_bits, read_mask, write_mask


@pytest.fixture(scope="module")
def mask():
    return read_mask()


def test_mask_file_integrity(mask):
    assert mask.version == "1"
    assert mask.max_bits >= 2149
    meta = json.loads(mask_path().with_suffix(".json").read_text())
    assert meta["version"] == mask.version and meta["default_n_bits"] == 2149
    assert meta["reference"]["distinct_structures"] > 10000
    rows = [line.split("\t") for line in mask_path().read_text().splitlines()[1:]]
    index = [int(r[0]) for r in rows]
    assert sorted(i for i in index if i >= 0) == list(range(2149))
    order = {f: i for i, f in enumerate(FAMILIES)}
    keys = [(order[r[2]], int(r[3])) for r in rows]
    assert keys == sorted(keys), "mask rows must be in family order"
    chosen = [int(r[0]) for r in rows if int(r[0]) >= 0]
    assert chosen == list(range(2149)), "default indices must follow family order"
    assert {r[2] for r in rows} <= set(FAMILIES)


def test_mask_frequencies_follow_the_rule(mask):
    freq = np.array([r.frequency for r in mask.ranked])
    ent = np.array([r.entropy for r in mask.ranked])
    rank = np.array([r.rank for r in mask.ranked])
    assert (freq >= mask.meta["min_frequency"]).all() and (freq <= 1 - mask.meta["min_frequency"]).all()
    by_rank = ent[np.argsort(rank)]
    assert (np.diff(by_rank) <= 1e-5).all(), "ranks must follow entropy"


def test_specvae_fingerprinter_spec_and_widths(mask):
    fp = get_fingerprinter("specvae")
    assert fp.spec == FingerprintSpec(name="specvae", version="1", n_bits=2149)
    assert len(fp.bits) == 2149
    small = get_fingerprinter("specvae", n_bits=500)
    assert small.spec.n_bits == 500 and set(small.bits) <= set(fp.bits)
    with pytest.raises(ValueError, match="widths 1 to"):
        get_fingerprinter("specvae", n_bits=mask.max_bits + 1)
    assert {"specvae", "specvae-pool", "morgan2", "maccs"} <= set(available())


def test_fast_evaluator_equals_plain_rdkit_on_real_and_awkward_molecules(fixtures):
    fp = get_fingerprinter("specvae")
    lines = (fixtures / "chem" / "molecules.smi").read_text().splitlines()
    smiles = [line.split("\t")[0] for line in lines[:120]] + [
        "[Na+].[O-]C(=O)c1ccccc1", "[NH4+].[Cl-]", "C[N+](C)(C)C", "[2H]C([2H])([2H])O", "O=[N+]([O-])c1ccccc1",
        "[Fe+2]", "B(O)(O)c1ccccc1", "C1CC2CCC1C2", "C/C=C/C", "C[C@H](N)C(=O)O", "c1ccc2[nH]ccc2c1", "[CH3]", "C"]
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    mols.append(Chem.AddHs(Chem.MolFromSmiles("OCC(=O)Nc1ccccc1")))  # explicit hydrogen atoms: not screened
    got = fp.compute(mols)
    expected = reference_bits(mols, fp.bits)
    cells = np.argwhere(got != expected)
    assert len(cells) == 0, [(smiles[i] if i < len(smiles) else "AddHs", fp.bits[j]) for i, j in cells[:5]]


def test_rank_bits_drops_rare_constant_and_duplicate_bits():
    pool = [BitDef("laggner", i, "smarts", "C", 1, f"b{i}") for i in range(5)]
    bits = np.zeros((1000, 5), np.uint8)
    bits[:500, 0] = 1  # H = 1
    bits[:, 1] = bits[:, 0]  # duplicate of 0
    bits[:, 2] = 1  # always on
    bits[:100, 3] = 1  # H(0.1)
    bits[:0, 4] = 1  # never on
    ranked = rank_bits(pool, bits, min_frequency=0.001)
    assert [(r.bit.family_bit, r.rank) for r in ranked] == [(0, 1), (3, 2)]


def test_write_and_read_round_trip(tmp_path, mask):
    small = Mask(version="test", ranked=sorted(mask.ranked, key=lambda r: r.rank)[:2300], meta={"rule": "test"})
    path = write_mask(small, tmp_path / "m.tsv")
    back = read_mask(path)
    assert back.version == "test" and len(back.ranked) == 2300
    assert back.select(2149) == small.select(2149)
    with pytest.raises(FileExistsError):
        write_mask(small, path)
    text = path.read_text()
    path.write_text(text.replace("\tsmarts\t", "\tsmarts \t", 1))
    with pytest.raises(ValueError, match="checksum"):
        read_mask(path)


def test_evaluator_rejects_invalid_smarts():
    with pytest.raises(ValueError, match="invalid SMARTS"):
        SubstructureEvaluator([BitDef("laggner", 0, "smarts", "[C", 1, "bad")])
