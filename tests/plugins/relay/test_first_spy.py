"""The first-spy and first-k-announcers estimators: a hand-made log where every answer is
known, the small simulated world seen through all links (near perfect) and through listening
probes only (chance), label blindness, the guard against a view the scenario's observer does not
have, and a CLI run."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from framework.data import AccountData, Provenance, RelayTraffic
from framework.errors import ConfigError
from framework.interfaces import DataContext
from libraries.simulation.relay_events import MSG_WTX, validate_events
from plugins.relay.dataset import RelaySimDataset
from plugins.relay.features import FEATURE_NAMES, traffic_features
from plugins.relay.first_k import FirstKAnnouncers
from plugins.relay.first_spy import FirstSpy
from plugins.relay.interception import InterceptionScenario


# the small world of the relay tests (tests/conftest.py SMALL_WORLD)
SMALL_WORLD = dict(nodes=60, transactions=400, target_share=0.05, probes=3, days=4,
                   individual_wallet=150)


def announcement(time, direction, peer, txid, message_id):
    return {"time": time, "node": "n0", "peer": peer, "direction": direction, "message": "inv",
            "message_id": message_id, "inv_type": MSG_WTX, "txid": txid, "wtxid": ""}


def hand_made_world() -> AccountData:
    """Four transactions on two links (p1, p2) whose announcement order is known:

    own: the target announces it on both links, nobody announces it to the target;
    relayed: p1 announces it at t=1, the target passes it on to p2 at t=3 (lag -2);
    close: the target announces at t=1, p2 announces to the target at t=1.5 (lag +0.5);
    heard: only p2 announces it to the target (the target never does on these links).
    """
    rows = [announcement(1.0, "sent", "p1", "own", 1), announcement(2.0, "sent", "p2", "own", 2),
            announcement(1.0, "recv", "p1", "relayed", 3),
            announcement(3.0, "sent", "p2", "relayed", 4),
            announcement(1.0, "sent", "p1", "close", 5),
            announcement(1.5, "recv", "p2", "close", 6),
            announcement(0.5, "recv", "p2", "heard", 7)]
    events = validate_events(pd.DataFrame(rows), "hand-made log")
    ids = np.array(["own", "relayed", "close", "heard"], dtype=object)
    X, _ = traffic_features(events, ids)
    return AccountData(name="hand_made", ids=ids, X=X, feature_names=list(FEATURE_NAMES),
                       y=np.array([1, 0, 0, 0]), class_names=["relayed", "originated"],
                       benign_classes=["relayed"],
                       provenance=Provenance("synthetic", "test", "hand-made relay log"),
                       relay_traffic=RelayTraffic(events))


def hidden(data: AccountData) -> AccountData:
    """The dataset as the runner injects it into a model: labels hidden."""
    return replace(data, y=np.full(len(data.y), -1))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> AccountData:
    context = DataContext(data_dir=None, cache_dir=tmp_path_factory.mktemp("cache"), seed=0)
    return RelaySimDataset(**SMALL_WORLD, seed=0).load(context)


def fitted(model_class, data, task, **params):
    """A model built as the runner builds it (task features, labels hidden), fitted on train."""
    seen = replace(data, X=task.features, feature_names=list(task.feature_names))
    model = model_class(seed=0, data=hidden(seen), **params)
    return model.fit(task.features[task.train], task.y[task.train], rows=task.train)


def test_first_spy_names_the_target_exactly_when_its_announcement_is_the_first_seen():
    data = hand_made_world()
    rows = np.arange(4)
    model = FirstSpy(share=1.0, data=hidden(data)).fit(data.X, None, rows=rows)
    np.testing.assert_array_equal(model.predict(data.X, rows=rows), [1, 0, 1, 0])
    np.testing.assert_array_equal(model.lags_, [np.inf, -2.0, 0.5, -np.inf])
    proba = model.predict_proba(data.X, rows=rows)
    np.testing.assert_allclose(proba[:, 1], [1.0, expit(-2.0), expit(0.5), 0.0])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # The timescale changes the calibration, never the decision or the ranking.
    slow = FirstSpy(share=1.0, timescale=10.0, data=hidden(data)).fit(data.X, None, rows=rows)
    np.testing.assert_array_equal(slow.predict(data.X, rows=rows), [1, 0, 1, 0])
    assert (np.argsort(slow.predict_proba(data.X, rows=rows)[:, 1])
            == np.argsort(proba[:, 1])).all()
    # Rows are looked up by dataset position, in any order.
    np.testing.assert_array_equal(model.predict(data.X[[3, 0]], rows=np.array([3, 0])), [0, 1])


def test_first_spy_with_every_link_observed_is_near_perfect(world):
    task = InterceptionScenario(share=1.0).split(world, seed=0)
    model = fitted(FirstSpy, world, task, share=1.0)
    y, pred = task.y[task.test], model.predict(task.features[task.test], rows=task.test)
    p = model.predict_proba(task.features[task.test], rows=task.test)[:, 1]
    assert model.describe()["view_checked_against_task"] is True
    assert roc_auc_score(y, p) > 0.99
    assert pred[y == 1].mean() == 1.0 and pred[y == 0].mean() < 0.02


def test_a_partial_view_makes_first_spy_worse_but_still_informative(world):
    task = InterceptionScenario(share=0.25).split(world, seed=0)
    model = fitted(FirstSpy, world, task, share=0.25)
    y = task.y[task.test]
    pred = model.predict(task.features[task.test], rows=task.test)
    auc = roc_auc_score(y, model.predict_proba(task.features[task.test], rows=task.test)[:, 1])
    # A relayed transaction whose sender's link is unobserved looks like the target's.
    assert 0.6 < auc < 0.99
    assert pred[y == 0].mean() > 0.1


def test_listening_probes_see_only_the_targets_announcements_so_first_spy_is_at_chance(world):
    """Probes never announce: the first announcement they see is always the target's, whether
    it created the transaction or not, so the order tells nothing (the classic attack needs the
    adversary to hear other nodes too)."""
    task = InterceptionScenario(mode="active", share=None, probes=None).split(world, seed=0)
    model = fitted(FirstSpy, world, task, mode="active", share=None, probes=None)
    y = task.y[task.test]
    p = model.predict_proba(task.features[task.test], rows=task.test)[:, 1]
    assert np.unique(p).size == 1
    assert roc_auc_score(y, p) == 0.5


@pytest.mark.parametrize("model_class", [FirstSpy, FirstKAnnouncers])
def test_the_estimators_never_read_labels_or_ground_truth(world, model_class):
    task = InterceptionScenario(share=0.5).split(world, seed=1)
    X, X_test = task.features[task.train], task.features[task.test]
    seen = replace(world, X=task.features, feature_names=list(task.feature_names))
    rng = np.random.default_rng(0)
    predictions = []
    for data, y in [(hidden(seen), task.y[task.train]),
                    (hidden(seen), rng.permutation(task.y[task.train])),
                    (seen, 1 - task.y[task.train]),  # labels left in the injected data
                    (replace(hidden(seen), transactions=None), None)]:
        model = model_class(share=0.5, seed=1, data=data).fit(X, y, rows=task.train)
        predictions.append(model.predict_proba(X_test, rows=task.test))
    for other in predictions[1:]:
        np.testing.assert_array_equal(predictions[0], other)


@pytest.mark.parametrize("model_class", [FirstSpy, FirstKAnnouncers])
def test_a_model_whose_view_is_not_the_scenarios_stops(world, model_class):
    """Seeing more links than the scenario's observer would be a leak: the model refuses."""
    task = InterceptionScenario(share=0.25).split(world, seed=0)
    with pytest.raises(ConfigError, match=r"does not see what the scenario's observer sees.*"
                                          r"mode, share and probes"):
        fitted(model_class, world, task, share=1.0)
    with pytest.raises(ConfigError, match="needs the dataset row positions"):
        fitted(model_class, world, task, share=0.25).predict(task.features[task.test])


