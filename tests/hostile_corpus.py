"""A corpus of hostile inputs of our own: spectra, candidate lists, run directories and options, each with the one
outcome specvae promises (docs/guarantees.md). ``tests/test_hostile.py`` runs every case through the command line.

A case is ``Case(name, make, expected)``: ``make(tmp)`` writes the inputs under ``tmp`` and returns the command's
arguments; ``expected`` is one of

- ``Error("text")``: exit status 1 and exactly one line ``specvae: error: ...`` containing the text (no traceback);
- ``Rejected(path, reason)``: exit status 0, and the rejects file ``path`` (under ``tmp``) names ``reason``;
- ``Written(check)``: exit status 0, and ``check(tmp, output)`` holds: what was changed or noticed is recorded.

Run directories start from a tiny real run (:func:`rank_helpers.write_tiny_run`) and are damaged one way each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

GOOD_PEAKS = "41.0386\t1000\n69.0335\t5000\n95.0491\t300\n"


class Error(NamedTuple):
    text: str


class Rejected(NamedTuple):
    path: str
    reason: str


class Written(NamedTuple):
    check: Callable[[Path, str], bool]


class Case(NamedTuple):
    name: str
    make: Callable[[Path], list]
    expected: Error | Rejected | Written


# --- spectra for ingest ---------------------------------------------------------------------------------------------

def msp(name: str, smiles: str = "OCC1OC(O)C(O)C(O)C1O", mode: str = "Positive", peaks: str = GOOD_PEAKS,
        num: bool = True) -> str:
    head = [f"NAME: {name}", "PRECURSORMZ: 181.07", "PRECURSORTYPE: [M+H]+", f"IONMODE: {mode}", "MSLEVEL: 2",
            f"SMILES: {smiles}", "INSTRUMENTTYPE: LC-ESI-QTOF"]
    if num:
        head.append(f"Num Peaks: {peaks.count(chr(10)) + (0 if peaks.endswith(chr(10)) else 1)}")
    return "\n".join(head) + "\n" + peaks


def ingest(name: str, content: str | bytes, *options: str) -> Callable[[Path], list]:
    def make(tmp: Path) -> list:
        path = tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return ["ingest", path, "--out", tmp / "ds", "--fingerprint", "morgan2", "--no-cache", *options]

    return make


def _ingest_report(tmp: Path) -> dict:
    return json.loads((tmp / "ds" / "report.json").read_text())


def _standardised(tmp: Path, output: str) -> bool:
    changes = [json.loads(line) for line in (tmp / "ds" / "standardised.jsonl").read_text().splitlines()]
    return (changes[0]["given"] == "[Na+].CC(=O)[O-]" and changes[0]["smiles"] == "CC(=O)O"
            and changes[0]["change"] == "largest fragment kept; neutralised" and "standardised: 1" in output)


def _noted_no_num_peaks(tmp: Path, output: str) -> bool:
    return _ingest_report(tmp)["inputs"][0]["notes"] == {"no_num_peaks": 1} and "no Num Peaks line" in output


SPECTRA = [
    Case("salt_standardised_to_its_parent", ingest("salt.msp", msp("salt", smiles="[Na+].CC(=O)[O-]")),
         Written(_standardised)),
    Case("msp_without_num_peaks", ingest("nonum.msp", msp("nonum", num=False)), Written(_noted_no_num_peaks)),
    Case("file_ends_inside_a_number",
         ingest("cut.msp", msp("good") + "\n" + msp("cut", peaks="41.0\t10\n297.1333\t121042.")),
         Rejected("ds/rejects.jsonl", "truncated_record")),
    Case("junk_between_msp_records",
         ingest("junk.msp", msp("good") + "\nthis is junk !!\n@@@ more junk\n\n" + msp("b")),
         Rejected("ds/rejects.jsonl", "malformed_record")),
    Case("binary_junk_saved_as_mgf", ingest("junk.mgf", bytes(range(256)) * 40), Error("is not a text MGF file")),
    Case("text_that_is_not_mgf", ingest("notes.mgf", "just some notes\nno spectra here\n"),
         Error("holds no spectrum record")),
    Case("empty_msp", ingest("empty.msp", ""), Error("holds no spectrum record")),
    Case("every_record_rejected", ingest("neg.msp", msp("n1", mode="Negative") + "\n" + msp("n2", mode="Negative")),
         Error("every one of the 2 spectra read was rejected (require_ion_mode 2)")),
    Case("ion_mode_abbreviated", ingest("one.msp", msp("one"), "--ion-mode", "pos"),
         Error("ion mode must be positive, negative or any")),
    Case("unknown_extension", ingest("spectra.txt", msp("one")), Error("cannot tell the format")),
]


# --- queries and candidates for rank ------------------------------------------------------------------------------

def mgf(*spectra: tuple) -> str:
    blocks = []
    for title, pepmass, charge in spectra:
        blocks.append(f"BEGIN IONS\nTITLE={title}\nPEPMASS={pepmass}\nCHARGE={charge}\n77.04 100\n95.05 50\nEND IONS\n")
    return "\n".join(blocks)


PHENOL = mgf(("phenol", 95.0491, "1+"))
CANDIDATES = "id,smiles\nc1,c1ccccc1O\nc2,CCO\n"


def rank(queries: str = PHENOL, candidates: str = CANDIDATES, *options: str, run: Callable | None = None,
         out: str = "ranked") -> Callable[[Path], list]:
    def make(tmp: Path) -> list:
        (tmp / "q.mgf").write_text(queries)
        (tmp / "c.csv").write_text(candidates)
        model = (run or good_run)(tmp)
        return ["rank", tmp / "q.mgf", "--model", model, "--candidates", tmp / "c.csv", "--out", tmp / out,
                "--no-cache", *options]

    return make


def _summary(tmp: Path) -> list[dict]:
    lines = (tmp / "ranked" / "summary.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


def _mass_check_noted(tmp: Path, output: str) -> bool:
    row = _summary(tmp)[0]
    ranked = (tmp / "ranked" / "rankings" / "phenol.tsv").read_text()
    return (row["n_candidates"] == "1" and "1 of 2 candidates left out" in row["notes"]
            and "as any of 10 common positive-mode adducts" in row["notes"] and "Oc1ccccc1\tc1" in ranked)


def _negative_mode_noted(tmp: Path, output: str) -> bool:
    row = _summary(tmp)[0]
    return row["ion_mode"] == "negative" and "the model was trained on positive spectra" in row["notes"] \
        and "not positive mode" in output


def _titles_keep_to_rankings(tmp: Path, output: str) -> bool:
    rows = _summary(tmp)
    names = sorted(p.name for p in (tmp / "ranked" / "rankings").iterdir())
    return ([r["label"] for r in rows] == ["summary", "rejects", "summary-2"] and [r["record"] for r in rows] == [
                "0", "1", "2"]
            and names == ["rejects.tsv", "summary-2.tsv", "summary.tsv"]
            and (tmp / "ranked" / "summary.tsv").read_text().startswith("label\trecord"))


def _counts_spectra_without_candidates(tmp: Path, output: str) -> bool:
    return "ranked 1 of 2 spectra" in output and "1 had no candidates" in output


# 14 kDa: a long peptide-like chain, far from any precursor of this file
BIG = "C" * 1000
QUERIES = [
    Case("candidate_mass_far_from_the_precursor", rank(PHENOL, f"id,smiles\nc1,c1ccccc1O\nbig,{BIG}\n"),
         Written(_mass_check_noted)),
    Case("negative_mode_spectrum_and_positive_model", rank(mgf(("phenol", 93.0346, "1-")), "id,smiles\nc1,c1ccccc1O\n"),
         Written(_negative_mode_noted)),
    Case("titles_that_name_the_runs_own_files",
         rank(mgf(("summary", 95.0491, "1+"), ("rejects", 95.0491, "1+"), ("summary", 95.0491, "1+")),
              "id,smiles\nc1,c1ccccc1O\n"), Written(_titles_keep_to_rankings)),
    Case("spectra_without_candidates_are_not_counted_as_ranked",
         rank(mgf(("phenol", 95.0491, "1+"), ("heavy", 595.2, "1+")), "id,smiles\nc1,c1ccccc1O\n"),
         Written(_counts_spectra_without_candidates)),
    Case("duplicate_candidate_id_for_two_structures", rank(PHENOL, "id,smiles\nc1,c1ccccc1O\nc1,CCO\n"),
         Rejected("ranked/rejects.tsv", "duplicate_id")),
    Case("negative_ppm", rank(PHENOL, CANDIDATES, "--ppm", "-5"), Error("--ppm must be a positive number")),
    Case("empty_candidate_list", rank(PHENOL, ""), Error("c.csv is empty")),
    Case("candidate_list_without_rows", rank(PHENOL, "id,smiles\n"), Error("holds no candidate rows")),
    Case("checkpoint_outside_the_run", rank(PHENOL, CANDIDATES, "--checkpoint", "../../x"),
         Error("unknown checkpoint '../../x'")),
    Case("query_file_without_spectra", rank("no spectra\n"), Error("no usable spectrum")),
]


# --- run directories --------------------------------------------------------------------------------------------

def good_run(tmp: Path) -> Path:
    from rank_helpers import write_tiny_run

    return write_tiny_run(tmp / "run")


def damaged(change: Callable[[Path], None]) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        run = good_run(tmp)
        change(run)
        return run

    return make


def edit_config(edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        config = json.loads((run / "config.json").read_text())
        config = edit(config) or config
        (run / "config.json").write_text(json.dumps(config))

    return change


def set_network(kind: str, name: str) -> Callable[[dict], None]:
    def edit(config: dict) -> None:
        config["model"]["modalities"][0][kind] = name

    return edit


def set_in_model(**values) -> Callable[[dict], None]:
    def edit(config: dict) -> None:
        config["model"].update(values)

    return edit


def set_in_modality(**values) -> Callable[[dict], None]:
    def edit(config: dict) -> None:
        config["model"]["modalities"][0].update(values)

    return edit


def write(name: str, content: str | bytes) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        (run / name).write_bytes(content if isinstance(content, bytes) else content.encode())

    return change


def truncate(name: str, keep: int) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[:keep])

    return change


def remove(name: str) -> Callable[[Path], None]:
    return lambda run: (run / name).unlink()


def with_payload(tmp: Path) -> Path:
    """A run whose encoder names ``payload:run``, and a ``payload.py`` in the working directory that, if it were ever
    imported, would leave a file behind."""
    (tmp / "payload.py").write_text(f"open({str(tmp / 'EXECUTED')!r}, 'w').write('payload ran')\nrun = None\n")
    return damaged(edit_config(set_network("encoder", "payload:run")))(tmp)


def calibrated(report: dict) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        (run / "calibration.json").write_text(json.dumps(report))

    return change


def model_case(name: str, run: Callable[[Path], Path], text: str) -> Case:
    return Case(name, rank(run=run), Error(text))


RUNS = [
    model_case("encoder_names_a_module_attribute", damaged(edit_config(set_network("encoder", "this:s"))),
               "unknown encoder network 'this:s'"),
    model_case("encoder_names_a_payload_beside_the_run", with_payload, "unknown encoder network 'payload:run'"),
    model_case("decoder_names_os_system", damaged(edit_config(set_network("decoder", "os:system"))),
               "unknown decoder network 'os:system'"),
    model_case("model_names_a_builtin", damaged(edit_config(set_in_model(model="__import__"))),
               "unknown model '__import__'"),
    model_case("likelihood_names_code", damaged(edit_config(set_in_modality(likelihood="os.system"))),
               "unknown likelihood 'os.system'"),
    model_case("activation_names_code", damaged(edit_config(set_in_modality(activation="eval"))),
               "unknown activation 'eval'"),
    model_case("unknown_model_key", damaged(edit_config(set_in_model(__class__="x"))), "unknown ModelConfig key"),
    model_case("latent_size_of_a_trillion", damaged(edit_config(set_in_model(latent_dim=10**12))), "do not fit"),
    model_case("latent_size_not_a_number", damaged(edit_config(set_in_model(latent_dim="eight"))),
               "does not describe a model specvae can build"),
    model_case("config_not_json", damaged(write("config.json", "{not json")), "is not valid JSON"),
    model_case("config_a_list", damaged(write("config.json", "[1, 2]")), "is not a specvae run config"),
    model_case("config_without_fingerprint", damaged(edit_config(lambda c: c.__delitem__("fingerprint"))),
               "has no valid fingerprint section"),
    model_case("weights_random_bytes", damaged(write("best.safetensors", os.urandom(4096))),
               "is not a readable safetensors file"),
    model_case("weights_truncated", damaged(truncate("best.safetensors", 300)), "is not a readable safetensors file"),
    model_case("weights_empty", damaged(write("best.safetensors", b"")), "is not a readable safetensors file"),
    model_case("weights_missing", damaged(remove("best.safetensors")), "best.safetensors is missing"),
    model_case("calibration_recommends_a_path", damaged(calibrated({"recommended": "../../etc/passwd"})),
               "recommends no known calibration"),
    model_case("calibration_weights_missing", damaged(calibrated({"recommended": "platt"})),
               "calibration.safetensors is missing"),
]


def _yaml_payload(tmp: Path) -> list:
    (tmp / "settings.yaml").write_text(f"out_dir: !!python/object/apply:os.system ['touch {tmp / 'EXECUTED'}']\n")
    (tmp / "one.msp").write_text(msp("one"))
    return ["ingest", tmp / "one.msp", "--config", tmp / "settings.yaml", "--out", tmp / "ds"]


def _gpu_without_cuda(tmp: Path) -> list:
    return rank(PHENOL, CANDIDATES, "--gpu", "0")(tmp)


OPTIONS = [
    Case("settings_file_with_a_python_tag", _yaml_payload, Error("is not a valid YAML settings file")),
    Case("gpu_on_a_machine_without_cuda", _gpu_without_cuda, Error("asked for a GPU")),
]

CASES = SPECTRA + QUERIES + RUNS + OPTIONS
