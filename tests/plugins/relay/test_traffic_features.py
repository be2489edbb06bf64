"""Observers and traffic features computed from hand-made event logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from framework.errors import ConfigError
from libraries.simulation import MalformedEvents
from libraries.simulation.relay_events import validate_events
from plugins.relay.features import FEATURE_NAMES, traffic_features
from plugins.relay.observers import active_view, first_spy_origins, passive_view


def _log(rows):
    frame = pd.DataFrame(rows, columns=["time", "peer", "direction", "message", "txid"])
    frame["node"] = "n0"
    frame["message_id"] = np.arange(len(frame))
    frame["inv_type"] = np.where(frame["message"].isin(["inv", "getdata"]), 5, 0)
    frame["wtxid"] = np.where(frame["message"] == "tx", frame["txid"], "")
    return validate_events(frame, "test")


LOG = _log([
    (0.0, "a", "sent", "inv", "own"), (0.1, "b", "sent", "inv", "own"),
    (0.2, "a", "recv", "getdata", "own"), (0.3, "b", "recv", "getdata", "own"),
    (1.0, "a", "recv", "inv", "relayed"), (1.2, "a", "sent", "getdata", "relayed"),
    (1.3, "a", "recv", "tx", "relayed"), (2.0, "b", "sent", "inv", "relayed"),
    (3.0, "c", "sent", "inv", "late"), (3.5, "p", "sent", "inv", "own"),
])


def test_features_count_entries_per_direction_and_message():
    X, seen = traffic_features(LOG, np.array(["own", "relayed", "late", "never"]))
    assert FEATURE_NAMES == ["send_inv_n", "recv_getdata_n", "getdata_inv_ratio"]
    np.testing.assert_array_equal(X, [[3, 2, 2 / 3], [1, 0, 0], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(seen, [True, True, True, False])


def test_announcements_by_wtxid_count_under_the_txid():
    log = LOG.copy()
    segwit = (log["txid"] == "relayed") & (log["message"] != "tx")
    log.loc[segwit, "txid"] = "relayed-w"
    log.loc[log["message"] == "tx", "wtxid"] = "relayed-w"
    X, _ = traffic_features(log, np.array(["relayed"]))
    np.testing.assert_array_equal(X, [[1, 0, 0]])


def test_passive_view_keeps_a_seeded_share_of_links_and_never_a_probe():
    view, links = passive_view(LOG, 2 / 3, seed=1, exclude_peers=["p"])
    assert len(links) == 2 and "p" not in links
    assert set(view["peer"]) <= set(links)
    again, same = passive_view(LOG, 2 / 3, seed=1, exclude_peers=["p"])
    assert same == links and again.equals(view)
    with pytest.raises(ConfigError, match="share"):
        passive_view(LOG, 0.0, seed=0)


def test_active_view_is_the_probe_links():
    view, links = active_view(LOG, ["p"])
    assert links == ["p"] and set(view["txid"]) == {"own"}
    with pytest.raises(ConfigError, match="probe"):
        active_view(LOG, ["p"], probes=2)


def test_first_spy_guesses_transactions_the_target_announced_first():
    assert first_spy_origins(LOG) == {"own", "late"}
    view, _ = passive_view(LOG, 1 / 3, seed=0, exclude_peers=["p", "c"])
    assert first_spy_origins(view) <= {"own", "relayed"}


def test_a_log_without_the_schema_is_named():
    with pytest.raises(MalformedEvents, match="lacks columns"):
        validate_events(pd.DataFrame({"time": [0.0]}), "capture.csv")
    bad = LOG.copy()
    bad.loc[0, "direction"] = "sideways"
    with pytest.raises(MalformedEvents, match="direction"):
        validate_events(bad, "capture.csv")
