"""Reference classifiers and single-feature probes: a planted shortcut is found, noise is not."""

import numpy as np
import pytest

from framework.references import probe_scores, reference_results


def planted(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    noise = rng.normal(size=n)
    shortcut = np.where(y == 1, rng.uniform(5, 6, n), rng.uniform(0, 1, n))
    weak = y + rng.normal(scale=2.0, size=n)
    X = np.column_stack([noise, shortcut, weak])
    return X, y, ["noise", "shortcut", "weak"]


def test_probe_finds_the_planted_shortcut_and_not_the_noise():
    X, y, names = planted()
    scores = {s.feature: s.score for s in probe_scores(X, y, names, seed=0)}
    assert probe_scores(X, y, names, seed=0)[0].feature == "shortcut"
    assert scores["shortcut"] > 0.99
    assert scores["noise"] < 0.6  # chance for two balanced classes is about 0.5
    assert scores["noise"] < scores["weak"] < scores["shortcut"]


def test_a_missing_value_pattern_is_a_shortcut_too():
    X, y, names = planted()
    X[:, 0] = np.where(y == 1, np.nan, X[:, 0])  # "undefined" only for one class
    best = probe_scores(X, y, names, seed=0)
    assert {best[0].feature, best[1].feature} == {"noise", "shortcut"}
    assert min(best[0].score, best[1].score) > 0.99


def test_references_use_training_rows_only_for_their_choices():
    X, y, names = planted()
    train, test = np.arange(400), np.arange(400, 600)
    refs = reference_results(X, names, y, train, test, ["b", "m"], 1, seed=0)
    assert refs["probe"]["feature"] == "shortcut" and refs["probe"]["f1"] > 0.99
    assert refs["majority"]["balanced_accuracy"] == pytest.approx(0.5)
    assert refs["majority"]["mcc"] == 0.0
    assert 0.3 < refs["stratified"]["balanced_accuracy"] < 0.7
    # Destroy the shortcut in the training rows only: the probe must not pick it any more,
    # because its choice never looks at test labels.
    X_bad = X.copy()
    X_bad[train, 1] = np.random.default_rng(1).permutation(X_bad[train, 1])
    refs = reference_results(X_bad, names, y, train, test, ["b", "m"], 1, seed=0)
    assert refs["probe"]["feature"] == "weak"


def test_a_feature_whose_missingness_is_the_signal_is_found():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    X = np.column_stack([np.where(y == 1, np.nan, 5.0), rng.normal(size=300)])
    best = probe_scores(X, y, ["undefined_for_one_class", "noise"], seed=0)[0]
    assert best.feature == "undefined_for_one_class" and best.score > 0.99


def test_a_label_collected_in_its_own_period_is_caught_by_the_time_reference():
    """On XBlock, when an account first transacted scores 94.8 % alone, above every model:
    the time reference reports that, fitted on training rows only."""
    X, y, names = planted()
    rng = np.random.default_rng(3)
    time = np.where(y == 1, rng.uniform(2e9, 3e9, len(y)), rng.uniform(1e9, 2e9, len(y)))
    time[::50] = np.nan  # missing times take the training median
    train, test = np.arange(400), np.arange(400, 600)
    refs = reference_results(X[:, [0]], names[:1], y, train, test, ["b", "m"], 1, seed=0,
                             time=time)
    assert refs["time"]["feature"] == "time of first activity"
    assert refs["time"]["balanced_accuracy"] > 0.95 > refs["probe"]["balanced_accuracy"]
    shuffled = time.copy()
    shuffled[train] = rng.permutation(shuffled[train])  # no period signal in training rows
    refs = reference_results(X[:, [0]], names[:1], y, train, test, ["b", "m"], 1, seed=0,
                             time=shuffled)
    assert refs["time"]["balanced_accuracy"] < 0.7
    assert "time" not in reference_results(X, names, y, train, test, ["b", "m"], 1, seed=0)


def test_the_crawl_shortcut_reference_answers_with_the_recognised_collections_label():
    """Two crawls that no single attribute separates (their difference is the sum of two
    attributes); in training, crawl 1 holds only malicious rows. The zero-shot trap: an unseen
    malicious class from crawl 1 is caught by recognising the crawl, while a malicious class
    from crawl 0 is called benign."""
    rng = np.random.default_rng(0)
    n = 1200
    crawl = rng.integers(0, 2, n)
    a = rng.normal(0, 3, n)
    X = np.column_stack([a, -a + np.where(crawl == 1, 1.0, -1.0) + rng.normal(0, 0.2, n),
                         rng.normal(0, 1, n)])
    # crawl 0: benign (0) and malicious (1) alike; crawl 1: malicious only
    y = np.where(crawl == 1, 1, rng.integers(0, 2, n))
    train, test = np.arange(0, 800), np.arange(800, n)
    out = reference_results(X, ["a", "b", "noise"], y, train, test, ["benign", "malicious"],
                            1, seed=0, sources=crawl)
    source = out["source"]
    assert source["feature"] == "collection recognised from all attributes"
    from_crawl_1 = crawl[test] == 1
    # every crawl-1 test row is recognised and called malicious: recall 1 on that slice
    sliced = reference_results(X, ["a", "b", "noise"], y, train, test, ["benign", "malicious"],
                               1, seed=0, sources=crawl,
                               slices={"crawl1": np.flatnonzero(from_crawl_1)})
    assert sliced["source"]["slices"]["crawl1"]["accuracy"] > 0.98
    # no single attribute names the crawl, so the one-feature probe does worse than the shortcut
    assert source["balanced_accuracy"] > out["probe"]["balanced_accuracy"]
    assert "source" not in reference_results(X, ["a", "b", "noise"], y, train, test,
                                             ["benign", "malicious"], 1, seed=0)
    one_crawl = np.zeros(n, dtype=int)  # a single collection gives no shortcut to score
    assert "source" not in reference_results(X, ["a", "b", "noise"], y, train, test,
                                             ["benign", "malicious"], 1, seed=0,
                                             sources=one_crawl)
    # Each crawl one class in training (zero-shot with phishing held out): recognising the
    # crawl is classifying the label, so there is no shortcut row to report.
    assert "source" not in reference_results(X, ["a", "b", "noise"], crawl, train, test,
                                             ["benign", "malicious"], 1, seed=0, sources=crawl)
