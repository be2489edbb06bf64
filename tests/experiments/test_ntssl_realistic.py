"""The realistic relay network's calibration reads the capture's one readable link, and a
capture it cannot read is a clear error."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from framework.errors import DataError
from helpers import REPO
from plugins.relay.pcap_reader import read_capture

spec = importlib.util.spec_from_file_location(
    "calibration", REPO / "experiments" / "ntssl_realistic" / "calibration.py")
calibration = importlib.util.module_from_spec(spec)
spec.loader.exec_module(calibration)


def test_the_capture_calibrates_on_its_one_readable_link(data_dir):
    events = read_capture(data_dir / calibration.CAPTURE)
    link = calibration.readable_link(events, "bitcoin.pcap")
    assert link == "[2a01:4f8:200:7222::2]:8333"
    stats = calibration.link_statistics(events, link)
    # 24 inv messages sent (233 entries) and 11 received (83) over the capture's 61.7 s
    assert round(stats["sent_inv_messages_per_s"] * stats["span_s"]) == 24
    assert round(stats["recv_inv_messages_per_s"] * stats["span_s"]) == 11
    assert round(stats["sent_entries_per_message"] * 24) == 233
    assert round(stats["recv_entries_per_message"] * 11) == 83


def test_a_capture_without_readable_traffic_is_refused_naming_it():
    encrypted = pd.DataFrame({"peer": ["a:1"], "message": ["version"], "message_id": [1],
                              "time": [0.0], "direction": ["recv"], "txid": [""]})
    with pytest.raises(DataError, match="v2.pcap: no readable connection carries an inv"):
        calibration.readable_link(encrypted, "v2.pcap")
    sparse = pd.DataFrame({"peer": ["a:1", "a:1"], "message": ["inv", "inv"],
                           "message_id": [1, 2], "time": [0.0, 1.0],
                           "direction": ["recv", "recv"], "txid": ["x", "y"]})
    with pytest.raises(DataError, match="carries 2 inv message"):
        calibration.readable_link(sparse, "short.pcap")
