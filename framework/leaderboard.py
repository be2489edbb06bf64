"""Aggregate result records into mean +- std over seeds, per comparable cell.

A cell is (dataset, scenario, setting, method, variant), stored in each record when its job
ran (:class:`framework.record.Cell`): sweeping ``model.max_depth=3,6`` yields two rows, sweeping
``seed=0,1,2`` yields three samples of one row. Standard deviations are sample standard
deviations (ddof=1); a cell with one seed has no spread and shows ``n=1``. Failed jobs are
counted, never averaged.

Beside the methods, every leaderboard shows the **reference rows** each job scored on its own
split (``ref:majority``, ``ref:stratified``, ``ref:probe``; see :mod:`framework.references`),
and opens with a warning when the best single-feature probe comes within
:data:`SHORTCUT_MARGIN` of the best method. Binary cells always show ``constant_f1`` (the F1 of
predicting "malicious" for everything) next to F1.
"""

from __future__ import annotations

import base64
import html
import io
import json
import textwrap
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from framework.errors import ConfigError, DataError
from framework.metrics import SCALAR_METRICS
from framework.record import Cell, variant_of  # noqa: F401  (variant_of: public re-export)
from framework.results import find_results, read_result, write_atomic
from framework.runs import CELL_KEYS, REFERENCE_PREFIX, RUNS_FILE, overrides_cell, read_runs

KEYS = CELL_KEYS
METRICS = list(SCALAR_METRICS)
# A probe this close to the best method (in the ranking metric) is reported as a shortcut.
SHORTCUT_MARGIN = 0.05
# Per-slice accuracy (e.g. zero-shot's unseen class, where it is that class's recall) becomes a
# column "<slice>_slice_accuracy" for the slices the records have; an all-positive slice scored
# against every negative test row adds "<slice>_slice_f1_vs_negatives" and
# "<slice>_slice_balanced_accuracy_vs_negatives" (see framework.metrics.slice_metrics).
SLICE_SUFFIX = "_slice_accuracy"
SLICE_METRICS = {"accuracy": SLICE_SUFFIX, "f1_vs_negatives": "_slice_f1_vs_negatives",
                 "balanced_accuracy_vs_negatives": "_slice_balanced_accuracy_vs_negatives"}
# Which of two rows of one job (same cell and seed, e.g. two sweeps over the same seeds) a merge
# keeps, in the order the sources were given; without a choice such a merge is refused.
KEEP_CHOICES = ("first", "last")
# A cell with fewer seeds than this is drawn as its points: a box from 2-4 values suggests a
# distribution that was never measured.
MIN_SEEDS_FOR_BOX = 5
# The widest figure (inches at 100 dpi): the HTML page must stay readable at 1400 px.
MAX_FIGURE_INCHES = 13.5


def metric_names(runs: pd.DataFrame) -> list[str]:
    """The standard metrics plus the slice accuracies present in ``runs``."""
    return METRICS + sorted(c for c in runs.columns
                            if any(c.endswith(suffix) for suffix in SLICE_METRICS.values()))


def check_metric(metric: str, runs: pd.DataFrame) -> str:
    """``metric`` if the runs can rank by it, else a :class:`ConfigError` listing the choices."""
    known = metric_names(runs)
    if metric not in known:
        raise ConfigError(f"unknown metric '{metric}'; choose one of: {', '.join(known)}")
    return metric


def data_variant(config: dict[str, Any]) -> str | None:
    """Every parameter of the job's dataset (and target dataset), defaults included: which
    variant of the data ran (``harmonise=true`` ...), so a report can say it in its first lines
    even where no override named it."""
    parts = []
    for node in ("dataset", "target_dataset"):
        params = config.get(node) or {}
        if params:
            shown = " ".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in
                             sorted(params.items()) if k not in ("name", "path"))
            parts.append(f"{params.get('name', node)}: {shown}" if shown else
                         str(params.get("name", node)))
    return "; ".join(parts) or None


def graph_label(representation: dict[str, Any] | None) -> str | None:
    """Which graph a representation learned on, with its size (``interaction 137575 nodes
    153261 edges``, ``knn``), or None without a graph representation."""
    if not representation or "graph" not in representation:
        return None
    if representation.get("nodes") and representation.get("edges") is not None:
        return (f"{representation['graph']} {representation['nodes']} nodes "
                f"{representation['edges']} edges")
    return str(representation["graph"])


