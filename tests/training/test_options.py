"""Training options beyond the paper: schedules, validation retrieval, selection metric, epoch checkpoints, the
supervised MLP through the whole run, and calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from builders import write_dataset

from specvae.datasets.decoys import validation_decoys
from specvae.datasets.spectra import DeviceSpectra, SpectraDataset, training_streams
from specvae.errors import InputError
from specvae.retrieval.predict import Predictor
from specvae.training import calibration as cal
from specvae.training.loop import TrainConfig
from specvae.training.spectra import answer_ranks, calibrate_run, train_spectra


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"), n_structures=24, with_smiles=True)


def test_learning_rate_warms_up_then_follows_the_schedule():
    c = TrainConfig(lr=1.0, warmup_steps=4, schedule="cosine")
    assert [c.learning_rate(s, 14) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert c.learning_rate(4, 14) == pytest.approx(1.0) and c.learning_rate(9, 14) == pytest.approx(0.5)
    assert c.learning_rate(14, 14) == pytest.approx(0.0)
    assert TrainConfig(lr=0.1).learning_rate(1000, 10) == 0.1  # the paper's constant rate
    assert [TrainConfig(kl_warmup_steps=4).kl_scale(s) for s in (0, 1, 3, 10)] == [0.25, 0.5, 1.0, 1.0]
    with pytest.raises(InputError):
        TrainConfig(schedule="linear")


def test_decoys_are_the_nearest_structures_in_mass_never_test_ones(data_dir):
    ds = SpectraDataset.load(data_dir)
    rows = training_streams(ds).validation
    decoys = validation_decoys(ds.path, rows, n_candidates=4)
    assert decoys.n_ranked == len(rows) and decoys.candidates.shape == (len(rows), 4)
    for row, cands in zip(rows, decoys.candidates):
        assert ds.inchikey14[cands[0]] == ds.inchikey14[row]
        assert len({ds.inchikey14[c] for c in cands}) == 4  # distinct structures
        assert all(ds.splits[c] != "test" for c in cands)
        n = int(ds.inchikey14[row][3:])  # C_{n+1} alkanol: the nearest masses are the neighbouring chain lengths
        chains = sorted(int(ds.inchikey14[c][3:]) for c in cands[1:])
        assert max(abs(c - n) for c in chains) <= 4


def test_test_split_decoys_include_the_test_structures(data_dir):
    ds = SpectraDataset.load(data_dir)
    rows = training_streams(ds).test
    decoys = validation_decoys(ds.path, rows, n_candidates=10, with_test=True)  # test chains lie 4 apart
    assert decoys.n_ranked == len(rows) > 0
    assert all(ds.inchikey14[c[0]] == ds.inchikey14[r] for r, c in zip(rows, decoys.candidates))
    assert {ds.splits[c] for c in decoys.candidates[:, 1:].ravel()} >= {"test", "train"}


def test_evaluate_split_scores_held_out_spectra_beside_the_baseline(data_dir, tmp_path):
    from typer.testing import CliRunner

    from specvae.cli import app
    from specvae.training.spectra import split_metrics

    run = tmp_path / "mlp"
    train_spectra(data_dir, run, model="mlp", preset="tiny", retrieval_candidates=5,
                  config=TrainConfig(epochs=2, batch_size=8, lr=1e-2))
    best = max((json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()),
               key=lambda r: r["val_top1"])
    validation = split_metrics(run, "validation", n_candidates=5)
    assert validation["model"]["top1"] == pytest.approx(best["val_top1"]), "the training loop's own numbers"
    assert validation["model"]["fp_ce"] == pytest.approx(best["val_fp_ce"], rel=1e-5)
    test = split_metrics(run, "test", n_candidates=5)
    ds = SpectraDataset.load(data_dir)
    assert test["spectra"] == len(training_streams(ds).test) and test["candidates"] == 5
    assert test["structures"] == len(set(ds.inchikey14[training_streams(ds).test]))
    assert set(test["baseline"]) >= {"fp_ce", "top1", "top10", "median_rank"} and test["model"]["fp_ce"] > 0
    out = tmp_path / "test.json"
    result = CliRunner().invoke(app, ["-q", "evaluate", "split", "--model", str(run), "--candidates", "5", "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"test split: {test['spectra']} spectra of {test['structures']} structures")
    assert "bit-frequency baseline: cross-entropy" in result.output
    assert json.loads(out.read_text())["model"] == pytest.approx(test["model"])
    bad = CliRunner().invoke(app, ["-q", "evaluate", "split", "--model", str(run), "--split", "train"])
    assert bad.exit_code == 1 and bad.output.strip() == "specvae: error: split must be test or validation, not 'train'"


def test_answer_rank_counts_better_candidates_and_averages_ties(data_dir):
    ds = SpectraDataset.load(data_dir)
    data = DeviceSpectra(ds)
    rows = ds.rows("train", "paired")
    _, first = np.unique(ds.inchikey14[rows].astype(str), return_index=True)
    structures = rows[np.sort(first)][:3]
    bits = data.fingerprint_bits(structures)
    p = bits[:1].clamp(0.1, 0.9)  # the prediction is structure 0's fingerprint
    order = np.array([[structures[0], structures[1], structures[2]], [structures[1], structures[0], structures[2]],
                      [structures[0], structures[0], structures[0]], [-1, -1, -1]])
    ranks = answer_ranks(p.expand(4, -1), data, order)
    ce = -(bits * p.log() + (1 - bits) * (1 - p).log()).sum(1)  # cross-entropy of each structure, lower is better
    assert ce[0] < ce[1] and ce[0] < ce[2]
    assert ranks.tolist()[0] == 1.0
    assert ranks.tolist()[1] == 2.0 + float(ce[2] < ce[1]) + 0.5 * float(ce[2] == ce[1])
    assert ranks.tolist()[2] == 2.0  # three-way tie: average of 1, 2, 3
    assert len(ranks) == 3  # the row without a list is left out
    nan = torch.full_like(p, float("nan"))  # a diverged model: its answer ranks last, not first by a tie
    assert answer_ranks(nan.expand(4, -1), data, order).tolist() == [3.0, 3.0, 3.0]


def test_mlp_trains_with_retrieval_selection_and_keeps_epoch_weights(data_dir, tmp_path):
    run = tmp_path / "mlp"
    summary = train_spectra(data_dir, run, model="mlp", preset="tiny", select="val_top1", retrieval_candidates=5,
                            config=TrainConfig(epochs=3, batch_size=8, lr=1e-2, save_every=2, weight_decay=0.01))
    config = json.loads((run / "config.json").read_text())
    assert config["select"] == ["val_top1", "max"] and config["streams"]["spectrum"] == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all({"val_top1", "val_top10", "val_median_rank", "lr"} <= r.keys() for r in records)
    assert {"val_top1", "val_median_rank"} <= config["bit_frequency_baseline"].keys()
    best = max(range(3), key=lambda i: (records[i]["val_top1"], -i))
    assert summary["best_epoch"] == best + 1
    assert (run / "epoch-2.safetensors").exists() and not (run / "epoch-1.safetensors").exists()
    p = Predictor.from_run(run, checkpoint="epoch-2").predict_bits(np.zeros((2, 11000), np.float32))
    assert p.shape == (2, ds_bits(data_dir))
    with pytest.raises(InputError, match="unknown checkpoint"):
        Predictor.from_run(run, checkpoint="../mlp/best")


def ds_bits(data_dir) -> int:
    return SpectraDataset.load(data_dir).spec.n_bits


def test_selection_needs_retrieval(data_dir, tmp_path):
    with pytest.raises(InputError, match="val_top10 needs the validation retrieval"):
        train_spectra(data_dir, tmp_path / "r", preset="tiny", select="val_top10", retrieval_candidates=0,
                      config=TrainConfig(epochs=1, batch_size=8))
    with pytest.raises(InputError, match="unknown selection metric"):
        train_spectra(data_dir, tmp_path / "r", preset="tiny", select="loss", config=TrainConfig(epochs=1))


def test_temperature_and_platt_recover_a_known_distortion():
    rng = np.random.default_rng(0)
    logit = rng.normal(0, 2, (4000, 6))
    bits = (rng.random(logit.shape) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    overconfident = 1 / (1 + np.exp(-3 * logit))  # the true logits times 3: temperature 3
    assert cal.fit_temperature(overconfident, bits) == pytest.approx(3.0, rel=0.05)
    shifted = 1 / (1 + np.exp(-(logit + np.array([0, 0, 0, 2, -2, 1]))))  # per-bit offsets
    platt = cal.fit("platt", shifted, bits, strength=1.0)
    np.testing.assert_allclose(platt.shift, [0, 0, 0, -2, 2, -1], atol=0.15)
    np.testing.assert_allclose(platt.scale, 1, atol=0.1)
    before, after = cal.cross_entropy(shifted, bits), cal.cross_entropy(platt.apply(shifted), bits)
    assert after < before
    ece, table = cal.reliability(1 / (1 + np.exp(-logit)), bits)
    assert ece < 0.02 and sum(r["count"] for r in table) == bits.size
    assert cal.reliability(overconfident, bits)[0] > 0.05


def test_calibrate_run_writes_its_report_and_rank_applies_it(data_dir, tmp_path):
    run = tmp_path / "svae"
    train_spectra(data_dir, run, preset="tiny", retrieval_candidates=5,
                  config=TrainConfig(epochs=2, batch_size=8, lr=1e-2))
    report = calibrate_run(run)
    assert set(report["out_of_fold"]) == {"none", "temperature", "platt"}
    assert report["recommended"] in ("temperature", "platt")
    for name in ("calibration.json", "calibration.safetensors", "calibration.png"):
        assert (run / name).exists()
    # out of fold, a fitted temperature may lose to none on a toy run, but never by much
    oof = report["out_of_fold"]
    assert oof["temperature"]["fp_ce"] < oof["none"]["fp_ce"] * 1.1
    assert oof["temperature"]["top1"] == oof["none"]["top1"]  # a temperature never changes the order
    x = np.random.default_rng(1).random((3, 11000)).astype(np.float32) * (np.random.default_rng(2).random(
        (3, 11000)) < 0.01)
    raw = Predictor.from_run(run, calibration="none").predict_bits(x)
    tempered = Predictor.from_run(run, calibration="temperature").predict_bits(x)
    t = report["temperature"]
    expected = 1 / (1 + np.exp(-np.log(raw / (1 - raw)) / t))
    np.testing.assert_allclose(tempered, expected, rtol=1e-4, atol=1e-6)
    with pytest.raises(InputError, match="unknown calibration"):
        Predictor.from_run(run, calibration="isotonic")


def test_runs_without_calibration_predict_raw_probabilities(data_dir, tmp_path):
    run = tmp_path / "raw"
    train_spectra(data_dir, run, preset="tiny", retrieval_candidates=0, config=TrainConfig(epochs=1, batch_size=8))
    x = np.zeros((1, 11000), np.float32)
    a = Predictor.from_run(run).predict_bits(x)
    model = Predictor.from_run(run).model
    b = model.predict({"spectrum": torch.from_numpy(x)}, ["fingerprint"])["fingerprint"].numpy()
    np.testing.assert_allclose(a, b)
    with pytest.raises(InputError, match="has no calibration"):
        Predictor.from_run(run, calibration="platt")


def test_preset_auto_is_the_cpu_preset_without_a_gpu_and_says_so(data_dir, tmp_path, caplog):
    from specvae.models.config import resolve_preset

    assert resolve_preset("auto", on_gpu=True) == "paper" and resolve_preset("auto", on_gpu=False) == "cpu"
    assert resolve_preset("small", on_gpu=True) == "small"
    run = tmp_path / "auto"
    with caplog.at_level("INFO", logger="specvae"):
        train_spectra(data_dir, run, retrieval_candidates=0, config=TrainConfig(epochs=1, batch_size=8,
                                                                                max_steps_per_epoch=1))
    config = json.loads((run / "config.json").read_text())
    spectrum = config["model"]["modalities"][0]
    assert config["preset"] == "cpu" and spectrum["encoder_widths"] == [1024, 1024] and spectrum["sparse_input"]
    assert config["select"] == ["val_fp_ce", "min"]  # auto: no retrieval, so the cross-entropy
    assert any("preset auto: cpu" in r.getMessage() for r in caplog.records)
