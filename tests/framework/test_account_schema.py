"""Account attributes on small hand-made histories, values computed by hand in the comments."""

import math

import numpy as np
import pandas as pd
import pytest

from framework.account_schema import (ATTRIBUTE_NAMES, SCHEMA, compute_attributes,
                                      utxo_tables_from_core_blocks)
from framework.errors import DataError

H, D = 3600, 86400


def history():
    # Account "a": in 2.0 at t=0 (from b), out 1.0 at t=1h (to c), in 3.0 at t=2d (from b).
    # Account "b": out 2.0 at t=0 (to a).
    events = pd.DataFrame({"account": ["a", "a", "a", "b"], "txid": ["t1", "t2", "t3", "t1"],
                           "timestamp": [0, H, 2 * D, 0], "direction": ["in", "out", "in", "out"],
                           "value": [2.0, 1.0, 3.0, 2.0]})
    links = pd.DataFrame({"account": ["a", "a", "a", "b"], "direction": ["in", "out", "in", "out"],
                          "counterparty": ["b", "c", "b", "a"]})
    return events, links


def test_group_sizes_match_the_paper():
    groups = [a.group for a in SCHEMA]
    assert (groups.count("temporal"), groups.count("amount"), groups.count("counts")) == (17, 19, 7)
    assert len(set(ATTRIBUTE_NAMES)) == 43


def test_hand_computed_attributes():
    table = compute_attributes(*history())
    a, b = table.loc["a"], table.loc["b"]
    assert a["lifetime_days"] == 2.0
    assert a["active_days"] == 2 and a["active_day_ratio"] == pytest.approx(2 / 3)
    # gaps: 1 h and 47 h
    assert a["interval_mean_h"] == 24.0 and a["interval_min_h"] == 1.0 and a["interval_max_h"] == 47
    assert a["interval_std_h"] == pytest.approx(math.sqrt((23**2 + 23**2) / 1))
    assert a["in_interval_mean_h"] == 48.0
    assert a["first_in_to_first_out_h"] == 1.0
    assert a["burst_share"] == 0.0  # a 1 h gap is not shorter than one hour
    assert a["max_events_per_day"] == 2 and a["events_per_active_day"] == 1.5
    # hours of day: 0, 1, 0 -> p = (2/3, 1/3) -> H = 0.9183 bits
    assert a["hour_entropy"] == pytest.approx(0.918296, abs=1e-6)
    assert (a["in_total"], a["out_total"], a["out_minus_in"]) == (5.0, 1.0, -4.0)
    assert (a["in_mean"], a["in_min"], a["in_max"], a["in_median"]) == (2.5, 2.0, 3.0, 2.5)
    assert a["in_std"] == pytest.approx(math.sqrt(0.5))
    assert a["out_in_ratio"] == 0.2 and a["max_in_share"] == 0.6 and a["max_out_share"] == 1.0
    assert (a["in_degree"], a["out_degree"], a["degree_diff"]) == (2, 1, 1)
    assert (a["uniq_in_counterparties"], a["uniq_out_counterparties"],
            a["uniq_counterparties"], a["tx_count"]) == (1, 1, 2, 3)
    assert (b["in_total"], b["in_degree"], b["out_total"]) == (0.0, 0.0, 2.0)
    assert b["hour_entropy"] == 0.0


def test_undefined_attributes_are_nan_not_zero():
    table = compute_attributes(*history())
    b = table.loc["b"]
    for name in ("interval_mean_h", "interval_std_h", "in_mean", "in_min", "out_std",
                 "out_in_ratio", "max_in_share", "first_in_to_first_out_h", "burst_share"):
        assert np.isnan(b[name]), name
    assert np.isnan(table.loc["a", "out_interval_mean_h"])  # a single out event


def test_accounts_argument_fixes_order_and_keeps_empty_accounts():
    table = compute_attributes(*history(), accounts=["b", "a", "z"])
    assert list(table.index) == ["b", "a", "z"]
    assert table.loc["z", "in_degree"] == 0 and np.isnan(table.loc["z", "lifetime_days"])


def test_bad_direction_is_a_clear_error():
    events, links = history()
    events.loc[0, "direction"] = "sideways"
    with pytest.raises(DataError, match="sideways"):
        compute_attributes(events, links)


def test_utxo_tables_from_core_json():
    spk = lambda a: {"address": a, "hex": "", "type": "pubkeyhash"}  # noqa: E731
    block = {"height": 1, "time": 1000, "tx": [
        {"txid": "cb", "vin": [{"coinbase": "00"}], "vout": [{"value": 50.0, "n": 0,
                                                             "scriptPubKey": spk("m")}]},
        {"txid": "t", "vin": [{"txid": "x", "vout": 0, "prevout": {"value": 3.0,
                                                                     "scriptPubKey": spk("s")}},
                              {"txid": "y", "vout": 1, "prevout": {"value": 1.0,
                                                                     "scriptPubKey": spk("s")}}],
         "vout": [{"value": 2.5, "n": 0, "scriptPubKey": spk("r")},
                  {"value": 1.4, "n": 1, "scriptPubKey": spk("s")},
                  {"value": 0.0, "n": 2, "scriptPubKey": {"hex": "6a", "type": "nulldata"}}]}]}
    events, links = utxo_tables_from_core_blocks([block])
    rows = {(r.account, r.txid, r.direction): r.value for r in events.itertuples()}
    assert rows == {("m", "cb", "in"): 50.0, ("s", "t", "out"): 4.0, ("r", "t", "in"): 2.5,
                    ("s", "t", "in"): 1.4}
    assert set(map(tuple, links.to_numpy())) == {("s", "out", "r"), ("r", "in", "s")}


def test_missing_prevout_names_the_block_and_tx():
    block = {"height": 7, "time": 0, "tx": [{"txid": "t", "vin": [{"txid": "x", "vout": 0}],
                                            "vout": []}]}
    with pytest.raises(DataError, match="block 7: input of tx t has no prevout"):
        utxo_tables_from_core_blocks([block])


def test_docs_table_lists_every_attribute_with_its_definition():
    from helpers import REPO

    text = (REPO / "docs" / "account_schema.md").read_text()
    for i, attribute in enumerate(SCHEMA, 1):
        assert f"| {i} | `{attribute.name}` | {attribute.group} | {attribute.definition} |" in text
