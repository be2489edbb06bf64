"""Paired statistics: Holm by hand, the choice of test, verdicts that follow the tests."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from framework.statistics import (bootstrap_interval, compare_to_best, friedman_nemenyi, holm,
                                  paired_test)


def test_holm_against_a_hand_example():
    # sorted p: 0.01 (x4 = 0.04), 0.02 (x3 = 0.06), 0.03 (x2 = 0.06, monotone), 0.04 (x1)
    assert holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    out = holm([np.nan, 0.01])
    assert np.isnan(out[0]) and out[1] == pytest.approx(0.01)


def test_the_test_depends_on_the_number_of_pairs():
    rng = np.random.default_rng(0)
    a = rng.normal(size=5)
    b = a - 0.5 + rng.normal(scale=0.1, size=5)
    assert paired_test(a, b) == ("paired t", pytest.approx(stats.ttest_rel(a, b).pvalue))
    a6 = np.append(a, 1.0)
    b6 = np.append(b, 0.4)
    assert paired_test(a6, b6) == ("wilcoxon", pytest.approx(stats.wilcoxon(a6 - b6).pvalue))
    assert paired_test(a, a) == ("identical", 1.0)
    assert paired_test(a, a - 0.1) == ("sign", pytest.approx(2 * 0.5 ** 5))


def test_bootstrap_interval_brackets_the_mean():
    values = np.array([0.80, 0.82, 0.85, 0.79, 0.81])
    low, high = bootstrap_interval(values)
    assert low <= values.mean() <= high and values.min() <= low and high <= values.max()
    assert np.isnan(bootstrap_interval(np.array([0.8]))[0])


def _runs(method_means, seeds=10, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    split = rng.normal(scale=0.03, size=seeds)  # the split's own difficulty, shared by all
    rows = []
    for method, mean in method_means.items():
        for s in range(seeds):
            rows.append({"dataset": "d", "scenario": "z", "setting": "-", "method": method,
                         "variant": "-", "seed": s, "status": "ok",
                         "f1": mean + split[s] + rng.normal(scale=noise)})
    return pd.DataFrame(rows)


def test_verdicts_follow_the_paired_tests():
    runs = _runs({"best": 0.90, "close": 0.899, "worse": 0.80})
    table = compare_to_best(runs, "f1").set_index("method_a")
    (top,) = set(table["method_b"])  # "best" or "close": 0.001 apart, noise 0.01
    other = ({"best", "close"} - {top}).pop()
    assert table.loc["worse", "verdict"] == "below" and table.loc["worse", "p_holm"] < 0.05
    assert table.loc[other, "verdict"] in ("equivalent", "not distinguishable")
    assert table.loc["worse", "ci_high"] < 0 < table.loc[other, "ci_high"]
    # Pairing matters: the shared split effect (sd 0.03) would hide a 0.02 gap unpaired.
    paired = compare_to_best(_runs({"a": 0.90, "b": 0.88}, noise=0.002), "f1")
    assert paired.loc[0, "verdict"] == "below"


def test_friedman_and_nemenyi_rank_methods_over_blocks():
    runs = pd.concat([_runs({"a": 0.9, "b": 0.85, "c": 0.5}, seed=k).assign(setting=str(k))
                      for k in range(3)])
    result = friedman_nemenyi(runs, "f1")
    assert result["blocks"] == 30 and list(result["ranks"].index) == ["a", "b", "c"]
    assert result["p_friedman"] < 1e-6
    assert result["nemenyi"].loc["a", "c"] < 0.05
