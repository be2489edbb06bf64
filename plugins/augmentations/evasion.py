"""Augmentations that imitate evasion (ShadowEyes): random time delay and amount split.

Where the dataset keeps transaction histories (``AccountData.history``: events and links in the
account-schema format: ``chain_sim``, ``ethereum_txs``) they act on transactions and the
account attributes are recomputed with :func:`framework.account_schema.compute_attributes` (the
faithful version). The augmented rows must then be account-schema rows, as they are for those
datasets.

* ``random_time_delay``: each account is perturbed with probability ``p`` (default 1, so views
  differ; an account with a single transaction still looks the same after a delay, as the
  account schema holds no absolute time); every one of its transactions is then delayed by an
  independent uniform delay in ``[0, max_delay_h]`` hours. Only timestamps change.
* ``amount_split``: each account is perturbed with probability ``p`` (default 1); ``theta`` of its
  transactions (at random) are split into two parts, the second ``split_delay_h`` hours later,
  as a launderer splitting a payment would. The first part's share is drawn from
  ``U(share_low, 1 - share_low)`` (``share_low=0.5``: halves), so even an account with at most
  ``theta`` transactions looks different in every view. Totals are conserved; counts grow.
* ``evasion``: both in turn on each perturbed account (delay, then split).

Without histories (tabular sources) a documented feature-space approximation is used and
recorded (``mode: feature-space``): on account-schema columns the delay multiplies the temporal
attributes by ``1 + U(0, jitter)`` and the split doubles the affected counts' contribution while
halving per-transaction amounts; on native columns both apply a multiplicative log-normal jitter
of scale ``jitter`` to every attribute of a perturbed account.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from framework.account_schema import ATTRIBUTE_NAMES, SCHEMA, compute_attributes
from framework.data import AccountData
from framework.errors import ConfigError
from framework.hookspecs import hookimpl

TEMPORAL = [a.name for a in SCHEMA if a.group == "temporal"]
PER_TX_AMOUNTS = ["in_mean", "in_min", "in_max", "in_median", "out_mean", "out_min", "out_max",
                  "out_median", "value_mean", "in_std", "out_std", "value_std", "max_in_share",
                  "max_out_share"]


class _HistoryIndex:
    """Row positions of each account's events and links, built once per dataset."""

    def __init__(self, data: AccountData) -> None:
        self.events: pd.DataFrame = data.history.events
        self.links: pd.DataFrame = data.history.links
        self.event_rows = self.events.groupby("account").indices
        self.link_rows = self.links.groupby("account").indices

    def histories(self, accounts: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
        empty = np.empty(0, dtype=np.int64)
        events = np.concatenate([self.event_rows.get(a, empty) for a in accounts])
        links = np.concatenate([self.link_rows.get(a, empty) for a in accounts])
        return self.events.iloc[events].copy(), self.links.iloc[links]


class _EvasionAugmentation:
    name = "evasion"

    def __init__(self, p: float, jitter: float) -> None:
        if not 0 <= p <= 1:
            raise ConfigError(f"augmentation '{self.name}': p must be in [0, 1], got {p}")
        self.p, self.jitter = p, jitter
        self._index: tuple[int, _HistoryIndex] | None = None
        self.mode_: str | None = None

    def _history_index(self, data: AccountData) -> _HistoryIndex | None:
        if data.history is None or list(data.feature_names) != list(ATTRIBUTE_NAMES):
            return None
        if self._index is None or self._index[0] != id(data):
            self._index = (id(data), _HistoryIndex(data))
        return self._index[1]

    def augment(self, data: AccountData, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        X = data.X[rows].copy()
        chosen = rng.random(len(rows)) < self.p
        index = self._history_index(data)
        self.mode_ = "transactions" if index is not None else "feature-space"
        if not chosen.any():
            return X
        if index is None:
            X[chosen] = self._approximate(data, X[chosen], rng)
            return X
        accounts = data.ids[rows[chosen]]
        events, links = index.histories(accounts)
        events = self.perturb(events, rng)
        X[chosen] = compute_attributes(events, links, accounts).to_numpy()
        return X

    def perturb(self, events: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        raise NotImplementedError

    def _approximate(self, data: AccountData, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return X * rng.lognormal(0.0, self.jitter, size=X.shape)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "p": self.p, "mode": self.mode_ or "not used",
                **self._params()}

    def _params(self) -> dict[str, Any]:
        return {}


class RandomTimeDelay(_EvasionAugmentation):
    name = "random_time_delay"

    def __init__(self, p: float = 1.0, max_delay_h: float = 24.0, jitter: float = 0.2) -> None:
        super().__init__(p, jitter)
        self.max_delay_h = max_delay_h

    def perturb(self, events: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        delay = rng.uniform(0.0, self.max_delay_h * 3600.0, size=len(events))
        return events.assign(timestamp=events["timestamp"].to_numpy(dtype=np.float64) + delay)

    def _approximate(self, data, X, rng):
        if list(data.feature_names) != list(ATTRIBUTE_NAMES):
            return super()._approximate(data, X, rng)
        columns = [ATTRIBUTE_NAMES.index(a) for a in TEMPORAL]
        X[:, columns] *= 1.0 + rng.uniform(0.0, self.jitter, size=(len(X), len(columns)))
        return X

    def _params(self) -> dict[str, Any]:
        return {"max_delay_h": self.max_delay_h}


class AmountSplit(_EvasionAugmentation):
    name = "amount_split"

    def __init__(self, p: float = 1.0, theta: int = 2, split_delay_h: float = 1.0,
                 jitter: float = 0.2, share_low: float = 0.2) -> None:
        super().__init__(p, jitter)
        if theta < 1:
            raise ConfigError(f"augmentation 'amount_split': theta must be >= 1, got {theta}")
        if not 0.0 < share_low <= 0.5:
            raise ConfigError(f"augmentation 'amount_split': share_low must lie in (0, 0.5], "
                              f"got {share_low}")
        self.theta, self.split_delay_h, self.share_low = theta, split_delay_h, share_low

    def perturb(self, events: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        if events.empty:
            return events
        events = events.reset_index(drop=True)
        picked = []
        for _, positions in events.groupby("account").indices.items():
            take = min(self.theta, len(positions))
            picked.append(rng.choice(positions, size=take, replace=False))
        picked = np.concatenate(picked)
        share = rng.uniform(self.share_low, 1.0 - self.share_low, size=len(picked))
        halves = events.loc[picked].copy()
        halves["value"] = events.loc[picked, "value"].to_numpy() * (1.0 - share)
        events.loc[picked, "value"] = events.loc[picked, "value"].to_numpy() * share
        halves["timestamp"] = halves["timestamp"].astype(np.float64) + self.split_delay_h * 3600
        halves["txid"] = halves["txid"].astype(str) + ":split"
        return pd.concat([events, halves], ignore_index=True)

    def _approximate(self, data, X, rng):
        if list(data.feature_names) != list(ATTRIBUTE_NAMES):
            return super()._approximate(data, X, rng)
        share = rng.uniform(0.0, self.jitter, size=(len(X), 1))
        amounts = [ATTRIBUTE_NAMES.index(a) for a in PER_TX_AMOUNTS]
        X[:, amounts] *= 1.0 - share / 2.0
        for name in ("in_degree", "out_degree", "tx_count"):
            column = ATTRIBUTE_NAMES.index(name)
            X[:, column] += np.round(share[:, 0] * X[:, column])
        return X

    def _params(self) -> dict[str, Any]:
        return {"theta": self.theta, "split_delay_h": self.split_delay_h,
                "share_low": self.share_low}




class Evasion(_EvasionAugmentation):
    """Both evasions in turn: delay an account's transactions, then split some of them."""

    name = "evasion"

    def __init__(self, p: float = 1.0, max_delay_h: float = 24.0, theta: int = 2,
                 split_delay_h: float = 1.0, jitter: float = 0.2,
                 share_low: float = 0.2) -> None:
        super().__init__(p, jitter)
        self.delay = RandomTimeDelay(1.0, max_delay_h, jitter)
        self.split = AmountSplit(1.0, theta, split_delay_h, jitter, share_low)

    def perturb(self, events: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        return self.split.perturb(self.delay.perturb(events, rng), rng)

    def _approximate(self, data, X, rng):
        return self.split._approximate(data, self.delay._approximate(data, X, rng), rng)

    def _params(self) -> dict[str, Any]:
        return {**self.delay._params(), **self.split._params()}


@hookimpl
def register_augmentations() -> dict[str, Callable[..., Any]]:
    return {"random_time_delay": RandomTimeDelay, "amount_split": AmountSplit, "evasion": Evasion}
