"""Reference classifiers scored on a job's own split, and single-feature probes.

A number means little without its floor. Every job therefore also scores, on exactly its
train/test split:

* ``majority``: the most frequent training class for every row;
* ``stratified``: a random class drawn with the training class frequencies (seeded);
* ``probe``: the best **single-feature probe**, a depth-2 decision tree on one feature. The
  feature is chosen by cross-validated macro-F1 *on the training rows only* and the chosen tree
  is then scored on the test rows, so the choice never sees a test label;
* ``time``: a depth-2 tree on each row's time of first activity, where the dataset records it;
* ``source``: where the dataset declares each row's collection (two crawls), the
  **crawl shortcut** itself: a classifier learns from the training rows' attributes which
  collection a row came from, and each test row gets the majority training label of the
  collection it is recognised as. It scores what "this looks like the malicious crawl" alone
  achieves; a probe on one attribute cannot, since no single attribute names the crawl. Where
  the collections split the training rows exactly as the labels do (each holds one class), a
  collection recogniser *is* a label classifier and measures nothing of the shortcut: no
  ``source`` row then (see :func:`source_confounded`). The check sees the task's labels only:
  where a collection's training rows are one *fine* class (zero-shot: only ponzi left in the
  hack/ponzi crawl), the recogniser learns that class, and a low score does not show the
  shortcut absent.

When the probe comes close to the best model, the model may be reading one artefact of how
the data were collected (the crawl, the period) rather than behaviour; reports then warn.
The probes also serve ``chainsleuth audit``, against the label and against a dataset's source
group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.metrics import f1_score
from sklearn.tree import DecisionTreeClassifier

from framework.metrics import classification_metrics, slice_metrics

REFERENCE_NAMES = ("majority", "stratified", "probe", "time", "source")
# The name the time reference reports as its feature (time is not a column of X).
TIME_FEATURE = "time of first activity"
SOURCE_FEATURE = "collection recognised from all attributes"
PROBE_DEPTH = 2
# Enough rows to rank features reliably, few enough that a 500k-row dataset costs seconds.
PROBE_ROWS = 20_000


@dataclass(frozen=True)
class ProbeScore:
    feature: str
    score: float


def probe_scores(X: np.ndarray, y: np.ndarray, feature_names: list[str], seed: int,
                 folds: int = 5, max_rows: int = PROBE_ROWS) -> list[ProbeScore]:
    """Cross-validated macro-F1 of a depth-2 tree on each feature alone, best first.

    NaN is a value the tree may split on (scikit-learn routes missing values), because
    "this attribute is undefined" can itself be a shortcut.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    rng = np.random.default_rng(seed)
    if len(y) > max_rows:
        keep = rng.choice(len(y), max_rows, replace=False)
        X, y = X[keep], y[keep]
    counts = np.bincount(y)
    folds = int(min(folds, counts[counts > 0].min()))
    if folds < 2 or (counts > 0).sum() < 2:
        return []
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = []
    for j, name in enumerate(feature_names):
        column = X[:, [j]]
        missing = np.isnan(column)
        if missing.all() or (not missing.any() and column.min() == column.max()):
            scores.append(ProbeScore(name, 0.0))  # no split exists on this column
            continue
        tree = DecisionTreeClassifier(max_depth=PROBE_DEPTH, random_state=seed)
        predicted = cross_val_predict(tree, column, y, cv=split)
        scores.append(ProbeScore(name, float(f1_score(y, predicted, average="macro"))))
    return sorted(scores, key=lambda s: (-s.score, s.feature))


