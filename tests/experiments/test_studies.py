"""Every study's quick profile runs end to end and writes its report (CI)."""

import json

import pandas as pd
import pytest
import yaml
from helpers import REPO, run_cli

STUDIES = ["zero_shot", "cross_platform", "imbalanced", "few_shot", "ablation", "ntssl",
           "ntssl_realistic"]


@pytest.mark.parametrize("study", STUDIES)
def test_quick_profile_runs_and_reports(study, tmp_path):
    study_file = REPO / "experiments" / study / "study.yaml"
    # One study runs its jobs in parallel workers as a user's would; the others run them in
    # one process (the test workers already share the two cores, and each joblib worker
    # imports the libraries again).
    jobs = "2" if study == "zero_shot" else "1"
    done = run_cli(["study", str(study_file), "--profile", "quick", "--out", str(tmp_path),
                    "--jobs", jobs], tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (tmp_path / "quick" / "report.md").read_text()
    assert "Rows marked synthetic" in report and "wall time of the sweeps" in report
    assert (tmp_path / "quick" / "boxplot.png").read_bytes()[:4] == b"\x89PNG"
    table = pd.read_csv(tmp_path / "quick" / "comparison.csv")
    assert len(table) and (table["failed"] == 0).all() and (table["n"] >= 1).all()
    assert table["ours_mean"].between(0, 100).all()
    assert set(table["origin"]) == {"synthetic"}
    assert report.index("## Caveats") < report.index("## Beside the paper")
    runs = pd.read_csv(tmp_path / "quick" / "runs.csv")
    assert {"ref:majority", "ref:stratified", "ref:probe"} <= set(runs["method"])
    assert (tmp_path / "quick" / "significance.csv").is_file()


def test_tuned_profile_gives_every_method_the_same_trials(tmp_path):
    study_file = REPO / "experiments" / "zero_shot" / "study.yaml"
    done = run_cli(["study", str(study_file), "--profile", "quick_tuned", "--out",
                    str(tmp_path), "--jobs", "1"], tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    budget = pd.read_csv(tmp_path / "quick_tuned" / "budget.csv").set_index("method")
    assert sorted(budget.index) == ["dt", "lr"]
    assert (budget["trials_per_search"] == 2).all() and (budget["tuning_cpu_s"] > 0).all()
    runs = pd.read_csv(tmp_path / "quick_tuned" / "runs.csv")
    jobs = runs[runs["kind"] == "method"]
    assert sorted(zip(jobs["method"], jobs["seed"])) == [("dt", 0), ("dt", 1),
                                                         ("lr", 0), ("lr", 1)]
    assert (jobs["variant"].str.split().str[0] == "tuned").all()
    lr = [json.loads(p.read_text()) for p in (tmp_path / "quick_tuned").glob("0-0/*/result.json")]
    tuning = tmp_path / "quick_tuned" / "tuning"
    for record in lr:  # each seed ran with the C its own search chose
        chosen = yaml.safe_load((tuning / f"0-0-seed{record['seed']}" /
                                 "optimization_results.yaml").read_text())["best_params"]
        assert record["config"]["model"]["C"] == pytest.approx(chosen["model.C"])
    report = (tmp_path / "quick_tuned" / "report.md").read_text()
    assert "Every method was tuned with the same number of trials per setting and seed" in report
    assert report.count("**highest mean**") == 1  # one reference row in the one setting
    # Trials never predicted a test row: each scored the inner validation split only.
    trials = [json.loads(p.read_text()) for p in (tmp_path / "quick_tuned" / "tuning").rglob(
        "result.json")]
    assert len(trials) == 8 and all(t["purpose"] == "tuning" for t in trials)  # 2x2 seeds x2
    for trial in trials:
        sizes = trial["task"]["sizes"]
        assert "tuning" in trial["task"]["notes"]
        assert abs(sizes["test"] - 0.25 * (sizes["train"] + sizes["test"])) <= 1


def test_every_study_has_a_full_profile_with_ten_seeds_outermost():
    for study in STUDIES:
        spec = yaml.safe_load((REPO / "experiments" / study / "study.yaml").read_text())
        for sweep in spec["profiles"]["full"]:
            assert sweep[0] == "seed=0,1,2,3,4,5,6,7,8,9", (study, sweep)
        paper = (REPO / "experiments" / study / spec["paper"]).resolve()
        assert paper.is_file(), paper
