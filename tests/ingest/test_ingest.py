"""End to end: files -> dataset directory (Parquet + rejects + report), structures, splits, atomic output, CLI."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from specvae import schema
from specvae.chem import fingerprints as fp
from specvae.ingest import Cleaning, densify, ingest

KEEP_ALL = Cleaning(ion_mode=None, ms_level=None, instrument_types=None, require_precursor=False)  # unusable only
FIXTURE_FILES = ["massbank_sample29.msp", "mona_three.msp", "riken_five.msp", "gnps_thirty.mgf", "gnps_five.json",
                 "mona_two.json", "run_ms1_ms2.mzML", "casmi_challenge_082.mgf", "mona_gcms_ten.msp"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, fixtures):
    folder = fixtures / "ingest"
    tmp = tmp_path_factory.mktemp("ds")
    molecules = tmp / "molecules.smi"
    molecules.write_text("SMILES\nCCO ethanol\nc1ccccc1O phenol\nnot_a_smiles\nCCO ethanol again\n"
                         "CC1CC2=C(C(=CC=C2)O)C(=O)O1 mellein\n")
    exclude = tmp / "exclude.txt"
    exclude.write_text("QQVDJLLNRSOCEL-UHFFFAOYSA-N\n")  # (2-aminoethyl)phosphonate, in mona files
    out = tmp / "out"
    report = ingest([folder / f for f in FIXTURE_FILES], out, molecules=molecules, exclude_inchikeys=exclude,
                    fingerprint="morgan2", cleaning=Cleaning(ion_mode=None))
    return out, report


def test_dataset_files_schema_and_metadata(dataset):
    out, report = dataset
    assert sorted(p.name for p in out.iterdir()) == sorted([schema.DATASET_FILE, schema.REJECTS_FILE,
                                                           schema.REPORT_FILE, schema.STANDARDISED_FILE,
                                                           ".specvae-output"])
    pf = pq.ParquetFile(out / schema.DATASET_FILE)
    assert pf.schema_arrow.remove_metadata() == schema.arrow_schema(2048)
    meta = pf.schema_arrow.metadata
    assert fp.FingerprintSpec.from_json(meta[schema.META_FINGERPRINT]) == fp.get_fingerprinter("morgan2").spec
    assert json.loads(meta[schema.META_BINNING])["n_bins"] == 11000
    assert json.loads(meta[schema.META_SPLIT]) == {"seed": 0, "fractions": [0.8, 0.1, 0.1]}
    assert meta[schema.META_SCHEMA] == schema.SCHEMA_VERSION.encode()
    assert json.loads((out / schema.REPORT_FILE).read_text()) == report


def test_every_record_is_written_or_rejected(dataset):
    out, report = dataset
    s = report["spectra"]
    assert s["read"] == s["written"] + s["rejected"] == 29 + 3 + 5 + 30 + 5 + 2 + 2 + 1 + 10
    rejects = [json.loads(line) for line in (out / schema.REJECTS_FILE).read_text().splitlines()]
    table = pq.read_table(out / schema.DATASET_FILE, columns=[schema.SOURCE, schema.RECORD, schema.KIND])
    written = {(r[schema.SOURCE], r[schema.RECORD]) for r in table.to_pylist() if r[schema.KIND] != "molecule_only"}
    rejected = {(r["source"], r["record"]) for r in rejects if not r["source"].endswith("molecules.smi")}
    assert not written & rejected and len(written) + len(rejected) == s["read"]
    assert all({"source", "record", "line", "reason", "detail"} <= set(r) for r in rejects)
    assert report["inputs"][FIXTURE_FILES.index("run_ms1_ms2.mzML")]["ms1_scans_skipped"] == 1


def test_kinds_structures_and_fingerprints(dataset):
    out, report = dataset
    t = pq.read_table(out / schema.DATASET_FILE).to_pylist()
    kinds = {r[schema.KIND] for r in t}
    assert kinds == {"paired", "spectrum_only", "molecule_only"}
    fingerprinter = fp.get_fingerprinter("morgan2")
    for r in t:
        if r[schema.KIND] == "spectrum_only":
            assert r[schema.FINGERPRINT] is None and r[schema.INCHIKEY] is None and r[schema.BINS]
        else:
            assert len(r[schema.FINGERPRINT]) == 256 and r[schema.INCHIKEY14] == r[schema.INCHIKEY][:14]
        if r[schema.KIND] == "molecule_only":
            assert r[schema.BINS] is None and r[schema.PRECURSOR_MZ] is None
        else:
            assert r[schema.N_PEAKS] == len(r[schema.BINS]) == len(r[schema.INTENSITIES]) > 0
            assert list(r[schema.BINS]) == sorted(r[schema.BINS])
            assert max(r[schema.INTENSITIES]) == pytest.approx(np.log(101), rel=1e-6)
    mellein = next(r for r in t if r[schema.ID] == "MSBNK-AAFC-AC000001")
    from specvae.chem.structures import parse_structure

    mol, structure = parse_structure(smiles="CC1CC2=C(C(=CC=C2)O)C(=O)O1")
    expected = fp.pack_bits(fingerprinter.compute([mol]))[0].tobytes()
    assert mellein[schema.FINGERPRINT] == expected and mellein[schema.SMILES] == structure.smiles
    assert mellein[schema.LICENSE] == "CC BY-SA" and mellein[schema.COLLISION_ENERGY] == "10(NCE)"
    assert mellein[schema.LINE] == 1 and mellein[schema.RECORD] == 0
    dense = densify([mellein[schema.BINS]], [mellein[schema.INTENSITIES]])
    assert dense.shape == (1, 11000) and dense[0, 1610] == pytest.approx(np.log(101))


def test_molecules_rows(dataset):
    out, report = dataset
    m = report["molecules"]
    assert (m["read"], m["written"], m["rejected"]) == (5, 3, 2)
    assert m["rejected_by_reason"] == {"duplicate_structure": 1, "invalid_smiles": 1}
    rows = [r for r in pq.read_table(out / schema.DATASET_FILE).to_pylist() if r[schema.KIND] == "molecule_only"]
    assert [r[schema.NAME] for r in rows] == ["ethanol", "phenol", "mellein"]
    assert [r[schema.LINE] for r in rows] == [2, 3, 6]


def test_exclusion_and_split_disjointness(dataset):
    out, report = dataset
    t = pq.read_table(out / schema.DATASET_FILE).to_pylist()
    assert "QQVDJLLNRSOCEL" not in {r[schema.INCHIKEY14] for r in t}
    assert report["spectra"]["rejected_by_reason"]["excluded_structure"] == 2  # one in mona_three.msp, one in JSON
    split_of = {}
    for r in t:
        if r[schema.INCHIKEY14]:
            assert split_of.setdefault(r[schema.INCHIKEY14], r[schema.SPLIT]) == r[schema.SPLIT]
    assert {r[schema.SPLIT] for r in t} <= set(schema.SPLITS)
    ids = [r[schema.ID] for r in t]
    assert len(ids) == len(set(ids)), "ids are unique"


def test_structures_parsed_and_fingerprinted_once(tmp_path, fixtures, monkeypatch):
    import specvae.chem.structures as molecules

    parsed, computed = [], []
    real_parse, real_compute = molecules.parse_structure, fp.compute_smiles
    monkeypatch.setattr(molecules, "parse_structure", lambda **kw: parsed.append(kw) or real_parse(**kw))

    def counting(smiles, *a, **kw):
        computed.extend(smiles)
        return real_compute(smiles, *a, **kw)

    monkeypatch.setattr(fp, "compute_smiles", counting)
    report = ingest([fixtures / "ingest" / "massbank_sample29.msp"], tmp_path / "o", fingerprint="morgan2")
    assert report["spectra"]["paired"] == 29
    assert len(parsed) == report["structures"]["distinct_structure_texts"] < 29
    assert len(computed) == len(set(computed)) == report["structures"]["distinct_inchikeys"] == 25


def test_atomic_output_on_failure(tmp_path, fixtures, monkeypatch):
    import pyarrow.parquet

    out = tmp_path / "ds"
    ingest([fixtures / "ingest" / "riken_five.msp"], out, fingerprint="morgan2")
    before = (out / schema.REPORT_FILE).read_text()

    def broken_write(table, where, **kw):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(pyarrow.parquet, "write_table", broken_write)
    with pytest.raises(KeyboardInterrupt):
        ingest([fixtures / "ingest" / "massbank_sample29.msp"], out, fingerprint="morgan2", overwrite=True)
    with pytest.raises(KeyboardInterrupt):
        ingest([fixtures / "ingest" / "massbank_sample29.msp"], tmp_path / "new", fingerprint="morgan2")
    assert (out / schema.REPORT_FILE).read_text() == before, "the previous dataset is untouched"
    assert not (tmp_path / "new").exists()
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert left == ["ds"], "no temporary directories left behind"


def test_overwrite_rules(tmp_path, fixtures):
    src = [fixtures / "ingest" / "riken_five.msp"]
    out = tmp_path / "ds"
    ingest(src, out, fingerprint="morgan2")
    with pytest.raises(FileExistsError, match="--overwrite"):
        ingest(src, out, fingerprint="morgan2")
    report = ingest(src, out, fingerprint="morgan2", overwrite=True)
    assert report["spectra"]["read"] == 5
    other = tmp_path / "precious"
    other.mkdir()
    (other / "thesis.tex").write_text("do not delete")
    with pytest.raises(FileExistsError, match="specvae did not write it"):
        ingest(src, other, fingerprint="morgan2", overwrite=True)
    assert (other / "thesis.tex").exists()


def test_missing_input_fails_before_writing(tmp_path, fixtures):
    with pytest.raises(FileNotFoundError):
        ingest([fixtures / "ingest" / "riken_five.msp", tmp_path / "missing.msp"], tmp_path / "o",
               fingerprint="morgan2")
    assert not (tmp_path / "o").exists()


def test_workers_give_the_same_dataset(tmp_path, fixtures, monkeypatch):
    from specvae.readers import textio

    monkeypatch.setattr(textio.text_chunks, "__defaults__", (3000,))  # many chunks
    files = [fixtures / "ingest" / "massbank_sample29.msp", fixtures / "ingest" / "gnps_thirty.mgf"]
    one = ingest(files, tmp_path / "one", fingerprint="morgan2")
    two = ingest(files, tmp_path / "two", fingerprint="morgan2", workers=2)
    a = pq.read_table(tmp_path / "one" / schema.DATASET_FILE)
    b = pq.read_table(tmp_path / "two" / schema.DATASET_FILE)
    assert a.equals(b)
    assert (tmp_path / "one" / schema.REJECTS_FILE).read_text() == (tmp_path / "two" / schema.REJECTS_FILE).read_text()
    one.pop("timings"), two.pop("timings")
    assert one == two


@pytest.mark.skipif("specvae" not in fp.available(), reason="the 'specvae' fingerprint is not on this branch yet")
def test_default_fingerprint(tmp_path, fixtures):
    report = ingest([fixtures / "ingest" / "riken_five.msp"], tmp_path / "o")
    assert report["settings"]["fingerprint"]["name"] == "specvae"
    assert report["settings"]["fingerprint"]["n_bits"] == 2149


def test_cli(tmp_path, fixtures):
    from specvae.cli import app

    runner = CliRunner()
    out = tmp_path / "cli"
    args = ["ingest", str(fixtures / "ingest" / "massbank_sample29.msp"), str(fixtures / "ingest" / "gnps_thirty.mgf"),
            "--out", str(out), "--fingerprint", "morgan2", "--fractions", "0.7,0.2,0.1", "--seed", "3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "spectra read 59" in result.output and "rejected require_ion_mode: 8" in result.output
    report = json.loads((out / schema.REPORT_FILE).read_text())
    assert report["settings"]["split"]["fractions"] == [0.7, 0.2, 0.1] and report["settings"]["split"]["seed"] == 3
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "--overwrite" in again.output
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope.msp"), "--out", str(tmp_path / "x")])
    assert missing.exit_code == 1
    assert missing.output.strip().splitlines() == [f"specvae: error: input file not found: {tmp_path / 'nope.msp'}"]
    anymode = runner.invoke(app, [*args[:4], str(tmp_path / "any"), "--fingerprint", "morgan2", "--ion-mode", "any",
                                  "--instrument-type", "any", "--min-peaks", "0", "--ms-level", "0"])
    assert anymode.exit_code == 0, anymode.output
    settings = json.loads((tmp_path / "any" / schema.REPORT_FILE).read_text())["settings"]["cleaning"]
    assert settings["ion_mode"] is None and settings["instrument_types"] is None and settings["ms_level"] is None


# --- the full MassBank file ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_full_massbank_with_casmi_answers_excluded(tmp_path, shared_data):
    answers = shared_data / "casmi2016" / "solutions" / "casmi_2016_challenge_test.csv"
    report = ingest([shared_data / "massbank" / "MassBank_LC-MSMS_positive.msp.gz"], tmp_path / "mb",
                    exclude_inchikeys=answers, fingerprint="morgan2", workers=2)
    s = report["spectra"]
    assert s["read"] == 63098 and s["read"] == s["written"] + s["rejected"]
    assert set(s["rejected_by_reason"]) == {"excluded_structure"}
    rejects = [json.loads(line) for line in (tmp_path / "mb" / schema.REJECTS_FILE).read_text().splitlines()]
    excluded_blocks = {r["detail"].split()[3] for r in rejects}
    with open(answers, newline="") as fh:
        challenges = [row["INCHIKEY"][:14] for row in csv.DictReader(fh)]
    assert sum(block in excluded_blocks for block in challenges) == 179, "NOTES.md: 179 of 208 answers in MassBank"
    blocks = set(pq.read_table(tmp_path / "mb" / schema.DATASET_FILE, columns=[schema.INCHIKEY14])
                 [schema.INCHIKEY14].to_pylist())
    assert not blocks & set(challenges)
    assert report["structures"]["spectrum_only_by_reason"] == {"no_inchikey": 67}
    assert report["peaks"]["dropped"]["off_grid_high"] > 0
    assert os.path.getsize(tmp_path / "mb" / schema.DATASET_FILE) < 60e6


def test_packaged_demo_sample_is_open_and_ingests(tmp_path):
    from importlib.resources import files

    demo = files("specvae") / "data" / "massbank_demo.msp.gz"
    from specvae.ingest import read_spectra

    records = list(read_spectra(str(demo)))
    assert len(records) == 2000 and not any(r.error for r in records)
    assert {r.metadata["license"] for r in records} <= {"CC BY", "CC BY-SA", "CC0", "dl-de/by-2-0"}
    assert 300 <= len({r.metadata["inchikey"][:14] for r in records}) <= 600
    assert os.path.getsize(str(demo)) < 1_000_000


@pytest.mark.parametrize("name", FIXTURE_FILES + ["nist_five.msp", "casmi_challenge_001.mgf", "casmi_training_001.mgf"])
def test_read_equals_written_plus_rejected_on_every_fixture(tmp_path, fixtures, name):
    report = ingest([fixtures / "ingest" / name], tmp_path / "o", fingerprint="morgan2", cleaning=KEEP_ALL)
    s = report["spectra"]
    assert s["read"] > 0 and s["read"] == s["written"] + s["rejected"]
    rejects = (tmp_path / "o" / schema.REJECTS_FILE).read_text().splitlines()
    assert len(rejects) == s["rejected"]
    assert pq.read_table(tmp_path / "o" / schema.DATASET_FILE).num_rows == s["written"]


def test_rejects_are_in_file_order(dataset):
    out, _ = dataset
    rejects = [json.loads(line) for line in (out / schema.REJECTS_FILE).read_text().splitlines()]
    spectra = [r for r in rejects if not r["source"].endswith("molecules.smi")]
    for a, b in zip(spectra, spectra[1:]):
        if a["source"] == b["source"]:
            assert a["record"] < b["record"]
    assert all(r["source"].endswith("molecules.smi") for r in rejects[len(spectra):])


def test_excluded_licenses_are_rejected_with_the_reason(tmp_path):
    from importlib.resources import files

    from specvae.ingest import ingest
    from specvae.ingest.clean import Cleaning

    demo = str(files("specvae") / "data" / "massbank_demo.msp.gz")
    report = ingest([demo], tmp_path / "no_sa", cleaning=Cleaning(exclude_licenses=("SA",)))
    assert report["spectra"]["rejected_by_reason"] == {"require_license": 662}  # the sample's CC BY-SA records
    assert report["spectra"]["written"] == 2000 - 662
    import pyarrow.parquet as pq

    licenses = set(pq.read_table(tmp_path / "no_sa" / schema.DATASET_FILE, columns=[schema.LICENSE]).column(0)
                   .to_pylist())
    assert licenses == {"CC BY", "CC0", "dl-de/by-2-0"}


def test_an_ingest_that_would_write_no_spectrum_is_an_error_and_writes_nothing(tmp_path, fixtures):
    from specvae.errors import InputError

    with pytest.raises(InputError, match=r"every one of the 30 spectra read was rejected \(require_instrument_type 22, "
                                         r"require_ion_mode 8\); nothing written; to keep them: --instrument-type any"):
        ingest([fixtures / "ingest" / "gnps_thirty.mgf"], tmp_path / "o", fingerprint="morgan2")
    assert not (tmp_path / "o").exists()