def reference_results(X: np.ndarray, feature_names: list[str], y: np.ndarray,
                      train: np.ndarray, test: np.ndarray, class_names: list[str],
                      positive_class: int | None, seed: int,
                      slices: dict[str, np.ndarray] | None = None,
                      time: np.ndarray | None = None,
                      sources: np.ndarray | None = None) -> dict[str, dict[str, Any]]:
    """Metrics of the reference classifiers on ``test``, each fitted on ``train``: majority,
    stratified, the best single-feature probe and, when the dataset records each row's time of
    first activity (``time``), a depth-2 tree on that time alone, and when it records each
    row's collection (``sources``), the crawl shortcut (module docstring); ``slices`` (name ->
    positions within ``test``) are scored as a job's slices are."""
    k = len(class_names)
    y_train, y_test = y[train], y[test]
    frequencies = np.bincount(y_train, minlength=k) / len(y_train)
    constant_proba = np.tile(frequencies, (len(test), 1))
    out: dict[str, dict[str, Any]] = {}

    def scored(pred: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
        metrics = classification_metrics(y_test, pred, proba, class_names, positive_class)
        out = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
        out["slices"] = {name: slice_metrics(y_test, pred, rows, positive_class)
                         for name, rows in (slices or {}).items()}
        return out

    majority = np.full(len(test), int(np.argmax(frequencies)))
    out["majority"] = scored(majority, constant_proba)

    rng = np.random.default_rng(seed)
    out["stratified"] = scored(rng.choice(k, size=len(test), p=frequencies), constant_proba)

    ranked = probe_scores(X[train], y_train, feature_names, seed)
    if ranked:
        best = ranked[0]
        j = feature_names.index(best.feature)
        tree = DecisionTreeClassifier(max_depth=PROBE_DEPTH, random_state=seed)
        tree.fit(X[train][:, [j]], y_train)
        proba = np.zeros((len(test), k))
        proba[:, tree.classes_] = tree.predict_proba(X[test][:, [j]])
        out["probe"] = {**scored(tree.predict(X[test][:, [j]]), proba),
                        "feature": best.feature, "train_cv_macro_f1": best.score}
    if time is not None and np.isfinite(time[train]).any():
        # When a row was active is no model input, but labels collected in different periods
        # (two crawls, a sampling date) make it one: a depth-2 tree on it alone scored 94.8 %
        # on XBlock, above every model. Missing times take the training median.
        fill = float(np.nanmedian(time[train]))
        when = np.where(np.isfinite(time), time, fill).reshape(-1, 1)
        tree = DecisionTreeClassifier(max_depth=PROBE_DEPTH, random_state=seed)
        tree.fit(when[train], y_train)
        proba = np.zeros((len(test), k))
        proba[:, tree.classes_] = tree.predict_proba(when[test])
        out["time"] = {**scored(tree.predict(when[test]), proba), "feature": TIME_FEATURE}
    if (sources is not None and len(np.unique(sources[train])) >= 2
            and not source_confounded(sources[train], y_train)):
        pred, proba = _source_shortcut(X, y, sources, train, test, k, seed)
        out["source"] = {**scored(pred, proba), "feature": SOURCE_FEATURE}
    return out


def source_confounded(sources: np.ndarray, labels: np.ndarray) -> bool:
    """Whether every collection holds a single class (then telling collections apart and
    telling classes apart are the same task, and the shortcut cannot be measured apart)."""
    return all(len(np.unique(labels[sources == group])) == 1 for group in np.unique(sources))


def _source_shortcut(X: np.ndarray, y: np.ndarray, sources: np.ndarray, train: np.ndarray,
                     test: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Recognise each test row's collection from its attributes (a boosted-tree classifier fitted
    on the training rows, NaN handled natively), then answer with that collection's training
    label distribution: its majority label, and the distribution as the probabilities."""
    groups = np.unique(sources[train])
    label_share = np.zeros((len(groups), k))
    for i, group in enumerate(groups):
        label_share[i] = np.bincount(y[train][sources[train] == group], minlength=k)
    label_share /= label_share.sum(axis=1, keepdims=True)
    recogniser = HistGradientBoostingClassifier(random_state=seed)
    recogniser.fit(np.asarray(X[train], dtype=float), sources[train])
    recognised = recogniser.predict(np.asarray(X[test], dtype=float))
    proba = label_share[np.searchsorted(groups, recognised)]
    return proba.argmax(axis=1), proba
