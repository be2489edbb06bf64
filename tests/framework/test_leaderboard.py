import math

import pytest

from framework.errors import DataError
from framework.leaderboard import Leaderboard, variant_of


def result(model, seed, f1, status="ok", overrides=None, origin="synthetic"):
    return {"status": status, "seed": seed,
            "config": {"model": {"name": model}, "dataset": {"name": "d"},
                       "scenario": {"name": "standard", "binary": False}},
            "job": {"overrides": overrides or [f"model={model}", f"seed={seed}"]},
            "dataset": {"name": "d", "provenance": {"origin": origin}},
            "task": {"name": "standard"},
            "metrics": {"macro_f1": f1, "accuracy": f1} if status == "ok" else None,
            "error": {"message": "boom <b>"} if status != "ok" else None}


def test_mean_and_sample_std_match_hand_computation():
    board = Leaderboard.from_records([(result("lr", s, f), None)
                                      for s, f in enumerate([0.70, 0.80, 0.90])])
    row = board.table.iloc[0]
    assert row["n"] == 3
    assert row["macro_f1_mean"] == pytest.approx(0.80)
    # sample std of (0.7, 0.8, 0.9): sqrt(((0.1)^2 + 0 + (0.1)^2) / 2) = 0.1
    assert row["macro_f1_std"] == pytest.approx(0.1)


def test_failed_jobs_are_counted_not_averaged():
    board = Leaderboard.from_records([(result("lr", 0, 0.5), None), (result("lr", 1, 0.7), None),
                                      (result("lr", 2, None, status="failed"), None)])
    row = board.table.iloc[0]
    assert (row["n"], row["failed"]) == (2, 1)
    assert row["macro_f1_mean"] == pytest.approx(0.6)


def test_single_seed_has_no_spread():
    board = Leaderboard.from_records([(result("lr", 0, 0.5), None)])
    assert math.isnan(board.table.iloc[0]["macro_f1_std"])
    assert "(n=1)" in board.to_text()


def test_rows_sorted_by_score_and_split_by_variant():
    records = [(result("lr", s, 0.6), None) for s in range(2)]
    records += [(result("rf", s, 0.9, overrides=["model=rf", f"seed={s}", "model.max_depth=3"]),
                 None) for s in range(2)]
    board = Leaderboard.from_records(records)
    assert list(board.table["method"][:2]) == ["rf", "lr"]
    assert list(board.table["variant"]) == ["model.max_depth=3", "-"]


def test_variant_ignores_coordinates_and_infrastructure():
    assert variant_of(["seed=1", "model=lr", "hydra.launcher=joblib", "trainer.devices=1",
                       "model.C=0.1", "dataset.days=3", "augmentation=feature_mask"]) == (
        "augmentation=feature_mask model.C=0.1")


def test_dataset_parameters_label_the_dataset():
    records = [(result("lr", 0, 0.5, overrides=["model=lr", "seed=0", "dataset.days=3"]), None),
               (result("lr", 0, 0.7), None)]
    board = Leaderboard.from_records(records)
    assert sorted(board.table["dataset"]) == ["d", "d[days=3]"]


def test_html_is_self_contained_and_escaped(tmp_path):
    board = Leaderboard.from_records([(result("<script>", 0, 0.5), None),
                                      (result("<script>", 1, None, status="failed"), None)])
    page = board.to_html()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "boom &lt;b&gt;" in page
    assert "data:image/png;base64," in page
    assert "synthetic" in page
    paths = board.write(tmp_path)
    assert paths["csv"].read_text().startswith("dataset,scenario,setting,method,variant,origin")


def test_no_results_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no result records"):
        Leaderboard.from_dirs([tmp_path])


def test_slice_accuracy_is_a_column_beside_the_metrics():
    records = []
    for seed, share in enumerate([0.5, 0.7]):
        record = result("lr", seed, 0.8)
        record["metrics"]["slices"] = {"unseen": {"accuracy": share, "n": 10}}
        records.append((record, None))
    board = Leaderboard.from_records(records)
    row = board.table.iloc[0]
    assert row["unseen_slice_accuracy_mean"] == pytest.approx(0.6)
    assert "unseen_slice_accuracy" in board.metric_columns()
    assert "unseen_slice_accuracy" in board.to_markdown()


def test_unreadable_records_are_skipped_with_a_warning(tmp_path):
    from framework.results import is_complete, write_result

    good = result("lr", 0, 0.5)
    good.update(schema_version=2, plugins={}, code_version={}, job={"overrides": ["model=lr"]})
    write_result(tmp_path / "ok", good)
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "result.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "folder" / "result.json").mkdir(parents=True)
    with pytest.warns(UserWarning, match="skipped .*binary/result.json"):
        board = Leaderboard.from_dirs([tmp_path])
    assert list(board.methods["method"]) == ["lr"]
    assert not is_complete(tmp_path / "binary", ["model=lr"])
    assert not is_complete(tmp_path / "folder", ["model=lr"])


def test_training_length_is_a_variant_and_tuned_parameters_are_not():
    assert variant_of(["model=mlp", "trainer.max_epochs=2"]) == "trainer.max_epochs=2"
    assert variant_of(["model=lr", "tune.best_by_seed={\"0\": {\"model.C\": 3}}"]) == "tuned"


def test_a_newer_failure_is_not_hidden_behind_an_older_success(tmp_path):
    from framework.results import write_result

    Leaderboard.from_records([(result("lr", 0, 0.9), None)]).write(tmp_path / "old")
    failed = result("lr", 0, None, status="failed")
    failed.update(schema_version=2, plugins={}, code_version={})
    write_result(tmp_path / "new" / "0", failed)
    board = Leaderboard.from_dirs([tmp_path / "new"], runs_files=[tmp_path / "old" / "runs.csv"])
    row = board.methods.iloc[0]
    assert row["n"] == 0 and row["failed"] == 1
