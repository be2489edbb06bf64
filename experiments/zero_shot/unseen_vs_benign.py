"""The unseen class against the benign test rows, for runs recorded before the runner scored it.

A zero-shot test set holds every unseen-class account *and* a fifth of the seen classes, so its
binary F1 is partly seen-class F1 (in the ponzi setting 135 of 632 test malicious rows are
unseen). Since commit e9fb9bd every job records the unseen slice scored against the negative
test rows (``unseen_slice_f1_vs_negatives``); the jobs of this study ran before, and most of
their ``result.json`` files are gone, so this script derives the same two numbers exactly from
``runs.csv``:

* the test set's benign recall (TNR) and malicious recall (TPR) follow from accuracy ``a``,
  balanced accuracy ``b`` and prevalence ``p``: ``a = p TPR + (1 - p) TNR``, ``b = (TPR + TNR) / 2``;
* the unseen class's recall is ``unseen_slice_accuracy``;
* the numbers of unseen and benign test rows come from the scenario's own split of the data
  (they depend on the class counts only, not on the seed).

A job whose ``result.json`` still exists is checked against its confusion matrix.

Run:  python experiments/zero_shot/unseen_vs_benign.py   (writes unseen_vs_benign.csv / .md)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from framework.session import Session
from framework.statistics import bootstrap_interval
from study_splits import setting_data

HERE = Path(__file__).resolve().parent


def split_sizes(settings: list[str]) -> dict[str, tuple[int, int]]:
    """(unseen test rows, benign test rows) per setting, from the scenario's own split."""
    session = Session()
    sizes = {}
    for setting in settings:
        data, scenario = setting_data(setting, session)
        task = scenario.split(data, 0)
        test_y = task.y[task.test]
        sizes[setting] = (len(task.slices["unseen"]), int((test_y != task.positive_class).sum()))
    return sizes


def derive(runs: pd.DataFrame, sizes: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Per job: the unseen class against the benign test rows (F1, balanced accuracy)."""
    p, a, b = runs["prevalence"], runs["accuracy"], runs["balanced_accuracy"]
    if ((1 - 2 * p).abs() < 1e-9).any():
        raise ValueError("a test set with prevalence 0.5 does not determine the two recalls")
    tnr = (a - p * 2 * b) / (1 - 2 * p)
    recall = runs["unseen_slice_accuracy"]
    unseen = runs["setting"].map(lambda s: sizes[s][0])
    benign = runs["setting"].map(lambda s: sizes[s][1])
    tp, fn, fp = recall * unseen, (1 - recall) * unseen, (1 - tnr) * benign
    return runs.assign(benign_recall=tnr, unseen_vs_benign_f1=2 * tp / (2 * tp + fn + fp),
                       unseen_vs_benign_balanced_accuracy=(recall + tnr) / 2)


def check_against_records(derived: pd.DataFrame, sizes: dict[str, tuple[int, int]]) -> int:
    """Compare with every job whose result.json survives (its confusion matrix); returns how
    many were checked."""
    checked = 0
    for _, row in derived[derived["kind"] == "method"].iterrows():
        source = Path(str(row["source"]))
        if not source.is_file():
            continue
        record = json.loads(source.read_text())
        (tn, fp), (fn, tp) = record["metrics"]["confusion_matrix"]["matrix"]
        assert abs(row["benign_recall"] - tn / (tn + fp)) < 1e-9, (source, row["benign_recall"])
        assert sizes[row["setting"]][1] == tn + fp, source
        checked += 1
    return checked


def summary(derived: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (setting, method), cell in derived.groupby(["setting", "method"]):
        values = cell.sort_values("seed")["unseen_vs_benign_f1"].to_numpy()
        low, high = bootstrap_interval(values)
        rows.append({"setting": setting, "method": method, "n": len(values),
                     "unseen_vs_benign_f1": values.mean(), "ci_low": low, "ci_high": high,
                     "unseen_vs_benign_balanced_accuracy":
                         cell["unseen_vs_benign_balanced_accuracy"].mean(),
                     "benign_recall": cell["benign_recall"].mean()})
    return pd.DataFrame(rows).sort_values(["setting", "unseen_vs_benign_f1"],
                                          ascending=[True, False])


def main() -> None:
    runs = pd.read_csv(HERE / "runs.csv")
    runs = runs[runs["status"] == "ok"]
    sizes = split_sizes(sorted(runs["setting"].unique()))
    derived = derive(runs, sizes)
    checked = check_against_records(derived, sizes)
    table = summary(derived)
    table.to_csv(HERE / "unseen_vs_benign.csv", index=False)
    lines = ["# Zero-shot: the unseen class against the benign test rows", "",
             "Derived exactly from `runs.csv` by `unseen_vs_benign.py` (its docstring says how; "
             f"{checked} jobs whose result.json survives were checked against their confusion "
             "matrix). Per setting: unseen test rows, benign test rows: " +
             "; ".join(f"{s.split('unseen_class=')[1].split(',')[0]} {u}, {n}"
                       for s, (u, n) in sizes.items()) + ".",
             "Mean over seeds; the interval is a 95 % percentile bootstrap over seeds "
             "(anti-conservative at n < 10). Descriptive: no test.", ""]
    for setting, cell in table.groupby("setting", sort=True):
        lines += [f"## {setting}", "",
                  "| method | n | unseen-vs-benign F1 [95 % interval] | balanced accuracy | "
                  "benign recall |", "|---|---|---|---|---|"]
        for _, row in cell.iterrows():
            lines.append(f"| {row['method']} | {row['n']} | {row['unseen_vs_benign_f1']:.4f} "
                         f"[{row['ci_low']:.4f}, {row['ci_high']:.4f}] | "
                         f"{row['unseen_vs_benign_balanced_accuracy']:.4f} | "
                         f"{row['benign_recall']:.4f} |")
        lines.append("")
    (HERE / "unseen_vs_benign.md").write_text("\n".join(lines))
    print(f"wrote {HERE / 'unseen_vs_benign.md'} ({checked} jobs checked against result.json)")


if __name__ == "__main__":
    main()
