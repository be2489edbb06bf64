"""AccountData's side channels: typed, checked when the data is built, errors that name them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from framework.account_schema import ATTRIBUTE_NAMES, compute_attributes
from framework.contracts import toy_data
from framework.data import (SIDE_CHANNELS, AccountData, Domains, RelayTraffic, TransactionHistory,
                            Transactions)
from framework.errors import DataError

EVENTS = pd.DataFrame({"account": ["a0", "a1"], "txid": ["t", "t"], "timestamp": [0.0, 0.0],
                       "direction": ["out", "in"], "value": [1.0, 1.0]})
LINKS = pd.DataFrame({"account": ["a0", "a1"], "direction": ["out", "in"],
                      "counterparty": ["a1", "a0"]})


def test_every_optional_field_is_a_documented_side_channel():
    fields = AccountData.__dataclass_fields__
    optional = {name for name, f in fields.items() if f.default is None}
    assert optional == set(SIDE_CHANNELS)
    assert all(SIDE_CHANNELS.values())
    assert "extras" not in fields


def test_channels_are_the_filled_fields():
    data = toy_data()
    assert data.channels == {"groups"}
    filled = replace(data, history=TransactionHistory(EVENTS, LINKS), feature_space="native",
                     label_strength=np.where(np.arange(240) % 2, "SA", "WA"))
    assert filled.channels == {"groups", "history", "feature_space", "label_strength"}


def test_the_columns_a_history_checks_are_what_the_account_schema_needs():
    events = EVENTS[list(TransactionHistory.EVENT_COLUMNS)]
    links = LINKS[list(TransactionHistory.LINK_COLUMNS)]
    assert compute_attributes(events, links).columns.tolist() == list(ATTRIBUTE_NAMES)


def test_relay_event_columns_match_the_event_log_schema():
    from libraries.simulation.relay_events import EVENT_COLUMNS

    assert list(RelayTraffic.EVENT_COLUMNS) == list(EVENT_COLUMNS)


@pytest.mark.parametrize("channel, value, message", [
    ("history", TransactionHistory(EVENTS.drop(columns="value"), LINKS),
     r"history.events lacks columns \['value'\]"),
    ("history", TransactionHistory(EVENTS, LINKS.drop(columns="counterparty")),
     r"history.links lacks columns \['counterparty'\]"),
    ("relay_traffic", RelayTraffic(pd.DataFrame({"time": [0.0]})),
     r"relay_traffic.events lacks columns \['node', 'peer'"),
    ("transactions", Transactions(pd.DataFrame({"txid": ["a0"], "first_seen": [0.0]})),
     r"transactions.frame lacks columns \['inputs', 'outputs'\]"),
    ("transactions", Transactions(pd.DataFrame({"txid": ["a0"], "first_seen": [0.0],
                                                "inputs": [[]], "outputs": [[]]})),
     r"transactions.frame holds 1 transactions; expected one per row"),
    ("domains", Domains("source_set", ""), "domains must name a source and a target"),
    ("label_strength", ["SA"], r"label_strength must hold one value per row \(shape \(240,\)\)"),
])
def test_a_malformed_channel_names_the_dataset_the_field_and_the_expectation(channel, value,
                                                                              message):
    with pytest.raises(DataError, match=f"dataset 'toy': {message}"):
        replace(toy_data(), **{channel: value})


def test_transactions_follow_the_rows():
    data = toy_data()
    frame = pd.DataFrame({"txid": data.ids, "first_seen": 0.0, "inputs": [[]] * 240,
                          "outputs": [[]] * 240})
    assert replace(data, transactions=Transactions(frame)).channels == {"groups", "transactions"}
    with pytest.raises(DataError, match="in row order"):
        replace(data, transactions=Transactions(frame.iloc[::-1]))


def test_domains_need_groups():
    with pytest.raises(DataError, match="domains need groups"):
        replace(toy_data(), groups=None, domains=Domains("a", "b"))


def test_relay_peers_are_kept_as_tuples():
    traffic = RelayTraffic(pd.DataFrame(columns=RelayTraffic.EVENT_COLUMNS), ["p1"], ["o1"])
    assert traffic.probes == ("p1",) and traffic.outbound == ("o1",)
