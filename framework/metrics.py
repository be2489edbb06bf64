"""Classification metrics recorded for every job.

F1 alone flatters a classifier when the positive class is common: on a test set with 85 %
malicious rows, predicting "malicious" for everything scores F1 0.92. So every record also
carries metrics that a constant classifier cannot inflate (balanced accuracy, MCC, ROC-AUC,
PR-AUC) and, for binary tasks, the test prevalence and the F1 of that constant "all positive"
classifier (``constant_f1``), so a reader can put any F1 beside its floor.

Multi-class ROC-AUC and PR-AUC are one-vs-rest, macro-averaged over the classes present in the
test set (a class absent from the test rows has no ranking to score).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, balanced_accuracy_score,
                             confusion_matrix, f1_score, matthews_corrcoef,
                             precision_recall_fscore_support, roc_auc_score)

# Scalar metrics a result may carry; the leaderboard, reports and ``--metric`` accept these.
SCALAR_METRICS = ("macro_f1", "accuracy", "balanced_accuracy", "mcc", "roc_auc", "pr_auc",
                  "macro_precision", "macro_recall", "f1", "prevalence", "constant_f1")


def constant_f1(prevalence: float) -> float:
    """F1 of predicting the positive class for every row: precision = prevalence, recall = 1."""
    return 2 * prevalence / (1 + prevalence) if prevalence > 0 else 0.0


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None,
                           class_names: list[str], positive_class: int | None) -> dict[str, Any]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    # sklearn's rule: classes that occur in the truth or in the predictions (a class predicted
    # but absent from the test set scores F1 0 and counts).
    present = (support > 0) | np.isin(labels, y_pred)
    metrics: dict[str, Any] = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(precision[present].mean()),
        "macro_recall": float(recall[present].mean()),
        "macro_f1": float(f1[present].mean()),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
    }
    metrics["per_class"] = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(class_names, precision, recall, f1, support)
    }
    binary = positive_class is not None and len(class_names) == 2
    if binary:
        prevalence = float((y_true == positive_class).mean())
        metrics["f1"] = float(f1[positive_class])
        metrics["prevalence"] = prevalence
        metrics["constant_f1"] = constant_f1(prevalence)
    if proba is not None:
        metrics.update(_ranking_metrics(y_true, np.asarray(proba, dtype=float), labels,
                                        positive_class if binary else None))
    metrics["confusion_matrix"] = {
        "labels": list(class_names),
        "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    return metrics


def _ranking_metrics(y_true: np.ndarray, proba: np.ndarray, labels: list[int],
                     positive_class: int | None) -> dict[str, float]:
    """ROC-AUC and PR-AUC: of the positive class for a binary task, else one-vs-rest macro over
    the classes that occur in the test set next to some other class."""
    scored = [positive_class] if positive_class is not None else labels
    roc, pr = [], []
    for label in scored:
        positive = (y_true == label).astype(int)
        if 0 < positive.sum() < len(positive):
            roc.append(roc_auc_score(positive, proba[:, label]))
            pr.append(average_precision_score(positive, proba[:, label]))
    if not roc:
        return {}
    return {"roc_auc": float(np.mean(roc)), "pr_auc": float(np.mean(pr))}


def slice_metrics(y_true: np.ndarray, y_pred: np.ndarray, positions: np.ndarray,
                  positive_class: int | None) -> dict[str, Any]:
    """Accuracy on a subset of the test rows and, for binary tasks, the share predicted positive
    (the recall of a subset that is entirely positive, e.g. an unseen malicious class).

    For a binary task whose slice is entirely positive, also the slice scored against every
    negative test row (``f1_vs_negatives``, ``balanced_accuracy_vs_negatives``): a zero-shot
    test set mixes the unseen class with seen malicious rows, so its F1 is partly seen-class
    F1 (in ponzi only a fifth of the test's malicious rows are unseen), and the slice's
    accuracy alone is a recall that predicting malicious everywhere maximises.
    """
    out: dict[str, Any] = {"n": int(len(positions))}
    if len(positions):
        out["accuracy"] = float((y_true[positions] == y_pred[positions]).mean())
        if positive_class is not None:
            out["predicted_positive_rate"] = float((y_pred[positions] == positive_class).mean())
            if (y_true[positions] == positive_class).all():
                out.update(_against_negatives(y_true, y_pred, positions, positive_class))
    return out


def _against_negatives(y_true: np.ndarray, y_pred: np.ndarray, positions: np.ndarray,
                       positive_class: int) -> dict[str, float]:
    negatives = np.flatnonzero(y_true != positive_class)
    if not len(negatives):
        return {}
    rows = np.concatenate([positions, negatives])
    truth, said = y_true[rows] == positive_class, y_pred[rows] == positive_class
    return {"f1_vs_negatives": float(f1_score(truth, said, zero_division=0)),
            "balanced_accuracy_vs_negatives": float(balanced_accuracy_score(truth, said))}
