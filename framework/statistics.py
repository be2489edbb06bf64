"""Paired statistics over seeds: which differences between methods the runs can support.

The same seed gives every method the same split, so methods are compared **paired by seed**:
the difference of two methods on one seed removes the split's own difficulty from the noise.

* Per cell: the mean with a 95 % percentile-bootstrap interval over seeds.
* Per (dataset, scenario, setting): every method against the best one (highest mean among the
  methods with the most seeds, so a method that survived on one lucky seed cannot be "best"),
  on the seeds both have. Test: Wilcoxon signed-rank when n >= 6 pairs, else a paired t-test (with
  five pairs the smallest two-sided Wilcoxon p is 0.0625, so it could never reject). A constant
  non-zero difference (where t is undefined) gets the exact sign test. The interval of the mean
  difference is the paired t interval. p-values are Holm-corrected within the setting, in two
  families: the methods, and the reference rows (``ref:*``, floors that should not dilute the
  power of the comparisons between methods).
* Choosing the best from the same data makes "below the best" too easy: with 9 equal methods
  and 10 seeds, Holm alone calls some method "below" about 12 % of the time (simulated).
  So each comparison also gets ``p_maxt``, a Westfall-Young max-T p-value from within-seed
  permutations of the method labels that re-selects the best in every permutation; a method
  is "below" only when both ``p_holm`` and ``p_maxt`` are under alpha.
* Verdicts, used by reports instead of free prose: ``below`` (the best is better),
  ``equivalent`` (not different, at least :data:`MIN_EQUIVALENCE_PAIRS` pairs, and the whole
  non-degenerate interval of the difference lies within +-:data:`EQUIVALENCE_MARGIN`),
  ``untestable`` (no p-value of the family could reach alpha after Holm at these n: with 6
  seeds and 4 reference rows the smallest is 4 x 0.031 = 0.125, so even a row 96 points below
  the best cannot be shown below it) or ``not distinguishable``.
* Over all settings: Friedman's test and Nemenyi's post-hoc on ranks, blocks being the
  settings (mean over seeds: seeds of one setting are not independent data sets), drawn as a
  critical-difference diagram (scikit-posthocs); methods or settings left out for missing
  cells are listed.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from framework.runs import REFERENCE_PREFIX

ALPHA = 0.05
EQUIVALENCE_MARGIN = 0.01  # one point of a metric in [0, 1]
SETTING_KEYS = ["dataset", "scenario", "setting"]
MIN_EQUIVALENCE_PAIRS = 5
PERMUTATIONS = 2000
SIGNIFICANCE_COLUMNS = ["dataset", "scenario", "setting", "method_a", "method_b", "metric", "n",
                        "test", "mean_a", "mean_b", "mean_diff", "ci_low", "ci_high", "p_value",
                        "p_holm", "p_maxt", "verdict"]


def label_of(method: str, variant: str) -> str:
    return method if variant in ("-", "", None) or pd.isna(variant) else f"{method} [{variant}]"


def labels(runs: pd.DataFrame) -> pd.Series:
    """The name each row's method goes by in the tests and the report."""
    return pd.Series([label_of(m, v) for m, v in zip(runs["method"], runs["variant"])],
                     index=runs.index, dtype=object)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment (monotone, capped at 1); NaN stays NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(len(p), np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m, running = len(order), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        out[index] = running
    return out.tolist()


def bootstrap_interval(values: np.ndarray, seed: int = 0, resamples: int = 10_000,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; a single value has no interval (NaN)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (resamples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return (float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail)))


def paired_test(a: np.ndarray, b: np.ndarray) -> tuple[str, float]:
    """(test name, two-sided p) for paired samples ``a`` and ``b``."""
    diff = np.round(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), 12)  # float noise
    n = len(diff)
    if n < 2:
        return ("none (n < 2)", np.nan)
    if np.all(diff == 0):
        return ("identical", 1.0)
    if np.all(diff == diff[0]):
        return ("sign", float(min(1.0, 2 * 0.5 ** n)))
    if n >= 6:
        return ("wilcoxon", float(stats.wilcoxon(diff, zero_method="wilcox").pvalue))
    return ("paired t", float(stats.ttest_rel(a, b).pvalue))


