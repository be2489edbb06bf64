"""What an adversary sees of a target node's traffic: the views an observer cuts from the log.

* ``passive_view``: an AS-level vantage point that carries a share ``q`` of the target's links
  (its probe links excluded) and sees every message on them. Which links are carried is drawn
  with the given seed, so each seed is a different vantage point.
* ``active_view``: the links of the observer's own probe nodes connected to the target.

``first_spy_origins`` is the classic first-spy estimator (Koshy et al. 2014; Biryukov et al.
2014) restricted to one target: a transaction is guessed to originate at the target when the
first ``inv`` announcing it on the observed links is one the target sent. Dandelion++'s stem
messages are not announcements, which is how that defence hides an origin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from framework.errors import ConfigError


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


def first_spy_origins(view: pd.DataFrame) -> set[str]:
    """Transactions whose first observed announcement is one the target made."""
    relevant = view[(view["txid"] != "") & (view["message"] == "inv")]
    first = relevant.sort_values(["time", "message_id"], kind="stable").drop_duplicates("txid")
    return set(first.loc[first["direction"] == "sent", "txid"])
