"""Paired statistics: Holm by hand, the choice of test, verdicts that follow the tests."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from framework.statistics import (bootstrap_interval, compare_to_best, friedman_nemenyi, holm,
                                  holm_floor, paired_test)


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
                      for k in range(8)])
    lonely = pd.DataFrame([{"dataset": "d", "scenario": "z", "setting": "0", "method": "e",
                            "variant": "-", "seed": 0, "status": "ok", "f1": 0.99}])
    result = friedman_nemenyi(pd.concat([runs, lonely]), "f1")
    # Settings are the blocks (seeds of one setting are not independent data sets).
    assert result["blocks"] == 8 and list(result["ranks"].index) == ["a", "b", "c"]
    assert result["p_friedman"] < 0.001
    assert result["nemenyi"].loc["a", "c"] < 0.05
    assert result["dropped_methods"] == ["e"]  # in one setting of eight: left out, and said


def test_drawing_a_figure_leaves_the_callers_matplotlib_backend_alone():
    """A report drawn in a notebook must not switch the notebook's backend to Agg."""
    import matplotlib

    from types import SimpleNamespace

    from framework.audit import distribution_png
    from framework.statistics import critical_difference_png

    runs = pd.concat([_runs({"a": 0.9, "b": 0.85, "c": 0.5}, seed=k).assign(setting=str(k))
                      for k in range(4)])
    data = SimpleNamespace(X=np.arange(20.0).reshape(10, 2), y=np.array([0, 1] * 5),
                           feature_names=["f", "g"], class_names=["benign", "malicious"])
    previous = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        for png in (critical_difference_png(friedman_nemenyi(runs, "f1"), "t"),
                    distribution_png(data, "f", "label", 0.5)):
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(previous)


def test_max_t_keeps_the_family_wise_error_near_alpha_when_all_methods_are_equal():
    """Holm against a best chosen from the same runs calls some equal method "below" about
    12 % of the time with 9 methods and 10 seeds; the max-T gate brings it back to ~5 %."""
    from framework.statistics import max_t_pvalues

    rng = np.random.default_rng(1)
    false_alarms = 0
    for _ in range(100):
        table = pd.DataFrame(rng.normal(0.8, 0.02, (10, 9)) + rng.normal(0, 0.03, (10, 1)))
        p = max_t_pvalues(table, resamples=300, seed=0)
        false_alarms += min(p.values()) < 0.05
    assert false_alarms <= 10
    table = pd.DataFrame(rng.normal(0.8, 0.01, (10, 3)))
    table[2] -= 0.1  # clearly worse
    assert max_t_pvalues(table, resamples=300)["2"] < 0.05


def test_equivalence_needs_enough_pairs_and_a_real_interval():
    a = np.array([0.70, 0.90])
    runs = pd.DataFrame([{"dataset": "d", "scenario": "z", "setting": "-", "method": m,
                          "variant": "-", "seed": s, "status": "ok", "f1": v}
                         for m, values in (("a", a), ("b", a + 0.005)) for s, v in
                         enumerate(values)])
    assert compare_to_best(runs, "f1").loc[0, "verdict"] == "not distinguishable"


def test_float_noise_is_not_a_constant_difference():
    a = np.linspace(0.7, 0.9, 8)
    b = a + np.array([0, 1e-13, 0, 0, 1e-13, 0, 0, 0])
    assert paired_test(a, b) == ("identical", 1.0)


def test_the_best_has_the_most_seeds():
    runs = _runs({"a": 0.80, "b": 0.78})
    lucky = pd.DataFrame([{"dataset": "d", "scenario": "z", "setting": "-", "method": "c",
                           "variant": "-", "seed": 0, "status": "ok", "f1": 0.95}])
    table = compare_to_best(pd.concat([runs, lucky]), "f1")
    assert set(table["method_b"]) == {"a"}


def test_a_family_no_corrected_p_can_reach_is_untestable():
    """With 6 seeds the smallest Wilcoxon p is 0.031 and Holm over 3 comparisons lifts it to
    0.094: even a method 30 points below cannot be shown below, so it is "untestable", not
    "not distinguishable" (which reads as evidence that it is close)."""
    means = {"a": 0.9, "b": 0.6, "c": 0.6, "d": 0.6}
    assert holm_floor([6, 6, 6]) == pytest.approx(3 * 2 * 0.5 ** 6)
    assert holm_floor([5, 6]) == 0.0  # a paired t (n < 6) can give any p
    assert set(compare_to_best(_runs(means, seeds=6), "f1")["verdict"]) == {"untestable"}
    assert set(compare_to_best(_runs(means, seeds=10), "f1")["verdict"]) == {"below"}
    assert set(compare_to_best(_runs(means, seeds=5), "f1")["verdict"]) == {"below"}
