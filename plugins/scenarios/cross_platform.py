"""``cross_platform``: train on a source platform, evaluate on a target platform.

Needs a source/target pair (``dataset=<source> dataset@target_dataset=<target>``, both in the
account schema; see :mod:`framework.domains`). Protocol, binary malicious vs benign:

* test: a stratified ``test_size`` share of the target's labelled rows;
* train: every labelled source row, plus ``target_labels`` labelled target rows (stratified)
  from the rest of the target (0 = pure transfer);
* pre-training pool: every source row and every target row outside the test set, labels
  hidden (methods that pre-train may use unlabelled source and target data);
* validation: a stratified ``val_size`` share of the source rows (never target test rows).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.model_selection import train_test_split

from framework.data import AccountData
from framework.domains import SOURCE, TARGET
from framework.errors import ConfigError
from framework.hookspecs import hookimpl
from framework.task import Task


class CrossPlatform:
    requires = "domains"

    def __init__(self, target_labels: int = 0, test_size: float = 0.5,
                 val_size: float = 0.1) -> None:
        if target_labels < 0:
            raise ConfigError("scenario 'cross_platform': target_labels must be >= 0")
        self.target_labels, self.test_size, self.val_size = target_labels, test_size, val_size

    def split(self, data: AccountData, seed: int) -> Task:
        if data.groups is None or set(np.unique(data.groups)) != {SOURCE, TARGET} or (
                "domains" not in data.extras):
            raise ConfigError(f"scenario 'cross_platform' needs a source/target pair; set "
                              f"dataset@target_dataset=<name> (got dataset '{data.name}')")
        labelled = data.y >= 0
        source = np.flatnonzero((data.groups == SOURCE) & labelled)
        target = np.flatnonzero((data.groups == TARGET) & labelled)
        rest, test = train_test_split(target, test_size=self.test_size, random_state=seed,
                                      stratify=data.y[target])
        extra = np.empty(0, dtype=np.int64)
        if self.target_labels:
            if self.target_labels > len(rest):
                raise ConfigError(f"scenario 'cross_platform': {self.target_labels} target labels "
                                  f"requested, {len(rest)} available")
            extra = rest if self.target_labels == len(rest) else train_test_split(
                rest, train_size=self.target_labels, random_state=seed,
                stratify=data.y[rest] if self.target_labels >= 2 else None)[0]
        validation = np.empty(0, dtype=np.int64)
        if self.val_size > 0:
            source, validation = train_test_split(source, test_size=self.val_size,
                                                  random_state=seed, stratify=data.y[source])
        pool = np.setdiff1d(np.arange(len(data.y)), np.concatenate([test, validation]))
        domains = data.extras["domains"]
        return Task(scenario="cross_platform",
                    setting={"source": domains["source"], "target": domains["target"],
                             "target_labels": self.target_labels},
                    y=data.y, class_names=list(data.class_names),
                    train=np.sort(np.concatenate([source, extra])),
                    validation=np.sort(validation), test=np.sort(test), unlabeled=pool,
                    positive_class=1, notes={"target_rows_labelled_in_train": int(len(extra))})


@hookimpl
def register_scenarios() -> dict[str, Callable[..., CrossPlatform]]:
    return {"cross_platform": CrossPlatform}