def record_rows(record: dict[str, Any], source: Path | None = None) -> list[dict[str, Any]]:
    """The job's row, plus one row per reference classifier it scored on its split; none for
    a tuning trial (scored on training rows, not comparable with evaluations)."""
    if record.get("purpose") == "tuning":
        return []
    cell = Cell.of_record(record)
    dataset = record.get("dataset") or {}
    metrics = record.get("metrics") or {}
    job = record.get("job") or {}
    config = record.get("config") or {}
    common = {
        "dataset": cell.dataset, "scenario": cell.scenario, "setting": cell.setting,
        "seed": record.get("seed"),
        "origin": (dataset.get("provenance") or {}).get("origin", "?"),
        "study": record.get("study") or config.get("study"),
        "git_commit": (record.get("code_version") or {}).get("git_commit"),
        "source": str(source) if source else None,
        "data_variant": data_variant(config),
    }
    row = {**common, "method": cell.method, "variant": cell.variant, "kind": "method",
           "status": record.get("status"),
           "error": (record.get("error") or {}).get("message"),
           "fit_s": (record.get("timings") or {}).get("fit_s"),
           "cpu_s": (record.get("timings") or {}).get("cpu_s"),
           "peak_memory_mb": record.get("peak_memory_mb"),
           "overrides": overrides_cell(job.get("overrides") or []),
           "config_hash": record.get("config_hash"), "probe_feature": None,
           "graph": graph_label((record.get("model") or {}).get("representation"))}
    for metric in METRICS:
        row[metric] = metrics.get(metric)
    row.update(_slice_columns(metrics.get("slices")))
    rows = [row]
    if record.get("status") == "ok":
        for name, scores in (record.get("references") or {}).items():
            ref = {**common, "method": f"{REFERENCE_PREFIX}{name}", "variant": "-",
                   "kind": "reference", "status": "ok", "error": None, "fit_s": None,
                   "cpu_s": None,
                   "peak_memory_mb": None, "overrides": None, "config_hash": None,
                   "probe_feature": scores.get("feature"), "graph": None}
            ref.update({m: scores.get(m) for m in METRICS})
            ref.update(_slice_columns(scores.get("slices")))
            rows.append(ref)
    return rows


def _slice_columns(slices: dict[str, Any] | None) -> dict[str, Any]:
    """One column per slice and slice metric the record has (accuracy always, where scored)."""
    columns = {}
    for name, values in (slices or {}).items():
        for key, suffix in SLICE_METRICS.items():
            if key == "accuracy" or key in (values or {}):
                columns[f"{name}{suffix}"] = (values or {}).get(key)
    return columns


