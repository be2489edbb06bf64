"""A pair carries exactly the side channels pair_channels promises before loading."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

import numpy as np
import pandas as pd
import pytest

from framework.contracts import toy_data
from framework.data import InteractionGraph, TransactionHistory
from framework.domains import pair, pair_channels


def history(data):
    events = pd.DataFrame({"account": data.ids, "txid": [f"t{i}" for i in range(len(data.ids))],
                           "timestamp": 0.0, "direction": "in", "value": 1.0})
    links = pd.DataFrame({"account": data.ids, "direction": "in", "counterparty": "x"})
    return TransactionHistory(events, links)


def graph(data):
    n = len(data.ids)
    return InteractionGraph(node_ids=data.ids, row_nodes=np.arange(n),
                            edge_index=np.vstack([np.arange(n - 1), np.arange(1, n)]),
                            edge_attr=np.ones((n - 1, 1)), edge_attr_names=("count",))


def side(seed, with_history, with_graph):
    data = toy_data(n=40, seed=seed)
    extra = {}
    if with_history:
        extra["history"] = history(data)
    if with_graph:
        extra["graph"] = graph(data)
        extra["edge_index"] = extra["graph"].between_rows()
    return replace(data, time=np.zeros(40), **extra)


@pytest.mark.parametrize("source_has, target_has", product(product([False, True], repeat=2),
                                                           repeat=2))
def test_a_pair_carries_the_channels_pair_channels_promises(source_has, target_has):
    source, target = side(0, *source_has), side(1, *target_has)
    paired = pair(source, target)
    assert paired.channels == pair_channels(source.channels, target.channels)
    assert paired.domains.source == source.name and paired.domains.target == target.name
    assert paired.feature_space == "account_schema"


def test_a_paired_history_prefixes_its_accounts():
    source, target = side(0, True, False), side(1, True, False)
    events = pair(source, target).history.events
    assert events["account"].str.startswith("source:").sum() == 40
    assert events["account"].str.startswith("target:").sum() == 40
    assert set(events["txid"].str.split(":").str[0]) == {"source", "target"}
