"""NTSSL's stages and the interception scenario, on the small simulated world."""

from __future__ import annotations

import numpy as np
import pytest

from framework.errors import DataError
from framework.interfaces import DataContext
from plugins.relay.dataset import RelaySimDataset
from plugins.relay.interception import InterceptionScenario
from plugins.relay.ntssl import NTSSL, TrafficAnomalyBaseline

WORLD = dict(nodes=60, transactions=400, target_share=0.05, probes=3, days=4,
             individual_wallet=150)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    context = DataContext(data_dir=None, cache_dir=tmp_path_factory.mktemp("cache"), seed=0)
    return RelaySimDataset(**WORLD, seed=0).load(context)


def test_dataset_is_synthetic_row_aligned_and_labels_the_targets_transactions(data):
    assert data.provenance.origin == "synthetic"
    assert data.class_names == ["relayed", "originated"]
    assert 0 < data.y.sum() < len(data.y)
    assert list(data.transactions.frame["txid"]) == list(data.ids)
    assert "origin" not in data.transactions.frame  # no ground truth beside the labels


def test_interception_splits_are_disjoint_and_features_follow_the_share(data):
    full = InterceptionScenario(share=1.0).split(data, seed=0)
    quarter = InterceptionScenario(share=0.25).split(data, seed=0)
    for task in (full, quarter):
        assert not set(task.train) & set(task.test)
        assert task.feature_names == ["send_inv_n", "recv_getdata_n", "getdata_inv_ratio"]
        assert task.y[task.test].sum() > 0
    assert quarter.features[:, 0].sum() < full.features[:, 0].sum()
    assert quarter.notes["observed_links"] < full.notes["observed_links"]
    active = InterceptionScenario(mode="active", probes=2).split(data, seed=0)
    assert active.setting == {"mode": "active", "probes": 2}


def test_interception_needs_relay_traffic(data):
    from dataclasses import replace
    with pytest.raises(DataError, match="relay_traffic"):
        InterceptionScenario().split(replace(data, relay_traffic=None), seed=0)


def test_ntssl_pseudo_labels_follow_the_published_rules(data):
    task = InterceptionScenario(share=1.0).split(data, seed=0)
    X = task.features[task.train]
    model = NTSSL(stage1_votes=1, ae_epochs=5, seed=0).fit(X, np.full(len(X), -1))
    assert model.stage1_positives_ > 0
    # Stage 2 never labels fewer rows than stage 1 found, and only rows at or above the minima.
    assert model.pseudo_positives_ >= model.stage1_positives_
    proba = model.predict_proba(task.features[task.test])
    assert proba.shape == (len(task.test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(task.features[task.test]),
                                  proba[:, 1] >= model.threshold)


def test_ntssl_ignores_labels(data):
    task = InterceptionScenario(share=1.0).split(data, seed=0)
    X = task.features[task.train]
    a = NTSSL(stage1_votes=1, ae_epochs=5, seed=0).fit(X, task.y[task.train])
    b = NTSSL(stage1_votes=1, ae_epochs=5, seed=0).fit(X, 1 - task.y[task.train])
    X_test = task.features[task.test]
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    base = TrafficAnomalyBaseline(seed=0).fit(X, task.y[task.train])
    assert base.predict(X_test).shape == (len(task.test),)


def test_cross_layer_votes_over_transaction_clusters(data):
    from dataclasses import replace
    hidden = replace(data, y=np.full(len(data.y), -1))
    task = InterceptionScenario(share=1.0).split(data, seed=0)
    plain = NTSSL(stage1_votes=1, ae_epochs=5, seed=0)
    crossed = NTSSL(stage1_votes=1, ae_epochs=5, seed=0, cross_layer=True, data=hidden)
    plain.fit(task.features[task.train], None)
    crossed.fit(task.features[task.train], None, rows=task.train)
    X_test = task.features[task.test]
    before = plain.predict(X_test)
    after = crossed.predict(X_test, rows=task.test)
    txs = data.transactions.frame
    from plugins.relay.clustering import transaction_clusters
    rows = np.concatenate([task.test, task.train])
    clusters = transaction_clusters(txs["inputs"].iloc[rows].tolist(),
                                    txs["outputs"].iloc[rows].tolist(),
                                    txs["first_seen"].to_numpy()[rows])[:len(task.test)]
    changed = np.flatnonzero(before != after)
    # Only rows in a multi-transaction cluster can change, and they take their cluster's majority.
    sizes = np.bincount(clusters)
    assert (sizes[clusters[changed]] > 1).all()
    with pytest.raises(DataError, match="transactions"):
        NTSSL(cross_layer=True, data=replace(hidden, transactions=None))
