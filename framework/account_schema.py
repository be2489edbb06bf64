"""The platform-neutral account schema ("TxGraph attributes" of ShadowEyes).

43 per-account attributes in the paper's three groups (17 temporal, 19 amount, 7 counts),
computed from a transaction history in one format shared by UTXO chains (per address) and
account chains (per account), so that a model trained on one platform can be applied to another.

Input, two tables:

* ``events``: one row per (account, transaction, direction) with columns ``account``, ``txid``,
  ``timestamp`` (Unix seconds), ``direction`` (``"in"`` or ``"out"``) and ``value`` (in the
  chain's native coin: BTC or ETH). On a UTXO chain an address has an ``in`` event for the
  outputs it receives in a transaction (summed) and an ``out`` event for the outputs it spends
  (summed); a transaction with change yields both.
* ``links``: one row per (account, direction, counterparty): who sent to (``in``) or received
  from (``out``) the account. On a UTXO chain the counterparties of an output are the
  transaction's input addresses, and those of an input the transaction's other output addresses.

An attribute that is undefined for an account (an interval with fewer than two events, a mean
over no incoming value ...) is NaN, never zero; :data:`SCHEMA` says when each one is undefined.
The docs table (``docs/account_schema.md``) is checked against :data:`SCHEMA` by a test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from framework.errors import DataError


@dataclass(frozen=True)
class Attribute:
    name: str
    group: str
    definition: str


_T, _A, _C = "temporal", "amount", "counts"
SCHEMA: tuple[Attribute, ...] = (
    Attribute("lifetime_days", _T, "last minus first event time, in days (0 for one event)"),
    Attribute("active_days", _T, "number of distinct UTC days with at least one event"),
    Attribute("active_day_ratio", _T, "active_days / (floor(lifetime_days) + 1)"),
    Attribute("interval_mean_h", _T, "mean gap between consecutive events, hours (NaN if < 2)"),
    Attribute("interval_std_h", _T, "sample std of those gaps, hours (NaN if < 3 events)"),
    Attribute("interval_min_h", _T, "smallest gap, hours (NaN if < 2 events)"),
    Attribute("interval_max_h", _T, "largest gap, hours (NaN if < 2 events)"),
    Attribute("interval_median_h", _T, "median gap, hours (NaN if < 2 events)"),
    Attribute("in_interval_mean_h", _T, "mean gap between consecutive in events (NaN if < 2)"),
    Attribute("in_interval_std_h", _T, "sample std of in gaps (NaN if < 3 in events)"),
    Attribute("out_interval_mean_h", _T, "mean gap between consecutive out events (NaN if < 2)"),
    Attribute("out_interval_std_h", _T, "sample std of out gaps (NaN if < 3 out events)"),
    Attribute("first_in_to_first_out_h", _T,
              "first out time minus first in time, hours (NaN without both)"),
    Attribute("events_per_active_day", _T, "events / active_days"),
    Attribute("max_events_per_day", _T, "largest number of events on one UTC day"),
    Attribute("burst_share", _T, "share of gaps shorter than one hour (NaN if < 2 events)"),
    Attribute("hour_entropy", _T, "Shannon entropy (bits) of the UTC hour of day of events"),
    Attribute("in_total", _A, "sum of incoming value (0 when none)"),
    Attribute("out_total", _A, "sum of outgoing value (0 when none)"),
    Attribute("out_minus_in", _A, "out_total - in_total"),
    Attribute("in_mean", _A, "mean incoming value per in event (NaN if none)"),
    Attribute("in_std", _A, "sample std of incoming values (NaN if < 2)"),
    Attribute("in_min", _A, "smallest incoming value (NaN if none)"),
    Attribute("in_max", _A, "largest incoming value (NaN if none)"),
    Attribute("in_median", _A, "median incoming value (NaN if none)"),
    Attribute("out_mean", _A, "mean outgoing value per out event (NaN if none)"),
    Attribute("out_std", _A, "sample std of outgoing values (NaN if < 2)"),
    Attribute("out_min", _A, "smallest outgoing value (NaN if none)"),
    Attribute("out_max", _A, "largest outgoing value (NaN if none)"),
    Attribute("out_median", _A, "median outgoing value (NaN if none)"),
    Attribute("value_mean", _A, "mean value over all events"),
    Attribute("value_std", _A, "sample std of value over all events (NaN if < 2)"),
    Attribute("out_in_ratio", _A, "out_total / in_total (NaN if in_total = 0)"),
    Attribute("max_in_share", _A, "in_max / in_total (NaN if in_total = 0)"),
    Attribute("max_out_share", _A, "out_max / out_total (NaN if out_total = 0)"),
    Attribute("zero_value_share", _A, "share of events whose value is 0"),
    Attribute("in_degree", _C, "number of in events"),
    Attribute("out_degree", _C, "number of out events"),
    Attribute("degree_diff", _C, "in_degree - out_degree"),
    Attribute("uniq_in_counterparties", _C, "distinct counterparties that sent to the account"),
    Attribute("uniq_out_counterparties", _C, "distinct counterparties the account sent to"),
    Attribute("uniq_counterparties", _C, "distinct counterparties in either direction"),
    Attribute("tx_count", _C, "distinct transactions the account takes part in"),
)
ATTRIBUTE_NAMES: tuple[str, ...] = tuple(a.name for a in SCHEMA)

_EVENT_COLUMNS = ("account", "txid", "timestamp", "direction", "value")
_LINK_COLUMNS = ("account", "direction", "counterparty")
_HOUR, _DAY = 3600.0, 86400.0


def _check(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"account schema: {what} table lacks columns {missing}; expected {columns}")
    bad = set(frame["direction"].unique()) - {"in", "out"}
    if bad:
        raise DataError(f"account schema: {what}.direction holds {sorted(bad)}; expected in/out")


def _interval_stats(events: pd.DataFrame, prefix: str, with_extremes: bool) -> pd.DataFrame:
    ordered = events.sort_values(["account", "timestamp"], kind="stable")
    hours = ordered.groupby("account", sort=False)["timestamp"].diff().dropna() / _HOUR
    owners = ordered.loc[hours.index, "account"]
    gaps = hours.groupby(owners)
    stats = {f"{prefix}_mean_h": gaps.mean(), f"{prefix}_std_h": gaps.std(ddof=1)}
    if with_extremes:
        stats.update({f"{prefix}_min_h": gaps.min(), f"{prefix}_max_h": gaps.max(),
                      f"{prefix}_median_h": gaps.median(),
                      "burst_share": (hours < 1.0).groupby(owners).mean()})
    return pd.DataFrame(stats)


def _value_stats(events: pd.DataFrame, prefix: str) -> pd.DataFrame:
    values = events.groupby("account")["value"]
    return pd.DataFrame({f"{prefix}_mean": values.mean(), f"{prefix}_std": values.std(ddof=1),
                         f"{prefix}_min": values.min(), f"{prefix}_max": values.max(),
                         f"{prefix}_median": values.median(), f"{prefix}_total": values.sum(),
                         f"{prefix}_degree": values.size()})


def _hour_entropy(events: pd.DataFrame) -> pd.Series:
    hours = (events["timestamp"] // _HOUR % 24).astype(int)
    counts = events.assign(hour=hours).groupby(["account", "hour"]).size()
    share = counts / counts.groupby(level=0).transform("sum")
    return (-(share * np.log2(share))).groupby(level=0).sum().abs()


def compute_attributes(events: pd.DataFrame, links: pd.DataFrame,
                       accounts: np.ndarray | list[str] | None = None) -> pd.DataFrame:
    """Return a DataFrame indexed by account with the 43 :data:`SCHEMA` columns, in order.

    ``accounts`` fixes the row order (and may include accounts without events, whose
    attributes are then all NaN except counts and totals, which are 0).
    """
    _check(events, _EVENT_COLUMNS, "events")
    _check(links, _LINK_COLUMNS, "links")
    events = events.loc[:, list(_EVENT_COLUMNS)].copy()
    events["timestamp"] = pd.to_numeric(events["timestamp"], errors="raise").astype(np.float64)
    events["value"] = pd.to_numeric(events["value"], errors="raise").astype(np.float64)
    index = pd.Index(pd.unique(events["account"]) if accounts is None else accounts, name="account")

    incoming = events[events["direction"] == "in"]
    outgoing = events[events["direction"] == "out"]
    grouped = events.groupby("account")
    first, last = grouped["timestamp"].min(), grouped["timestamp"].max()
    day = (events["timestamp"] // _DAY).astype(np.int64)
    per_day = events.assign(day=day).groupby(["account", "day"]).size()
    out = pd.DataFrame(index=index)
    out["lifetime_days"] = (last - first) / _DAY
    out["active_days"] = per_day.groupby(level=0).size()
    out["active_day_ratio"] = out["active_days"] / (np.floor(out["lifetime_days"]) + 1)
    out = out.join(_interval_stats(events, "interval", with_extremes=True))
    out = out.join(_interval_stats(incoming, "in_interval", with_extremes=False))
    out = out.join(_interval_stats(outgoing, "out_interval", with_extremes=False))
    out["first_in_to_first_out_h"] = (outgoing.groupby("account")["timestamp"].min()
                                      - incoming.groupby("account")["timestamp"].min()) / _HOUR
    out["events_per_active_day"] = grouped.size() / out["active_days"]
    out["max_events_per_day"] = per_day.groupby(level=0).max()
    out["hour_entropy"] = _hour_entropy(events)

    out = out.join(_value_stats(incoming, "in")).join(_value_stats(outgoing, "out"))
    for column in ("in_total", "out_total", "in_degree", "out_degree"):
        out[column] = out[column].fillna(0.0)
    out["out_minus_in"] = out["out_total"] - out["in_total"]
    out["value_mean"] = grouped["value"].mean()
    out["value_std"] = grouped["value"].std(ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["out_in_ratio"] = (out["out_total"] / out["in_total"]).where(out["in_total"] > 0)
        out["max_in_share"] = (out["in_max"] / out["in_total"]).where(out["in_total"] > 0)
        out["max_out_share"] = (out["out_max"] / out["out_total"]).where(out["out_total"] > 0)
    out["zero_value_share"] = (events["value"] == 0).groupby(events["account"]).mean()
    out["degree_diff"] = out["in_degree"] - out["out_degree"]

    unique_links = links.drop_duplicates(list(_LINK_COLUMNS))
    for direction in ("in", "out"):
        subset = unique_links[unique_links["direction"] == direction]
        out[f"uniq_{direction}_counterparties"] = subset.groupby("account").size()
    out["uniq_counterparties"] = links.drop_duplicates(["account", "counterparty"]).groupby(
        "account").size()
    out["tx_count"] = grouped["txid"].nunique()
    for column in ("uniq_in_counterparties", "uniq_out_counterparties", "uniq_counterparties",
                   "tx_count", "active_days"):
        out[column] = out[column].fillna(0.0)
    return out.loc[:, list(ATTRIBUTE_NAMES)].astype(np.float64)


def utxo_tables_from_core_blocks(blocks: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events and links of every address in Bitcoin Core JSON blocks (``getblock`` verbosity 3).

    Inputs must carry ``prevout`` (verbosity 3 / REST ``.json``). Coinbase outputs are ``in``
    events without counterparties; outputs without an address (OP_RETURN, bare multisig) are
    skipped, since they belong to no account.
    """
    event_rows: list[tuple[str, str, int, str, float]] = []
    link_rows: list[tuple[str, str, str]] = []
    for block in blocks:
        time = int(block["time"])
        for tx in block["tx"]:
            txid = tx["txid"]
            spent: dict[str, float] = {}
            for vin in tx["vin"]:
                if "coinbase" in vin:
                    continue
                try:
                    script = vin["prevout"]["scriptPubKey"]
                    value = float(vin["prevout"]["value"])
                except KeyError as exc:
                    raise DataError(f"block {block.get('height')}: input of tx {txid} has no "
                                    f"prevout.{exc.args[0]}; use getblock verbosity 3") from None
                if "address" in script:
                    spent[script["address"]] = spent.get(script["address"], 0.0) + value
            received: dict[str, float] = {}
            for vout in tx["vout"]:
                address = vout["scriptPubKey"].get("address")
                if address is not None:
                    received[address] = received.get(address, 0.0) + float(vout["value"])
            for address, value in spent.items():
                event_rows.append((address, txid, time, "out", value))
                link_rows += [(address, "out", other) for other in received if other != address]
            for address, value in received.items():
                event_rows.append((address, txid, time, "in", value))
                link_rows += [(address, "in", other) for other in spent if other != address]
    events = pd.DataFrame(event_rows, columns=list(_EVENT_COLUMNS))
    links = pd.DataFrame(link_rows, columns=list(_LINK_COLUMNS))
    return events, links


def account_tables_from_transfers(transfers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events and links of an account chain from one row per transfer.

    ``transfers`` has columns ``txid``, ``timestamp``, ``from``, ``to`` and ``value``: each row is
    an ``out`` event of its sender and an ``in`` event of its receiver (a self-transfer is both).
    """
    missing = [c for c in ("txid", "timestamp", "from", "to", "value") if c not in transfers]
    if missing:
        raise DataError(f"account schema: transfers table lacks columns {missing}")
    senders, receivers = transfers["from"].to_numpy(), transfers["to"].to_numpy()
    outgoing = pd.DataFrame({"account": senders, "txid": transfers["txid"].to_numpy(),
                             "timestamp": transfers["timestamp"].to_numpy(), "direction": "out",
                             "value": transfers["value"].to_numpy()})
    events = pd.concat([outgoing, outgoing.assign(account=receivers, direction="in")],
                       ignore_index=True)
    links = pd.DataFrame({"account": np.concatenate([senders, receivers]),
                          "direction": ["out"] * len(transfers) + ["in"] * len(transfers),
                          "counterparty": np.concatenate([receivers, senders])})
    return events, links
