"""Study reports: our leaderboard beside a paper's published numbers, with the difference.

A study file (``experiments/<study>/study.yaml``) says where the paper's numbers are (a CSV of
``setting,method,metric,value``, in percent) and how our cells map onto theirs::

    title: ShadowEyes Table V, zero-shot
    paper: ../paper_numbers/shadoweyes_table5_zero_shot.csv
    metric: [f1, macro_f1]  # our metric: the first one a cell has (f1 = positive-class F1)
    paper_metric: f1        # the paper's metric name in the CSV
    setting_key: unseen_class   # the scenario parameter that is the paper's setting
                                # ("dataset": the dataset label, e.g. chain_sim->ethereum_txs)
    settings: {phishing: Phishing, ponzi: Ponzi Scheme}   # ours -> theirs (others: no peer)
    methods: {cnn: CNN, rf_txgraph: ABGRL, shadoweyes: ShadowEyes, ...}
    also:                   # further comparisons, each its own table (optional)
      - {metric: unseen_slice_accuracy, paper_metric: recall}

The report is Markdown (``report.md``) plus PNG figures: the per-method distribution of the
metric over every run of the study (the paper's Fig. 9 box plot) and ours-vs-paper bars.
Every row says whether our number comes from synthetic data.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from framework.errors import ConfigError, DataError
from framework.leaderboard import Leaderboard
from framework.results import atomic_output, write_atomic


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

    @classmethod
    def load(cls, path: Path) -> StudySpec:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DataError(f"{path}: not a readable study file ({exc})") from exc
        missing = [k for k in ("title", "metric") if k not in raw]
        if missing:
            raise ConfigError(f"{path}: study file lacks {missing}")
        paper = raw.get("paper")
        metrics = raw["metric"] if isinstance(raw["metric"], list) else [raw["metric"]]
        return cls(title=raw["title"], paper=(Path(path).parent / paper) if paper else None,
                   metric=metrics, paper_metric=raw.get("paper_metric", "f1"),
                   setting_key=raw.get("setting_key"), settings=dict(raw.get("settings") or {}),
                   methods=dict(raw.get("methods") or {}),
                   also=[dict(a) for a in raw.get("also") or []])

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
        metric = next((m for m in spec.metric if not pd.isna(getattr(r, f"{m}_mean"))),
                      spec.metric[0])
        mean = getattr(r, f"{metric}_mean") * 100
        std = getattr(r, f"{metric}_std") * 100
        rows.append({"dataset": r.dataset, "origin": r.origin, "setting": ours_setting,
                     "metric": metric,
                     "method": r.method, "variant": r.variant, "n": r.n, "failed": r.failed,
                     "ours_mean": mean, "ours_std": std, "paper_setting": theirs_setting,
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


def _table_lines(table: pd.DataFrame) -> list[str]:
    header = ("| dataset | origin | setting | method | variant | metric | n | failed | ours | "
              "paper setting | paper | difference |")
    lines = [header, "|" + "---|" * 12]
    for r in table.itertuples():
        ours = f"{_fmt(r.ours_mean)} ± {_fmt(r.ours_std)}" if r.n > 1 else _fmt(r.ours_mean)
        lines.append(f"| {r.dataset} | {r.origin} | {r.setting} | {r.method} | {r.variant} | "
                     f"{r.metric} | {r.n} | {r.failed} | {ours} | {_text(r.paper_setting)} | "
                     f"{_fmt(r.paper)} | {_fmt(r.difference)} |")
    return lines


def markdown(spec: StudySpec, table: pd.DataFrame, sources: list[Path],
             extra: dict[str, Any], further: list[tuple[StudySpec, pd.DataFrame]] = ()) -> str:
    lines = [f"# {spec.title}", "",
             f"Metric: the first of `{'`, `'.join(spec.metric)}` a cell has, in percent, mean ± "
             f"sample std over seeds (n = seeds).",
             "Paper numbers are the published ones; *difference* = ours - paper. Cells without "
             "a published counterpart show '-'.", ""]
    for key, value in extra.items():
        lines.append(f"- {key}: {value}")
    lines += [f"- runs: {', '.join(str(s) for s in sources)}", ""]
    if (table["origin"] == "synthetic").any():
        lines += ["**Rows marked synthetic were computed on simulated data, not a real chain.**",
                  ""]
    lines += _table_lines(table)
    for other, other_table in further:
        lines += ["", f"## `{other.metric[0]}` beside the paper's `{other.paper_metric}`", "",
                  *_table_lines(other_table)]
    lines += ["", "![per-method distribution](boxplot.png)", "",
              "![ours vs paper](ours_vs_paper.png)", ""]
    return "\n".join(lines)


def figures(board: Leaderboard, spec: StudySpec, table: pd.DataFrame) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    metric = spec.metric[0]
    ok = board.runs[(board.runs["status"] == "ok") & board.runs[metric].notna()]
    methods = sorted(ok["method"].unique())
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(methods) + 2), 4))
    if methods:
        ax.boxplot([ok.loc[ok["method"] == m, metric].to_numpy() * 100 for m in methods],
                   tick_labels=methods)
    ax.set_ylabel(f"{metric} (%)")
    ax.set_title(f"{spec.title}: every setting and seed")
    ax.tick_params(axis="x", rotation=30)
    fig.set_layout_engine("constrained")
    out["boxplot.png"] = _png(fig, plt)
    paired = table.dropna(subset=["paper"])
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(paired) + 2), 4))
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
    fig.set_layout_engine("constrained")
    out["ours_vs_paper.png"] = _png(fig, plt)
    return out


def _png(fig: Any, plt: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def write_report(study_file: Path, sources: list[Path], out: Path,
                 extra: dict[str, Any] | None = None, runs_files: list[Path] = ()) -> Path:
    """The report of a study from its sweep folders and/or ``runs.csv`` files (a committed
    study's report can be rebuilt from its ``runs.csv`` alone)."""
    spec = StudySpec.load(study_file)
    runs_files = [*runs_files, *(p for p in sources if Path(p).suffix == ".csv")]
    sources = [p for p in sources if Path(p).suffix != ".csv"]
    board = Leaderboard.from_dirs(sources, runs_files=runs_files)
    table = compare(board, spec)
    out.mkdir(parents=True, exist_ok=True)
    for name, png in figures(board, spec, table).items():
        with atomic_output(out / name) as tmp:
            tmp.write_bytes(png)
    write_atomic(out / "comparison.csv", table.to_csv(index=False))
    further = [(other, compare(board, other)) for other in spec.further()]
    for other, other_table in further:
        write_atomic(out / f"comparison_{other.metric[0]}.csv", other_table.to_csv(index=False))
    path = out / "report.md"
    write_atomic(path, markdown(spec, table, sources, extra or {}, further))
    return path