def test_first_spy_refuses_bad_parameters_and_data_without_traffic(world):
    with pytest.raises(ConfigError, match="timescale must be > 0"):
        FirstSpy(timescale=0)
    with pytest.raises(ConfigError, match="mode must be passive or active"):
        FirstSpy(mode="sniff")
    with pytest.raises(ConfigError, match=r"share in \(0, 1\]"):
        FirstSpy(share=1.5)
    with pytest.raises(ConfigError, match="relay_traffic"):
        FirstSpy(data=replace(hidden(world), relay_traffic=None))


def test_without_the_event_log_the_estimator_says_nothing():
    """The contract suite fits models on toy features without data: a constant 0.5."""
    X = np.zeros((5, 3))
    with pytest.warns(UserWarning, match="no dataset"):
        model = FirstSpy().fit(X, np.array([0, 1, 0, 1, 0]))
    np.testing.assert_array_equal(model.predict_proba(X), np.full((5, 2), 0.5))
    np.testing.assert_array_equal(model.predict(X), np.zeros(5))


def test_chainsleuth_run_of_first_spy_on_a_small_world(tmp_path):
    world = [f"dataset.{key}={value}" for key, value in SMALL_WORLD.items()]
    done = run_cli(["run", "dataset=relay_sim", *world, "scenario=interception",
                    "scenario.share=0.5", "method=first_spy", "seed=0",
                    f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "result.json").read_text())
    assert record["status"] == "ok"
    details = record["model"]["details"]
    # The model took the scenario's observer and checked that it sees what the task shows.
    assert details["observer"] == {"mode": "passive", "share": 0.5, "probes": None}
    assert details["view_checked_against_task"] is True and details["labels_used"] is False
    metrics = record["metrics"]
    assert 0.5 < metrics["roc_auc"] <= 1.0 and metrics["f1"] > 0


