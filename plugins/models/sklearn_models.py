"""Classical baselines of the ShadowEyes comparison: DT, KNN, LR, RF (scikit-learn).

Hyper-parameters are the factories' keyword arguments (and ``conf/model/*.yaml``). ``rf`` is
also what the ShadowEyes paper calls "ABGRL" when it runs on graph features; it is named for
what it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from framework.hookspecs import hookimpl


class SklearnModel:
    """Adapts a scikit-learn estimator to the ChainSleuth model interface."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X, y, *, validation=None, unlabeled=None) -> SklearnModel:
        self.estimator.fit(X, y)
        self.classes_ = self.estimator.classes_
        return self

    def predict(self, X):
        return self.estimator.predict(X)

    def predict_proba(self, X):
        return self.estimator.predict_proba(X)


def decision_tree(max_depth: int | None = None, min_samples_leaf: int = 1,
                  class_weight: str | None = None, seed: int = 0) -> SklearnModel:
    return SklearnModel(DecisionTreeClassifier(max_depth=max_depth,
                                               min_samples_leaf=min_samples_leaf,
                                               class_weight=class_weight, random_state=seed))


def k_nearest_neighbours(n_neighbors: int = 5, weights: str = "distance") -> SklearnModel:
    return SklearnModel(KNeighborsClassifier(n_neighbors=n_neighbors, weights=weights))


def logistic_regression(C: float = 1.0, max_iter: int = 2000,
                        class_weight: str | None = None, seed: int = 0) -> SklearnModel:
    return SklearnModel(LogisticRegression(C=C, max_iter=max_iter, class_weight=class_weight,
                                           random_state=seed))


def random_forest(n_estimators: int = 300, max_depth: int | None = None,
                  min_samples_leaf: int = 1, class_weight: str | None = None,
                  n_jobs: int = 1, seed: int = 0) -> SklearnModel:
    return SklearnModel(RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth,
                                               min_samples_leaf=min_samples_leaf,
                                               class_weight=class_weight, n_jobs=n_jobs,
                                               random_state=seed))


@hookimpl
def register_models() -> dict[str, Callable[..., SklearnModel]]:
    return {"dt": decision_tree, "knn": k_nearest_neighbours, "lr": logistic_regression,
            "rf": random_forest}
