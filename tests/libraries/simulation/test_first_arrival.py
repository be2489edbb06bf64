"""The first-arrival relay engine against the event simulator: the same arrivals and the same
log where every time is deterministic, the same distributions with Bitcoin Core's timers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from libraries.simulation import SimulationConfigError
from libraries.simulation.first_arrival import FirstArrivalSimulator
from libraries.simulation.relay import RelayConfig, RelaySimulator
from libraries.simulation.relay_events import EVENT_COLUMNS

ROWS = ["time", "peer", "direction", "message", "txid"]


def _workload(nodes: int, n: int, seed: int, own: float = 0.05):
    rng = np.random.default_rng(seed)
    origins = rng.integers(1, nodes, n)
    origins[rng.random(n) < own] = 0
    times = np.cumsum(rng.exponential(0.5, n))
    return origins, times, [f"{i:064x}" for i in range(n)]


def _messages(events):
    """Each message as the sorted tuple of its rows (message ids differ between engines)."""
    return sorted(tuple(sorted(map(tuple, group[ROWS].to_numpy().tolist())))
                  for _, group in events.groupby("message_id"))


def test_zero_timers_give_the_event_simulators_arrivals_and_log_exactly():
    config = RelayConfig(nodes=60, probes=2, seed=3, inv_interval_outbound=0.0,
                         inv_interval_inbound=0.0)
    origins, times, txids = _workload(60, 300, seed=1, own=0.07)
    event = RelaySimulator(config)
    expected = event.run(origins, times, txids)
    got = FirstArrivalSimulator(config, topology=event.topology()).run(origins, times, txids)
    assert np.array_equal(got.first_seen, expected.first_seen)
    assert list(got.events.columns) == list(EVENT_COLUMNS)
    assert len(got.events) == len(expected.events) > 3000
    assert _messages(got.events) == _messages(expected.events)
    assert got.outbound_peers == expected.outbound_peers
    assert got.probe_peers == expected.probe_peers
    assert (got.events["inv_type"].to_numpy() != 0).sum() == (
        expected.events["inv_type"].to_numpy() != 0).sum()


@pytest.mark.parametrize("dandelion", [False, True])
def test_with_cores_timers_both_engines_give_the_same_distributions(dandelion):
    """Five worlds (topology and workload per seed), each simulated by both engines on the same
    network; paired over worlds, no statistic differs beyond its seed-to-seed spread."""
    delay, inv_rows, entries, getdata = [], [], [], []
    pooled: dict[str, list[np.ndarray]] = {"event": [], "first_arrival": []}
    for seed in range(5):
        config = RelayConfig(nodes=80, seed=seed, dandelion=dandelion)
        origins, times, txids = _workload(80, 500, seed=seed + 50)
        event = RelaySimulator(config)
        runs = {"event": event.run(origins, times, txids),
                "first_arrival": FirstArrivalSimulator(config, topology=event.topology()).run(
                    origins, times, txids)}
        stats_of = {}
        for name, run in runs.items():
            others = origins != 0
            wait = (run.first_seen - times)[others]
            pooled[name].append(wait)
            inv = run.events[run.events["message"] == "inv"]
            sent_getdata = run.events[(run.events["message"] == "getdata")
                                      & (run.events["direction"] == "sent")]
            stats_of[name] = (wait.mean(), len(inv) / len(txids),
                              len(inv) / inv["message_id"].nunique(), len(sent_getdata))
        for store, k in ((delay, 0), (inv_rows, 1), (entries, 2), (getdata, 3)):
            store.append(stats_of["first_arrival"][k] - stats_of["event"][k])
    checks = [("first-arrival delay", delay, 5.0), ("inv rows per transaction", inv_rows, 16.0),
              ("entries per inv message", entries, 4.0)]
    if dandelion:  # the target learns some by the stem, without a request
        checks.append(("requests sent by the target", getdata, 475.0))
    else:  # every transaction the target did not make is requested once, by both
        assert all(d == 0 for d in getdata)
    for name, differences, scale in checks:
        differences = np.asarray(differences)
        assert abs(differences.mean()) < 0.05 * scale, (name, differences)
        assert stats.ttest_1samp(differences, 0.0).pvalue > 0.01, (name, differences)
    event_all, new_all = np.concatenate(pooled["event"]), np.concatenate(pooled["first_arrival"])
    # quantiles of the target's first-arrival delay agree within a tenth of a second or 5 %
    for q in (0.1, 0.5, 0.9):
        a, b = np.quantile(event_all, q), np.quantile(new_all, q)
        assert abs(a - b) < max(0.1, 0.05 * a), (q, a, b)


def test_results_do_not_depend_on_threads_and_follow_the_seed():
    config = RelayConfig(nodes=300, probes=1, seed=4, dandelion=True)
    origins, times, txids = _workload(300, 400, seed=9)
    one = FirstArrivalSimulator(config, threads=1).run(origins, times, txids)
    two = FirstArrivalSimulator(config, threads=2).run(origins, times, txids)
    assert one.events.equals(two.events)
    assert np.array_equal(one.first_seen, two.first_seen)
    other = FirstArrivalSimulator(RelayConfig(nodes=300, probes=1, seed=5, dandelion=True)).run(
        origins, times, txids)
    assert not np.array_equal(other.first_seen, one.first_seen)


def test_validation_delay_slows_arrival_and_the_event_engine_refuses_it():
    origins, times, txids = _workload(200, 300, seed=2)
    fast = FirstArrivalSimulator(RelayConfig(nodes=200, seed=1)).run(origins, times, txids)
    slow = FirstArrivalSimulator(RelayConfig(nodes=200, seed=1, validation_delay=0.5)).run(
        origins, times, txids)
    others = origins != 0
    # about 0.5 s per hop: a few hops to the target
    assert (slow.first_seen - fast.first_seen)[others].mean() > 0.5
    with pytest.raises(SimulationConfigError, match="event engine does not model "
                                                    "validation_delay"):
        RelaySimulator(RelayConfig(nodes=20, validation_delay=0.5))


def test_a_large_target_keeps_every_link_in_its_log():
    config = RelayConfig(nodes=2000, seed=2, probes=3, target_inbound=117)
    origins, times, txids = _workload(2000, 200, seed=4, own=0.1)
    run = FirstArrivalSimulator(config).run(origins, times, txids)
    assert run.events["peer"].nunique() == 8 + 117 + 3
    assert len(run.outbound_peers) == 8 and len(run.probe_peers) == 3
    assert not np.isnan(run.first_seen).any()
    own = set(np.asarray(txids)[origins == 0])
    received = run.events[(run.events["message"] == "tx") & (run.events["direction"] == "recv")]
    assert not own & set(received["txid"])
    assert set(received["txid"]) == set(np.asarray(txids)[origins != 0])


@pytest.mark.parametrize("change, message", [
    (dict(origins=np.array([5])), "origins must be node numbers"),
    (dict(times=np.array([np.nan])), "creation times must be finite"),
    (dict(txids=[]), "one entry per transaction"),
])
def test_bad_input_is_named(change, message):
    simulator = FirstArrivalSimulator(RelayConfig(nodes=5, outbound=2, max_connections=8))
    arguments = dict(origins=np.array([1]), times=np.array([0.0]), txids=["a" * 64])
    with pytest.raises(SimulationConfigError, match=message):
        simulator.run(**{**arguments, **change})


def test_churned_peers_carry_nothing_while_offline_and_the_event_engine_refuses_churn():
    config = RelayConfig(nodes=400, seed=3, churn_offline_share=0.3, churn_session_mean=60.0)
    origins, times, txids = _workload(400, 1500, seed=6)
    run = FirstArrivalSimulator(config).run(origins, times, txids)
    steady = FirstArrivalSimulator(RelayConfig(nodes=400, seed=3)).run(origins, times, txids)
    assert not np.isnan(run.first_seen).any()
    events = run.events[run.events["message"] == "inv"]
    txid_time = dict(zip(txids, times))
    # per peer: the creation times of the transactions it exchanged an inv about; offline
    # sessions (60 s mean, 30 % of the time) leave gaps no steady peer shows
    def longest_gap(log):
        gaps = []
        for _, rows in log.groupby("peer"):
            created = np.sort(rows["txid"].map(txid_time).to_numpy())
            gaps.append(np.diff(created).max())
        return np.median(gaps)
    assert longest_gap(events) > 3 * longest_gap(steady.events[steady.events["message"] == "inv"])
    assert len(events) < 0.85 * (steady.events["message"] == "inv").sum()
    with pytest.raises(SimulationConfigError, match="churn_offline_share"):
        RelaySimulator(config)
    with pytest.raises(SimulationConfigError, match="churn_offline_share must lie in"):
        RelayConfig(nodes=20, churn_offline_share=1.0)


@pytest.mark.parametrize("engine", ["event", "first_arrival"])
def test_the_creator_always_stems_its_own_transaction(engine):
    """Dandelion++: even when every relay fluffs at once, a node's own transaction leaves it by
    the stem first, never by an announcement."""
    config = RelayConfig(nodes=60, seed=2, dandelion=True, dandelion_fluff_probability=1.0)
    origins, times, txids = _workload(60, 200, seed=3, own=0.2)
    simulator = RelaySimulator(config) if engine == "event" else FirstArrivalSimulator(config)
    events = simulator.run(origins, times, txids).events
    own = set(np.asarray(txids)[origins == 0])
    sent = events[events["direction"] == "sent"].sort_values("time", kind="stable")
    first = sent.groupby("txid")["message"].first()
    assert own and all(first[txid] == "dandeliontx" for txid in own)
    stems = events[(events["message"] == "dandeliontx") & (events["direction"] == "sent")]
    assert set(stems["txid"]) >= own
