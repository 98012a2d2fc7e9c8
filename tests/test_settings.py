"""Settings files (``--config``): keys and types from the library's signatures and dataclasses, flags on top, one-line
errors, and the settings a run used written beside it so that it can be run again from them."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from builders import write_dataset
from typer.testing import CliRunner

from specvae import settings
from specvae.cli import app
from specvae.errors import InputError
from specvae.ingest.clean import Cleaning
from specvae.training.loop import TrainConfig
from specvae.training.spectra import train_spectra


def invoke(*args):
    return CliRunner().invoke(app, ["-q", *map(str, args)])


def test_schema_of_a_function_holds_its_sections_and_defaults():
    fields = settings.schema(train_spectra)
    assert {"data_dir", "out_dir", "model", "preset", "config", "supervision"} <= set(fields)
    assert not {"progress", "resume", "overwrite"} & set(fields), "invocation switches are not settings"
    assert fields["config"].default == TrainConfig() and fields["data_dir"].default is settings.REQUIRED
    resolved = settings.resolve(fields, {"data_dir": "d", "out_dir": "o", "config": {"epochs": 3}}, "x.yaml")
    assert resolved["config"] == TrainConfig(epochs=3) and resolved["model"] == "svae"


@dataclasses.dataclass(frozen=True)
class Options:
    epochs: int = 1
    weight_decay: float = 0.0  # a field added later
    schedule: tuple[str, ...] | None = None


def run(out: str, *, opts: Options = Options(epochs=5)):
    return out, opts


def test_a_new_dataclass_field_is_settable_without_any_change():
    s = settings.resolve(settings.schema(run), {"out": "o", "opts": {"weight_decay": 1, "schedule": ["a"]}}, "f")
    assert s["opts"] == Options(epochs=5, weight_decay=1.0, schedule=("a",)), "the parameter's default fills the rest"


@pytest.mark.parametrize("values, message", [
    ({"modle": "svae"}, "unknown setting 'modle' in f.yaml"),
    ({"config": {"epoch": 3}}, "unknown setting 'config.epoch' in f.yaml"),
    ({"config": {"epochs": "ten"}}, "setting 'config.epochs' in f.yaml must be an integer, not \"ten\""),
    ({"config": {"lr": True}}, "setting 'config.lr' in f.yaml must be a number, not true"),
    ({"supervision": [1]}, "setting 'supervision' in f.yaml must be a number"),
    ({"config": 3}, "setting 'config' in f.yaml must be TrainConfig"),
])
def test_unknown_keys_and_wrong_types_are_one_line_errors_naming_the_key(values, message):
    with pytest.raises(InputError) as caught:
        settings.resolve(settings.schema(train_spectra), {"data_dir": "d", "out_dir": "o", **values}, "f.yaml")
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("suffix, text", [
    (".yaml", "model: vaevae\nconfig:\n  epochs: 7\n"),
    (".toml", 'model = "vaevae"\n[config]\nepochs = 7\n'),
    (".json", '{"model": "vaevae", "config": {"epochs": 7}}'),
])
def test_yaml_toml_and_json_files_say_the_same(tmp_path, suffix, text):
    path = tmp_path / f"s{suffix}"
    path.write_text(text)
    assert settings.read_settings(path) == {"model": "vaevae", "config": {"epochs": 7}}


def test_flags_override_the_file_key_by_key():
    merged = settings.merge({"model": "vaevae", "config": {"epochs": 7, "lr": 0.1}},
                            {"model": None, "config": {"epochs": 2, "lr": None}, "gpu": settings.NONE})
    assert merged == {"model": "vaevae", "config": {"epochs": 2, "lr": 0.1}, "gpu": None}


def test_train_from_a_settings_file_writes_the_settings_it_used(tmp_path):
    data = write_dataset(tmp_path / "data", n_structures=12)
    (tmp_path / "train.yaml").write_text(f"data_dir: {data}\nmodel: vaevae\npreset: tiny\nmodel_overrides:\n"
                                         "  latent_dim: 4\nconfig:\n  epochs: 3\n  batch_size: 4\n  lr: 0.001\n")
    result = invoke("train", "--config", tmp_path / "train.yaml", "--out", tmp_path / "run", "--epochs", "2",
                    "--grad-clip", "5")
    assert result.exit_code == 0, result.output
    used = yaml.safe_load((tmp_path / "run" / "settings.yaml").read_text())
    assert used["model"] == "vaevae" and used["config"]["epochs"] == 2, "the flag wins over the file"
    assert used["config"]["grad_clip"] == 5.0
    assert used["config"]["batch_size"] == 4 and used["config"]["precision"] == "auto", "every default written"
    assert used["model_overrides"] == {"latent_dim": 4} and used["out_dir"] == str(tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["latent_dim"] == 4 and config["train"]["epochs"] == 2
    assert config["train"]["grad_clip"] == 5.0, "--grad-clip reaches the training configuration"
    again = invoke("train", "--config", tmp_path / "run" / "settings.yaml", "--out", tmp_path / "run2")
    assert again.exit_code == 0, again.output
    assert yaml.safe_load((tmp_path / "run2" / "settings.yaml").read_text()) == {**used, "out_dir": str(
        tmp_path / "run2")}, "the written settings run again as they were"


@pytest.mark.parametrize("text, message", [
    ("model_overrides: {latent_dims: 4}\n", "unknown setting 'latent_dims'"),
    ("config: {epochs: many}\n", "setting 'config.epochs'"),
    ("modle: svae\n", "unknown setting 'modle'"),
])
def test_train_settings_errors_are_one_line(tmp_path, text, message):
    (tmp_path / "bad.yaml").write_text(text)
    result = invoke("train", "--config", tmp_path / "bad.yaml", "--data", tmp_path, "--out", tmp_path / "run")
    assert result.exit_code == 1 and message in result.output and "specvae: error:" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_required_settings_name_their_option(tmp_path):
    result = invoke("train", "--out", tmp_path / "run")
    assert result.exit_code == 1 and "--data is required" in result.output


def test_ingest_cleaning_from_a_file_and_options(tmp_path, fixtures):
    (tmp_path / "ingest.yaml").write_text("fingerprint: morgan2\ncleaning:\n  ion_mode: null\n  min_peaks: 3\n")
    result = invoke("ingest", fixtures / "ingest" / "massbank_sample29.msp", "--config", tmp_path / "ingest.yaml",
                    "--out", tmp_path / "ds", "--mz-min", "50")
    assert result.exit_code == 0, result.output
    used = yaml.safe_load((tmp_path / "ds" / "settings.yaml").read_text())
    assert used["cleaning"] == {**settings.to_plain(Cleaning(ion_mode=None, min_peaks=3, mz_min=50.0))}
    report = json.loads((tmp_path / "ds" / "report.json").read_text())
    assert report["settings"]["cleaning"]["ion_mode"] is None and report["settings"]["cleaning"]["min_peaks"] == 3
    again = invoke("ingest", "--config", tmp_path / "ds" / "settings.yaml", "--out", tmp_path / "ds2", "--min-peaks",
                   "2")
    assert again.exit_code == 0, again.output
    assert yaml.safe_load((tmp_path / "ds2" / "settings.yaml").read_text())["cleaning"]["min_peaks"] == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("cleaning: {ionmode: positive}\n")
    result = invoke("ingest", fixtures / "ingest" / "massbank_sample29.msp", "--config", bad, "--out", tmp_path / "x")
    assert result.exit_code == 1 and "unknown setting 'cleaning.ionmode'" in result.output
