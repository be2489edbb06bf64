"""The relay simulator: protocol behaviour, determinism, and a published sanity figure."""

from __future__ import annotations

import numpy as np
import pytest

from libraries.simulation import SimulationConfigError
from libraries.simulation.relay import RelayConfig, RelaySimulator
from libraries.simulation.relay_events import EVENT_COLUMNS
from plugins.relay.dataset import RelaySimDataset
from plugins.relay.observers import first_spy_origins, passive_view


def test_topology_respects_core_connection_limits():
    sim = RelaySimulator(RelayConfig(nodes=80, outbound=8, max_connections=20, seed=1))
    assert all(len(out) == 8 for out in sim.outbound[:80])
    assert max(len(p) for p in sim.peers) <= 20
    assert all(a in sim.peers[b] for a in range(80) for b in sim.peers[a])


def test_every_transaction_reaches_the_target_and_the_log_follows_the_protocol(small_world):
    txs, run = small_world
    assert not np.isnan(run.first_seen).any()
    events = run.events
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert (events["node"] == "n0").all()
    # Every tx the target received was asked for first: one getdata sent per tx received.
    received = events[(events["direction"] == "recv") & (events["message"] == "tx")]
    asked = events[(events["direction"] == "sent") & (events["message"] == "getdata")]
    assert set(received["txid"]) <= set(asked["txid"])
    own = set(txs.loc[txs["origin"] == 0, "txid"])
    assert own and not (set(received["txid"]) & own)  # nobody sends the target its own tx
    # The target announces its own transactions to every peer, except to a peer that announced
    # it to the target first (it relayed it back before the target's timer fired).
    inv = events[events["message"] == "inv"]
    peers = events["peer"].nunique()
    for txid in own:
        announced = inv[inv["txid"] == txid]
        assert announced["peer"].nunique() == peers
        sent_to = set(announced.loc[announced["direction"] == "sent", "peer"])
        heard_from = set(announced.loc[announced["direction"] == "recv", "peer"])
        assert not sent_to & heard_from or all(
            announced[(announced["peer"] == p) & (announced["direction"] == "sent")]["time"].min()
            < announced[(announced["peer"] == p) & (announced["direction"] == "recv")]["time"].min()
            for p in sent_to & heard_from)


def test_same_seed_same_log_and_other_seed_other_log():
    config = dict(nodes=40, transactions=120, days=3, individual_wallet=120, target_share=0.05)
    a = RelaySimDataset(**config, seed=3).simulate()[1].events
    b = RelaySimDataset(**config, seed=3).simulate()[1].events
    c = RelaySimDataset(**config, seed=4).simulate()[1].events
    assert a.equals(b)
    assert not a.equals(c)


def test_first_spy_precision_rises_with_the_intercepted_share(small_world):
    """Sanity figure: the more of the target's links an observer carries, the better the
    first-spy estimator (Biryukov et al. 2014; Neudecker et al. 2016) separates the target's own
    transactions from relayed ones; with every link it is exact (no Dandelion)."""
    txs, run = small_world
    own = set(txs.loc[txs["origin"] == 0, "txid"])
    precision = {}
    for share in (0.25, 0.5, 1.0):
        values = []
        for seed in range(5):
            view, _ = passive_view(run.events, share, seed, run.probe_peers)
            guessed = first_spy_origins(view)
            values.append(len(guessed & own) / max(len(guessed), 1))
        precision[share] = float(np.mean(values))
    assert precision[0.25] < precision[0.5] < precision[1.0]
    assert precision[1.0] == pytest.approx(1.0)
    assert precision[0.25] < 0.9


def test_dandelion_hides_the_origin_from_the_first_spy():
    config = dict(nodes=60, transactions=300, days=4, individual_wallet=150, target_share=0.05,
                  seed=0)
    scores = {}
    for dandelion in (False, True):
        txs, run = RelaySimDataset(**config, dandelion=dandelion).simulate()
        own = set(txs.loc[txs["origin"] == 0, "txid"])
        view, _ = passive_view(run.events, 1.0, 0, run.probe_peers)
        scores[dandelion] = len(first_spy_origins(view) & own) / len(own)
    assert scores[True] < 0.5 * scores[False]


def test_bad_parameters_are_named():
    with pytest.raises(SimulationConfigError, match="outbound"):
        RelayConfig(nodes=5, outbound=8)
    with pytest.raises(SimulationConfigError, match="origins"):
        RelaySimulator(RelayConfig(nodes=10, outbound=3)).run(np.array([11]), np.array([0.0]),
                                                             ["a" * 64])
