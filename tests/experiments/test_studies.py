"""Every study's quick profile runs end to end and writes its report (CI)."""

import pandas as pd
import pytest
from helpers import REPO, run_cli

STUDIES = ["zero_shot", "cross_platform", "imbalanced", "few_shot", "ablation", "ntssl"]


@pytest.mark.parametrize("study", STUDIES)
def test_quick_profile_runs_and_reports(study, tmp_path):
    study_file = REPO / "experiments" / study / "study.yaml"
    done = run_cli(["study", str(study_file), "--profile", "quick", "--out", str(tmp_path)],
                   tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (tmp_path / "quick" / "report.md").read_text()
    assert "Rows marked synthetic" in report and "wall time of the sweeps" in report
    assert (tmp_path / "quick" / "boxplot.png").read_bytes()[:4] == b"\x89PNG"
    table = pd.read_csv(tmp_path / "quick" / "comparison.csv")
    assert len(table) and (table["failed"] == 0).all() and (table["n"] >= 1).all()
    assert table["ours_mean"].between(0, 100).all()
    assert set(table["origin"]) == {"synthetic"}


def test_every_study_has_a_full_profile_with_five_seeds():
    import yaml

    for study in STUDIES:
        spec = yaml.safe_load((REPO / "experiments" / study / "study.yaml").read_text())
        for sweep in spec["profiles"]["full"]:
            assert "seed=0,1,2,3,4" in sweep, (study, sweep)
        paper = (REPO / "experiments" / study / spec["paper"]).resolve()
        assert paper.is_file(), paper
