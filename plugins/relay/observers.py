"""What an adversary sees of a target node's traffic: the views an observer cuts from the log.

* ``passive_view``: an AS-level vantage point that carries a share ``q`` of the target's links
  (its probe links excluded) and sees every message on them. Which links are carried is drawn
  with the given seed, so each seed is a different vantage point.
* ``active_view``: the links of the observer's own probe nodes connected to the target.

``observer_view`` is the one place that turns an observer's setting (``mode``, ``share``,
``probes``, seed) into its view: the ``interception`` scenario and the announcement-order models
(:mod:`.first_spy`, :mod:`.first_k`) both call it, so a model cuts exactly the scenario's view.
``announcements`` lists what such an observer sees of the transactions' announcements.

``first_spy_origins`` is the classic first-spy estimator (Koshy et al. 2014; Biryukov et al.
2014) restricted to one target: a transaction is guessed to originate at the target when the
first ``inv`` announcing it on the observed links is one the target sent. Dandelion++'s stem
messages are not announcements, which is how that defence hides an origin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from framework.errors import ConfigError
from libraries.simulation.relay_events import TRANSACTION_INV_TYPES, txid_aliases


def passive_view(events: pd.DataFrame, share: float, seed: int,
                 exclude_peers: list[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The events on a seeded ``share`` of the target's links, and which links those are."""
    if not 0 < share <= 1:
        raise ConfigError(f"passive observer: the intercepted share must lie in (0, 1], got {share}")
    excluded = set(exclude_peers or ())
    links = sorted(p for p in events["peer"].unique() if p not in excluded)
    if not links:
        raise ConfigError("passive observer: the event log has no links to intercept")
    count = max(1, int(round(share * len(links))))
    chosen = np.random.default_rng(seed).choice(len(links), size=count, replace=False)
    observed = sorted(links[i] for i in chosen)
    return events[events["peer"].isin(observed)], observed


def active_view(events: pd.DataFrame, probe_peers: list[str],
                probes: int | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The events on the first ``probes`` probe links (all of them when ``probes`` is None)."""
    chosen = list(probe_peers if probes is None else probe_peers[:probes])
    if not chosen or (probes is not None and probes > len(probe_peers)):
        raise ConfigError(f"active observer: asked for {probes} probe links but the log has "
                          f"{len(probe_peers)} (simulate with dataset.probes=N)")
    return events[events["peer"].isin(chosen)], chosen


def observer_view(events: pd.DataFrame, probe_peers: list[str], mode: str,
                  share: float | None, probes: int | None,
                  seed: int) -> tuple[pd.DataFrame, list[str], dict[str, object]]:
    """The view of an observer in ``mode`` (passive or active), its links and its setting."""
    if mode == "passive":
        if share is None:
            raise ConfigError("passive observer: needs a share of links in (0, 1]")
        view, observed = passive_view(events, share, seed, exclude_peers=probe_peers)
        return view, observed, {"mode": "passive", "share": share}
    if mode == "active":
        view, observed = active_view(events, probe_peers, probes)
        return view, observed, {"mode": "active", "probes": len(observed)}
    raise ConfigError(f"observer: mode must be passive or active, got {mode!r}")


def announcements(view: pd.DataFrame) -> pd.DataFrame:
    """The transaction announcements an observer saw, in the order it saw them.

    One row per inventory entry of an ``inv`` for a transaction on the observed links:
    ``txid`` (a wtxid is mapped to its txid where a ``tx`` message in the view tells which),
    ``time`` (when it was sent by the target or received by it), ``by_target`` (True when the
    target announced it to the peer, False when the peer announced it to the target), ``peer``.
    Sorted by time, then by message (the log's order of equal times).
    """
    rows = view[(view["message"] == "inv") & (view["txid"] != "")
                & view["inv_type"].isin(TRANSACTION_INV_TYPES)]
    aliases = txid_aliases(view)
    txid = rows["txid"].replace(aliases) if aliases else rows["txid"]
    table = pd.DataFrame({"txid": txid.astype(str), "time": rows["time"].astype(np.float64),
                          "by_target": rows["direction"] == "sent", "peer": rows["peer"],
                          "message_id": rows["message_id"]})
    return table.sort_values(["time", "message_id"], kind="stable").reset_index(drop=True)


def first_spy_origins(view: pd.DataFrame) -> set[str]:
    """Transactions whose first observed announcement is one the target made."""
    relevant = view[(view["txid"] != "") & (view["message"] == "inv")]
    first = relevant.sort_values(["time", "message_id"], kind="stable").drop_duplicates("txid")
    return set(first.loc[first["direction"] == "sent", "txid"])
