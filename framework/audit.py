"""``chainsleuth audit``: what a dataset lets a model learn besides behaviour, before any model.

A dataset assembled from several crawls or lists can carry the collection in its attributes:
one crawl filtered zero-value transfers, another did not, and "has a zero-value transfer" then
names the crawl, and through it the label. The audit looks for such things with the cheapest
possible learner, a depth-2 tree on one feature at a time (cross-validated macro-F1), against
the label and against the dataset's declared **source** (``AccountData.sources``), and lists
rows per class, missing values, duplicated rows and per-class time ranges.

Writes ``audit.json`` (``{"shortcuts": [{"feature", "target", "score"}, ...]}`` sorted by
score, plus the tables) and ``audit.md`` with per-class distributions of the top shortcuts.
"""

from __future__ import annotations

import html
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from framework.data import AccountData
from framework.errors import DataError
from framework.references import PROBE_ROWS, probe_scores
from framework.results import atomic_output, json_safe, write_atomic

# A probe scoring at least this (macro-F1) is called a shortcut in the Markdown summary.
SHORTCUT_THRESHOLD = 0.8
TOP_FIGURES = 3


def audit(data: AccountData, seed: int = 0) -> dict[str, Any]:
    """The audit of a loaded dataset as a JSON-ready dict."""
    labelled = data.labelled
    present = np.unique(data.y[labelled])
    if len(present) < 2:
        raise DataError(f"dataset '{data.name}': the audit needs labelled rows of at least two "
                        f"classes, found {[data.class_names[i] for i in present]}")
    shortcuts = [{"feature": s.feature, "target": "label", "score": s.score}
                 for s in probe_scores(data.X[labelled], data.y[labelled], data.feature_names,
                                       seed)]
    # Sources are probed on the labelled rows: a source matters where it can stand in for the
    # label (unlabelled rows, e.g. counterparties, form a source of their own and would only
    # teach the probe to tell labelled from unlabelled rows).
    if data.sources is not None and len(np.unique(data.sources[labelled])) > 1:
        shortcuts += [{"feature": s.feature, "target": "source", "score": s.score}
                      for s in probe_scores(data.X[labelled], data.sources[labelled],
                                            data.feature_names, seed)]
    shortcuts.sort(key=lambda s: (-s["score"], s["target"], s["feature"]))
    return {
        "dataset": data.name,
        "origin": data.provenance.origin,
        "provenance": data.provenance.as_dict(),
        "rows": int(len(data.ids)),
        "rows_per_class": {c: int((data.y == i).sum()) for i, c in enumerate(data.class_names)},
        "unlabelled": int((data.y < 0).sum()),
        "sources": _sources(data),
        "missing_per_attribute": {name: float(rate) for name, rate in
                                  zip(data.feature_names, np.isnan(data.X).mean(axis=0))},
        "duplicates": _duplicates(data),
        "time_ranges": _time_ranges(data),
        "probe": {"learner": "depth-2 decision tree on one feature", "cv_folds": 5,
                  "score": "cross-validated macro-F1", "seed": seed,
                  "rows_used": int(min(len(labelled), PROBE_ROWS)),
                  "label_floor": _floor(data.y[labelled]),
                  "source_floor": (_floor(data.sources[labelled]) if data.sources is not None
                                   else None)},
        "shortcuts": shortcuts,
    }


def _floor(y: np.ndarray) -> float:
    """Macro-F1 of predicting the majority class: what a useless probe scores."""
    counts = np.bincount(y)
    present = (counts > 0).sum()
    share = counts.max() / counts.sum()
    return float(2 * share / (1 + share) / present)


def _sources(data: AccountData) -> dict[str, Any] | None:
    if data.sources is None:
        return None
    table: dict[str, Any] = {}
    for i, name in enumerate(data.source_names):
        rows = data.sources == i
        table[name] = {c: int((rows & (data.y == k)).sum()) for k, c in
                       enumerate(data.class_names)}
    return table