# -- first-k announcers (Biryukov, Khovratovich & Pustogarov 2014, adapted) ----------------

def test_first_k_scores_the_targets_share_of_the_first_announcements():
    data = hand_made_world()  # own, relayed, close, heard (see test_first_spy)
    rows = np.arange(4)
    model = FirstKAnnouncers(share=1.0, data=hidden(data)).fit(data.X, None, rows=rows)
    np.testing.assert_allclose(model.predict_proba(data.X, rows=rows)[:, 1], [1, 0.5, 0.5, 0])
    np.testing.assert_array_equal(model.predict(data.X, rows=rows), [1, 0, 0, 0])
    majority = FirstKAnnouncers(share=1.0, min_share=0.5, data=hidden(data))
    np.testing.assert_array_equal(majority.fit(data.X, None, rows=rows).predict(data.X, rows=rows),
                                  [1, 1, 1, 0])
    # k = 1: the first announcer alone, which is first-spy's decision.
    first = FirstKAnnouncers(share=1.0, k=1, data=hidden(data)).fit(data.X, None, rows=rows)
    spy = FirstSpy(share=1.0, data=hidden(data)).fit(data.X, None, rows=rows)
    np.testing.assert_array_equal(first.predict(data.X, rows=rows), spy.predict(data.X, rows=rows))


def test_first_k_on_the_small_world_full_view_separates_and_probes_are_at_chance(world):
    task = InterceptionScenario(share=1.0).split(world, seed=0)
    model = fitted(FirstKAnnouncers, world, task, share=1.0)
    y = task.y[task.test]
    p = model.predict_proba(task.features[task.test], rows=task.test)[:, 1]
    pred = model.predict(task.features[task.test], rows=task.test)
    assert roc_auc_score(y, p) > 0.9
    assert pred[y == 0].sum() == 0 and pred[y == 1].mean() > 0.5  # precise, misses some own
    probes = InterceptionScenario(mode="active", share=None).split(world, seed=0)
    model = fitted(FirstKAnnouncers, world, probes, mode="active", share=None)
    p = model.predict_proba(probes.features[probes.test], rows=probes.test)[:, 1]
    assert roc_auc_score(probes.y[probes.test], p) == 0.5


def test_first_k_refuses_bad_parameters():
    with pytest.raises(ConfigError, match="k must be >= 1"):
        FirstKAnnouncers(k=0)
    with pytest.raises(ConfigError, match=r"min_share must lie in \(0, 1\]"):
        FirstKAnnouncers(min_share=0)