def _t_interval(diff: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    n = len(diff)
    if n < 2:
        return (np.nan, np.nan)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * diff.std(ddof=1) / np.sqrt(n)
    return (float(diff.mean() - half), float(diff.mean() + half))


def _ok(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    ok = runs[(runs["status"] == "ok") & runs[metric].notna()].copy()
    ok["label"] = labels(ok)
    return ok


def max_t_pvalues(table: pd.DataFrame, resamples: int = PERMUTATIONS,
                  seed: int = 0) -> dict[str, float]:
    """Westfall-Young single-step max-T p-values for "method below the best", from a complete
    seeds x methods table. Under the null that methods are exchangeable within each seed, the
    labels are permuted within every row, the best is re-chosen, and the largest paired t of
    (best - other) is recorded; a method's p is the share of permutations whose largest t
    reaches its observed t. Selecting the best is thereby part of the null distribution."""
    values = table.to_numpy(dtype=float)
    n, k = values.shape
    if n < 2 or k < 2:
        return {}

    def t_against_best(matrix: np.ndarray) -> np.ndarray:
        best = int(np.argmax(matrix.mean(axis=0)))
        diff = matrix[:, [best]] - matrix
        sd = diff.std(axis=0, ddof=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(sd > 0, diff.mean(axis=0) / (sd / np.sqrt(n)),
                         np.where(diff.mean(axis=0) > 0, np.inf, 0.0))
        t[best] = -np.inf
        return t

    observed = t_against_best(values)
    rng = np.random.default_rng(seed)
    maxima = np.empty(resamples)
    for i in range(resamples):
        shuffled = np.take_along_axis(values, rng.permuted(np.tile(np.arange(k), (n, 1)),
                                                           axis=1), axis=1)
        maxima[i] = t_against_best(shuffled).max()
    return {str(column): float((1 + (maxima >= t).sum()) / (resamples + 1))
            for column, t in zip(table.columns, observed) if np.isfinite(t) or t == np.inf}


def cell_intervals(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean and 95 % bootstrap interval over seeds, per cell."""
    rows = []
    for key, group in _ok(runs, metric).groupby([*SETTING_KEYS, "method", "variant"], sort=True):
        values = group[metric].to_numpy(dtype=float)
        low, high = bootstrap_interval(values)
        rows.append({**dict(zip([*SETTING_KEYS, "method", "variant"], key)), "metric": metric,
                     "n": len(values), "mean": float(values.mean()), "ci_low": low,
                     "ci_high": high})
    return pd.DataFrame(rows)


def compare_to_best(runs: pd.DataFrame, metric: str, alpha: float = ALPHA) -> pd.DataFrame:
    """Every method against the best of its setting, paired by seed, Holm-corrected."""
    rows = []
    for key, group in _ok(runs, metric).groupby(SETTING_KEYS, sort=True):
        table = group.pivot_table(index="seed", columns="label", values=metric, aggfunc="first")
        counts = table.notna().sum()
        means = table.mean()
        best = str(means[counts == counts.max()].idxmax())
        methods = [c for c in table.columns if not str(c).startswith(REFERENCE_PREFIX)]
        complete = table[methods].dropna()
        maxt = max_t_pvalues(complete) if len(complete) == len(table) else {}
        found = []
        for other in sorted(means.index):
            if other == best:
                continue
            pair = table[[other, best]].dropna()
            a, b = pair[other].to_numpy(), pair[best].to_numpy()
            test, p = paired_test(a, b)
            low, high = _t_interval(a - b)
            found.append({**dict(zip(SETTING_KEYS, key)), "method_a": other, "method_b": best,
                          "metric": metric, "n": len(pair), "test": test,
                          "mean_a": float(a.mean()) if len(a) else np.nan,
                          "mean_b": float(b.mean()) if len(b) else np.nan,
                          "mean_diff": float((a - b).mean()) if len(a) else np.nan,
                          "ci_low": low, "ci_high": high, "p_value": p,
                          "p_maxt": (maxt.get(other, np.nan) if best in methods else np.nan)})
        for family in (False, True):
            members = [r for r in found if r["method_a"].startswith(REFERENCE_PREFIX) == family]
            floor = holm_floor([r["n"] for r in members if not np.isnan(r["p_value"])])
            for row, adjusted in zip(members, holm([r["p_value"] for r in members])):
                row["p_holm"] = adjusted
                # Reference rows are floors, not candidates for "best": Holm alone there.
                gate = adjusted if family else max(adjusted, row["p_maxt"])
                row["verdict"] = verdict(row["mean_diff"], row["ci_low"], row["ci_high"],
                                         gate, alpha, row["n"], floor)
                rows.append(row)
    return pd.DataFrame(rows, columns=SIGNIFICANCE_COLUMNS)


def smallest_p(n: int) -> float:
    """The smallest two-sided p a test of n pairs can give (what n seeds can ever show)."""
    return 2 * 0.5 ** n if n >= 6 else 0.0  # a paired t can give any p


def holm_floor(ns: list[int]) -> float:
    """The smallest Holm-adjusted p a family of tests with these pair counts can give: the
    family's size times the smallest p any of them can reach (NaN for an empty family)."""
    return min(smallest_p(n) for n in ns) * len(ns) if ns else np.nan


def verdict(mean_diff: float, ci_low: float, ci_high: float, p: float,
            alpha: float = ALPHA, n: int = MIN_EQUIVALENCE_PAIRS, floor: float = 0.0) -> str:
    """``p`` is the p-value that must be under ``alpha`` for a difference (NaN: untestable).
    ``floor`` is the smallest p the family's correction allows (:func:`holm_floor`); at or
    above ``alpha`` no test could have rejected, so "not distinguishable", which reads as
    evidence of closeness, is ``untestable`` instead."""
    if not np.isnan(p) and p < alpha:
        return "above" if mean_diff > 0 else "below"
    if (n >= MIN_EQUIVALENCE_PAIRS and not np.isnan(ci_low) and ci_high > ci_low
            and -EQUIVALENCE_MARGIN <= ci_low and ci_high <= EQUIVALENCE_MARGIN):
        return "equivalent"
    return "untestable" if floor >= alpha else "not distinguishable"


def rank_blocks(runs: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Settings x methods (mean over seeds), plus the methods and settings dropped to make the
    matrix complete (Friedman needs every method in every block): methods missing from most
    settings go first, then settings still incomplete."""
    ok = _ok(runs, metric)
    if ok.empty:
        return pd.DataFrame(), [], []
    ok["block"] = [" / ".join(map(str, k)) for k in zip(*(ok[c] for c in SETTING_KEYS))]
    matrix = ok.pivot_table(index="block", columns="label", values=metric, aggfunc="mean")
    keep = matrix.notna().mean() >= 0.5
    dropped_methods = sorted(map(str, matrix.columns[~keep]))
    matrix = matrix.loc[:, keep]
    complete = matrix.notna().all(axis=1)
    dropped_settings = sorted(map(str, matrix.index[~complete]))
    return matrix[complete], dropped_methods, dropped_settings


def friedman_nemenyi(runs: pd.DataFrame, metric: str) -> dict[str, Any] | None:
    """Friedman's p over settings, mean ranks, and Nemenyi's p-value matrix."""
    import scikit_posthocs as sp

    matrix, dropped_methods, dropped_settings = rank_blocks(runs, metric)
    if matrix.shape[0] < 2 or matrix.shape[1] < 3:
        return None
    ranks = matrix.rank(axis=1, ascending=False).mean()
    p_friedman = float(stats.friedmanchisquare(*[matrix[c] for c in matrix.columns]).pvalue)
    nemenyi = sp.posthoc_nemenyi_friedman(matrix.reset_index(drop=True))
    return {"blocks": int(matrix.shape[0]), "ranks": ranks.sort_values(),
            "p_friedman": p_friedman, "nemenyi": nemenyi,
            "dropped_methods": dropped_methods, "dropped_settings": dropped_settings}


def critical_difference_png(result: dict[str, Any], title: str) -> bytes:
    import scikit_posthocs as sp
    from matplotlib.figure import Figure

    # A plain Figure (no pyplot, no backend switch): the caller's backend stays as it was.
    fig = Figure(figsize=(8, 0.35 * len(result["ranks"]) + 1.6))
    ax = fig.subplots()
    sp.critical_difference_diagram(result["ranks"], result["nemenyi"], ax=ax)
    ax.set_title(f"{title}\nmean rank over {result['blocks']} settings (mean over seeds); "
                 f"Friedman p = {result['p_friedman']:.2g}; bars join methods Nemenyi cannot "
                 f"separate", fontsize=9)
    fig.set_layout_engine("constrained")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
