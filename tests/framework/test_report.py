"""Study reports: ours beside the paper, including further comparisons (``also``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from framework.errors import ConfigError
from framework.leaderboard import Leaderboard
from framework.report import StudySpec, write_report
from framework.results import SCHEMA_VERSION, write_result


def _record(model, seed, f1, unseen):
    return {"schema_version": SCHEMA_VERSION, "status": "ok", "seed": seed, "plugins": {},
            "code_version": {"git_commit": "test"},
            "config": {"model": {"name": model}, "dataset": {"name": "d"},
                       "scenario": {"name": "zero_shot", "unseen_class": "phishing"}},
            "job": {"overrides": [f"model={model}", f"seed={seed}"]},
            "dataset": {"name": "d", "provenance": {"origin": "real"}},
            "task": {"name": "zero_shot"},
            "metrics": {"f1": f1, "macro_f1": f1, "slices": {"unseen": {"accuracy": unseen}}}}


def test_report_compares_the_main_metric_and_each_further_one(tmp_path):
    for seed, (f1, unseen) in enumerate([(0.8, 0.6), (0.9, 0.7)]):
        write_result(tmp_path / "runs" / str(seed), _record("lr", seed, f1, unseen))
    (tmp_path / "paper.csv").write_text("setting,method,metric,value\n"
                                        "Phishing,LR,f1,80\nPhishing,LR,recall,70\n")
    study = tmp_path / "study.yaml"
    study.write_text("title: T\npaper: paper.csv\nmetric: [f1]\npaper_metric: f1\n"
                     "setting_key: unseen_class\nsettings: {phishing: Phishing}\n"
                     "methods: {lr: LR}\n"
                     "also:\n  - {metric: unseen_slice_accuracy, paper_metric: recall}\n")
    report = write_report(study, [tmp_path / "runs"], tmp_path / "out").read_text()
    main = pd.read_csv(tmp_path / "out" / "comparison.csv")
    further = pd.read_csv(tmp_path / "out" / "comparison_unseen_slice_accuracy.csv")
    assert main.loc[0, "ours_mean"] == pytest.approx(85.0)
    assert main.loc[0, "difference"] == pytest.approx(5.0)
    assert further.loc[0, "ours_mean"] == pytest.approx(65.0)
    assert further.loc[0, "difference"] == pytest.approx(-5.0)
    assert "`unseen_slice_accuracy` beside the paper's `recall`" in report


def test_an_incomplete_further_comparison_is_named(tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text("title: T\nmetric: [f1]\nalso:\n  - {metric: f1}\n")
    with pytest.raises(ConfigError, match="paper_metric"):
        StudySpec.load(study).further()


def test_numeric_settings_are_ordered_by_value(tmp_path):
    """Few-shot label counts: 10, 20, 100 - not the text order 10, 100, 20."""
    for n, n_labels in enumerate([100, 10, 20]):
        record = _record("lr", n, 0.9, 0.5)
        record["config"]["scenario"] = {"name": "few_shot", "n_labels": n_labels}
        record["job"]["overrides"].append(f"scenario.n_labels={n_labels}")
        write_result(tmp_path / "runs" / str(n), record)
    study = tmp_path / "study.yaml"
    study.write_text("title: T\nmetric: [f1]\nsetting_key: n_labels\nmethods: {lr: LR}\n")
    write_report(study, [tmp_path / "runs"], tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert table["setting"].astype(str).tolist() == ["10", "20", "100"]


def test_report_opens_with_caveats_and_writes_the_tests(tmp_path):
    """Caveats first (data, floor, paper differences), then per-setting intervals and paired
    verdicts generated from significance.csv; a critical-difference diagram over settings."""
    rng = np.random.default_rng(0)
    for seed in range(10):
        for model, base in (("lr", 0.9), ("dt", 0.7), ("knn", 0.89)):
            record = _record(model, seed, base + rng.normal(scale=0.005), 0.5)
            record["metrics"].update(prevalence=0.8, constant_f1=2 * 0.8 / 1.8,
                                     balanced_accuracy=base - 0.1)
            write_result(tmp_path / "runs" / f"{model}{seed}", record)
    study = tmp_path / "study.yaml"
    study.write_text("title: T\nmetric: [f1]\nsetting_key: unseen_class\nmethods: {lr: LR}\n"
                     "caveats: ['The paper used Bitcoin.']\n")
    report = write_report(study, [tmp_path / "runs"], tmp_path / "out").read_text()
    assert report.index("## Caveats") < report.index("## Results per setting")
    assert "predicting *malicious* for every row scores F1 88.9" in report
    assert "**Differs from the paper**: The paper used Bitcoin." in report
    significance = pd.read_csv(tmp_path / "out" / "significance.csv")
    assert set(significance.columns) >= {"setting", "method_a", "method_b", "metric",
                                         "mean_diff", "ci_low", "ci_high", "p_value", "p_holm"}
    dt = significance.set_index("method_a").loc["dt"]
    assert dt["method_b"] == "lr" and dt["verdict"] == "below" and dt["test"] == "wilcoxon"
    assert "significantly below it: `dt`" in report
    assert "Not drawn: a Friedman test needs at least two settings" in report  # one setting
    # Rebuilt from runs.csv alone, the report says the same.
    Leaderboard.from_dirs([tmp_path / "runs"]).write(tmp_path / "board")
    again = write_report(study, [tmp_path / "board" / "runs.csv"], tmp_path / "again")
    assert "significantly below it: `dt`" in again.read_text()


def test_caveats_name_the_data_variant_and_a_knn_fallback(tmp_path):
    """The audit found TxGraph on a kNN fallback in every study, unsaid: the first lines say it."""
    graphs = {"rf": {"name": "txgraph", "graph": "knn"},
              "dt": {"name": "txgraph", "graph": "interaction", "nodes": 900, "edges": 1200}}
    for model, representation in graphs.items():
        for seed in range(2):
            record = _record(model, seed, 0.5 + seed / 10, 0.5)
            record["config"]["dataset"] = {"name": "d", "harmonise": True, "path": "/secret/x"}
            record["model"] = {"name": model, "representation": representation}
            write_result(tmp_path / "runs" / f"{model}{seed}", record)
    study = tmp_path / "study.yaml"
    study.write_text("title: T\nmetric: [f1]\nsetting_key: unseen_class\n"
                     "settings: {phishing: Phishing}\nmethods: {rf: RF, dt: DT}\n")
    report = write_report(study, [tmp_path / "runs"], tmp_path / "out").read_text()
    caveats = report[:report.index("## ", report.index("## Caveats") + 3)]
    assert "- **Dataset variant** (every parameter, defaults included): `d: harmonise=true`" in caveats
    assert "/secret/x" not in report
    assert "- **Graph: kNN fallback** for `rf`" in caveats
    assert "- **Graph** for `dt`: interaction 900 nodes 1200 edges." in caveats


def test_a_time_reference_near_the_best_method_is_a_shortcut_warning(tmp_path):
    for seed in range(2):
        record = _record("lr", seed, 0.80, 0.5)
        record["references"] = {
            "probe": {"f1": 0.55, "macro_f1": 0.55, "feature": "noise"},
            "time": {"f1": 0.95, "macro_f1": 0.95, "feature": "time of first activity"}}
        write_result(tmp_path / "runs" / str(seed), record)
    study = tmp_path / "study.yaml"
    study.write_text("title: T\nmetric: [f1]\nsetting_key: unseen_class\n"
                     "settings: {phishing: Phishing}\nmethods: {lr: LR}\n")
    report = write_report(study, [tmp_path / "runs"], tmp_path / "out").read_text()
    caveats = report[:report.index("## ", report.index("## Caveats") + 3)]
    warning = next(line for line in caveats.splitlines() if line.startswith("- **Shortcut**"))
    assert "(time of first activity ×2) scores 0.9500 f1" in warning
    assert "above the best method (lr, 0.8000)" in warning
    assert "solvable by that one date, not by behaviour" in warning
    assert "(noise)" not in caveats


def _synthetic_study(tmp_path, origins=("synthetic",)):
    """Three methods over two settings and three seeds; shadoweyes predicts one class (as the
    few-shot quick profile's did at n = 10). Each origin is a dataset of its own."""
    rng = np.random.default_rng(0)
    for origin in origins:
        dataset = "chain_sim" if origin == "synthetic" else "ethereum_txs"
        for unseen in ("phishing", "ponzi"):
            for seed in range(3):
                for model, base in (("lr", 0.8), ("dt", 0.7), ("shadoweyes", 0.0)):
                    record = _record(model, seed, base + rng.normal(scale=0.01), 0.5)
                    record["config"]["dataset"]["name"] = dataset
                    record["config"]["scenario"]["unseen_class"] = unseen
                    record["dataset"] = {"name": dataset, "provenance": {"origin": origin}}
                    record["metrics"]["confusion_matrix"] = {
                        "labels": ["benign", "malicious"],
                        "matrix": [[9, 0], [4, 0]] if model == "shadoweyes" else [[8, 1], [1, 3]]}
                    write_result(tmp_path / "runs" / f"{dataset}-{unseen}-{model}{seed}", record)
    (tmp_path / "paper.csv").write_text("setting,method,metric,value\nPhishing,LR,f1,80\n"
                                        "Phishing,ShadowEyes,f1,90\nPonzi,LR,f1,70\n")
    study = tmp_path / "study.yaml"
    study.write_text("title: Table V (zero-shot)\npaper: paper.csv\nmetric: [f1]\n"
                     "setting_key: unseen_class\nsettings: {phishing: Phishing, ponzi: Ponzi}\n"
                     "methods: {lr: LR, shadoweyes: ShadowEyes}\n")
    return study


def test_a_synthetic_report_says_so_in_its_title_and_every_figure(tmp_path, monkeypatch):
    """The few-shot quick report was titled 'on ethereum_txs', ran on chain_sim and showed a
    difference column against the paper."""
    from matplotlib.figure import Figure

    titles = []
    save = Figure.savefig

    def recording(figure, *args, **kwargs):
        titles.append(" ".join([figure._suptitle.get_text() if figure._suptitle else "",
                                *(ax.get_title() for ax in figure.axes)]))
        return save(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recording)
    study = _synthetic_study(tmp_path)
    report = write_report(study, [tmp_path / "runs"], tmp_path / "out",
                          {"profile": "quick"}).read_text()
    assert report.splitlines()[0] == ("# Table V (zero-shot) on chain_sim (SYNTHETIC smoke "
                                      "test, not a reproduction)")
    pngs = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert pngs == ["boxplot.png", "critical_difference.png"]  # no ours-vs-paper bars
    assert len(titles) == len(pngs) and all("SYNTHETIC" in t.replace("\n", " ")
                                            for t in titles), titles
    beside = report[report.index("## Beside the paper"):]
    assert "Not shown: every number in this report was computed on synthetic data" in beside
    assert "| difference |" not in report and "ours - paper" not in report
    assert "| paper" not in report and "ours_vs_paper" not in report
    comparison = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert not {"paper", "paper_setting", "paper_method", "difference"} & set(comparison.columns)
    caveats = report[:report.index("## How this report was made")]
    assert "- **Smoke test**:" in caveats
    assert ("- **Constant predictor**: `shadoweyes` in unseen_class=phishing (3 of 3 seeds), "
            "`shadoweyes` in unseen_class=ponzi (3 of 3 seeds) predicted one class") in caveats
    assert "| shadoweyes (**constant predictor** in 3 of 3 seeds) |" in report
    assert "| lr |" in report  # a method that predicts both classes is not flagged


def test_a_partly_synthetic_report_compares_only_its_real_rows(tmp_path):
    study = _synthetic_study(tmp_path, origins=("synthetic", "real"))
    report = write_report(study, [tmp_path / "runs"], tmp_path / "out").read_text()
    assert report.splitlines()[0] == ("# Table V (zero-shot) on chain_sim, ethereum_txs "
                                      "(partly SYNTHETIC: chain_sim is simulated)")
    comparison = pd.read_csv(tmp_path / "out" / "comparison.csv")
    synthetic = comparison[comparison["origin"] == "synthetic"]
    real = comparison[comparison["origin"] == "real"].set_index(["setting", "method"])
    assert synthetic["paper"].isna().all() and synthetic["difference"].isna().all()
    assert real.loc[("phishing", "lr"), "paper"] == 80
    beside = report[report.index("## Beside the paper"):]
    assert "Rows computed on synthetic data are left out" in beside
    assert "| chain_sim" not in beside and "| ethereum_txs | real | phishing | lr |" in beside
    assert (tmp_path / "out" / "ours_vs_paper.png").is_file()


def test_a_real_report_names_its_data_and_keeps_the_paper_comparison(tmp_path):
    study = _synthetic_study(tmp_path, origins=("real",))
    report = write_report(study, [tmp_path / "runs"], tmp_path / "out").read_text()
    assert report.splitlines()[0] == "# Table V (zero-shot) on ethereum_txs"
    assert "SYNTHETIC" not in report and "Smoke test" not in report
    assert "| paper setting | paper | difference |" in report
    assert "**Constant predictor**: `shadoweyes`" in report  # flagged on any data


def test_a_report_from_runs_csv_alone_says_which_jobs_it_could_not_check(tmp_path):
    study = _synthetic_study(tmp_path)
    Leaderboard.from_dirs([tmp_path / "runs"]).write(tmp_path / "board")
    for record in (tmp_path / "runs").rglob("result.json"):
        record.unlink()  # a committed runs.csv on another machine
    report = write_report(study, [tmp_path / "board" / "runs.csv"], tmp_path / "out").read_text()
    assert "- **Constant predictors**: 18 of 18 jobs not checked" in report


def test_a_full_study_on_simulated_data_is_synthetic_but_no_smoke_test(tmp_path):
    """NTSSL's full study runs on a simulated relay network: a simulation study, not a smoke
    test, and still never set beside the paper's numbers."""
    study = _synthetic_study(tmp_path)
    report = write_report(study, [tmp_path / "runs"], tmp_path / "out",
                          {"profile": "full"}).read_text()
    assert report.splitlines()[0] == ("# Table V (zero-shot) on chain_sim (SYNTHETIC: "
                                      "simulated data, not a reproduction)")
    assert "Smoke test" not in report and "| difference |" not in report
