"""The relay event log: one documented table for simulated and captured Bitcoin P2P traffic.

Both the relay simulator and the pcap reader write this table, and everything downstream
(observers, traffic features, the NTSSL models) reads only this table, so a method developed on
the simulator runs unchanged on a real capture.

One row per inventory entry of an ``inv``, ``getdata`` or ``notfound`` message, one row per
``tx`` message, and one row (``txid`` empty) for every other message, so both "how many INV
entries for this transaction" and "how many messages of each command" are simple group-bys.

Columns:
    time: seconds (simulation clock, or capture timestamp as Unix seconds).
    node: the observed node (simulator: ``n<i>``; capture: ``ip:port`` of the local end).
    peer: the other end of the link (simulator: ``n<j>`` or ``probe<k>``; capture: ``ip:port``).
    direction: ``sent`` (node -> peer) or ``recv`` (peer -> node).
    message: the P2P command (``inv``, ``getdata``, ``tx``, ``notfound``, ``version`` ...).
    message_id: an integer unique per P2P message within the log; the rows of one message share it.
    inv_type: inventory type (1 ``MSG_TX``, 5 ``MSG_WTX``, 0x40000001 ``MSG_WITNESS_TX``,
        2 ``MSG_BLOCK`` ...); 0 where the row is not an inventory entry.
    txid: the transaction hash as Bitcoin Core prints it (byte-reversed hex); for ``MSG_WTX``
        entries the wtxid; for ``tx`` messages the txid; empty otherwise.
    wtxid: for ``tx`` messages the witness hash (equal to the txid for a transaction without
        witness data), empty otherwise; it lets announcements by wtxid (BIP 339) be counted
        under the transaction's txid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from libraries.bitcoin_wire.p2p import (MSG_BLOCK, MSG_TX, MSG_WITNESS_TX, MSG_WTX,
                                        TRANSACTION_INV_TYPES)
from libraries.simulation.errors import MalformedEvents

__all__ = ["DIRECTIONS", "EVENT_COLUMNS", "MSG_BLOCK", "MSG_TX", "MSG_WITNESS_TX", "MSG_WTX",
           "TRANSACTION_INV_TYPES", "empty_events", "txid_aliases", "validate_events"]

EVENT_COLUMNS: dict[str, str] = {
    "time": "float64", "node": "object", "peer": "object", "direction": "object",
    "message": "object", "message_id": "int64", "inv_type": "int64", "txid": "object",
    "wtxid": "object",
}
DIRECTIONS = ("sent", "recv")


def empty_events() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in EVENT_COLUMNS.items()})


def validate_events(events: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check an event log against the schema; name the source and the offending column."""
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise MalformedEvents(f"{source}: relay event log lacks columns {missing}; expected "
                              f"{list(EVENT_COLUMNS)}")
    bad = ~events["direction"].isin(DIRECTIONS)
    if bad.any():
        raise MalformedEvents(f"{source}: column 'direction' holds "
                              f"{sorted(set(events['direction'][bad]))[:3]}, expected one of "
                              f"{DIRECTIONS}")
    if len(events) and not np.isfinite(events["time"].to_numpy(dtype=float)).all():
        raise MalformedEvents(f"{source}: column 'time' holds non-finite values")
    if list(events.columns) != list(EVENT_COLUMNS):
        events = events[list(EVENT_COLUMNS)]
    differ = {name: dtype for name, dtype in EVENT_COLUMNS.items()
              if str(events[name].dtype) != dtype}
    return events.astype(differ) if differ else events  # a log of millions of rows: no copy


def txid_aliases(events: pd.DataFrame) -> dict[str, str]:
    """wtxid -> txid for every transaction seen in a ``tx`` message whose two hashes differ."""
    tx = events[(events["message"] == "tx") & (events["wtxid"] != "")
                & (events["wtxid"] != events["txid"])]
    return dict(zip(tx["wtxid"], tx["txid"], strict=True))