@dataclass
class Leaderboard:
    """Per-job rows (``runs``) and their per-cell aggregate (``table``), ranked by ``metric``."""

    runs: pd.DataFrame
    table: pd.DataFrame
    metric: str = "macro_f1"

    @classmethod
    def from_runs(cls, runs: pd.DataFrame, metric: str = "macro_f1",
                  keep: str | None = None) -> Leaderboard:
        """From per-job rows (a ``runs.csv`` or several, concatenated), one row per job and
        seed (see :func:`_one_row_per_job`: a job found twice is refused unless ``keep`` is
        ``first`` or ``last``, so a merge never counts a seed twice). Optional columns:
        ``_rank`` (a higher rank is a newer source that supersedes a lower one) and ``_from``
        (the file a row was read from, named in errors; default ``source``)."""
        if keep not in (None, *KEEP_CHOICES):
            raise ConfigError(f"keep must be one of {', '.join(KEEP_CHOICES)} (or none, to "
                              f"refuse a job found twice), got '{keep}'")
        if runs.empty:
            raise DataError("no result records found; point the leaderboard at a run or sweep "
                            "directory (e.g. outputs/multiruns/<time>)")
        runs = runs.copy()
        for column in ("probe_feature", "error", "study", "overrides", "config_hash"):
            if column not in runs:
                runs[column] = None
        for m in metric_names(runs) + ["fit_s", "cpu_s", "peak_memory_mb", "seed"]:
            if m not in runs:
                runs[m] = np.nan
            runs[m] = pd.to_numeric(runs[m], errors="coerce")
        runs["_ok"] = runs["status"] == "ok"
        if "_rank" not in runs:
            runs["_rank"] = 0
        if "_from" not in runs:
            runs["_from"] = runs["source"] if "source" in runs else None
        runs["_order"] = range(len(runs))
        runs = (_one_row_per_job(runs, keep).drop(columns=["_ok", "_rank", "_from", "_order"])
                .sort_values([*KEYS, "seed"], ignore_index=True))
        metric = check_metric(metric, runs)
        return cls(runs=runs, table=_aggregate(runs, metric), metric=metric)

    @classmethod
    def from_records(cls, records: Iterable[tuple[dict[str, Any], Path | None]],
                     metric: str = "macro_f1", keep: str | None = None) -> Leaderboard:
        rows = [row for r, p in records for row in record_rows(r, p)]
        return cls.from_runs(pd.DataFrame(rows), metric, keep)

    @classmethod
    def from_dirs(cls, paths: Iterable[Path], metric: str = "macro_f1",
                  runs_files: Iterable[Path] = (), keep: str | None = None) -> Leaderboard:
        """From the ``result.json`` files under ``paths``, plus rows of committed ``runs.csv``
        files (jobs a resumed study did not rerun). An unreadable record (binary, truncated,
        a folder in its place) is skipped with a warning naming it, so one bad file never
        costs a sweep its whole leaderboard.

        A job (cell and seed) found in two of ``paths`` is refused with a :class:`DataError`
        naming both files, unless ``keep`` says which to keep (``first`` or ``last`` in the
        order of ``paths``). A result record supersedes a ``runs_files`` row of its job: that
        is how a resumed study's rerun (of a failed job, or one whose config changed) replaces
        the committed row, whichever of the two succeeded."""
        rows = []
        for path in find_results(paths):
            try:
                rows += record_rows(read_result(path), path)
            except DataError as exc:
                warnings.warn(f"leaderboard: skipped {exc}", stacklevel=2)
                print(f"[chainsleuth] warning: leaderboard skips {exc}")
        frames = [read_runs(f).assign(_rank=0, _from=str(f)) for f in runs_files]
        if rows:
            frames.append(pd.DataFrame(rows).assign(_rank=1, _from=lambda f: f["source"]))
        frames = [f for f in frames if not f.empty]
        return cls.from_runs(pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(),
                             metric, keep)

    @property
    def methods(self) -> pd.DataFrame:
        """The table without its reference rows."""
        return self.table[self.table["kind"] == "method"].reset_index(drop=True)

    def metric_columns(self) -> list[str]:
        """Metrics some cell has, the ranking metric first and ``constant_f1`` after ``f1``."""
        present = [m for m in metric_names(self.runs) if self.table[f"{m}_mean"].notna().any()]
        ordered = [self.metric] + [m for m in present if m != self.metric]
        if "f1" in ordered and "constant_f1" in ordered:
            ordered.remove("constant_f1")
            ordered.insert(ordered.index("f1") + 1, "constant_f1")
        return [m for m in ordered if m in present]

    def shortcut_warnings(self) -> list[str]:
        """One line per (dataset, scenario, setting) where the best single-feature probe comes
        within :data:`SHORTCUT_MARGIN` of the best method in the ranking metric."""
        column = f"{self.metric}_mean"
        out = []
        for key, group in self.table.groupby(["dataset", "scenario", "setting"], sort=True):
            methods = group[~group["method"].str.startswith(REFERENCE_PREFIX)]
            if methods[column].isna().all():
                continue
            best = methods.loc[methods[column].idxmax()]
            for name in ("probe", "time", "source"):
                probe = group[group["method"] == f"{REFERENCE_PREFIX}{name}"]
                if probe.empty or probe[column].isna().all():
                    continue
                probe_score = float(probe[column].iloc[0])
                if probe_score >= best[column] - SHORTCUT_MARGIN:
                    features = probe["probe_features"].iloc[0]
                    where = ("above" if probe_score > best[column] else
                             f"within {SHORTCUT_MARGIN * 100:.0f} points of")
                    what = {"probe": "a depth-2 tree on one feature",
                            "time": "a depth-2 tree on one feature",
                            "source": "answering with the label of the recognised collection"}
                    solvable = {"probe": "that one attribute",
                                "time": "that one date, not by behaviour",
                                "source": "recognising how a row was collected, not by "
                                          "behaviour"}
                    out.append(f"{' / '.join(map(str, key))}: {what[name]} ({features}) scores "
                               f"{probe_score:.4f} {self.metric}, {where} the best method "
                               f"({best['method']}, {best[column]:.4f}); the task may be "
                               f"solvable by {solvable[name]}")
        return out

    def to_text(self) -> str:
        warnings = "".join(f"WARNING (shortcut): {w}\n" for w in self.shortcut_warnings())
        return warnings + self._display_frame().to_string(index=False)

    def to_markdown(self) -> str:
        frame = self._display_frame()
        header = "| " + " | ".join(_md(c) for c in frame.columns) + " |"
        rule = "|" + "|".join("---" for _ in frame.columns) + "|"
        body = ["| " + " | ".join(_md(v) for v in row) + " |"
                for row in frame.itertuples(index=False)]
        warnings = [f"> **Shortcut warning.** {_md(w)}" for w in self.shortcut_warnings()]
        return "\n".join([*warnings, *([""] if warnings else []), header, rule, *body]) + "\n"

    def to_html(self, title: str = "ChainSleuth leaderboard", command: str | None = None) -> str:
        """A self-contained page, every value escaped, that says where its numbers come from
        (commit, date, command, seeds, real or synthetic data) and stays readable at 1400 px:
        the table scrolls sideways inside its own box, the figure shrinks to the page."""
        frame = self._display_frame()
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                       for row in frame.itertuples(index=False))
        failures = self.runs[self.runs["status"] != "ok"]
        failed_html = ""
        if len(failures):
            items = "".join(
                f"<li>{html.escape(str(r.dataset))} / {html.escape(str(r.method))} seed "
                f"{html.escape(_seed(r.seed))}: {html.escape(str(r.error))}</li>"
                for r in failures.itertuples())
            failed_html = f"<h2>Failed jobs</h2><ul>{items}</ul>"
        plot = self.distribution_png(self.metric)
        image = (f'<figure><img alt="{html.escape(self.metric)} per method and seed" '
                 f'src="data:image/png;base64,{base64.b64encode(plot).decode()}"/><figcaption>'
                 f"One point per seed; a box where a cell has at least {MIN_SEEDS_FOR_BOX} seeds."
                 "</figcaption></figure>" if plot else "")
        synthetic = (self.runs["origin"] == "synthetic").any()
        note = ("<p><strong>Some rows were computed on synthetic data</strong> "
                "(origin = synthetic).</p>" if synthetic else "")
        warnings = "".join(f"<p><strong>Shortcut warning.</strong> {html.escape(w)}</p>"
                           for w in self.shortcut_warnings())
        about = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>"
                        for k, v in self.provenance(command).items())
        return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
                "</title><style>body{font-family:sans-serif;margin:2em;max-width:100%}"
                "dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}"
                "dt{font-weight:bold}dd{margin:0;overflow-wrap:anywhere}"
                ".scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse}"
                "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;"
                "white-space:nowrap}img{max-width:100%;height:auto}</style>"
                f"</head><body><h1>{html.escape(title)}</h1><dl>{about}</dl>{warnings}{note}"
                f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{rows}"
                f"</tbody></table></div>{image}{failed_html}</body></html>\n")

    def provenance(self, command: str | None = None) -> dict[str, str]:
        """What a reader needs to trust or redo the numbers: code version, when this page was
        made, how (``command``, when the caller knows it), which seeds and which data."""
        commits = sorted(set(self.runs["git_commit"].dropna().astype(str))
                         if "git_commit" in self.runs else set())
        jobs = self.runs[self.runs["kind"] == "method"] if "kind" in self.runs else self.runs
        seeds = sorted(set(jobs["seed"].dropna().astype(int)))
        origins = sorted(set(self.runs["origin"].dropna().astype(str)) - {"?"})
        return {"Commit": ", ".join(commits) or "not recorded",
                "Generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "Command": command or "not recorded",
                "Seeds": (" ".join(map(str, seeds)) + " (per cell: the seeds column)"
                          if seeds else "none"),
                "Data origin": " and ".join(origins) or "unknown",
                "Ranked by": self.metric}

    def distribution_figure(self, metric: str = "macro_f1") -> Any:
        """Per-cell values of ``metric`` over seeds (a matplotlib Figure, or None without a
        successful job), one panel per dataset/scenario/setting: one point per seed, plus a
        box where a cell has :data:`MIN_SEEDS_FOR_BOX` seeds or more. Titles are wrapped to
        the figure's width, which never exceeds :data:`MAX_FIGURE_INCHES`."""
        from matplotlib.figure import Figure

        ok = self.runs[(self.runs["status"] == "ok") & self.runs[metric].notna()]
        if ok.empty:
            return None
        panels = list(ok.groupby(["dataset", "scenario", "setting"], sort=True))
        wanted = 1.2 * ok.groupby(["method", "variant"]).ngroups + 3
        width = min(MAX_FIGURE_INCHES, max(6.0, wanted))
        fig = Figure(figsize=(width, 3.4 * len(panels)), layout="constrained")
        axes = fig.subplots(len(panels), 1, squeeze=False)
        for ax, ((dataset, scenario, setting), group) in zip(axes[:, 0], panels):
            labels, values = [], []
            for (method, variant), cell in group.groupby(["method", "variant"], sort=True):
                labels.append(method if variant == "-" else f"{method}\n" + "\n".join(
                    textwrap.wrap(variant, 28)))
                values.append(cell[metric].to_numpy(dtype=float))
            positions = np.arange(1, len(values) + 1)
            boxed = [(p, v) for p, v in zip(positions, values) if len(v) >= MIN_SEEDS_FOR_BOX]
            if boxed:
                ax.boxplot([v for _, v in boxed], positions=[p for p, _ in boxed],
                           widths=0.5, showfliers=False)
            for position, cell_values in zip(positions, values):
                spread = np.linspace(-0.15, 0.15, len(cell_values)) if len(cell_values) > 1 else 0
                ax.scatter(position + spread, cell_values, s=16, color="C0", zorder=3)
            ax.set_xticks(positions, labels)
            ax.set_xlim(0.5, len(values) + 0.5)
            ax.set_title(textwrap.fill(f"{dataset} / {scenario} / {setting}", int(width * 7)))
            ax.set_ylabel(metric)
            ax.tick_params(axis="x", labelsize=8, labelrotation=30 if wanted > width else 0)
        return fig

    def distribution_png(self, metric: str = "macro_f1") -> bytes | None:
        """:meth:`distribution_figure` as PNG bytes (100 dpi), or None without a success."""
        fig = self.distribution_figure(metric)
        if fig is None:
            return None
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()

    def write(self, directory: Path, stem: str = "leaderboard",
              command: str | None = None) -> dict[str, Path]:
        """Write CSV (numbers), Markdown, self-contained HTML (naming ``command``, the command
        line that made it, when the caller knows it) and ``runs.csv``, each atomically."""
        directory = Path(directory)
        paths = {"csv": directory / f"{stem}.csv", "md": directory / f"{stem}.md",
                 "html": directory / f"{stem}.html", "runs": directory / RUNS_FILE}
        write_atomic(paths["csv"], self.table.to_csv(index=False))
        write_atomic(paths["md"], self.to_markdown())
        write_atomic(paths["html"], self.to_html(command=command))
        write_atomic(paths["runs"], self.runs.to_csv(index=False))
        return paths

    def _display_frame(self) -> pd.DataFrame:
        out = self.table[KEYS + ["origin", "n", "failed", "seeds"]].copy()
        for metric in self.metric_columns():
            out[metric] = [_format(m, s, n) for m, s, n in zip(
                self.table[f"{metric}_mean"], self.table[f"{metric}_std"], self.table["n"])]
        if self.table["probe_features"].astype(bool).any():
            out["probe feature"] = self.table["probe_features"].fillna("")
        return out


