"""``given_split``: the train/test split the data's publisher declared, as published.

Protocol: the dataset declares its split in ``AccountData.given_split`` (``"train"``, ``"test"``
or ``""`` per row; e.g. ``ethereum_xblock``'s ``is_train`` / ``is_test`` columns). Labelled rows
marked train are training rows, labelled rows marked test are test rows; nothing is reshuffled,
so every seed tests on the same rows and seeds vary only the models (and the validation rows).
A stratified ``val_size`` share of the *training* rows (seeded) becomes the validation set;
``val_size=0`` trains on every published training row, as publishers usually did. The dataset's
classes are kept; for two classes with one malicious class, that class is the positive one.
Training rows and the unlabelled rows that are not test rows form the pre-training pool.
The split's origin is recorded in the task notes. A dataset that declares no split is a
ConfigError: no split is invented for it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from framework.capabilities import Tags
from framework.data import AccountData
from framework.errors import ConfigError
from framework.splits import carve_validation, positive_class
from framework.hookspecs import hookimpl
from framework.task import Task


def example_split() -> AccountData:
    """Toy data with a declared split, for the scenario contract check."""
    from dataclasses import replace

    from framework.contracts import toy_data

    data = toy_data(n=300)
    split = np.where(np.arange(300) % 4 == 0, "test", "train")
    return replace(data, given_split=split)


class GivenSplit:
    chainsleuth_tags = Tags(requires=frozenset({"given_split"}), example_data=example_split)

    def __init__(self, val_size: float = 0.1) -> None:
        if not 0 <= val_size < 1:
            raise ConfigError(f"scenario 'given_split': val_size must lie in [0, 1), got "
                              f"{val_size}")
        self.val_size = val_size

    def split(self, data: AccountData, seed: int) -> Task:
        if data.given_split is None:
            raise ConfigError(f"scenario 'given_split': dataset '{data.name}' declares no "
                              f"train/test split (AccountData.given_split is None); use a "
                              f"dataset that publishes one (e.g. ethereum_xblock) or "
                              f"scenario=standard")
        given, labelled = data.given_split, data.y >= 0
        train = np.flatnonzero((given == "train") & labelled)
        test = np.flatnonzero((given == "test") & labelled)
        if not len(train) or not len(test):
            raise ConfigError(f"scenario 'given_split': dataset '{data.name}' declares "
                              f"{len(train)} labelled training and {len(test)} labelled test "
                              f"rows; both must be non-empty")
        train, validation = carve_validation(train, data.y, self.val_size, seed)
        positive = positive_class(data)
        pool = np.flatnonzero(~labelled & (given != "test"))
        origin = data.provenance.details.get("given_split") or "AccountData.given_split"
        return Task(scenario="given_split", setting={"val_size": self.val_size}, y=data.y,
                    class_names=list(data.class_names), train=np.sort(train),
                    validation=np.sort(validation),
                    test=test, unlabeled=np.sort(np.concatenate([train, pool])),
                    positive_class=positive,
                    notes={"split_origin": f"declared by dataset '{data.name}': {origin}",
                           "given_train_rows": int(len(train) + len(validation)),
                           "given_test_rows": int(len(test)),
                           "validation": (f"{self.val_size:.0%} of the given training rows, "
                                          f"stratified, seed {seed}" if self.val_size > 0
                                          else "none"),
                           "labelled_rows_in_no_split": int(
                               (labelled & (given == "")).sum())})


@hookimpl
def register_scenarios() -> dict[str, Callable[..., GivenSplit]]:
    return {"given_split": GivenSplit}
