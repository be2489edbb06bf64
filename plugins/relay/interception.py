"""``interception``: what an observer of a target node's links can learn.

Protocol. The dataset's ``relay_traffic`` (the target's traffic,
:mod:`libraries.simulation.relay_events`) is cut to an observer's view: ``mode=passive``
intercepts a seeded share ``share`` of the target's links (probe links excluded; each seed is a
different vantage point), ``mode=active`` keeps the links of ``probes`` probe nodes (all when
null). The traffic features (:mod:`.features`) are recomputed
from that view and replace the dataset's features for this task. Transactions the view never
saw cannot be classified and are left out of every split (their number, and how many of them
the target created, are recorded in the task notes); the remaining rows are split
stratified into train and test (``test_size``). Labels: 1 when the target created the
transaction. NTSSL and the unsupervised baseline ignore training labels (they pseudo-label), so
the training rows act as their unlabelled data; supervised models use the labels as given.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from framework.capabilities import Tags
from framework.data import AccountData
from framework.errors import ConfigError, DataError
from framework.task import Task
from plugins.relay.features import FEATURE_NAMES, traffic_features
from plugins.relay.observers import observer_view


def example_world() -> AccountData:
    """A tiny simulated relay world (relay_sim's example), for contract checks of this scenario."""
    from framework.interfaces import DataContext
    from plugins.relay.dataset import RelaySimDataset

    world = RelaySimDataset(**RelaySimDataset.chainsleuth_tags.example_params)
    return world.load(DataContext(data_dir=None, cache_dir=Path(tempfile.gettempdir()), seed=0))


class InterceptionScenario:
    chainsleuth_tags = Tags(requires=frozenset({"relay_traffic"}), example_data=example_world)

    def __init__(self, mode: str = "passive", share: float | None = 0.25, probes: int | None = None,
                 test_size: float = 0.5) -> None:
        if mode not in ("passive", "active"):
            raise ConfigError(f"scenario 'interception': mode must be passive or active, got {mode!r}")
        if mode == "passive" and share is None:
            raise ConfigError("scenario 'interception': mode=passive needs a share of links in (0, 1]")
        if not 0 < test_size < 1:
            raise ConfigError(f"scenario 'interception': test_size must lie in (0, 1), got {test_size}")
        self.mode, self.share, self.probes, self.test_size = mode, share, probes, test_size

    def split(self, data: AccountData, seed: int) -> Task:
        if data.relay_traffic is None:
            raise DataError(f"scenario 'interception': dataset '{data.name}' has no "
                            f"relay_traffic (the target's traffic); use a relay dataset "
                            f"such as relay_sim or p2p_capture")
        events, probes = data.relay_traffic.events, list(data.relay_traffic.probes)
        view, observed, setting = observer_view(events, probes, self.mode, self.share,
                                                self.probes, seed)
        X, seen = traffic_features(view, data.ids)
        rows = np.flatnonzero(seen & (data.y >= 0))
        y = data.y
        if len(np.unique(y[rows])) < 2 or np.bincount(y[rows]).min() < 2:
            raise DataError(f"scenario 'interception' ({setting}): the observer saw "
                            f"{int(y[rows].sum())} originated and {int((y[rows] == 0).sum())} "
                            f"relayed transactions; both classes need at least 2 rows")
        train, test = train_test_split(rows, test_size=self.test_size, random_state=seed,
                                       stratify=y[rows])
        unseen = np.flatnonzero(~seen & (data.y >= 0))
        return Task(scenario="interception", setting=setting, y=y, class_names=list(
            data.class_names), train=train, test=test, positive_class=1,
            features=X, feature_names=list(FEATURE_NAMES),
            notes={"observed_links": len(observed),
                   "links_in_log": int(events["peer"].nunique()),
                   "unobserved_transactions": int(len(unseen)),
                   "unobserved_originated": int((y[unseen] == 1).sum())})
