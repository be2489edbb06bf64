"""Study reports: caveats first, then what the paired tests support, then the paper's numbers.

A report is written for a hostile reader. It opens with its caveats: the data (real or
synthetic, which variant), any single-feature shortcut the reference probe found, the score of
the constant "all malicious" classifier for binary settings, and what differs from the paper
(``caveats:`` in the study file). Then, per setting, every method and reference row with its
95 % percentile-bootstrap interval over seeds and its verdict against the method with the
highest mean from paired, Holm-corrected tests (:mod:`framework.statistics`); the prose says
"below" or "equivalent" only where a test does, and "untestable" where no test could (too few
seeds for the correction). The ranking over settings (Friedman) is over methods only. Last,
our numbers beside the paper's: a paper F1 at or below our constant classifier's is marked
(ours - paper is no gain there), and a study whose data is not the paper's
(``paper_comparable: false``) shows the paper's numbers for orientation, without a difference.

**Synthetic data is no reproduction.** A quick profile runs on the ``chain_sim`` simulator in
minutes, and its report once read like the paper's table ("on ethereum_txs", a *difference*
column, ShadowEyes at F1 0.00). So the title names the data that actually ran (the study's
``title`` names the experiment only) and says SYNTHETIC when it was; so does every figure; no
synthetic number is set beside the paper's; and any method that predicted one class for every
test row is flagged as a constant predictor, on any data.

A study file (``experiments/<study>/study.yaml``) says where the paper's numbers are (a CSV of
``setting,method,metric,value``, in percent) and how our cells map onto theirs::

    title: ShadowEyes Table V (zero-shot)   # the report adds "on <data that ran>"
    paper: ../paper_numbers/shadoweyes_table5_zero_shot.csv
    metric: [f1, macro_f1]  # our metric: the first one a cell has (f1 = positive-class F1)
    paper_metric: f1        # the paper's metric name in the CSV
    setting_key: unseen_class   # the scenario parameter that is the paper's setting
                                # ("dataset": the dataset label, e.g. chain_sim->ethereum_txs)
    settings: {phishing: Phishing, ponzi: Ponzi Scheme}   # ours -> theirs (others: no peer)
    methods: {cnn: CNN, rf_txgraph: ABGRL, shadoweyes: ShadowEyes, ...}
    also:                   # further comparisons, each its own table (optional)
      - {metric: unseen_slice_accuracy, paper_metric: recall}
    caveats: ["The paper's data is Bitcoin; ours is Ethereum."]   # what differs from the paper
    paper_comparable: false     # optional (default true): our data is not the paper's, so the
    paper_comparable_reason: "Bitcoin in the paper, Ethereum here"   # tables drop *difference*

The report is Markdown (``report.md``) plus PNG figures: the per-method distribution of the
metric over every run of the study (the paper's Fig. 9 box plot) and ours-vs-paper bars.
Every row says whether our number comes from synthetic data.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from framework.errors import ConfigError, DataError
from framework.leaderboard import REFERENCE_PREFIX, SHORTCUT_MARGIN, SLICE_SUFFIX, Leaderboard
from framework.record import Cell
from framework.results import atomic_output, find_results, read_result, write_atomic
from framework.runs import CELL_KEYS
from framework.statistics import (ALPHA, EQUIVALENCE_MARGIN, cell_intervals, compare_to_best,
                                  critical_difference_png, friedman_nemenyi, holm_floor,
                                  label_of, smallest_p)


SYNTHETIC = "synthetic"
# Columns of the comparison that set our number beside the paper's.
PAPER_COLUMNS = ["paper_setting", "paper_method", "paper", "difference"]
# A paper F1 at or below our constant classifier's: ours - paper there is no gain.
FLOOR_MARK = "†"
FLOOR_NOTE = "at or below the F1 of predicting malicious for every row here"
# References that score a slice's accuracy by the class balance alone (ref:majority is 100 on
# an all-malicious slice when most test rows are malicious): left out of slice tables.
BALANCE_REFERENCES = (f"{REFERENCE_PREFIX}majority", f"{REFERENCE_PREFIX}stratified")
# The row every other row of a setting is tested against: the highest mean, not a proven best.
TESTED_AGAINST = "**highest mean** (tested against)"
# Below this many seeds a percentile-bootstrap interval of the mean is too narrow.
SMALL_BOOTSTRAP_N = 10


@dataclass
class StudySpec:
    title: str
    paper: Path | None
    metric: list[str]
    paper_metric: str
    setting_key: str | None
    settings: dict[str, str]
    methods: dict[str, str]
    also: list[dict[str, str]] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    paper_comparable: bool = True
    paper_comparable_reason: str | None = None

    @classmethod
    def load(cls, path: Path) -> StudySpec:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DataError(f"{path}: not a readable study file ({exc})") from exc
        missing = [k for k in ("title", "metric") if k not in raw]
        if missing:
            raise ConfigError(f"{path}: study file lacks {missing}")
        comparable = raw.get("paper_comparable", True)
        if not isinstance(comparable, bool):
            raise ConfigError(f"{path}: 'paper_comparable' must be true or false, got "
                              f"{comparable!r}")
        reason = raw.get("paper_comparable_reason")
        if reason is not None and not isinstance(reason, str):
            raise ConfigError(f"{path}: 'paper_comparable_reason' must be a string, got "
                              f"{reason!r}")
        if not comparable and not (reason or "").strip():
            raise ConfigError(f"{path}: 'paper_comparable: false' needs "
                              f"'paper_comparable_reason' (the report opens its paper "
                              f"comparison with it)")
        paper = raw.get("paper")
        metrics = raw["metric"] if isinstance(raw["metric"], list) else [raw["metric"]]
        return cls(title=raw["title"], paper=(Path(path).parent / paper) if paper else None,
                   metric=metrics, paper_metric=raw.get("paper_metric", "f1"),
                   setting_key=raw.get("setting_key"), settings=dict(raw.get("settings") or {}),
                   methods=dict(raw.get("methods") or {}),
                   also=[dict(a) for a in raw.get("also") or []],
                   caveats=[str(c) for c in raw.get("caveats") or []],
                   paper_comparable=comparable, paper_comparable_reason=reason)

    def further(self) -> list[StudySpec]:
        """One spec per ``also`` comparison (its metric against its paper metric)."""
        out = []
        for item in self.also:
            if "metric" not in item or "paper_metric" not in item:
                raise ConfigError(f"study '{self.title}': each 'also' entry needs metric and "
                                  f"paper_metric, got {item}")
            out.append(replace(self, metric=[item["metric"]], paper_metric=item["paper_metric"],
                               also=[]))
        return out


def _setting_value(setting: str, key: str | None) -> str:
    if key is None:
        return setting
    for part in setting.split(","):
        name, _, value = part.partition("=")
        if name == key:
            return value
    return setting


def compare(board: Leaderboard, spec: StudySpec) -> pd.DataFrame:
    """One row per (dataset, setting, method): ours (mean, std, n) and the paper's number."""
    unknown = [m for m in spec.metric if f"{m}_mean" not in board.table]
    if unknown:
        raise ConfigError(f"study metrics {unknown} are not leaderboard metrics")
    paper = pd.DataFrame(columns=["setting", "method", "metric", "value"])
    if spec.paper is not None:
        try:
            paper = pd.read_csv(spec.paper, dtype={"setting": str})
        except (OSError, pd.errors.ParserError) as exc:
            raise DataError(f"{spec.paper}: cannot read the paper's numbers ({exc})") from exc
        paper = paper[paper["metric"] == spec.paper_metric]
    lookup = {(str(r.setting), r.method): r.value for r in paper.itertuples()}
    rows = []
    for r in board.table.itertuples():
        ours_setting = (r.dataset.split("[")[0] if spec.setting_key == "dataset"
                        else _setting_value(r.setting, spec.setting_key))
        theirs_setting = spec.settings.get(ours_setting, ours_setting if not spec.settings else None)
        theirs_method = spec.methods.get(r.method)
        value = lookup.get((str(theirs_setting), theirs_method)) if theirs_setting else None
        if r.origin == SYNTHETIC:  # simulated data has no published counterpart
            theirs_setting, theirs_method, value = None, None, None
        metric = next((m for m in spec.metric if not pd.isna(getattr(r, f"{m}_mean"))),
                      spec.metric[0])
        mean = getattr(r, f"{metric}_mean") * 100
        std = getattr(r, f"{metric}_std") * 100
        rows.append({"dataset": r.dataset, "origin": r.origin, "setting": ours_setting,
                     "metric": metric,
                     "method": r.method, "variant": r.variant, "n": r.n, "failed": r.failed,
                     "ours_mean": mean, "ours_std": std,
                     "constant_f1": getattr(r, "constant_f1_mean", np.nan) * 100,
                     "paper_setting": theirs_setting,
                     "paper_method": theirs_method,
                     "paper": float(value) if value is not None and value == value else np.nan})
    frame = pd.DataFrame(rows)
    frame["difference"] = frame["ours_mean"] - frame["paper"]
    numeric = pd.to_numeric(frame["setting"], errors="coerce")
    frame["order"] = numeric if numeric.notna().all() else frame["setting"]  # 10 before 100
    return frame.sort_values(["dataset", "order", "ours_mean"], ascending=[True, True, False],
                             ignore_index=True).drop(columns="order")


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if pd.isna(value) else f"{value:.{digits}f}"