def _md(value: Any) -> str:
    """A Markdown table cell: HTML escaped (GitHub renders raw HTML) and pipes escaped."""
    return html.escape(str(value), quote=False).replace("|", "\\|")


def _format(mean: float, std: float, n: int) -> str:
    if pd.isna(mean):
        return "-"
    if n < 2 or pd.isna(std):
        return f"{mean:.4f} (n=1)"
    return f"{mean:.4f} ± {std:.4f}"


def _one_row_per_job(runs: pd.DataFrame, keep: str | None) -> pd.DataFrame:
    """One row per cell and seed, so no seed is counted twice.

    Reference rows repeat by design (every job of a seed scores the same references on the
    same split): one is kept, from the newest source and a success first. A job's row from a
    newer source (higher ``_rank``) supersedes older ones whatever their status: a resumed
    study reruns only the jobs its committed ``runs.csv`` lacks, failed, or ran under another
    config, so the rerun is the current answer. Two rows of one job from sources of the same
    rank (two sweeps over the same seeds) are refused with a :class:`DataError` naming both,
    unless ``keep`` chooses the first or last in the order the sources were given.
    """
    key = [*KEYS, "seed"]
    is_reference = runs["method"].astype(str).str.startswith(REFERENCE_PREFIX)
    references = (runs[is_reference].sort_values(["_rank", "_ok"], kind="stable")
                  .drop_duplicates(subset=key, keep="last"))
    jobs = runs[~is_reference]
    jobs = jobs[jobs["_rank"] == jobs.groupby(key, dropna=False)["_rank"].transform("max")]
    twice = jobs[jobs.duplicated(subset=key, keep=False)].sort_values("_order")
    if len(twice) and keep is None:
        groups = [group for _, group in twice.groupby(key, dropna=False, sort=False)]
        first, second = groups[0].iloc[0], groups[0].iloc[1]
        more = f" ({len(groups) - 1} more jobs are found twice)" if len(groups) > 1 else ""
        raise DataError(
            f"{first['method']} on {first['dataset']} / {first['scenario']} / "
            f"{first['setting']} (variant {first['variant']}) seed {_seed(first['seed'])} is in "
            f"both {_origin(first)} and {_origin(second)}{more}; merging them would count "
            f"that seed twice. Merge sweeps over distinct seeds, or say which to keep: "
            f"--keep first or --keep last (in the order the sources were given)")
    if len(twice):
        jobs = jobs.sort_values("_order").drop_duplicates(subset=key, keep=keep)
    return pd.concat([jobs, references])


