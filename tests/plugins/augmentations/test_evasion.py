"""Evasion augmentations on hand-made histories: what changes and what is conserved."""

import numpy as np
import pandas as pd
import pytest

from framework.account_schema import ATTRIBUTE_NAMES, compute_attributes
from framework.data import AccountData, Provenance, TransactionHistory
from framework.errors import ConfigError
from plugins.augmentations.evasion import AmountSplit, RandomTimeDelay

H = 3600


def histories():
    events = pd.DataFrame({
        "account": ["a", "a", "a", "b", "b"], "txid": ["t1", "t2", "t3", "t1", "t4"],
        "timestamp": [0, 5 * H, 30 * H, 0, 2 * H], "direction": ["in", "out", "in", "out", "in"],
        "value": [4.0, 3.0, 2.0, 4.0, 1.0]})
    links = pd.DataFrame({"account": ["a", "a", "b", "b"], "direction": ["in", "out", "out", "in"],
                          "counterparty": ["b", "c", "a", "d"]})
    return events, links


def dataset():
    events, links = histories()
    X = compute_attributes(events, links, ["a", "b"]).to_numpy()
    return AccountData(name="hand", ids=["a", "b"], X=X, feature_names=list(ATTRIBUTE_NAMES),
                       y=[0, 1], class_names=["n", "m"], benign_classes=["n"],
                       provenance=Provenance("synthetic", "test"),
                       history=TransactionHistory(events, links))


def column(X, name):
    return X[:, ATTRIBUTE_NAMES.index(name)]


def test_time_delay_changes_only_timestamps():
    events, _ = histories()
    delayed = RandomTimeDelay(p=1.0, max_delay_h=10).perturb(events, np.random.default_rng(0))
    assert (delayed[["account", "txid", "direction", "value"]].to_numpy()
            == events[["account", "txid", "direction", "value"]].to_numpy()).all()
    shift = delayed["timestamp"].to_numpy() - events["timestamp"].to_numpy()
    assert (shift >= 0).all() and (shift <= 10 * H).all() and shift.any()


def test_time_delay_keeps_amount_and_count_attributes():
    data = dataset()
    augmentation = RandomTimeDelay(p=1.0, max_delay_h=10)
    out = augmentation.augment(data, np.array([0, 1]), np.random.default_rng(1))
    for name in ("in_total", "out_total", "in_degree", "out_degree", "uniq_counterparties"):
        assert np.array_equal(column(out, name), column(data.X, name)), name
    assert not np.allclose(column(out, "interval_mean_h"), column(data.X, "interval_mean_h"),
                           equal_nan=True)
    assert augmentation.describe()["mode"] == "transactions"


def test_amount_split_conserves_amounts_per_account_and_direction():
    events, _ = histories()
    split = AmountSplit(p=1.0, theta=2, split_delay_h=1, share_low=0.5).perturb(
        events, np.random.default_rng(0))
    before = events.groupby(["account", "direction"])["value"].sum()
    after = split.groupby(["account", "direction"])["value"].sum()
    pd.testing.assert_series_equal(before, after)
    assert len(split) == len(events) + 4  # theta=2 for each of the two accounts
    halves = split[split["txid"].str.endswith(":split")]
    assert len(halves) == 4
    for row in halves.itertuples():
        original = split[(split["txid"] == row.txid[:-6]) & (split["account"] == row.account)]
        assert original["value"].iloc[0] == pytest.approx(row.value)
        assert row.timestamp == original["timestamp"].iloc[0] + H


def test_two_views_of_an_account_with_few_transactions_differ():
    """Splitting both transactions of a two-transaction account into halves gave the same view
    every time (a positive pair of identical copies); a random share does not."""
    data = dataset()
    split = AmountSplit(p=1.0, theta=5)
    first = split.augment(data, np.array([0, 1]), np.random.default_rng(1))
    second = split.augment(data, np.array([0, 1]), np.random.default_rng(2))
    assert not (np.isclose(first, second) | (np.isnan(first) & np.isnan(second))).all(axis=1).any()
    halves = AmountSplit(p=1.0, theta=5, share_low=0.5)
    assert np.array_equal(halves.augment(data, np.array([0, 1]), np.random.default_rng(1)),
                          halves.augment(data, np.array([0, 1]), np.random.default_rng(2)),
                          equal_nan=True)
    with pytest.raises(ConfigError, match="share_low must lie in"):
        AmountSplit(share_low=0.7)


def test_amount_split_recomputed_attributes():
    data = dataset()
    out = AmountSplit(p=1.0, theta=1).augment(data, np.array([0, 1]), np.random.default_rng(0))
    assert np.allclose(column(out, "in_total"), column(data.X, "in_total"))
    assert np.allclose(column(out, "out_total"), column(data.X, "out_total"))
    assert (column(out, "in_degree") + column(out, "out_degree")
            == column(data.X, "in_degree") + column(data.X, "out_degree") + 1).all()


def test_probability_zero_changes_nothing_and_tabular_data_is_approximated():
    data = dataset()
    assert np.array_equal(RandomTimeDelay(p=0.0).augment(data, np.array([0, 1]),
                                                         np.random.default_rng(0)),
                          data.X, equal_nan=True)
    tabular = AccountData(name="t", ids=["x", "y"], X=np.ones((2, 3)), feature_names=["a", "b", "c"],
                          y=[0, 1], class_names=["n", "m"], benign_classes=["n"],
                          provenance=Provenance("synthetic", "test"))
    augmentation = AmountSplit(p=1.0)
    out = augmentation.augment(tabular, np.array([0, 1]), np.random.default_rng(0))
    assert out.shape == (2, 3) and not np.array_equal(out, tabular.X)
    assert augmentation.describe()["mode"] == "feature-space"
