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
    assert "percentile-bootstrap interval over seeds" in report
    assert "anti-conservative" not in report  # 10 seeds
    assert "**Study caveat**: The paper used Bitcoin." in report
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


def _zero_shot_like(tmp_path, seeds=6, extra="", drop_records=False):
    """Four methods and the reference rows in two settings of mostly malicious test sets
    (constant F1 0.90, an all-malicious unseen slice), the shape of the zero-shot study.
    ``drop_records``: report from runs.csv alone, the per-job result.json files gone."""
    rng = np.random.default_rng(0)
    for unseen in ("phishing", "ponzi"):
        for seed in range(seeds):
            for model, base in (("lr", 0.95), ("dt", 0.93), ("knn", 0.91), ("shadoweyes", 0.85)):
                f1 = base + rng.normal(scale=0.01)
                record = _record(model, seed, f1, f1 - 0.1)
                record["config"]["scenario"]["unseen_class"] = unseen
                record["metrics"].update(constant_f1=0.9, balanced_accuracy=f1 - 0.05,
                                         mcc=f1 - 0.2)
                if model == "shadoweyes":  # predicts malicious for every row
                    record["metrics"].update(f1=0.9, balanced_accuracy=0.5, mcc=0.0)
                record["references"] = {
                    "majority": {"f1": 0.9, "constant_f1": 0.9, "balanced_accuracy": 0.5,
                                 "slices": {"unseen": {"accuracy": 1.0}}},
                    "stratified": {"f1": 0.6 + rng.normal(scale=0.01), "constant_f1": 0.9,
                                   "slices": {"unseen": {"accuracy": 0.6}}},
                    "probe": {"f1": 0.10 + rng.normal(scale=0.01), "constant_f1": 0.9,
                              "feature": "in_total", "slices": {"unseen": {"accuracy": 0.1}}}}
                write_result(tmp_path / "runs" / f"{unseen}-{model}{seed}", record)
    (tmp_path / "paper.csv").write_text(
        "setting,method,metric,value\nPhishing,LR,f1,80\nPhishing,DT,f1,95\n"
        "Phishing,LR,recall,70\nPonzi,LR,f1,85\n")
    study = tmp_path / "study.yaml"
    study.write_text("title: T\npaper: paper.csv\nmetric: [f1]\nsetting_key: unseen_class\n"
                     "settings: {phishing: Phishing, ponzi: Ponzi}\nmethods: {lr: LR, dt: DT}\n"
                     "also:\n  - {metric: unseen_slice_accuracy, paper_metric: recall}\n" + extra)
    if not drop_records:
        return write_report(study, [tmp_path / "runs"], tmp_path / "out").read_text()
    Leaderboard.from_dirs([tmp_path / "runs"]).write(tmp_path / "board")
    for record in (tmp_path / "runs").rglob("result.json"):
        record.unlink()
    return write_report(study, [tmp_path / "board" / "runs.csv"], tmp_path / "out").read_text()


def _section(report, heading):
    start = report.index(heading)
    end = report.find("\n## ", start + len(heading))
    return report[start:] if end < 0 else report[start:end]


def test_a_study_not_on_the_papers_data_shows_the_paper_without_a_difference(tmp_path):
    """The zero-shot study set Ethereum F1 beside the paper's Bitcoin F1 with a difference
    column that read as a gain of 15-25 points."""
    report = _zero_shot_like(tmp_path, extra="paper_comparable: false\n"
                             "paper_comparable_reason: the paper ran on Bitcoin, we on Ethereum.\n")
    for heading in ("## Beside the paper", "## `unseen_slice_accuracy` beside the paper's"):
        section = _section(report, heading)
        assert section.split("\n")[2] == ("Not comparable: the paper ran on Bitcoin, we on "
                                          "Ethereum.")
        assert "| paper setting | paper |\n" in section and "| difference |" not in section
    assert "| Phishing | 80.00 † |" in _section(report, "## Beside the paper")  # still shown
    for name in ("comparison.csv", "comparison_unseen_slice_accuracy.csv"):
        columns = pd.read_csv(tmp_path / "out" / name).columns
        assert "paper" in columns and "difference" not in columns


@pytest.mark.parametrize("keys, named", [
    ("paper_comparable: 'no'\n", "'paper_comparable' must be true or false"),
    ("paper_comparable: false\n", "'paper_comparable: false' needs 'paper_comparable_reason'"),
    ("paper_comparable_reason: [a]\n", "'paper_comparable_reason' must be a string")])
def test_paper_comparable_is_validated_naming_the_file_and_key(tmp_path, keys, named):
    study = tmp_path / "study.yaml"
    study.write_text("title: T\nmetric: [f1]\n" + keys)
    with pytest.raises(ConfigError, match=named) as error:
        StudySpec.load(study)
    assert str(study) in str(error.value)
    assert StudySpec.load(_write(tmp_path / "ok.yaml", "title: T\nmetric: [f1]\n")).paper_comparable


def _write(path, text):
    path.write_text(text)
    return path


