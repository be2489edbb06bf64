"""Classification metrics recorded for every job.

Macro and per-class precision, recall and F1 always; ROC-AUC and PR-AUC (average precision of
the positive class) when the task is binary and both classes occur in the test set.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix,
                             precision_recall_fscore_support, roc_auc_score)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None,
                           class_names: list[str], positive_class: int | None) -> dict[str, Any]:
    labels = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    present = support > 0
    macro = {
        "macro_precision": float(precision[present].mean()),
        "macro_recall": float(recall[present].mean()),
        "macro_f1": float(f1[present].mean()),
    }
    metrics: dict[str, Any] = {"accuracy": float(accuracy_score(y_true, y_pred)), **macro}
    metrics["per_class"] = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(class_names, precision, recall, f1, support)
    }
    if positive_class is not None and len(class_names) == 2:
        metrics["f1"] = float(f1[positive_class])
        both_present = len(np.unique(y_true)) == 2
        if proba is not None and both_present:
            score = proba[:, positive_class]
            positive = (y_true == positive_class).astype(int)
            metrics["roc_auc"] = float(roc_auc_score(positive, score))
            metrics["pr_auc"] = float(average_precision_score(positive, score))
    metrics["confusion_matrix"] = {
        "labels": list(class_names),
        "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    return metrics


def slice_metrics(y_true: np.ndarray, y_pred: np.ndarray, positions: np.ndarray,
                  positive_class: int | None) -> dict[str, Any]:
    """Accuracy on a subset of the test rows and, for binary tasks, the share predicted positive
    (the recall of a subset that is entirely positive, e.g. an unseen malicious class)."""
    out: dict[str, Any] = {"n": int(len(positions))}
    if len(positions):
        out["accuracy"] = float((y_true[positions] == y_pred[positions]).mean())
        if positive_class is not None:
            out["predicted_positive_rate"] = float((y_pred[positions] == positive_class).mean())
    return out
