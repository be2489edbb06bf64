"""The first-spy estimator as a model plugin (``model=first_spy``, recipe ``method=first_spy``).

Source. The first-spy (first-timestamp) estimator of the network-layer de-anonymisation
literature: Koshy, Koshy and McDaniel, "An analysis of anonymity in Bitcoin using P2P network
traffic" (FC 2014) attribute a transaction to the IP that relayed it first; Biryukov,
Khovratovich and Pustogarov (CCS 2014) build on the same ordering; Fanti and Viswanath,
"Deanonymization in the Bitcoin P2P network" (NeurIPS 2017) name it first-spy and analyse it:
the adversary's spies record when each neighbour announced the transaction and name the
neighbour that announced it first as its source.

Adapted to the ``interception`` task. There the question is one node's (the target's): did it
create this transaction? The observer is the scenario's (``mode``, ``share``, ``probes``: the
same view, cut by :func:`.observers.observer_view`): its spies sit on the observed links of the
target, and each announcement on them is either the target's (``inv`` sent to a peer) or a
peer's (``inv`` received by the target). First-spy names the target when the earliest observed
announcement of the transaction is the target's. The score is the lag
``t_peer - t_target`` between the first announcement a peer made to the target and the first
one the target made, both on observed links (+inf when no observed peer announced it, -inf when
the target did not); ``predict_proba`` is ``sigmoid(lag / timescale)``, so the decision
(``lag > 0``, i.e. probability > 0.5) is the estimator's and the ranking (ROC-AUC, PR-AUC) is
by the lag; ``timescale`` changes the calibration only. A transaction the view never saw is not
the target's (probability 0).

It uses no label and no ground truth: ``fit`` ignores ``y`` and reads only the label-free
dataset the runner injects (``data``: labels hidden) through its ``relay_traffic`` side
channel. The event log there holds every link of the target, so the model cuts the observer's
view itself and then checks that the traffic features of its view equal the task's features
(``data.X``, the scenario's view): a model whose ``mode``/``share``/``probes`` differ from the
scenario's (which would let it see links the observer does not) stops with a ``ConfigError``.
The recipe ``method=first_spy`` copies the scenario's settings into the model.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from framework.capabilities import Tags
from framework.data import AccountData
from framework.errors import ConfigError
from plugins.relay.features import FEATURE_NAMES, traffic_features
from plugins.relay.observers import announcements, observer_view


class AnnouncementEstimator:
    """Shared machinery of the estimators that read the observer's announcements.

    Subclasses set ``name`` and implement ``_scores(table, txids)``: the positive probability
    and the estimator's decision (0/1) per txid. The estimators are label-free and transductive:
    ``fit`` cuts the observer's view from the injected ``data`` and scores every dataset row
    once; ``predict_proba(X, rows=...)`` looks the rows up (``X`` is not used: the task's
    features are counts, the estimators need the announcement order and times).
    """

    name = "announcement_estimator"
    chainsleuth_tags = Tags(binary_only=True, learns_from_labels=False,
                            requires=frozenset({"relay_traffic"}))

    def __init__(self, mode: str = "passive", share: float | None = 0.25,
                 probes: int | None = None, seed: int = 0,
                 data: AccountData | None = None) -> None:
        if mode not in ("passive", "active"):
            raise ConfigError(f"model '{self.name}': mode must be passive or active, got {mode!r}")
        if mode == "passive" and (share is None or not 0 < float(share) <= 1):
            raise ConfigError(f"model '{self.name}': mode=passive needs a share in (0, 1], "
                              f"got {share}")
        if data is not None and data.relay_traffic is None:
            raise ConfigError(f"model '{self.name}' needs the dataset's relay_traffic (the "
                              f"target's event log); dataset '{data.name}' has none. Use "
                              f"relay_sim or p2p_capture")
        self.mode, self.share, self.probes = mode, share, probes
        self.seed, self.data = seed, data

    # -- what the observer sees ----------------------------------------------------------------
    def _observer(self) -> tuple[pd.DataFrame, list[str]]:
        traffic = self.data.relay_traffic
        view, observed, _ = observer_view(traffic.events, list(traffic.probes), self.mode,
                                          self.share, self.probes, self.seed)
        return view, observed

    def _check_view(self, view: pd.DataFrame) -> bool:
        """True when the task's features are traffic features and the view reproduces them."""
        if list(self.data.feature_names) != list(FEATURE_NAMES):
            return False
        expected, _ = traffic_features(view, self.data.ids)
        differ = ~np.isclose(expected, np.asarray(self.data.X, dtype=np.float64),
                             equal_nan=True).all(axis=1)
        if differ.any():
            raise ConfigError(
                f"model '{self.name}' (mode={self.mode}, share={self.share}, "
                f"probes={self.probes}, seed={self.seed}) does not see what the scenario's "
                f"observer sees: the traffic features of its view differ from the task's on "
                f"{int(differ.sum())} of {len(differ)} rows. Give the model the scenario's "
                f"mode, share and probes (conf/model/{self.name}.yaml copies them from the "
                f"scenario)")
        return True

    def fit(self, X: np.ndarray, y: np.ndarray | None = None, *, rows: np.ndarray | None = None,
            **_: Any) -> AnnouncementEstimator:
        """Label-free: ``y`` is never read. Scores every dataset row from the observer's view."""
        self.classes_ = np.array([0, 1])
        self.p_ = None
        self.view_checked_, self.observed_links_ = False, 0
        if self.data is None:
            warnings.warn(f"model '{self.name}' got no dataset (no data=): without the event "
                          f"log it predicts 0.5 for every row", stacklevel=2)
            return self
        view, observed = self._observer()
        self.view_checked_ = self._check_view(view)
        self.observed_links_ = len(observed)
        table = announcements(view)
        self.announcements_ = len(table)
        p, decision = self._scores(table, np.asarray(self.data.ids).astype(str))
        self.p_ = np.asarray(p, dtype=np.float64)
        self.decision_ = np.asarray(decision).astype(np.int64)
        return self

    def _scores(self, table: pd.DataFrame, txids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _rows(self, X: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        if rows is None:
            raise ConfigError(f"model '{self.name}' needs the dataset row positions of its "
                              f"inputs (rows=); the runner passes them")
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) != len(X):
            raise ConfigError(f"model '{self.name}': {len(X)} feature rows but {len(rows)} "
                              f"row positions")
        return rows

    def predict_proba(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        p = np.full(len(X), 0.5) if self.p_ is None else self.p_[self._rows(X, rows)]
        return np.column_stack([1 - p, p])

    def predict(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        if self.p_ is None:
            return np.zeros(len(X), dtype=np.int64)
        return self.decision_[self._rows(X, rows)]

    def describe(self) -> dict[str, Any]:
        return {"labels_used": False, "observer": {"mode": self.mode, "share": self.share,
                                                   "probes": self.probes},
                "observed_links": getattr(self, "observed_links_", None),
                "view_checked_against_task": getattr(self, "view_checked_", None)}


def first_lags(table: pd.DataFrame, txids: np.ndarray) -> np.ndarray:
    """Per txid: first peer announcement time minus first target announcement time (seconds).

    +inf when only the target announced it on the observed links, -inf when the target did not
    announce it there (or nobody did)."""
    index = pd.Index(txids)
    first_target = table[table["by_target"]].groupby("txid")["time"].min().reindex(index)
    first_peer = table[~table["by_target"]].groupby("txid")["time"].min().reindex(index)
    target, peer = first_target.to_numpy(np.float64), first_peer.to_numpy(np.float64)
    return np.where(np.isnan(target), -np.inf, np.where(np.isnan(peer), np.inf, peer - target))


class FirstSpy(AnnouncementEstimator):
    """First-spy: the target is the source when its announcement is the first observed."""

    name = "first_spy"

    def __init__(self, mode: str = "passive", share: float | None = 0.25,
                 probes: int | None = None, timescale: float = 1.0, seed: int = 0,
                 data: AccountData | None = None) -> None:
        super().__init__(mode=mode, share=share, probes=probes, seed=seed, data=data)
        if not timescale > 0:
            raise ConfigError(f"model 'first_spy': timescale must be > 0 seconds, got {timescale}")
        self.timescale = timescale

    def _scores(self, table: pd.DataFrame, txids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.lags_ = first_lags(table, txids)
        return expit(self.lags_ / self.timescale), self.lags_ > 0

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "estimator": "first-spy (Koshy et al. 2014; Fanti & "
                                                   "Viswanath 2017)",
                "timescale_s": self.timescale}
