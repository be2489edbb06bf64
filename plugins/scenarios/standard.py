"""``standard``: one stratified train / validation / test split.

Protocol: the test set is a stratified ``test_size`` share of all rows; the validation set a
stratified ``val_size`` share of all rows taken from the rest; training gets what remains. With
``binary=true`` the labels become malicious (1) vs benign (0) using the dataset's benign classes.
Training rows and the dataset's unlabelled rows, without labels, form the pre-training pool;
test rows never do.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.model_selection import train_test_split

from framework.data import AccountData
from framework.errors import ConfigError
from framework.hookspecs import hookimpl
from framework.splits import BINARY_CLASSES, binarise
from framework.task import Task


class StandardSplit:
    def __init__(self, test_size: float = 0.2, val_size: float = 0.1, binary: bool = False) -> None:
        if not 0 < test_size < 1 or not 0 <= val_size < 1 or test_size + val_size >= 1:
            raise ConfigError("scenario 'standard': need 0 < test_size < 1, 0 <= val_size < 1 and "
                              f"test_size + val_size < 1 (got {test_size}, {val_size})")
        self.test_size = test_size
        self.val_size = val_size
        self.binary = binary

    def split(self, data: AccountData, seed: int) -> Task:
        if self.binary:
            y, names, positive = binarise(data), list(BINARY_CLASSES), 1
        else:
            y, names, positive = data.y, list(data.class_names), None
            malicious = [c for c in names if c not in data.benign_classes]
            if len(names) == 2 and len(malicious) == 1:
                positive = names.index(malicious[0])
        present = np.unique(y)
        # Classes too small to stratify are dropped and recorded, never silently kept in one split.
        counts = np.bincount(y[y >= 0], minlength=len(names))
        rare = [names[c] for c in present if c >= 0 and counts[c] < 4]
        rows = np.flatnonzero((y >= 0) & ~np.isin(y, [names.index(r) for r in rare]))
        rest, test = train_test_split(rows, test_size=self.test_size, random_state=seed,
                                      stratify=y[rows])
        validation = np.empty(0, dtype=np.int64)
        if self.val_size > 0:
            share = self.val_size / (1 - self.test_size)
            rest, validation = train_test_split(rest, test_size=share, random_state=seed,
                                                stratify=y[rest])
        setting = {"test_size": self.test_size, "val_size": self.val_size, "binary": self.binary}
        return Task(scenario="standard", setting=setting, y=y, class_names=names,
                    train=np.sort(rest), validation=np.sort(validation), test=np.sort(test),
                    unlabeled=np.sort(np.concatenate([rest, np.flatnonzero(y < 0)])),
                    positive_class=positive,
                    notes={"dropped_rare_classes": rare} if rare else {})


@hookimpl
def register_scenarios() -> dict[str, Callable[..., StandardSplit]]:
    return {"standard": StandardSplit}