def _text(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _at_or_below_floor(row: Any) -> bool:
    """The paper's F1 is no higher than predicting malicious for every row of our test set:
    there, ours - paper is no gain (ShadowEyes' 87.87 beside a floor of 91.6)."""
    return row.metric == "f1" and bool(row.constant_f1 >= row.paper)  # NaN compares False


def _table_lines(table: pd.DataFrame, comparable: bool = True) -> list[str]:
    """Ours beside the paper's, with a *difference* column only where the data is comparable;
    a paper value at or below our constant classifier's F1 is marked and footnoted."""
    header = ["dataset", "origin", "setting", "method", "variant", "metric", "n", "failed",
              "ours", "paper setting", "paper", *(["difference"] if comparable else [])]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    marked = False
    for r in table.itertuples():
        ours = f"{_fmt(r.ours_mean)} ± {_fmt(r.ours_std)}" if r.n > 1 else _fmt(r.ours_mean)
        floor = _at_or_below_floor(r)
        marked |= floor
        cells = [r.dataset, r.origin, r.setting, r.method, r.variant, r.metric, r.n, r.failed,
                 ours, _text(r.paper_setting), _fmt(r.paper) + (f" {FLOOR_MARK}" if floor else ""),
                 *([_fmt(r.difference)] if comparable else [])]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    if marked:
        lines += ["", f"{FLOOR_MARK} {FLOOR_NOTE} (`constant_f1`): on this data doing nothing "
                      f"already reaches the paper's number, so ours - paper is no gain."]
    return lines


def variant_lines(runs: pd.DataFrame) -> list[str]:
    """Which variant of the data ran, and which graph each graph method learned on: a kNN
    fallback named in the first lines, never found by a reviewer in the records."""
    lines = []
    jobs = runs[runs["kind"] == "method"] if "kind" in runs else runs
    if "data_variant" in jobs and jobs["data_variant"].notna().any():
        variants = sorted(set(jobs["data_variant"].dropna()))
        lines.append("- **Dataset variant** (every parameter, defaults included): " +
                     " | ".join(f"`{v}`" for v in variants) + ".")
    else:
        lines.append("- **Dataset variant**: not recorded by these runs (records older than "
                     "the variant column); read it from the configs.")
    if "graph" in jobs and jobs["graph"].notna().any():
        used = jobs.dropna(subset=["graph"]).groupby("graph")["method"].unique()
        for graph, methods in used.items():
            names = ", ".join(f"`{m}`" for m in sorted(methods))
            if str(graph).startswith("knn"):
                lines.append(f"- **Graph: kNN fallback** for {names}: the representation learned "
                             f"on an attribute kNN graph, not on who transacted with whom.")
            else:
                lines.append(f"- **Graph** for {names}: {graph}.")
    return lines


def report_title(spec: StudySpec, runs: pd.DataFrame, profile: str | None = None) -> str:
    """The study's title, the data that ran, and SYNTHETIC when it was simulated: the title is
    all a reader of a figure or a link preview sees. A profile other than ``full`` on simulated
    data is a smoke test; a full study on simulated data (NTSSL's relay network) is a
    simulation study, still no reproduction of the paper's data."""
    jobs = runs[runs["kind"] == "method"] if "kind" in runs else runs
    datasets = jobs.assign(name=jobs["dataset"].astype(str).str.split("[").str[0])
    names = sorted(datasets["name"].unique())
    simulated = sorted(datasets.loc[datasets["origin"] == SYNTHETIC, "name"].unique())
    title = f"{spec.title} on {', '.join(names)}" if names else spec.title
    if simulated and simulated == names:
        if profile is not None and profile != "full":
            return f"{title} (SYNTHETIC smoke test, not a reproduction)"
        return f"{title} (SYNTHETIC: simulated data, not a reproduction)"
    if simulated:
        return f"{title} (partly SYNTHETIC: {', '.join(simulated)} is simulated)"
    return title


def all_synthetic(runs: pd.DataFrame) -> bool:
    """Every row computed on simulated data: the report is a smoke test, nothing more."""
    return bool(len(runs)) and bool((runs["origin"] == SYNTHETIC).all())


def constant_predictors(runs: pd.DataFrame) -> pd.DataFrame:
    """Per method cell, the seeds whose model predicted one class for every test row: from the
    confusion matrix in each job's ``result.json`` or, where that record is no longer where
    ``runs.csv`` says (a committed study rebuilt elsewhere), from the job's scores in
    ``runs.csv`` (``from_runs`` counts those). Such a model's F1 measures the class balance (0,
    or the constant classifier's floor), not the method."""
    columns = [*CELL_KEYS, "constant", "checked", "from_runs"]
    jobs = runs[(runs["kind"] == "method") & (runs["status"] == "ok")] if len(runs) else runs
    rows = []
    for job in jobs.to_dict("records"):
        matrix = _confusion_matrix(job.get("source"))
        constant = ((matrix.sum(axis=0) > 0).sum() <= 1 if matrix is not None else
                    _constant_from_scores(job.get("balanced_accuracy"), job.get("mcc")))
        if constant is not None:
            rows.append({**{k: job[k] for k in CELL_KEYS}, "constant": int(constant),
                         "from_runs": int(matrix is None)})
    if not rows:
        return pd.DataFrame(columns=columns)
    cells = pd.DataFrame(rows).groupby(CELL_KEYS, sort=True)
    return pd.concat([cells["constant"].sum(), cells.size().rename("checked"),
                      cells["from_runs"].sum()], axis=1).reset_index()


def _constant_from_scores(balanced_accuracy: Any, mcc: Any) -> bool | None:
    """Whether a job's scores are those of a constant predictor, for a job whose confusion
    matrix is gone: predicting one class for every row of a K-class test set gives balanced
    accuracy exactly 1/K (0.5 when binary) and MCC 0 (or undefined). None: not recorded."""
    if balanced_accuracy is None or pd.isna(balanced_accuracy):
        return None
    classes = round(1 / balanced_accuracy) if balanced_accuracy > 0 else 0
    at_chance = classes >= 2 and abs(balanced_accuracy * classes - 1) < 1e-9
    return at_chance and (mcc is None or pd.isna(mcc) or abs(mcc) < 1e-12)


def _confusion_matrix(source: Any) -> np.ndarray | None:
    if not isinstance(source, str) or not Path(source).is_file():
        return None
    try:
        matrix = ((read_result(Path(source)).get("metrics") or {}).get("confusion_matrix")
                  or {}).get("matrix")
    except DataError:
        return None
    return np.asarray(matrix) if matrix else None


def caveat_lines(spec: StudySpec, board: Leaderboard, metric: str,
                 constant: pd.DataFrame, profile: str | None = None) -> list[str]:
    """What a reader must know before any number: data, shortcuts, floors, paper differences."""
    runs = board.runs
    lines = ["## Caveats (read these first)", ""]
    datasets = sorted(set(zip(runs["dataset"], runs["origin"])))
    lines.append("- **Data**: " + "; ".join(f"`{d}` ({o})" for d, o in datasets) + ".")
    lines += variant_lines(runs)
    if (runs["origin"] == SYNTHETIC).any():
        lines.append("- **Rows marked synthetic were computed on simulated data, not a real "
                     "chain**: they test the pipeline, they reproduce nothing.")
    if all_synthetic(runs) and profile is not None and profile != "full":
        lines.append("- **Smoke test**: every number below shows that the pipeline runs end to "
                     "end and says nothing about how well any method works; quick profiles "
                     "also shrink the data and the training (a few epochs) to fit CI, so a "
                     "method may collapse to a constant predictor. None of it is set beside "
                     "the paper.")
    flagged = constant[constant["constant"] > 0]
    if len(flagged):
        cells = ", ".join(f"`{label_of(r.method, r.variant)}` in {r.setting} ({r.constant} of "
                          f"{r.checked} seeds)" for r in flagged.itertuples())
        lines.append(f"- **Constant predictor**: {cells} predicted one class for every test "
                     f"row; there its scores measure the class balance, not the method (binary "
                     f"F1: 0 when all benign, the F1 floor when all malicious).")
    lines += _constant_check_lines(runs, constant, flagged_any=bool(len(flagged)))
    warnings = board.shortcut_warnings()
    for warning in warnings:
        lines.append(f"- **Shortcut**: {warning}.")
    if not warnings:
        probes = board.table[board.table["method"] == f"{REFERENCE_PREFIX}probe"]
        if len(probes):
            best = probes.loc[probes[f"{board.metric}_mean"].idxmax()]
            lines.append(f"- **Shortcuts**: no single-feature probe comes within "
                         f"{SHORTCUT_MARGIN * 100:.0f} points of the best method; the strongest ({best['probe_features']}) scores "
                         f"{best[f'{board.metric}_mean']:.4f} {board.metric} in "
                         f"{best['setting']}.")
        else:
            lines.append("- **Shortcuts**: not checked (these records carry no reference rows).")
    methods = board.table[~board.table["method"].str.startswith(REFERENCE_PREFIX)]
    if "constant_f1_mean" in board.table and methods["constant_f1_mean"].notna().any():
        floors = methods.groupby(["dataset", "scenario", "setting"])["constant_f1_mean"].first()
        lines.append("- **F1 floor**: predicting *malicious* for every row scores F1 " +
                     ", ".join(f"{v * 100:.1f} ({s})" for (_, _, s), v in floors.items()) +
                     ". Any binary F1 below it is worse than doing nothing; read balanced "
                     "accuracy and MCC beside F1.")
    seeds = methods["n"]
    if len(seeds) and seeds.min() != seeds.max():
        lines.append(f"- **Seeds**: cells hold {seeds.min()} to {seeds.max()} seeds; paired "
                     f"tests use the seeds both methods have.")
    if methods["failed"].sum():
        lines.append(f"- **Failures**: {int(methods['failed'].sum())} job(s) failed and are not "
                     f"averaged (see `runs.csv`).")
    for caveat in spec.caveats:
        lines.append(f"- **Study caveat**: {caveat}")
    return lines + [""]


def _constant_check_lines(runs: pd.DataFrame, constant: pd.DataFrame,
                          flagged_any: bool) -> list[str]:
    """That the constant-predictor check ran and on what: a caveat that only said "not
    checked" hid that ``runs.csv`` alone can show every job scored above chance."""
    jobs = runs[(runs["kind"] == "method") & (runs["status"] == "ok")]
    ok, checked = len(jobs), int(constant["checked"].sum())
    from_runs = int(constant["from_runs"].sum())
    lines = []
    if checked and not flagged_any:
        lowest = (pd.to_numeric(jobs["balanced_accuracy"], errors="coerce").min()
                  if "balanced_accuracy" in jobs else np.nan)
        known = "" if pd.isna(lowest) else (f" (lowest balanced accuracy {lowest:.3f}, from "
                                             f"`runs.csv`)")
        lines.append(f"- **Constant predictors**: none of {checked} jobs is constant{known}.")
    if checked < ok:
        lines.append(f"- **Constant predictors**: {ok - checked} of {ok} jobs not checked "
                     f"(neither a confusion matrix in `result.json` nor a balanced accuracy in "
                     f"`runs.csv`).")
    missing = sum(not (isinstance(s, str) and Path(s).is_file())
                  for s in jobs.get("source", [None] * ok))
    if missing:
        lines.append(f"- **Result records**: per-job `result.json` files are missing for "
                     f"{missing} of {ok} jobs (no longer where `runs.csv` says)." +
                     (f" {from_runs} jobs were checked for a constant predictor from "
                      f"`runs.csv` instead (balanced accuracy exactly 1/K for K classes, 0.5 "
                      f"when binary, with MCC 0)." if from_runs else ""))
    return lines


def result_lines(board: Leaderboard, metric: str, intervals: pd.DataFrame,
                 significance: pd.DataFrame, constant: pd.DataFrame) -> list[str]:
    """Per setting: each row's mean [95 % bootstrap interval], the floors, and the verdict
    against the highest mean; a method that predicted one class for every test row says so
    beside its name."""
    lines = []
    extra = [m for m in ("f1", "constant_f1", "balanced_accuracy", "mcc", "roc_auc", "pr_auc")
             if m != metric and f"{m}_mean" in board.table and
             board.table[f"{m}_mean"].notna().any()]
    verdicts = {(r.dataset, r.scenario, r.setting, r.method_a): r
                for r in significance.itertuples()}
    bounds = {(r.dataset, r.scenario, r.setting, r.method, r.variant): r
              for r in intervals.itertuples()}
    collapsed = {(r.dataset, r.scenario, r.setting, r.method, r.variant): r
                 for r in constant.itertuples() if r.constant}
    for (dataset, scenario, setting), group in board.table.groupby(
            ["dataset", "scenario", "setting"], sort=True):
        header = ["method", "n", f"{metric} [95 % bootstrap interval]", *extra,
                  "vs highest mean (p Holm, p max-T)"]
        lines += [f"### {dataset} / {scenario} / {setting}", "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in group.itertuples():
            label = label_of(r.method, r.variant)
            bound = bounds.get((dataset, scenario, setting, r.method, r.variant))
            mean = getattr(r, f"{metric}_mean")
            ci = (f" [{bound.ci_low:.4f}, {bound.ci_high:.4f}]" if bound is not None
                  and not pd.isna(bound.ci_low) else "")
            test = verdicts.get((dataset, scenario, setting, label))
            against = (TESTED_AGAINST if test is None and not pd.isna(mean) else "-"
                       if test is None else _verdict_cell(test))
            cells = [_fmt(getattr(r, f"{m}_mean"), 4) for m in extra]
            flat = collapsed.get((dataset, scenario, setting, r.method, r.variant))
            shown = (f"{label} (**constant predictor** in {flat.constant} of {flat.checked} "
                     f"seeds)" if flat is not None else label)
            lines.append("| " + " | ".join([shown, str(r.n), f"{_fmt(mean, 4)}{ci}", *cells,
                                             against]) + " |")
        lines += ["", *prose(significance, dataset, scenario, setting), ""]
    return lines


def _verdict_cell(test: Any) -> str:
    """A row of ``significance.csv`` as its table cell; "untestable" says at which n."""
    detail = (f"{test.mean_diff * 100:+.2f} pts, {test.p_holm:.3g}, {_fmt(test.p_maxt, 3)}; "
              f"{test.test}")
    if test.verdict == "untestable":
        return f"untestable at n = {test.n} ({detail})"
    return f"{test.verdict} ({detail}, n = {test.n})"


def interval_sentence(intervals: pd.DataFrame) -> str:
    """What the interval beside each mean is, and, at few seeds, that it is too narrow: a
    percentile bootstrap of n < 10 values cannot see the tails it resamples from."""
    text = ("Beside each mean: its 95 % percentile-bootstrap interval over seeds (the seeds' "
            "scores resampled with replacement); it describes the spread, it is not a test.")
    ns = intervals["n"] if len(intervals) else pd.Series(dtype=int)
    if len(ns) and ns.min() < SMALL_BOOTSTRAP_N:
        seeds = (f"n = {ns.min()}" if ns.min() == ns.max() else
                 f"n = {ns.min()} to {ns.max()}")
        text += (f" At {seeds} seeds (fewer than {SMALL_BOOTSTRAP_N}) the bootstrap interval is "
                 f"anti-conservative: narrower than the uncertainty it stands for.")
    return text


def prose(significance: pd.DataFrame, dataset: str, scenario: str, setting: str) -> list[str]:
    """Sentences generated from the tests, so no claim outruns the evidence."""
    rows = significance[(significance["dataset"] == dataset) & (significance["scenario"] ==
                                                                scenario) &
                        (significance["setting"] == setting)]
    if rows.empty:
        return ["Only one method here: nothing to compare."]
    best = rows["method_b"].iloc[0]

    def names(kind: str) -> str:
        found = rows[rows["verdict"] == kind]["method_a"].tolist()
        return ", ".join(f"`{m}`" for m in found) or "none"

    out = [f"Highest mean (among the methods with the most seeds): `{best}`. Paired tests "
           f"against the highest mean, Holm-corrected at 5 % and, for methods, also "
           f"significant in a max-T permutation test that accounts for picking the highest "
           f"mean from these same runs:",
           f"- significantly below it: {names('below')};",
           f"- equivalent to it (whole 95 % interval of the difference within "
           f"±{EQUIVALENCE_MARGIN * 100:.0f} point): {names('equivalent')};",
           f"- not distinguishable from it with these seeds (neither better nor shown "
           f"equivalent): {names('not distinguishable')}."]
    for n, group in rows[rows["verdict"] == "untestable"].groupby("n", sort=True):
        out.append(f"- untestable at n = {n} (no Holm-corrected p of its family could reach "
                   f"5 % with these seeds, however large the difference): " +
                   ", ".join(f"`{m}`" for m in group["method_a"]) + ".")
    if (rows["verdict"] == "above").any():
        out.append(f"- above it on the seeds both have: {names('above')}.")
    methods = rows[~rows["method_a"].str.startswith(REFERENCE_PREFIX)]
    if len(methods):
        n = int(methods["n"].max())
        floor = holm_floor(methods.loc[methods["p_value"].notna(), "n"].tolist())
        if methods["test"].eq("wilcoxon").any() and floor >= ALPHA:
            out.append(f"- note: with {n} seeds the smallest Wilcoxon p is {smallest_p(n):.3g}; "
                       f"Holm over {len(methods)} comparisons lifts it to {min(floor, 1):.3g}, "
                       f"so no difference here *could* reach significance: more seeds are "
                       f"needed before any ranking between these methods is a finding.")
    probe = rows[rows["method_a"] == f"{REFERENCE_PREFIX}probe"]
    if len(probe) and probe["verdict"].iloc[0] != "below":
        out.append(f"So `{best}` is **not shown to beat a one-feature tree** here.")
    return out


def markdown(spec: StudySpec, title: str, table: pd.DataFrame, sources: list[Path],
             extra: dict[str, Any], constant: pd.DataFrame,
             further: list[tuple[StudySpec, pd.DataFrame]] = (),
             board: Leaderboard | None = None, intervals: pd.DataFrame | None = None,
             significance: pd.DataFrame | None = None, ranking: dict | None = None,
             budget: pd.DataFrame | None = None) -> str:
    metric = board.metric if board is not None else spec.metric[0]
    lines = [f"# {title}", ""]
    if board is not None:
        lines += caveat_lines(spec, board, metric, constant, extra.get("profile"))
    lines += ["## How this report was made", ""]
    for key, value in extra.items():
        lines.append(f"- {key}: {value}")
    lines += [f"- runs: {', '.join(str(s) for s in sources)}",
              "- every job's row (seed, status, all metrics, overrides, config fingerprint, "
              "commit) is in `runs.csv`; the tests are in `significance.csv`", ""]
    if board is not None and intervals is not None and significance is not None:
        lines += [f"## Results per setting (`{metric}`, paired by seed)", "",
                  "Rows `ref:*` are reference classifiers scored on the same splits: majority "
                  "class (`ref:majority`), stratified random (`ref:stratified`), the best "
                  "single-feature depth-2 tree (`ref:probe`, feature chosen on training rows "
                  "only) and, where the data records them, a depth-2 tree on the time of first "
                  "activity (`ref:time`) and the label of the collection (crawl) a row is "
                  "recognised as coming from (`ref:source`). " + interval_sentence(intervals),
                  ""]
        lines += result_lines(board, metric, intervals, significance, constant)
        if ranking is None:
            lines += ["## Ranking over all settings", "",
                      "Not drawn: a Friedman test needs at least two settings in which at "
                      "least three methods all have results.", ""]
        else:
            lines += ["## Ranking over all settings", "",
                      f"Friedman p = {ranking['p_friedman']:.3g} over {len(ranking['ranks'])} "
                      f"methods (reference rows `ref:*` left out: floors, not competitors) "
                      f"and {ranking['blocks']} settings (each a mean over its seeds; seeds of "
                      f"one setting are not independent data sets); mean ranks (1 = best): " +
                      ", ".join(f"`{m}` {r:.2f}" for m, r in ranking["ranks"].items()) + "." +
                      (f" Left out for missing cells: methods {ranking['dropped_methods']}"
                       if ranking["dropped_methods"] else "") +
                      (f"; settings {ranking['dropped_settings']}"
                       if ranking["dropped_settings"] else ""),
                      "", "![critical difference diagram](critical_difference.png)", ""]
    if budget is not None:
        lines += budget_lines(budget)
    lines += paper_lines(spec, table, further)
    lines += ["![per-method distribution](boxplot.png)", ""]
    return "\n".join(lines)


def paper_lines(spec: StudySpec, table: pd.DataFrame,
                further: list[tuple[StudySpec, pd.DataFrame]]) -> list[str]:
    """Our numbers beside the paper's, real data only: a synthetic number beside a published
    one reads as a reproduction, whatever the caveats say."""
    lines = ["## Beside the paper", ""]
    if all_synthetic(table):
        return lines + ["Not shown: every number in this report was computed on synthetic "
                        "data, which no published number describes. Run a profile on real "
                        "data for this comparison.", ""]
    lines += [*_not_comparable(spec),
              f"Metric: the first of `{'`, `'.join(spec.metric)}` a cell has, in percent, "
              f"mean ± sample std over seeds (n = seeds).",
              ("Paper numbers are the published ones; *difference* = ours - paper. Cells "
               "without a published counterpart show '-'. A difference is a description, not a "
               "test: the paper publishes no per-seed numbers." if spec.paper_comparable else
               "Paper numbers are the published ones, for orientation only: there is no "
               "*difference* column. Cells without a published counterpart show '-'."), ""]
    if (table["origin"] == SYNTHETIC).any():
        lines += ["**Rows computed on synthetic data are left out**: simulated data has no "
                  "published counterpart.", ""]
    lines += _table_lines(table[table["origin"] != SYNTHETIC], spec.paper_comparable)
    for other, other_table in further:
        shown = other_table[other_table["origin"] != SYNTHETIC]
        lines += ["", f"## `{other.metric[0]}` beside the paper's `{other.paper_metric}`", "",
                  *_not_comparable(other)]
        if other.metric[0].endswith(SLICE_SUFFIX):
            shown = shown[~shown["method"].isin(BALANCE_REFERENCES)]
            lines += ["The slice accuracy of an all-positive slice is its recall, and predicting "
                      "positive for every row games it (`ref:majority` scores 100 where the "
                      "majority class is malicious, so it and `ref:stratified` are left out "
                      "here): read it with balanced accuracy.", ""]
        lines += _table_lines(shown, other.paper_comparable)
    return lines + ["", "![ours vs paper](ours_vs_paper.png)", ""]


def _not_comparable(spec: StudySpec) -> list[str]:
    """The opening sentence of a paper comparison on data that is not the paper's."""
    return [] if spec.paper_comparable else [
        f"Not comparable: {spec.paper_comparable_reason.strip()}", ""]


def _figure_title(text: str, inches: float) -> str:
    """Wrapped to the figure's width: a title cut at the edge could lose "SYNTHETIC"."""
    return textwrap.fill(text, width=max(40, int(inches * 10)))


def figures(board: Leaderboard, spec: StudySpec, table: pd.DataFrame,
            title: str) -> dict[str, bytes]:
    """The per-method box plot, and ours-vs-paper bars unless every number is synthetic; each
    figure's title is the report's, so a figure shared alone still says what data it shows."""
    from matplotlib.figure import Figure

    out: dict[str, bytes] = {}
    metric = spec.metric[0]
    ok = board.runs[(board.runs["status"] == "ok") & board.runs[metric].notna()]
    methods = sorted(ok["method"].unique())
    width = max(6, 0.9 * len(methods) + 2)
    fig = Figure(figsize=(width, 4))
    ax = fig.subplots()
    if methods:
        ax.boxplot([ok.loc[ok["method"] == m, metric].to_numpy() * 100 for m in methods],
                   tick_labels=methods)
    ax.set_ylabel(f"{metric} (%)")
    ax.set_title(_figure_title(f"{title}: every setting and seed", width))
    ax.tick_params(axis="x", rotation=30)
    fig.set_layout_engine("constrained")
    out["boxplot.png"] = _png(fig)
    if all_synthetic(table):
        return out
    paired = table[table["origin"] != SYNTHETIC].dropna(subset=["paper"])
    width = max(6, 0.5 * len(paired) + 2)
    fig = Figure(figsize=(width, 4))
    ax = fig.subplots()
    if len(paired):
        x = np.arange(len(paired))
        ax.bar(x - 0.2, paired["ours_mean"], 0.4, yerr=paired["ours_std"].fillna(0), label="ours")
        ax.bar(x + 0.2, paired["paper"], 0.4, label="paper")
        ax.set_xticks(x, [f"{m}\n{s}" for m, s in zip(paired["method"], paired["setting"])],
                      fontsize=7, rotation=45)
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no cell has a published counterpart", ha="center")
    ax.set_ylabel(f"{'/'.join(spec.metric)} (%)")
    scope = "real data only" if spec.paper_comparable else "not comparable: orientation only"
    ax.set_title(_figure_title(f"{title}: ours vs paper ({scope})", width))
    fig.set_layout_engine("constrained")
    out["ours_vs_paper.png"] = _png(fig)
    return out


def _png(fig: Any) -> bytes:
    """A PNG of ``fig``: a plain Figure renders through its own Agg canvas, so neither pyplot's
    global figure list nor the process's backend (a user's notebook) is touched."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def compute_budget(runs: pd.DataFrame, tuning_dirs: list[Path]) -> pd.DataFrame:
    """Per method: trials per search (one per setting and seed) and CPU seconds spent tuning
    and evaluating, so a
    reader sees that every method had the same budget (or that none was tuned)."""
    trials = []
    for path in find_results(tuning_dirs):
        record = read_result(path)
        if record.get("purpose") == "tuning":
            cell = Cell.of_record(record)
            trials.append({"method": cell.method, "setting": cell.setting,
                           "seed": record.get("seed"),
                           "cpu_s": (record.get("timings") or {}).get("cpu_s") or 0.0})
    jobs = runs[runs["kind"] == "method"]
    rows = []
    for method, group in jobs.groupby("method", sort=True):
        tuned = pd.DataFrame([t for t in trials if t["method"] == method],
                             columns=["method", "setting", "seed", "cpu_s"])
        per_search = tuned.groupby(["setting", "seed"]).size()
        rows.append({"method": method,
                     "trials_per_search": (int(per_search.min()) if len(per_search) else 0),
                     "tuning_cpu_s": float(tuned["cpu_s"].sum()),
                     "evaluation_cpu_s": float(pd.to_numeric(group["cpu_s"],
                                                             errors="coerce").sum())})
    return pd.DataFrame(rows, columns=["method", "trials_per_search", "tuning_cpu_s",
                                       "evaluation_cpu_s"])


def budget_lines(budget: pd.DataFrame) -> list[str]:
    if budget.empty:
        return []
    tuned = budget["trials_per_search"].max() > 0
    lines = ["## Budget per method", "",
             ("Every method was tuned with the same number of trials per setting and seed (one "
              "search per seed, on that seed's training rows)." if tuned
              and budget["trials_per_search"].nunique() == 1 else
              "**Unequal tuning budgets** (see the table)." if tuned else
              "No method was tuned: every one ran with its defaults (the paper tuned all)."),
             "", "| method | trials per search | tuning CPU s | evaluation CPU s |",
             "|---|---|---|---|"]
    lines += [f"| {r.method} | {r.trials_per_search} | {r.tuning_cpu_s:.0f} | "
              f"{r.evaluation_cpu_s:.0f} |" for r in budget.itertuples()]
    return lines + [""]


def methods_only(runs: pd.DataFrame) -> pd.DataFrame:
    """The jobs of methods, without the reference rows: ranking floors beside the methods made
    Friedman's p 0.005 where the methods alone give 0.057 (zero-shot, 6 seeds)."""
    return runs[~runs["method"].astype(str).str.startswith(REFERENCE_PREFIX)]


def write_report(study_file: Path, sources: list[Path], out: Path,
                 extra: dict[str, Any] | None = None, runs_files: list[Path] = (),
                 tuning_dirs: list[Path] = (), metric: str | None = None) -> Path:
    """The report of a study from its sweep folders and/or ``runs.csv`` files (a committed
    study's report can be rebuilt from its ``runs.csv`` alone). ``metric`` ranks and tests by
    another metric than the study's own (the comparison with the paper keeps the paper's)."""
    spec = StudySpec.load(study_file)
    runs_files = [*runs_files, *(p for p in sources if Path(p).suffix == ".csv")]
    sources = [p for p in sources if Path(p).suffix != ".csv"]
    metric = metric or spec.metric[0]
    board = Leaderboard.from_dirs(sources, runs_files=runs_files, metric=metric)
    title = report_title(spec, board.runs, (extra or {}).get("profile"))
    table = compare(board, spec)
    intervals = cell_intervals(board.runs, metric)
    significance = compare_to_best(board.runs, metric)
    ranking = friedman_nemenyi(methods_only(board.runs), metric)
    budget = compute_budget(board.runs, list(tuning_dirs))
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "budget.csv", budget.to_csv(index=False))
    images = figures(board, spec, table, title)
    if ranking is not None:  # the same methods as the ranking's sentence
        images["critical_difference.png"] = critical_difference_png(
            ranking, _figure_title(f"{title} (methods only)", 8))
    for name, png in images.items():
        with atomic_output(out / name) as tmp:
            tmp.write_bytes(png)
    write_atomic(out / "comparison.csv", _comparison_csv(table, spec))
    write_atomic(out / "significance.csv", significance.to_csv(index=False))
    write_atomic(out / "intervals.csv", intervals.to_csv(index=False))
    further = [(other, compare(board, other)) for other in spec.further()]
    for other, other_table in further:
        write_atomic(out / f"comparison_{other.metric[0]}.csv",
                     _comparison_csv(other_table, other))
    path = out / "report.md"
    write_atomic(path, markdown(spec, title, table, [*sources, *runs_files], extra or {},
                                constant_predictors(board.runs), further, board=board,
                                intervals=intervals, significance=significance,
                                ranking=ranking, budget=budget))
    return path


def _comparison_csv(table: pd.DataFrame, spec: StudySpec) -> str:
    """The comparison as CSV; without the paper's columns when every row is synthetic, and
    without the difference when the data is not the paper's."""
    if all_synthetic(table):
        table = table.drop(columns=PAPER_COLUMNS)
    elif not spec.paper_comparable:
        table = table.drop(columns="difference")
    return table.to_csv(index=False)
