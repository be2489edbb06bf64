"""Metrics on hand cases, checked against scikit-learn and against arithmetic done by hand."""

import numpy as np
import pytest
from sklearn.metrics import (average_precision_score, balanced_accuracy_score, matthews_corrcoef,
                             roc_auc_score)

from framework.metrics import classification_metrics, constant_f1


def test_binary_case_by_hand():
    # 8 test rows, 6 positive (class 1): prevalence 0.75.
    y = np.array([1, 1, 1, 1, 1, 1, 0, 0])
    pred = np.array([1, 1, 1, 0, 0, 1, 0, 1])
    score = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.6, 0.2, 0.65])
    proba = np.column_stack([1 - score, score])
    m = classification_metrics(y, pred, proba, ["benign", "malicious"], positive_class=1)
    assert m["prevalence"] == pytest.approx(0.75)
    assert m["constant_f1"] == pytest.approx(2 * 0.75 / 1.75)  # precision .75, recall 1
    # positive class: TP 4, FP 1, FN 2 -> precision 0.8, recall 2/3
    assert m["f1"] == pytest.approx(2 * 0.8 * (2 / 3) / (0.8 + 2 / 3))
    assert m["balanced_accuracy"] == pytest.approx((4 / 6 + 1 / 2) / 2)
    assert m["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["mcc"] == pytest.approx(matthews_corrcoef(y, pred))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, score))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, score))


def test_the_constant_classifier_scores_exactly_constant_f1():
    y = np.array([1] * 17 + [0] * 3)
    everything = np.ones(20, dtype=int)
    m = classification_metrics(y, everything, None, ["b", "m"], positive_class=1)
    assert m["f1"] == pytest.approx(m["constant_f1"]) and m["f1"] > 0.9
    assert m["balanced_accuracy"] == pytest.approx(0.5) and m["mcc"] == 0.0
    assert constant_f1(0.0) == 0.0


def test_multiclass_ranking_is_one_vs_rest_macro_over_present_classes():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)  # class 3 never occurs in the test rows
    proba = rng.dirichlet(np.ones(4), 60)
    pred = proba.argmax(axis=1)
    m = classification_metrics(y, pred, proba, ["a", "b", "c", "d"], positive_class=None)
    expected_roc = np.mean([roc_auc_score(y == k, proba[:, k]) for k in range(3)])
    expected_pr = np.mean([average_precision_score(y == k, proba[:, k]) for k in range(3)])
    assert m["roc_auc"] == pytest.approx(expected_roc)
    assert m["pr_auc"] == pytest.approx(expected_pr)
    assert "prevalence" not in m and "constant_f1" not in m
    assert m["mcc"] == pytest.approx(matthews_corrcoef(y, pred))


def test_a_test_set_with_one_class_has_no_ranking_metrics():
    y = np.ones(5, dtype=int)
    m = classification_metrics(y, y, np.tile([0.2, 0.8], (5, 1)), ["b", "m"], positive_class=1)
    assert "roc_auc" not in m and "pr_auc" not in m and m["prevalence"] == 1.0


def test_macro_averages_over_true_and_predicted_classes_like_sklearn():
    from sklearn.metrics import f1_score, precision_score

    y, pred = np.array([0, 0, 0, 1, 1, 1]), np.array([0, 2, 2, 1, 1, 1])
    m = classification_metrics(y, pred, None, ["a", "b", "c"], positive_class=None)
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["macro_precision"] == pytest.approx(
        precision_score(y, pred, average="macro", zero_division=0))


def test_an_all_positive_slice_is_also_scored_against_every_negative_test_row():
    from framework.metrics import slice_metrics

    # test rows: 0-3 unseen malicious (the slice), 4-5 seen malicious, 6-9 benign
    y_true = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 0, 0, 0, 1, 0, 0, 0])
    unseen = slice_metrics(y_true, y_pred, np.arange(4), positive_class=1)
    assert unseen["accuracy"] == 0.75  # the slice's recall
    # Against the 4 benign rows only: TP 3, FN 1, FP 1 -> F1 = 6 / 8; the seen rows 4-5
    # (both missed) do not count. Balanced accuracy = (3/4 + 3/4) / 2.
    assert unseen["f1_vs_negatives"] == pytest.approx(0.75)
    assert unseen["balanced_accuracy_vs_negatives"] == pytest.approx(0.75)
    mixed = slice_metrics(y_true, y_pred, np.array([0, 6]), positive_class=1)
    assert "f1_vs_negatives" not in mixed  # only an all-positive slice has a meaning here
    assert "f1_vs_negatives" not in slice_metrics(y_true, y_pred, np.arange(4), None)
