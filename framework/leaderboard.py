"""Aggregate result records into mean +- std over seeds, per comparable cell.

A cell is (dataset, scenario, setting, model, variant), where *variant* is every
command-line override of the job except those that pick the cell's other coordinates or the
seed: sweeping ``model.max_depth=3,6`` yields two rows, sweeping ``seed=0,1,2`` yields three
samples of one row. Standard deviations are sample standard deviations (ddof=1); a cell with one
seed has no spread and shows ``n=1``. Failed jobs are counted, never averaged.
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from framework.errors import DataError
from framework.results import find_results, read_result, write_atomic

KEYS = ["dataset", "scenario", "setting", "model", "variant"]
METRICS = ["macro_f1", "accuracy", "macro_precision", "macro_recall", "f1", "roc_auc", "pr_auc"]
# Per-slice accuracy (e.g. zero-shot's unseen class, where it is that class's recall) becomes a
# column "<slice>_slice_accuracy" for the slices the records have.
SLICE_SUFFIX = "_slice_accuracy"


def metric_names(runs: pd.DataFrame) -> list[str]:
    """The standard metrics plus the slice accuracies present in ``runs``."""
    return METRICS + sorted(c for c in runs.columns if c.endswith(SLICE_SUFFIX))
# Overrides that pick a cell's coordinates (or change nothing scientific) are not a variant.
# Scenario parameters form the ``setting`` column and dataset parameters the ``dataset`` label.
_COORDINATE_KEYS = frozenset({"seed", "dataset", "model", "scenario", "logger", "resume", "study",
                              "experiment", "method"})
_NON_VARIANT_PREFIXES = ("hydra.", "paths.", "trainer.", "logger.", "scenario.", "dataset.",
                         "target_dataset.", "dataset@target_dataset")


def variant_of(overrides: Iterable[str]) -> str:
    kept = []
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0]
        if key in _COORDINATE_KEYS or key.startswith(_NON_VARIANT_PREFIXES):
            continue
        kept.append(override)
    return " ".join(sorted(kept)) or "-"


def dataset_label(name: str | None, overrides: Iterable[str]) -> str | None:
    """The dataset name, plus its overridden parameters: different data never share a cell."""
    params = sorted(o.lstrip("+~") for o in overrides
                    if o.lstrip("+~").startswith(("dataset.", "target_dataset.")))
    params = [p[len("dataset."):] if p.startswith("dataset.") else p for p in params]
    return f"{name}[{','.join(params)}]" if params else name


def _dataset_name(record: dict[str, Any]) -> str | None:
    summary = record.get("dataset") or {}
    if summary.get("name"):
        return summary["name"]
    config = record.get("config", {})
    source = config.get("dataset", {}).get("name")
    target = (config.get("target_dataset") or {}).get("name")
    return f"{source}->{target}" if target else source


def setting_label(scenario: dict[str, Any]) -> str:
    """The scenario's parameters, from the config, so failed jobs land in their cell too."""
    return ",".join(f"{k}={v}" for k, v in sorted(scenario.items()) if k != "name") or "-"


def record_row(record: dict[str, Any], source: Path | None = None) -> dict[str, Any]:
    config = record.get("config", {})
    dataset = record.get("dataset") or {}
    task = record.get("task") or {}
    metrics = record.get("metrics") or {}
    overrides = record.get("job", {}).get("overrides", [])
    row = {
        "dataset": dataset_label(_dataset_name(record), overrides),
        "origin": (dataset.get("provenance") or {}).get("origin", "?"),
        "scenario": task.get("name") or config.get("scenario", {}).get("name"),
        "setting": setting_label(config.get("scenario", {})),
        "model": config.get("method_name") or config.get("model", {}).get("name"),
        "variant": variant_of(overrides),
        "seed": record.get("seed"),
        "status": record.get("status"),
        "error": (record.get("error") or {}).get("message"),
        "fit_s": (record.get("timings") or {}).get("fit_s"),
        "peak_memory_mb": record.get("peak_memory_mb"),
        "git_commit": (record.get("code_version") or {}).get("git_commit"),
        "source": str(source) if source else None,
    }
    for metric in METRICS:
        row[metric] = metrics.get(metric)
    for name, values in (metrics.get("slices") or {}).items():
        row[f"{name}{SLICE_SUFFIX}"] = (values or {}).get("accuracy")
    return row


