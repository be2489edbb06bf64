"""What a scenario hands the runner: index sets over one dataset and the labels to learn.

A :class:`Task` validates itself on construction: the labelled train, validation and test sets
are pairwise disjoint, the unlabelled pre-training pool never contains a test row, and every
index is in range. A scenario therefore cannot leak test rows into training without failing
loudly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from framework.data import InteractionGraph
from framework.errors import ConfigError


@dataclass
class Task:
    """One learning problem derived from a dataset.

    Attributes:
        scenario: scenario plugin name.
        setting: the scenario's parameters that distinguish this task (e.g. ``{"ratio": 25}``),
            recorded with the result; leaderboards group by the scenario's config node.
        y: task label per dataset row (may differ from the dataset's labels, e.g. binarised);
            rows outside every split may hold -1.
        class_names: names of the task's classes, indexed by ``y``.
        train, validation, test: row positions into the dataset; validation may be empty.
        unlabeled: rows whose features (not labels) a model may use for pre-training.
        positive_class: index of the positive class for binary tasks, else None.
        slices: named subsets of the test rows reported separately (e.g. the rows of a class
            unseen in training); each must lie inside ``test``.
        notes: protocol facts worth recording (e.g. which class was held out).
        features: optional feature matrix (one row per dataset row) that replaces the dataset's
            ``X`` for this task. A scenario sets it when what can be known depends on the
            setting itself, e.g. the traffic an observer sees when it intercepts a share of a
            node's links; ``feature_names`` then names its columns.
        feature_names: column names of ``features``.
    """

    scenario: str
    setting: dict[str, Any]
    y: np.ndarray
    class_names: list[str]
    train: np.ndarray
    test: np.ndarray
    validation: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    unlabeled: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    positive_class: int | None = None
    slices: dict[str, np.ndarray] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    features: np.ndarray | None = None
    feature_names: list[str] | None = None

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=np.int64)
        for name in ("train", "validation", "test", "unlabeled"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        n = len(self.y)
        sets = {"train": self.train, "validation": self.validation, "test": self.test,
                "unlabeled": self.unlabeled}
        for name, rows in sets.items():
            if len(rows) and (rows.min() < 0 or rows.max() >= n):
                raise ConfigError(f"scenario '{self.scenario}': {name} indices out of range 0..{n - 1}")
            if len(np.unique(rows)) != len(rows):
                raise ConfigError(f"scenario '{self.scenario}': {name} holds duplicate rows")
        for a, b in (("train", "validation"), ("train", "test"), ("validation", "test"),
                     ("unlabeled", "test")):
            shared = np.intersect1d(sets[a], sets[b])
            if len(shared):
                raise ConfigError(f"scenario '{self.scenario}': {len(shared)} rows are in both "
                                  f"{a} and {b}; splits must be disjoint (leakage)")
        for name, rows in self.slices.items():
            if not np.isin(rows, self.test).all():
                raise ConfigError(f"scenario '{self.scenario}': slice '{name}' has rows outside "
                                  f"the test set")
        if self.features is not None:
            self.features = np.asarray(self.features, dtype=np.float64)
            if self.features.ndim != 2 or len(self.features) != n:
                raise ConfigError(f"scenario '{self.scenario}': features have shape "
                                  f"{self.features.shape}, expected ({n}, n_features)")
            if self.feature_names is None or len(self.feature_names) != self.features.shape[1]:
                raise ConfigError(f"scenario '{self.scenario}': features need one name per column")
        if len(self.train) == 0 or len(self.test) == 0:
            raise ConfigError(f"scenario '{self.scenario}': train and test must both be non-empty")
        labelled = np.concatenate([self.train, self.validation, self.test])
        if (self.y[labelled] < 0).any() or (self.y[labelled] >= len(self.class_names)).any():
            raise ConfigError(f"scenario '{self.scenario}': labelled rows must have a class in "
                              f"0..{len(self.class_names) - 1}")

    def inner_split(self, fraction: float, seed: int) -> Task:
        """A tuning task inside this one: ``fraction`` of the training rows (stratified,
        seeded) become its test rows, the rest its training rows. The original test rows
        belong to no set, so a search over hyper-parameters never sees them, and they leave
        the unlabelled pool too."""
        from sklearn.model_selection import train_test_split

        if not 0 < fraction < 1:
            raise ConfigError(f"tune.inner_validation must lie in (0, 1), got {fraction}")
        labels = self.y[self.train]
        counts = np.bincount(labels)
        stratify = labels if counts[counts > 0].min() >= 2 else None
        inner_train, inner_test = train_test_split(self.train, test_size=fraction,
                                                   random_state=seed, stratify=stratify)
        return Task(scenario=self.scenario, setting=dict(self.setting), y=self.y,
                    class_names=list(self.class_names), train=np.sort(inner_train),
                    test=np.sort(inner_test), validation=self.validation,
                    unlabeled=np.setdiff1d(self.unlabeled, inner_test),
                    positive_class=self.positive_class,
                    notes={**self.notes, "tuning": f"inner validation: {fraction:.0%} of the "
                                                   f"training rows; test rows unused"},
                    features=self.features, feature_names=self.feature_names)

    def without_test_neighbours(self, graph: InteractionGraph | None,
                                unlabelled: np.ndarray) -> Task:
        """This task without the unlabelled rows that dealt with a test row.

        A dataset whose unlabelled rows are counterparties seen only through their dealings
        with labelled accounts (``ethereum_txs``) computes their attributes from those
        dealings; a counterparty of a test account would carry that account's transactions
        into pre-training and into the graph a representation is fitted on. Such rows (rows
        ``unlabelled`` marks, one hop from a test row in ``graph``) leave the pool; labelled
        training rows stay where the scenario put them.
        """
        if graph is None or not len(self.unlabeled):
            return self
        test_nodes = np.zeros(graph.num_nodes, dtype=bool)
        test_nodes[graph.row_nodes[self.test]] = True
        source, target = graph.edge_index
        near = np.zeros(graph.num_nodes, dtype=bool)
        near[target[test_nodes[source]]] = True
        near[source[test_nodes[target]]] = True
        pool_nodes = graph.row_nodes[self.unlabeled]
        drop = near[pool_nodes] & unlabelled[self.unlabeled]
        if not drop.any():
            return self
        dropped = int(drop.sum()) + int(self.notes.get("unlabelled_test_neighbours_dropped", 0))
        return replace(self, unlabeled=self.unlabeled[~drop],
                       notes={**self.notes, "unlabelled_test_neighbours_dropped": dropped})

    @property
    def is_binary(self) -> bool:
        return len(self.class_names) == 2

    def setting_label(self) -> str:
        """A stable, human-readable rendering of ``setting`` for leaderboards."""
        return ",".join(f"{k}={v}" for k, v in sorted(self.setting.items())) or "-"

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.scenario,
            "setting": dict(self.setting),
            "setting_label": self.setting_label(),
            "class_names": list(self.class_names),
            "positive_class": self.positive_class,
            "sizes": {"train": int(len(self.train)), "validation": int(len(self.validation)),
                      "test": int(len(self.test)), "unlabeled": int(len(self.unlabeled))},
            "train_class_counts": np.bincount(self.y[self.train],
                                              minlength=len(self.class_names)).tolist(),
            "test_class_counts": np.bincount(self.y[self.test],
                                             minlength=len(self.class_names)).tolist(),
            "slices": {name: int(len(rows)) for name, rows in self.slices.items()},
            "feature_names": list(self.feature_names) if self.feature_names else None,
            "notes": dict(self.notes),
        }
