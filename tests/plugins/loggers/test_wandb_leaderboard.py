"""The sweep's leaderboard in W&B, read back from the offline run as W&B stored it: a missing
metric is null (a -1 would be plotted and sorted as a score), and the group is a name a reviewer
can find, not the sweep folder's start time."""

import math

import pytest
from wandb_records import finished_run, read_table

from framework.leaderboard import Leaderboard
from plugins.loggers.wandb_logger import WandbLogger, group_name


def record(model, seed, f1, status="ok"):
    return {"status": status, "seed": seed,
            "config": {"model": {"name": model}, "dataset": {"name": "d"},
                       "scenario": {"name": "standard", "binary": False}},
            "job": {"overrides": [f"model={model}", f"seed={seed}"]},
            "dataset": {"name": "d", "provenance": {"origin": "synthetic"}},
            "metrics": {"macro_f1": f1, "accuracy": f1} if status == "ok" else None,
            "error": {"message": "boom"} if status != "ok" else None}


@pytest.fixture
def offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    return WandbLogger(mode="offline")


def logged_board(logger, sweep_dir, config):
    board = Leaderboard.from_records([(record("lr", 0, 0.6), None), (record("lr", 1, 0.8), None),
                                      (record("knn", 0, None, status="failed"), None)])
    logger.on_sweep_finished(sweep_dir=sweep_dir, leaderboard=board, config=config)
    (path,) = sweep_dir.glob("wandb/offline-run-*/run-*.wandb")
    return path


def test_missing_metrics_are_null_in_the_stored_table(tmp_path, offline):
    path = logged_board(offline, tmp_path / "sweep", {"study": "check"})
    rows = {row["method"]: row for row in read_table(path, "leaderboard")}
    assert rows["knn"]["n"] == 0 and rows["knn"]["failed"] == 1
    assert rows["knn"]["macro_f1_mean"] is None and rows["knn"]["accuracy_mean"] is None
    assert rows["lr"]["macro_f1_mean"] == pytest.approx(0.7)
    assert rows["lr"]["roc_auc_mean"] is None  # never computed for this cell
    numbers = [v for row in rows.values() for v in row.values()
               if isinstance(v, float) and not math.isnan(v)]
    assert -1.0 not in numbers
    runs = read_table(path, "runs")
    failed = next(row for row in runs if row["method"] == "knn")
    assert failed["macro_f1"] is None and failed["status"] == "failed"


def test_group_is_the_study_or_what_the_sweep_ran_on_not_its_start_time(tmp_path, offline):
    named = logged_board(offline, tmp_path / "2025-01-31_12-00-00-4242", {"study": "check"})
    assert finished_run(named)["group"] == "check"
    unnamed = logged_board(offline, tmp_path / "b" / "2025-01-31_12-00-00-4242", {})
    assert finished_run(unnamed)["group"] == "d-standard"
    chosen = logged_board(offline, tmp_path / "lr_vs_knn", {})
    assert finished_run(chosen)["group"] == "lr_vs_knn"


def test_group_name_rules():
    assert group_name("few_shot", [("d", "s")]) == "few_shot"
    assert group_name("12-00-00", [("d", "s")]) == "d-s"
    assert group_name("2025-01-31_12-00-00", [("b", "s"), ("a", "s"), ("a", "s")]) == "a-s+b-s"
