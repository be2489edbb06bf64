"""``cross_platform``: learn from a source platform, evaluate on a target platform.

Needs a source/target pair (``dataset=<source> dataset@target_dataset=<target>``, both in the
account schema; see :mod:`framework.domains`). Binary malicious vs benign. Two protocols:

* ``protocol=published`` (default; ShadowEyes' Table VI): methods that pre-train do so on the
  **source** rows (labels hidden), then every method trains on ``target_labels`` labelled
  target rows only; the others therefore see the target labels and nothing else. No
  validation set (100 labels leave none to spare): models train for their configured epochs.
* ``protocol=pooled``: every labelled source row plus ``target_labels`` target rows train
  every method; the pre-training pool is every source row and every target row outside the
  test set; validation is a ``val_size`` share of the source rows. (What this framework ran
  before the published protocol; it favours methods that can use source labels.)

In both, test = a stratified ``test_size`` share of the target's labelled rows, never seen
by training, validation or pre-training.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.model_selection import train_test_split

from framework.capabilities import Tags
from framework.data import AccountData
from framework.domains import SOURCE, TARGET, pair
from framework.errors import ConfigError
from framework.hookspecs import hookimpl
from framework.task import Task


PROTOCOLS = ("published", "pooled")


def example_pair() -> AccountData:
    """Two toy datasets as a source/target pair, for contract checks of this scenario."""
    from framework.contracts import toy_data

    return pair(toy_data(n=300), toy_data(n=300, seed=1))


class CrossPlatform:
    chainsleuth_tags = Tags(requires=frozenset({"domains"}), example_data=example_pair)

    def __init__(self, target_labels: int = 100, test_size: float = 0.5,
                 val_size: float = 0.1, protocol: str = "published") -> None:
        if target_labels < 0:
            raise ConfigError("scenario 'cross_platform': target_labels must be >= 0")
        if protocol not in PROTOCOLS:
            raise ConfigError(f"scenario 'cross_platform': protocol must be one of "
                              f"{', '.join(PROTOCOLS)}, got {protocol!r}")
        if protocol == "published" and target_labels < 2:
            raise ConfigError("scenario 'cross_platform': the published protocol trains on "
                              "target labels only; set target_labels >= 2 (the paper uses 100)")
        self.target_labels, self.test_size, self.val_size = target_labels, test_size, val_size
        self.protocol = protocol

    def split(self, data: AccountData, seed: int) -> Task:
        if data.groups is None or set(np.unique(data.groups)) != {SOURCE, TARGET} or (
                data.domains is None):
            raise ConfigError(f"scenario 'cross_platform' needs a source/target pair; set "
                              f"dataset@target_dataset=<name> (got dataset '{data.name}')")
        labelled = data.y >= 0
        source = np.flatnonzero((data.groups == SOURCE) & labelled)
        target = np.flatnonzero((data.groups == TARGET) & labelled)
        for side, rows in (("source", source), ("target", target)):
            if len(np.unique(data.y[rows])) < 2:
                raise ConfigError(f"scenario 'cross_platform': the {side} dataset has labelled "
                                  f"rows of {len(np.unique(data.y[rows]))} class(es); both "
                                  f"benign and malicious rows are needed")
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
        if self.protocol == "published":
            train = np.sort(extra)
            pool = np.flatnonzero(data.groups == SOURCE)
        else:
            if self.val_size > 0:
                source, validation = train_test_split(source, test_size=self.val_size,
                                                      random_state=seed, stratify=data.y[source])
            train = np.sort(np.concatenate([source, extra]))
            pool = np.setdiff1d(np.arange(len(data.y)), np.concatenate([test, validation]))
        domains = data.domains
        return Task(scenario="cross_platform",
                    setting={"source": domains.source, "target": domains.target,
                             "target_labels": self.target_labels, "protocol": self.protocol},
                    y=data.y, class_names=list(data.class_names), train=train,
                    validation=np.sort(validation), test=np.sort(test), unlabeled=pool,
                    positive_class=1,
                    notes={"target_rows_labelled_in_train": int(len(extra)),
                           "source_rows_labelled_in_train": int(len(train) - len(extra)),
                           "pretraining_pool": ("source rows" if self.protocol == "published"
                                                else "source and non-test target rows")})


@hookimpl
def register_scenarios() -> dict[str, Callable[..., CrossPlatform]]:
    return {"cross_platform": CrossPlatform}
