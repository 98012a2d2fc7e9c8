"""``training_curve.png`` from a run's ``metrics.jsonl`` (:mod:`specvae.training.plots`)."""

from __future__ import annotations

import json
import logging
import sys

from specvae.training import checkpoint as ckpt
from specvae.training.plots import CURVE_FILE, plot_training_curve


def _run(tmp_path, retrieval=True):
    run = tmp_path / "run"
    run.mkdir(parents=True)
    records = [{"epoch": e, "best_epoch": 2, "train/loss": 500 - 20 * e, "val_loss": 480 - 10 * e,
                "val_fp_ce": 470 - 10 * e, **({"val_top1": 0.1 * e, "val_top10": 0.2 * e} if retrieval else {})}
               for e in (1, 2, 3)]
    (run / ckpt.METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in records))
    ckpt.write_json(run / ckpt.CONFIG_FILE, {"model": {"model": "svae"}, "bit_frequency_baseline": {
        "val_fp_ce": 450.0, "val_top1": 0.01, "val_top10": 0.12}})
    return run


def test_curve_is_drawn_from_the_metrics(tmp_path):
    for retrieval in (True, False):
        run = _run(tmp_path / str(retrieval), retrieval)
        path = plot_training_curve(run)
        assert path == run / CURVE_FILE and path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000


def test_no_epochs_no_picture(tmp_path):
    assert plot_training_curve(tmp_path) is None and not (tmp_path / CURVE_FILE).exists()


def test_without_matplotlib_the_picture_is_skipped_with_a_log_line(tmp_path, monkeypatch, caplog):
    run = _run(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    with caplog.at_level(logging.INFO, logger="specvae"):
        assert plot_training_curve(run) is None
    assert "matplotlib is not installed" in caplog.text and not (run / CURVE_FILE).exists()
