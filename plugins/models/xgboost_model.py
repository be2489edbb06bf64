"""XGBoost baseline (gradient-boosted trees, histogram method)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xgboost as xgb

from framework.hookspecs import hookimpl


class XGBoostModel:
    """Multiclass or binary XGBoost; class weights stay off unless ``scale_pos_weight`` is set."""

    def __init__(self, n_estimators: int = 300, max_depth: int = 6, learning_rate: float = 0.1,
                 subsample: float = 1.0, colsample_bytree: float = 1.0,
                 scale_pos_weight: float = 1.0, n_jobs: int = 1, seed: int = 0) -> None:
        self.params = dict(n_estimators=n_estimators, max_depth=max_depth,
                           learning_rate=learning_rate, subsample=subsample,
                           colsample_bytree=colsample_bytree, n_jobs=n_jobs, random_state=seed,
                           tree_method="hist")
        self.scale_pos_weight = scale_pos_weight

    def fit(self, X, y, *, validation=None, unlabeled=None) -> XGBoostModel:
        # XGBoost wants labels 0..m-1; map the classes actually present in training.
        self.classes_, encoded = np.unique(y, return_inverse=True)
        params = dict(self.params)
        if len(self.classes_) == 2:
            params["scale_pos_weight"] = self.scale_pos_weight
        self.booster_ = xgb.XGBClassifier(**params)
        if len(self.classes_) == 1:
            self.booster_ = None
        else:
            self.booster_.fit(X, encoded)
        return self

    def predict_proba(self, X):
        if self.booster_ is None:
            return np.ones((len(X), 1))
        return self.booster_.predict_proba(X)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@hookimpl
def register_models() -> dict[str, Callable[..., XGBoostModel]]:
    return {"xgboost": XGBoostModel}