def test_a_paper_f1_at_or_below_the_constant_classifier_is_footnoted(tmp_path):
    """Predicting malicious everywhere scores F1 90 here: a paper F1 of 80 or 85 is below doing
    nothing on this data, so ours - paper is no gain; the paper's 95 is above it."""
    beside = _section(_zero_shot_like(tmp_path), "## Beside the paper")
    assert "| Phishing | 80.00 † |" in beside and "| Ponzi | 85.00 † |" in beside
    assert "| Phishing | 95.00 |" in beside
    assert ("† at or below the F1 of predicting malicious for every row here" in beside)
    assert "| difference |" in beside  # comparable by default
    recall = _section(_zero_shot_like(tmp_path / "again"), "## `unseen_slice_accuracy`")
    assert "†" not in recall  # a recall is not an F1: no floor to compare with


def test_the_ranking_over_settings_leaves_out_reference_rows(tmp_path, monkeypatch):
    """Floors ranked beside the methods made Friedman's p 0.005 where the methods alone give
    0.057; the critical-difference diagram must rank the same methods as the sentence."""
    import framework.report as report_module

    drawn = []
    draw = report_module.critical_difference_png
    monkeypatch.setattr(report_module, "critical_difference_png",
                        lambda ranking, title: drawn.append(ranking) or draw(ranking, title))
    ranking = _section(_zero_shot_like(tmp_path), "## Ranking over all settings")
    assert "over 4 methods (reference rows `ref:*` left out" in ranking
    assert "and 2 settings" in ranking and "ref:probe` " not in ranking
    assert list(drawn[0]["ranks"].index) == ["lr", "dt", "knn", "shadoweyes"]


def test_the_row_tested_against_is_the_highest_mean_and_the_interval_is_named(tmp_path):
    report = _zero_shot_like(tmp_path)
    assert "**best**" not in report
    assert report.count("| **highest mean** (tested against) |") == 2  # one per setting
    assert report.count("Highest mean (among the methods with the most seeds): `lr`") == 2
    assert "| f1 [95 % bootstrap interval] |" in report
    assert "| vs highest mean (p Holm, p max-T) |" in report
    assert ("Beside each mean: its 95 % percentile-bootstrap interval over seeds" in report)
    assert ("At n = 6 seeds (fewer than 10) the bootstrap interval is anti-conservative"
            in report)


def test_rows_are_untestable_when_no_corrected_p_could_reach_alpha(tmp_path):
    """With 6 seeds Holm lifts the smallest Wilcoxon p (0.031) over 3 comparisons to 0.094: a
    reference 85 points below the highest mean was called "not distinguishable"."""
    report = _zero_shot_like(tmp_path)
    probe = next(line for line in report.splitlines() if line.startswith("| ref:probe |"))
    assert "| untestable at n = 6 (-8" in probe and "not distinguishable" not in probe
    assert "- not distinguishable from it with these seeds (neither better nor shown " \
           "equivalent): none." in report
    assert ("- untestable at n = 6 (no Holm-corrected p of its family could reach 5 % with these "
            "seeds, however large the difference): `dt`, `knn`, `shadoweyes`, `ref:majority`, "
            "`ref:probe`, `ref:stratified`.") in report
    significance = pd.read_csv(tmp_path / "out" / "significance.csv")
    assert set(significance["verdict"]) == {"untestable"}


def test_constant_predictors_are_checked_from_runs_csv_when_records_are_gone(tmp_path):
    """A committed runs.csv rebuilt elsewhere said "not checked" for every job; its balanced
    accuracy and MCC show a constant predictor (0.5 and 0) as well as its confusion matrix."""
    caveats = _section(_zero_shot_like(tmp_path, drop_records=True), "## Caveats")
    assert ("- **Constant predictor**: `shadoweyes` in unseen_class=phishing (6 of 6 seeds), "
            "`shadoweyes` in unseen_class=ponzi (6 of 6 seeds) predicted one class") in caveats
    assert "not checked" not in caveats
    assert ("- **Result records**: per-job `result.json` files are missing for 48 of 48 jobs "
            "(no longer where `runs.csv` says). 48 jobs were checked for a constant predictor "
            "from `runs.csv` instead") in caveats
    board = pd.read_csv(tmp_path / "board" / "runs.csv")
    board.loc[board["method"] == "shadoweyes", "balanced_accuracy"] = 0.7
    board.to_csv(tmp_path / "board" / "runs.csv", index=False)
    again = write_report(tmp_path / "study.yaml", [tmp_path / "board" / "runs.csv"],
                         tmp_path / "again").read_text()
    lowest = board.loc[board["kind"] == "method", "balanced_accuracy"].min()
    assert (f"- **Constant predictors**: none of 48 jobs is constant (lowest balanced accuracy "
            f"{lowest:.3f}, from `runs.csv`).") in again


def test_slice_tables_leave_out_the_class_balance_references(tmp_path):
    """ref:majority scored 100 on the unseen slice, above every method: on an all-malicious
    slice the accuracy is the recall, which predicting malicious everywhere maximises."""
    report = _zero_shot_like(tmp_path)
    slices = _section(report, "## `unseen_slice_accuracy` beside the paper's `recall`")
    assert ("The slice accuracy of an all-positive slice is its recall, and predicting positive "
            "for every row games it (`ref:majority` scores 100 where the majority class is "
            "malicious") in slices and "read it with balanced accuracy." in slices
    assert "| ref:majority |" not in slices and "| ref:stratified |" not in slices
    assert "| ref:probe |" in slices and "| lr |" in slices
    assert "| ref:majority |" in _section(report, "## Beside the paper")  # F1 table keeps it
