"""The ShadowEyes evaluation scenarios: zero-shot, imbalanced and few-shot.

All three are binary (malicious = 1 vs benign = 0, from the dataset's benign classes) or, for
``imbalanced`` with ``ratio: null``, the dataset's own classes. Every index set is checked for
leakage by :class:`framework.task.Task`, and the tests in ``tests/plugins/scenarios`` assert each
protocol below.

``zero_shot``
    One malicious class (``unseen_class``; null = the dataset's first malicious class) is
    removed from training, validation and the
    pre-training pool; all of its rows are test rows, next to a stratified ``test_size`` share of
    the other rows. Evaluated as binary malicious vs benign; the result also reports, as slice
    ``unseen``, the share of the unseen class's rows predicted malicious (its recall). Sweep
    ``scenario.unseen_class`` over every malicious class.

``imbalanced``
    A stratified ``test_size`` split; then the *training* rows are subsampled so that
    malicious : benign = 1 : ``ratio`` exactly (malicious rows are dropped, or benign rows when
    there are too few). ``apply_to=both`` also subsamples the test rows to the same ratio; the
    default ``train`` keeps the test set's natural distribution, so scores stay comparable
    across ratios. ``ratio: null`` is the paper's "Ini." setting: the dataset's own classes and
    distribution. Dropped training rows stay out of the pre-training pool (they are not
    unlabelled data, they are absent data).

``few_shot``
    A stratified ``test_size`` split; then exactly ``n_labels`` training rows keep their labels
    (stratified, at least one per class when ``n_labels`` allows); every other training row is
    unlabelled and joins the pre-training pool. No validation set is drawn from outside the
    ``n_labels`` rows, so no extra label is ever used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.model_selection import train_test_split

from framework.data import AccountData
from framework.errors import ConfigError
from framework.hookspecs import hookimpl
from framework.splits import BINARY_CLASSES as BINARY
from framework.splits import binarise
from framework.task import Task


def _stratified_split(rows: np.ndarray, labels: np.ndarray, test_size: float,
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 else None
    rest, test = train_test_split(rows, test_size=test_size, random_state=seed, stratify=stratify)
    return np.sort(rest), np.sort(test)


class ZeroShot:
    def __init__(self, unseen_class: str | None = None, test_size: float = 0.2,
                 val_size: float = 0.1) -> None:
        self.unseen_class, self.test_size, self.val_size = unseen_class, test_size, val_size

    def split(self, data: AccountData, seed: int) -> Task:
        malicious = [c for c in data.class_names if c not in data.benign_classes]
        unseen_class = self.unseen_class if self.unseen_class is not None else (
            malicious[0] if malicious else None)
        if unseen_class not in malicious:
            raise ConfigError(f"scenario 'zero_shot': unseen_class must be one of the malicious "
                              f"classes of '{data.name}': {malicious} (got {self.unseen_class!r})")
        if len(malicious) < 2:
            raise ConfigError(f"scenario 'zero_shot' needs at least two malicious classes; "
                              f"'{data.name}' has {malicious}")
        y = binarise(data)
        code = data.class_names.index(unseen_class)
        unseen = np.flatnonzero(data.y == code)
        seen = np.flatnonzero((data.y >= 0) & (data.y != code))
        rest, held_out = _stratified_split(seen, y[seen], self.test_size, seed)
        validation = np.empty(0, dtype=np.int64)
        if self.val_size > 0:
            rest, validation = _stratified_split(rest, y[rest], self.val_size, seed)
        unlabelled = np.flatnonzero(data.y < 0)
        return Task(scenario="zero_shot", setting={"unseen_class": unseen_class},
                    y=y, class_names=BINARY, train=rest, validation=validation,
                    test=np.sort(np.concatenate([held_out, unseen])),
                    unlabeled=np.sort(np.concatenate([rest, unlabelled])), positive_class=1,
                    slices={"unseen": unseen},
                    notes={"unseen_rows": int(len(unseen)), "seen_malicious": [
                        c for c in malicious if c != unseen_class]})


class Imbalanced:
    """Malicious : benign = 1 : ``ratio`` in training (and in test with ``apply_to=both``).

    The validation set follows the training ratio by default (``validation=train_ratio``):
    with the natural ratio, a 1:100 task validated on 215 malicious labels while it trained on
    12, and every early-stopping model quietly learned from the extra labels' signal.
    ``validation=natural`` keeps the natural ratio (the old protocol), ``validation=none`` uses
    no validation set. A validation set too small for one malicious row at the ratio is left
    empty; ``task.notes["validation"]`` says what was done.
    """

    VALIDATION = ("train_ratio", "natural", "none")

    def __init__(self, ratio: int | None = 5, apply_to: str = "train", test_size: float = 0.2,
                 val_size: float = 0.1, validation: str = "train_ratio") -> None:
        if apply_to not in ("train", "both"):
            raise ConfigError(f"scenario 'imbalanced': apply_to must be train or both, got "
                              f"{apply_to!r}")
        if ratio is not None and ratio < 1:
            raise ConfigError(f"scenario 'imbalanced': ratio must be >= 1, got {ratio}")
        if validation not in self.VALIDATION:
            raise ConfigError(f"scenario 'imbalanced': validation must be one of "
                              f"{', '.join(self.VALIDATION)}, got {validation!r}")
        self.ratio, self.apply_to = ratio, apply_to
        self.test_size, self.val_size, self.validation = test_size, val_size, validation

    def _to_ratio(self, rows: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        malicious, benign = rows[y[rows] == 1], rows[y[rows] == 0]
        keep_malicious = min(len(malicious), len(benign) // self.ratio)
        keep_benign = keep_malicious * self.ratio
        if keep_malicious == 0:
            raise ConfigError(f"scenario 'imbalanced': too few benign rows ({len(benign)}) for "
                              f"ratio 1:{self.ratio}")
        return np.sort(np.concatenate([rng.choice(malicious, keep_malicious, replace=False),
                                       rng.choice(benign, keep_benign, replace=False)]))

    def split(self, data: AccountData, seed: int) -> Task:
        setting = {"ratio": self.ratio, "apply_to": self.apply_to}
        if self.ratio is None:
            y, names, positive = data.y, list(data.class_names), None
        else:
            y, names, positive = binarise(data), BINARY, 1
        labelled = np.flatnonzero(y >= 0)
        rest, test = _stratified_split(labelled, y[labelled], self.test_size, seed)
        validation = np.empty(0, dtype=np.int64)
        if self.val_size > 0 and self.validation != "none":
            rest, validation = _stratified_split(rest, y[rest], self.val_size, seed)
        note = "none" if not len(validation) else "natural ratio"
        if self.ratio is not None:
            rng = np.random.default_rng(seed)
            rest = self._to_ratio(rest, y, rng)
            if self.apply_to == "both":
                test = self._to_ratio(test, y, rng)
            if len(validation) and self.validation == "train_ratio":
                malicious = (y[validation] == 1).sum()
                if min(malicious, (y[validation] == 0).sum() // self.ratio) >= 1:
                    validation = self._to_ratio(validation, y, rng)
                    note = f"subsampled to 1:{self.ratio}, like training"
                else:
                    validation = np.empty(0, dtype=np.int64)
                    note = (f"none: too few rows for one malicious row at 1:{self.ratio}")
        return Task(scenario="imbalanced", setting=setting, y=y, class_names=names, train=rest,
                    validation=validation, test=test,
                    unlabeled=np.sort(np.concatenate([rest, np.flatnonzero(data.y < 0)])),
                    positive_class=positive,
                    notes={"validation": note,
                           "validation_malicious": int((y[validation] == 1).sum()),
                           "train_malicious": int((y[rest] == 1).sum())})


class FewShot:
    def __init__(self, n_labels: int = 50, binary: bool = True, test_size: float = 0.2) -> None:
        if n_labels < 2:
            raise ConfigError(f"scenario 'few_shot': n_labels must be >= 2, got {n_labels}")
        self.n_labels, self.binary, self.test_size = n_labels, binary, test_size

    def split(self, data: AccountData, seed: int) -> Task:
        if self.binary:
            y, names, positive = binarise(data), BINARY, 1
        else:
            y, names, positive = data.y, list(data.class_names), None
        labelled = np.flatnonzero(y >= 0)
        rest, test = _stratified_split(labelled, y[labelled], self.test_size, seed)
        if self.n_labels > len(rest):
            raise ConfigError(f"scenario 'few_shot': {self.n_labels} labels requested but only "
                              f"{len(rest)} training rows exist")
        classes = len(np.unique(y[rest]))
        stratify = y[rest] if self.n_labels >= classes and np.bincount(
            y[rest])[np.unique(y[rest])].min() >= 2 else None
        if self.n_labels == len(rest):
            train = rest
        else:
            train, _ = train_test_split(rest, train_size=self.n_labels, random_state=seed,
                                        stratify=stratify)
        return Task(scenario="few_shot", setting={"n_labels": self.n_labels,
                                                  "binary": self.binary},
                    y=y, class_names=names, train=np.sort(train), test=test,
                    unlabeled=np.sort(np.concatenate([rest, np.flatnonzero(data.y < 0)])),
                    positive_class=positive,
                    notes={"unlabelled_training_rows": int(len(rest) - len(train))})


@hookimpl
def register_scenarios() -> dict[str, Callable[..., object]]:
    return {"zero_shot": ZeroShot, "imbalanced": Imbalanced, "few_shot": FewShot}
