import math
import os
import re
import stat

import pandas as pd
import pytest

from framework.errors import ConfigError, DataError
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


def test_a_slice_scored_against_the_negatives_adds_its_columns():
    record = result("lr", 0, 0.8)
    record["metrics"]["slices"] = {"unseen": {"accuracy": 0.9, "n": 10, "f1_vs_negatives": 0.7,
                                              "balanced_accuracy_vs_negatives": 0.8}}
    old = result("lr", 1, 0.8)
    old["metrics"]["slices"] = {"unseen": {"accuracy": 0.5, "n": 10}}  # recorded before them
    board = Leaderboard.from_records([(record, None), (old, None)])
    runs = board.runs.set_index("seed")
    assert runs.loc[0, "unseen_slice_f1_vs_negatives"] == 0.7
    assert runs.loc[0, "unseen_slice_balanced_accuracy_vs_negatives"] == 0.8
    assert pd.isna(runs.loc[1, "unseen_slice_f1_vs_negatives"])
    assert {"unseen_slice_accuracy", "unseen_slice_f1_vs_negatives",
            "unseen_slice_balanced_accuracy_vs_negatives"} <= set(board.metric_columns())


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


def write_record(directory, model, seed, f1, status="ok", commit="c0ffee", references=None):
    """A result.json as a job writes it, in ``directory``."""
    from framework.results import write_result

    record = result(model, seed, f1, status=status)
    record.update(schema_version=2, plugins={}, code_version={"git_commit": commit},
                  references=references or {})
    return write_result(directory, record)


def test_merging_two_sweeps_over_the_same_seeds_is_refused(tmp_path):
    for seed, f1 in enumerate([0.70, 0.80, 0.90]):
        write_record(tmp_path / "a" / str(seed), "lr", seed, f1)
    for seed, f1 in enumerate([0.71, 0.79]):
        write_record(tmp_path / "b" / str(seed), "lr", seed, f1)
    with pytest.raises(DataError) as refused:
        Leaderboard.from_dirs([tmp_path / "a", tmp_path / "b"])
    message = str(refused.value)
    assert "lr on d / standard" in message and "seed 0 " in message
    assert str(tmp_path / "a" / "0" / "result.json") in message
    assert str(tmp_path / "b" / "0" / "result.json") in message
    assert "1 more jobs are found twice" in message and "--keep" in message


def test_keep_first_or_last_says_which_copy_of_a_job_counts(tmp_path):
    for seed, f1 in enumerate([0.70, 0.80, 0.90]):
        write_record(tmp_path / "a" / str(seed), "lr", seed, f1)
    write_record(tmp_path / "b" / "0", "lr", 0, 0.10)
    dirs = [tmp_path / "a", tmp_path / "b"]
    first = Leaderboard.from_dirs(dirs, keep="first").methods.iloc[0]
    last = Leaderboard.from_dirs(dirs, keep="last").methods.iloc[0]
    assert (first["n"], first["seeds"], last["n"], last["seeds"]) == (3, "0 1 2", 3, "0 1 2")
    assert first["macro_f1_mean"] == pytest.approx(0.80)
    assert last["macro_f1_mean"] == pytest.approx((0.10 + 0.80 + 0.90) / 3)
    with pytest.raises(ConfigError, match="keep must be one of first, last"):
        Leaderboard.from_dirs(dirs, keep="newest")


def test_references_shared_by_the_jobs_of_one_seed_are_not_duplicates(tmp_path):
    majority = {"majority": {"macro_f1": 0.3, "accuracy": 0.5}}
    for model in ("lr", "rf"):
        write_record(tmp_path / model, model, 0, 0.8, references=majority)
    board = Leaderboard.from_dirs([tmp_path])
    reference = board.table[board.table["method"] == "ref:majority"].iloc[0]
    assert (reference["n"], reference["macro_f1_mean"]) == (1, pytest.approx(0.3))


def test_a_resumed_study_replaces_committed_rows_with_its_reruns(tmp_path):
    """Resume skips the jobs the committed runs.csv holds with status ok, so a job found both
    there and in a new sweep is a rerun (it failed, or its config changed): the rerun wins, a
    success over an old failure as much as a failure over an old success (the test above)."""
    write_record(tmp_path / "first" / "0", "lr", 0, 0.70)
    write_record(tmp_path / "first" / "1", "lr", 1, None, status="failed")
    Leaderboard.from_dirs([tmp_path / "first"]).write(tmp_path / "committed")
    committed = tmp_path / "committed" / "runs.csv"
    write_record(tmp_path / "resumed" / "1", "lr", 1, 0.90)
    board = Leaderboard.from_dirs([tmp_path / "resumed"], runs_files=[committed])
    row = board.methods.iloc[0]
    assert (row["n"], row["failed"], row["seeds"]) == (2, 0, "0 1")
    assert row["macro_f1_mean"] == pytest.approx(0.80)
    # A study resumed on the machine that ran it finds the first sitting's records again.
    again = Leaderboard.from_dirs([tmp_path / "first", tmp_path / "resumed"],
                                  runs_files=[committed], keep="last").methods.iloc[0]
    assert (again["n"], again["failed"]) == (2, 0)


