"""``temporal``: train on the past, test on the future (time-step aware split).

Protocol: rows are ordered by the dataset's ``groups`` (e.g. Elliptic's 49 time steps). Rows
of groups up to and including ``train_until`` are for training, later groups for testing; when
``train_until`` is null, the first ``train_share`` of the distinct groups are for training (the
Elliptic convention, steps 1-34 of 49, is ``train_until=34``). A stratified ``val_size`` share of
the training rows (varying with the seed) is held out for validation. Only rows of training
groups, labelled or not, enter the pre-training pool: nothing from the future leaks backwards.
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


class TemporalSplit:
    chainsleuth_tags = Tags(requires=frozenset({"groups"}))

    def __init__(self, train_until: int | None = None, train_share: float = 0.7,
                 val_size: float = 0.1) -> None:
        if not 0 < train_share < 1 or not 0 <= val_size < 1:
            raise ConfigError("scenario 'temporal': need 0 < train_share < 1 and 0 <= val_size < 1")
        self.train_until = train_until
        self.train_share = train_share
        self.val_size = val_size

    def split(self, data: AccountData, seed: int) -> Task:
        if data.groups is None:
            raise ConfigError(f"scenario 'temporal' needs a dataset with time groups; "
                              f"'{data.name}' has none (use scenario=standard)")
        groups = np.asarray(data.groups)
        steps = np.unique(groups)
        cutoff = self.train_until if self.train_until is not None else steps[
            max(0, int(len(steps) * self.train_share) - 1)]
        past, labelled = groups <= cutoff, data.y >= 0
        train, test = np.flatnonzero(past & labelled), np.flatnonzero(~past & labelled)
        if not len(train) or not len(test):
            raise ConfigError(f"scenario 'temporal': cut-off {cutoff} leaves no labelled rows "
                              f"on one side (groups {steps.min()}..{steps.max()})")
        train, validation = carve_validation(train, data.y, self.val_size, seed)
        positive = positive_class(data)
        return Task(scenario="temporal",
                    setting={"train_until": int(cutoff), "val_size": self.val_size},
                    y=data.y, class_names=list(data.class_names), train=np.sort(train),
                    validation=np.sort(validation), test=test,
                    unlabeled=np.sort(np.concatenate([train, np.flatnonzero(past & ~labelled)])),
                    positive_class=positive,
                    notes={"train_groups": f"<= {cutoff}", "test_groups": f"> {cutoff}"})


@hookimpl
def register_scenarios() -> dict[str, Callable[..., TemporalSplit]]:
    return {"temporal": TemporalSplit}