@dataclass
class Leaderboard:
    runs: pd.DataFrame
    table: pd.DataFrame

    @classmethod
    def from_records(cls, records: Iterable[tuple[dict[str, Any], Path | None]]) -> Leaderboard:
        rows = [record_row(r, p) for r, p in records]
        if not rows:
            raise DataError("no result records found; point the leaderboard at a run or sweep "
                            "directory (e.g. outputs/multiruns/<time>)")
        runs = pd.DataFrame(rows)
        for metric in metric_names(runs) + ["fit_s", "peak_memory_mb"]:
            runs[metric] = pd.to_numeric(runs[metric], errors="coerce")
        return cls(runs=runs, table=_aggregate(runs))

    @classmethod
    def from_dirs(cls, paths: Iterable[Path]) -> Leaderboard:
        return cls.from_records((read_result(p), p) for p in find_results(paths))

    def metric_columns(self) -> list[str]:
        return [m for m in metric_names(self.runs) if self.table[f"{m}_mean"].notna().any()]

    def to_text(self) -> str:
        frame = self._display_frame()
        return frame.to_string(index=False)

    def to_markdown(self) -> str:
        frame = self._display_frame()
        header = "| " + " | ".join(frame.columns) + " |"
        rule = "|" + "|".join("---" for _ in frame.columns) + "|"
        body = ["| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |"
                for row in frame.itertuples(index=False)]
        return "\n".join([header, rule, *body]) + "\n"

    def to_html(self, title: str = "ChainSleuth leaderboard") -> str:
        frame = self._display_frame()
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                       for row in frame.itertuples(index=False))
        failures = self.runs[self.runs["status"] != "ok"]
        failed_html = ""
        if len(failures):
            items = "".join(
                f"<li>{html.escape(str(r.dataset))} / {html.escape(str(r.model))} seed "
                f"{html.escape(str(r.seed))}: {html.escape(str(r.error))}</li>"
                for r in failures.itertuples())
            failed_html = f"<h2>Failed jobs</h2><ul>{items}</ul>"
        plot = self.box_plot_png()
        image = (f'<img alt="macro-F1 per model" src="data:image/png;base64,'
                 f'{base64.b64encode(plot).decode()}"/>' if plot else "")
        synthetic = (self.runs["origin"] == "synthetic").any()
        note = ("<p><strong>Some rows were computed on synthetic data</strong> "
                "(origin = synthetic).</p>" if synthetic else "")
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
                "collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>"
                f"</head><body><h1>{html.escape(title)}</h1>{note}<table><thead><tr>{head}</tr>"
                f"</thead><tbody>{rows}</tbody></table>{image}{failed_html}</body></html>\n")

    def box_plot_png(self, metric: str = "macro_f1") -> bytes | None:
        """Per-model distribution of ``metric`` over seeds, one panel per dataset/scenario/setting."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ok = self.runs[(self.runs["status"] == "ok") & self.runs[metric].notna()]
        if ok.empty:
            return None
        panels = list(ok.groupby(["dataset", "scenario", "setting"], sort=True))
        fig, axes = plt.subplots(len(panels), 1, figsize=(max(6, 1.2 * ok["model"].nunique() + 3),
                                                          3.2 * len(panels)), squeeze=False)
        for ax, ((dataset, scenario, setting), group) in zip(axes[:, 0], panels):
            labels, values = [], []
            for (model, variant), cell in group.groupby(["model", "variant"], sort=True):
                labels.append(model if variant == "-" else f"{model}\n" + "\n".join(
                    textwrap.wrap(variant, 28)))
                values.append(cell[metric].to_numpy())
            ax.boxplot(values, tick_labels=labels)
            ax.set_title(f"{dataset} / {scenario} / {setting}")
            ax.set_ylabel(metric)
            ax.tick_params(axis="x", labelsize=8)
        fig.set_layout_engine("constrained")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        return buffer.getvalue()

    def write(self, directory: Path, stem: str = "leaderboard") -> dict[str, Path]:
        """Write CSV (numbers), Markdown and self-contained HTML, each atomically."""
        directory = Path(directory)
        paths = {"csv": directory / f"{stem}.csv", "md": directory / f"{stem}.md",
                 "html": directory / f"{stem}.html"}
        write_atomic(paths["csv"], self.table.to_csv(index=False))
        write_atomic(paths["md"], self.to_markdown())
        write_atomic(paths["html"], self.to_html())
        return paths

    def _display_frame(self) -> pd.DataFrame:
        out = self.table[KEYS + ["origin", "n", "failed"]].copy()
        for metric in self.metric_columns():
            out[metric] = [_format(m, s, n) for m, s, n in zip(
                self.table[f"{metric}_mean"], self.table[f"{metric}_std"], self.table["n"])]
        return out


def _format(mean: float, std: float, n: int) -> str:
    if pd.isna(mean):
        return "-"
    if n < 2 or pd.isna(std):
        return f"{mean:.4f} (n=1)"
    return f"{mean:.4f} ± {std:.4f}"


def _aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, group in runs.groupby(KEYS, sort=True, dropna=False):
        ok = group[group["status"] == "ok"]
        row = dict(zip(KEYS, key))
        origins = sorted(set(group["origin"].dropna()) - {"?"})
        row["origin"] = "/".join(origins) or "?"
        row["n"] = int(len(ok))
        row["failed"] = int((group["status"] != "ok").sum())
        row["seeds"] = " ".join(str(s) for s in sorted(ok["seed"].dropna().astype(int)))
        for metric in metric_names(runs):
            values = ok[metric].dropna().to_numpy(dtype=float)
            row[f"{metric}_mean"] = float(values.mean()) if len(values) else np.nan
            row[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(["dataset", "scenario", "setting", "macro_f1_mean"],
                             ascending=[True, True, True, False], na_position="last",
                             ignore_index=True)
