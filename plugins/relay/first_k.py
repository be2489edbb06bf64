"""The first-k-announcers estimator as a model plugin (``model=first_k``, ``method=first_k``).

Source. Biryukov, Khovratovich and Pustogarov, "Deanonymisation of clients in Bitcoin P2P
network" (ACM CCS 2014): the attacker keeps connections to many servers and, for every
transaction, records the first ten peers that announced it to its nodes (the "first-k
announcers", k = 10); a transaction is attributed to the client whose entry nodes make up
enough of that set, since a client's transaction reaches the network through its own entry
nodes first. Unlike first-spy (:mod:`.first_spy`), which looks at the one earliest
announcement, the attribution pools the first k announcements seen by several observers.

Adapted to the ``interception`` task (what is ours, not the paper's):

* The observers are the spies on the observed links of the target (the scenario's view, cut
  by :func:`.observers.observer_view`, as in :mod:`.first_spy`), not a supernode connected to
  every server; an announcement on such a link is the target's (``inv`` sent to a peer) or a
  peer's (``inv`` received by the target).
* The candidate is fixed (the target), so the "entry-node set" that must appear among the
  first announcers is the target itself, announcing over its observed links: the score is the
  share of the first ``k`` observed announcements of the transaction (all of them when fewer
  were observed) that the target made.
* The paper's threshold counts entry nodes among ten announcers; ours is a share, so that it
  means the same whatever the number of observed links: the transaction is called the
  target's when that share is at least ``min_share`` (default 1.0: every one of the first k
  announcements is the target's; k = 10 as in the paper). ROC-AUC and PR-AUC rank by the share.

Label-free like first-spy: ``y`` is never read, only the label-free injected dataset's
``relay_traffic``, and the model's view is checked against the task's features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from framework.data import AccountData
from framework.errors import ConfigError
from plugins.relay.first_spy import AnnouncementEstimator


def first_k_share(table: pd.DataFrame, txids: np.ndarray, k: int) -> np.ndarray:
    """Per txid: the share of its first ``k`` observed announcements the target made (0 when
    none was observed). ``table`` is :func:`.observers.announcements` (sorted by time)."""
    first = table.groupby("txid", sort=False).head(k)
    share = first.groupby("txid")["by_target"].mean()
    return share.reindex(pd.Index(txids)).fillna(0.0).to_numpy(np.float64)


class FirstKAnnouncers(AnnouncementEstimator):
    """First-k announcers: the target is the source when it made (nearly) all of the first k."""

    name = "first_k"

    def __init__(self, mode: str = "passive", share: float | None = 0.25,
                 probes: int | None = None, k: int = 10, min_share: float = 1.0, seed: int = 0,
                 data: AccountData | None = None) -> None:
        super().__init__(mode=mode, share=share, probes=probes, seed=seed, data=data)
        if int(k) < 1:
            raise ConfigError(f"model 'first_k': k must be >= 1, got {k}")
        if not 0 < min_share <= 1:
            raise ConfigError(f"model 'first_k': min_share must lie in (0, 1], got {min_share}")
        self.k, self.min_share = int(k), float(min_share)

    def _scores(self, table: pd.DataFrame, txids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        share = first_k_share(table, txids, self.k)
        return share, share >= self.min_share - 1e-12

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "estimator": "first-k announcers (Biryukov, Khovratovich "
                                                   "& Pustogarov 2014), adapted",
                "k": self.k, "min_share": self.min_share}