def _seed(seed: Any) -> str:
    return str(int(seed)) if pd.notna(seed) else "(none)"


def _origin(row: pd.Series) -> str:
    return str(row["_from"]) if pd.notna(row["_from"]) else "a record with no file"


def _aggregate(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    rows = []
    for key, group in runs.groupby(KEYS, sort=True, dropna=False):
        ok = group[group["status"] == "ok"]
        row = dict(zip(KEYS, key))
        origins = sorted(set(group["origin"].dropna()) - {"?"})
        row["origin"] = "/".join(origins) or "?"
        row["kind"] = group["kind"].iloc[0] if "kind" in group else "method"
        row["n"] = int(len(ok))
        row["failed"] = int((group["status"] != "ok").sum())
        row["seeds"] = " ".join(str(s) for s in sorted(ok["seed"].dropna().astype(int)))
        features = ok["probe_feature"].dropna().astype(str)
        row["probe_features"] = ", ".join(
            f"{name} ×{count}" if count > 1 else name
            for name, count in features.value_counts().sort_index().items()) or None
        for m in metric_names(runs):
            values = ok[m].dropna().to_numpy(dtype=float)
            row[f"{m}_mean"] = float(values.mean()) if len(values) else np.nan
            row[f"{m}_std"] = float(values.std(ddof=1)) if len(values) > 1 else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    table["_reference"] = table["method"].str.startswith(REFERENCE_PREFIX)
    return table.sort_values(["dataset", "scenario", "setting", "_reference", f"{metric}_mean"],
                             ascending=[True, True, True, True, False], na_position="last",
                             ignore_index=True).drop(columns="_reference")
