"""Feature preprocessing shared by every model, fitted on the training rows only.

Missing attributes stay NaN in :class:`framework.data.AccountData`; here they are imputed with
the training median (and optionally flagged), heavy-tailed amounts are compressed with a signed
log1p, and features are standardised. Fitting on the training rows only keeps test statistics
out of training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Preprocessor:
    signed_log: bool = True
    standardize: bool = True
    missing_indicators: bool = False

    def fit(self, X: np.ndarray) -> Preprocessor:
        Z = self._log(X)
        with np.errstate(all="ignore"):
            median = np.nanmedian(Z, axis=0) if len(Z) else np.zeros(Z.shape[1])
        self.median_ = np.where(np.isnan(median), 0.0, median)
        self.flagged_ = np.flatnonzero(np.isnan(X).any(axis=0)) if self.missing_indicators else (
            np.empty(0, dtype=int))
        filled = self._fill(Z)
        self.mean_ = filled.mean(axis=0) if self.standardize else np.zeros(X.shape[1])
        std = filled.std(axis=0) if self.standardize else np.ones(X.shape[1])
        self.std_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        Z = self._log(X)
        out = (self._fill(Z) - self.mean_) / self.std_
        if len(self.flagged_):
            out = np.hstack([out, np.isnan(X[:, self.flagged_]).astype(np.float64)])
        return out.astype(np.float32)

    def _log(self, X: np.ndarray) -> np.ndarray:
        return np.sign(X) * np.log1p(np.abs(X)) if self.signed_log else np.array(X, copy=True)

    def _fill(self, Z: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(Z), self.median_, Z)

    def describe(self) -> dict[str, Any]:
        return {"signed_log": self.signed_log, "standardize": self.standardize,
                "missing_indicators": self.missing_indicators, "impute": "train median",
                "fitted_on": "train"}
