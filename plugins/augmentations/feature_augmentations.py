"""Feature-space augmentations of the contrastive baselines.

* ``feature_mask`` (BERT-style): each attribute is replaced by NaN with probability ``p``; the
  shared preprocessing then imputes it with the training median, i.e. the model sees the value
  masked exactly as a missing attribute.
* ``feature_inversion`` (FICL): each attribute's value is replaced, with probability ``p``, by
  the value of the same attribute of another random row of the batch, which keeps each
  attribute's marginal distribution while breaking the row's joint pattern.

Both act on attributes only, never on transactions; their ``describe()`` says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from framework.data import AccountData
from framework.errors import ConfigError
from framework.hookspecs import hookimpl


def _check_probability(name: str, p: float) -> None:
    if not 0 <= p <= 1:
        raise ConfigError(f"augmentation '{name}': p must be in [0, 1], got {p}")


class FeatureMask:
    def __init__(self, p: float = 0.15) -> None:
        _check_probability("feature_mask", p)
        self.p = p

    def augment(self, data: AccountData, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        X = data.X[rows].copy()
        X[rng.random(X.shape) < self.p] = np.nan
        return X

    def describe(self) -> dict[str, Any]:
        return {"name": "feature_mask", "p": self.p, "mode": "feature-space"}


class FeatureInversion:
    def __init__(self, p: float = 0.3) -> None:
        _check_probability("feature_inversion", p)
        self.p = p

    def augment(self, data: AccountData, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        X = data.X[rows].copy()
        donors = data.X[rows][rng.integers(0, len(rows), size=X.shape[0])]
        swap = rng.random(X.shape) < self.p
        X[swap] = donors[swap]
        return X

    def describe(self) -> dict[str, Any]:
        return {"name": "feature_inversion", "p": self.p, "mode": "feature-space"}


@hookimpl
def register_augmentations() -> dict[str, Callable[..., Any]]:
    return {"feature_mask": FeatureMask, "feature_inversion": FeatureInversion}
