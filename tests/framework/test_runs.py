"""runs.csv: one row per job with every metric; resuming from a committed file skips exactly
the jobs it holds; damaged or foreign files are clear errors."""

import json

import pandas as pd
import pytest
from helpers import FAST, TINY_SIM, make_config, run_cli

from framework.account_schema import ATTRIBUTE_NAMES
from framework.errors import DataError
from framework.leaderboard import Leaderboard
from framework.metrics import SCALAR_METRICS
from framework.runner import JobInfo, run_job
from framework.runs import REQUIRED_COLUMNS, CommittedRuns, read_runs
from framework.study import check_resume_file

NEW_KEYS = ("balanced_accuracy", "mcc", "roc_auc", "pr_auc", "prevalence", "constant_f1")


def job(tmp_path, overrides, name, extra=()):
    cfg = make_config([*TINY_SIM, *FAST, *overrides, *extra], tmp_path)
    return run_job(cfg, JobInfo(output_dir=tmp_path / name, overrides=list(overrides)))


def test_result_has_the_new_metrics_and_references(tmp_path):
    record = job(tmp_path, ["model=lr", "scenario.binary=true"], "a")
    on_disk = json.loads((tmp_path / "a" / "result.json").read_text())
    assert set(NEW_KEYS) <= set(on_disk["metrics"])
    assert on_disk["schema_version"] == 2 and len(on_disk["config_hash"]) == 64
    assert on_disk["cell"]["method"] == "lr" and on_disk["cell"]["scenario"] == "standard"
    assert set(on_disk["references"]) == {"majority", "stratified", "probe"}
    assert on_disk["references"]["probe"]["feature"] in ATTRIBUTE_NAMES
    assert on_disk["references"]["majority"]["balanced_accuracy"] == pytest.approx(0.5)
    assert record["timings"]["cpu_s"] > 0


def test_resume_from_skips_exactly_the_committed_jobs(tmp_path):
    records = [(job(tmp_path, ["model=lr", f"seed={s}"], f"first/{s}"), None) for s in (0, 1)]
    committed = tmp_path / "runs.csv"
    Leaderboard.from_records(records).write(tmp_path / "board")
    runs = read_runs(tmp_path / "board" / "runs.csv")
    runs[~((runs["kind"] == "method") & (runs["seed"] == 1))].to_csv(committed, index=False)
    resume = [f"resume_from={committed}"]
    assert job(tmp_path, ["model=lr", "seed=0"], "again/0", resume)["status"] == "skipped"
    assert job(tmp_path, ["model=lr", "seed=1"], "again/1", resume)["status"] == "ok"
    assert job(tmp_path, ["model=dt", "seed=0"], "again/2", resume)["status"] == "ok"
    # Same overrides, but a default changed: the committed row is stale, the job reruns.
    changed = job(tmp_path, ["model=lr", "seed=0"], "again/3", [*resume, "model.C=0.25"])
    assert changed["status"] == "ok"
    assert not (tmp_path / "again" / "0" / "result.json").exists()


def test_sweep_writes_runs_csv_with_one_row_per_job_and_every_metric(tmp_path):
    sweep = tmp_path / "sweep"
    done = run_cli(["run", "-m", "model=lr,dt", "seed=0,1", "scenario.binary=true",
                    f"hydra.sweep.dir={sweep}", *TINY_SIM], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    runs = read_runs(sweep / "runs.csv")
    jobs = runs[runs["kind"] == "method"]
    assert sorted(zip(jobs["method"], jobs["seed"])) == [("dt", 0), ("dt", 1), ("lr", 0),
                                                         ("lr", 1)]
    assert set(SCALAR_METRICS) <= set(runs.columns)
    assert jobs[list(NEW_KEYS)].notna().all().all()
    refs = runs[runs["kind"] == "reference"]
    assert sorted(set(refs["method"])) == ["ref:majority", "ref:probe", "ref:stratified"]
    assert len(refs) == 3 * 2  # one per reference and seed, not per job
    # Resume a second sweep from it, after losing one job's row: only that job runs.
    committed = tmp_path / "committed.csv"
    runs[~((runs["method"] == "dt") & (runs["seed"] == 1))].to_csv(committed, index=False)
    again = tmp_path / "again"
    done = run_cli(["run", "-m", "model=lr,dt", "seed=0,1", "scenario.binary=true",
                    f"hydra.sweep.dir={again}", f"resume_from={committed}", *TINY_SIM], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    ran = [json.loads(p.read_text()) for p in again.rglob("result.json")]
    assert [(r["cell"]["method"], r["seed"]) for r in ran] == [("dt", 1)]


def test_a_runs_file_that_lost_columns_is_a_clear_error(tmp_path):
    damaged = tmp_path / "runs.csv"
    pd.DataFrame({"dataset": ["d"], "seed": [0]}).to_csv(damaged, index=False)
    with pytest.raises(DataError, match="lacks the columns .*config_hash"):
        read_runs(damaged)
    with pytest.raises(DataError, match="no such runs file"):
        read_runs(tmp_path / "missing.csv")


def test_resume_from_another_study_or_config_is_refused(tmp_path):
    row = {c: "x" for c in REQUIRED_COLUMNS}
    other = tmp_path / "other.csv"
    pd.DataFrame([{**row, "study": "few_shot", "kind": "method"}]).to_csv(other, index=False)
    with pytest.raises(DataError, match="study \\['few_shot'\\], not 'zero_shot'"):
        check_resume_file(CommittedRuns.load(other), "zero_shot", ["model=lr"], [])
    stale = tmp_path / "stale.csv"
    overrides = json.dumps(sorted(["model=lr", "seed=0", "study=zero_shot"]))
    pd.DataFrame([{**row, "study": "zero_shot", "kind": "method", "status": "ok",
                   "overrides": overrides, "config_hash": "0" * 64}]).to_csv(stale, index=False)
    with pytest.raises(DataError, match="another configuration"):
        check_resume_file(CommittedRuns.load(stale), "zero_shot", ["model=lr", "seed=0,1"], [])


def test_unknown_metric_is_a_clear_error(tmp_path):
    record = job(tmp_path, ["model=lr"], "a")
    with pytest.raises(Exception, match="unknown metric 'f2'; choose one of: macro_f1"):
        Leaderboard.from_records([(record, None)], metric="f2")
    board = Leaderboard.from_records([(record, None)], metric="balanced_accuracy")
    assert board.metric_columns()[0] == "balanced_accuracy"