def _duplicates(data: AccountData) -> dict[str, int]:
    """Rows whose whole feature vector repeats another row's, and how many of those repeats
    carry different labels (a model cannot separate them; a split can leak them)."""
    rounded = np.where(np.isnan(data.X), np.inf, data.X)
    _, inverse, counts = np.unique(rounded, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    repeated = counts[inverse] > 1
    conflicting = 0
    for group in np.flatnonzero(counts > 1):
        labels = set(data.y[inverse == group]) - {-1}
        conflicting += int(len(labels) > 1)
    return {"rows_in_duplicate_groups": int(repeated.sum()),
            "duplicate_groups": int((counts > 1).sum()),
            "groups_with_conflicting_labels": conflicting}


def _time_ranges(data: AccountData) -> dict[str, Any] | None:
    if data.time is None:
        return None
    out = {}
    for i, name in enumerate(data.class_names):
        values = data.time[(data.y == i) & ~np.isnan(data.time)]
        if len(values):
            out[name] = {"min": float(values.min()), "median": float(np.median(values)),
                         "max": float(values.max())}
    return out


def _date(value: float) -> str:
    if value > 1e8:  # Unix seconds
        return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d")
    return f"{value:g}"


def markdown(report: dict[str, Any], figures: list[str]) -> str:
    e = lambda v: html.escape(str(v), quote=False).replace("|", "\\|")  # noqa: E731
    top = [s for s in report["shortcuts"] if s["score"] >= SHORTCUT_THRESHOLD]
    lines = [f"# Audit of `{e(report['dataset'])}` ({e(report['origin'])})", ""]
    if top:
        lines += [f"**{len(top)} single-feature shortcut(s) with macro-F1 >= "
                  f"{SHORTCUT_THRESHOLD}** (a depth-2 tree on that one attribute, 5-fold CV):", ""]
        lines += [f"- `{e(s['feature'])}` predicts the **{s['target']}** with macro-F1 "
                  f"{s['score']:.3f}" for s in top[:10]]
    else:
        lines.append(f"No single feature predicts the label or the source with macro-F1 >= "
                     f"{SHORTCUT_THRESHOLD}.")
    probe = report["probe"]
    lines += ["", f"Floors (majority-class macro-F1): label {probe['label_floor']:.3f}" +
              (f", source {probe['source_floor']:.3f}" if probe["source_floor"] is not None
               else "; the dataset declares no sources, so none was probed") + ".", ""]
    lines += ["## Rows per class", "", "| class | rows |", "|---|---|"]
    lines += [f"| {e(c)} | {n} |" for c, n in report["rows_per_class"].items()]
    lines.append(f"| (unlabelled) | {report['unlabelled']} |")
    if report["sources"]:
        classes = list(report["rows_per_class"])
        lines += ["", "## Sources x classes", "", "| source | " + " | ".join(map(e, classes)) +
                  " |", "|---|" + "---|" * len(classes)]
        lines += [f"| {e(s)} | " + " | ".join(str(v) for v in row.values()) + " |"
                  for s, row in report["sources"].items()]
    if report["time_ranges"]:
        lines += ["", "## Time of first activity per class", "", "| class | first | median | "
                  "last |", "|---|---|---|---|"]
        lines += [f"| {e(c)} | {_date(t['min'])} | {_date(t['median'])} | {_date(t['max'])} |"
                  for c, t in report["time_ranges"].items()]
    dup = report["duplicates"]
    lines += ["", "## Duplicates", "",
              f"{dup['rows_in_duplicate_groups']} rows share their whole feature vector with "
              f"another row ({dup['duplicate_groups']} groups, "
              f"{dup['groups_with_conflicting_labels']} with conflicting labels).", ""]
    missing = {k: v for k, v in report["missing_per_attribute"].items() if v > 0}
    lines += ["## Missing values", ""]
    lines += ([f"- `{e(k)}`: {v * 100:.1f} %" for k, v in sorted(missing.items())]
              or ["None."])
    lines += ["", "## All probes", "", "| feature | target | macro-F1 |", "|---|---|---|"]
    lines += [f"| {e(s['feature'])} | {s['target']} | {s['score']:.3f} |"
              for s in report["shortcuts"]]
    lines += ["", "## Distributions of the top shortcuts", ""]
    lines += [f"![{e(name)}]({e(name)})" for name in figures]
    return "\n".join(lines) + "\n"


def distribution_png(data: AccountData, feature: str, target: str, score: float) -> bytes:
    """Per-group histogram (on a signed-log axis) of one feature: where the classes or sources
    separate, a person sees it at once."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend stays as it was

    column = data.X[:, data.feature_names.index(feature)]
    if target == "source":
        groups, names, keep = data.sources, data.source_names, np.ones(len(column), bool)
    else:
        groups, names, keep = data.y, data.class_names, data.y >= 0
    values = np.sign(column) * np.log1p(np.abs(column))
    finite = values[keep & ~np.isnan(values)]
    bins = np.linspace(finite.min(), finite.max(), 41) if len(finite) and np.ptp(finite) > 0 \
        else 10
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    for i, name in enumerate(names):
        rows = keep & (groups == i) & ~np.isnan(values)
        if rows.any():
            ax.hist(values[rows], bins=bins, alpha=0.5, density=True,
                    label=f"{name} (n={int(rows.sum())}, missing "
                          f"{int((keep & (groups == i) & np.isnan(values)).sum())})")
    ax.set_xlabel(f"sign(x)·log(1+|x|) of {feature}")
    ax.set_ylabel("density")
    ax.set_title(f"{feature} by {target}: probe macro-F1 {score:.3f}", fontsize=10)
    ax.legend(fontsize=7)
    fig.set_layout_engine("constrained")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def write_audit(data: AccountData, out: Path, seed: int = 0) -> dict[str, Path]:
    """Audit ``data`` and write ``audit.json``, ``audit.md`` and the figures into ``out``."""
    report = audit(data, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    for target in ("label", "source"):
        for s in [s for s in report["shortcuts"] if s["target"] == target][:TOP_FIGURES]:
            name = f"shortcut_{target}_{len(figures)}.png"
            with atomic_output(out / name) as tmp:
                tmp.write_bytes(distribution_png(data, s["feature"], target, s["score"]))
            figures.append(name)
    write_atomic(out / "audit.json", json.dumps(json_safe(report), indent=2) + "\n")
    write_atomic(out / "audit.md", markdown(report, figures))
    return {"json": out / "audit.json", "md": out / "audit.md"}