def test_two_committed_runs_files_with_the_same_job_are_refused(tmp_path):
    write_record(tmp_path / "sweep" / "0", "lr", 0, 0.70)
    for name in ("one", "two"):
        Leaderboard.from_dirs([tmp_path / "sweep"]).write(tmp_path / name)
    files = [tmp_path / "one" / "runs.csv", tmp_path / "two" / "runs.csv"]
    with pytest.raises(DataError, match="in both .*one/runs.csv and .*two/runs.csv"):
        Leaderboard.from_dirs([], runs_files=files)


def test_leaderboard_command_refuses_a_double_merge_unless_told_which_to_keep(tmp_path, capsys):
    from framework.cli import main

    for folder, f1 in (("a", 0.70), ("b", 0.90)):
        write_record(tmp_path / folder / "0", "lr", 0, f1)
    dirs = [str(tmp_path / "a"), str(tmp_path / "b")]
    assert main(["leaderboard", *dirs]) == 2
    assert "lr on d / standard" in capsys.readouterr().err
    assert not (tmp_path / "a" / "leaderboard.csv").exists()
    assert main(["leaderboard", *dirs, "--keep", "last", "--out", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert f"chainsleuth leaderboard {dirs[0]} {dirs[1]} --metric macro_f1 --keep last" in page
    assert "0.9000 (n=1)" in page


def test_markdown_file_escapes_html_everywhere(tmp_path):
    records = [(result("<script>alert(1)</script>", s, 0.5 + s / 10,
                       overrides=["model=x", f"seed={s}", "model.note=<img src=x onerror=y>"]),
                None) for s in range(2)]
    text = Leaderboard.from_records(records).write(tmp_path)["md"].read_text()
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "&lt;img src=x" in text


def test_html_page_says_commit_date_command_seeds_and_origin(tmp_path):
    for seed in range(3):
        write_record(tmp_path / "real" / str(seed), "lr", seed, 0.8, commit="abc123")
    board = Leaderboard.from_dirs([tmp_path / "real"])
    page = board.to_html(command="chainsleuth leaderboard real")
    about = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page))
    assert about["Commit"] == "abc123"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", about["Generated"])
    assert about["Command"] == "chainsleuth leaderboard real"
    assert about["Seeds"].startswith("0 1 2") and about["Data origin"] == "synthetic"
    assert "<th>seeds</th>" in page and "<td>0 1 2</td>" in page
    unknown = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", Leaderboard.from_records(
        [(result("lr", 0, 0.5, origin="real"), None)]).to_html()))
    assert (unknown["Command"], unknown["Commit"], unknown["Data origin"]) == (
        "not recorded", "not recorded", "real")


def test_html_table_scrolls_inside_the_page_and_the_figure_fits_1400_px():
    records = [(result(f"model_with_a_long_name_{i}", s, 0.5 + i / 100), None)
               for i in range(25) for s in range(2)]
    board = Leaderboard.from_records(records)
    page = board.to_html()
    assert re.search(r"\.scroll\{overflow-x:auto", page) and "img{max-width:100%" in page
    assert "<div class='scroll'><table>" in page and "</table></div>" in page
    fig = board.distribution_figure()
    assert fig.get_figwidth() * 100 <= 1400


def test_figure_titles_are_whole_and_few_seeds_are_points_not_boxes():
    long_setting = {"name": "standard", "binary": False, "note": "x" * 150}
    records = []
    for model, seeds in (("lr", 3), ("rf", 6)):
        for seed in range(seeds):
            record = result(model, seed, 0.5 + seed / 100)
            record["config"]["scenario"] = long_setting
            records.append((record, None))
    fig = Leaderboard.from_records(records).distribution_figure()
    fig.draw_without_rendering()  # lays the figure out as saving it does
    (ax,) = fig.axes
    title = ax.title.get_window_extent()
    figure = fig.bbox
    assert title.x0 >= figure.x0 and title.x1 <= figure.x1 and title.y1 <= figure.y1
    assert "\n" in ax.get_title()
    points = [len(c.get_offsets()) for c in ax.collections]
    assert points == [3, 6]  # one point per seed in both cells
    medians = [line for line in ax.lines if len(line.get_xdata()) == 2
               and line.get_xdata()[0] != line.get_xdata()[1]
               and line.get_ydata()[0] == line.get_ydata()[1]]
    box_positions = {round(float(sum(line.get_xdata())) / 2) for line in medians}
    assert box_positions == {2}  # rf (6 seeds) has a box, lr (3 seeds) none


def test_leaderboard_files_keep_the_users_umask(tmp_path):
    board = Leaderboard.from_records([(result("lr", 0, 0.5), None)])
    previous = os.umask(0o022)
    try:
        shared = board.write(tmp_path / "shared")
        os.umask(0o077)
        private = board.write(tmp_path / "private")
    finally:
        os.umask(previous)
    assert {stat.S_IMODE(p.stat().st_mode) for p in shared.values()} == {0o644}
    assert {stat.S_IMODE(p.stat().st_mode) for p in private.values()} == {0o600}
