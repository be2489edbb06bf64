"""A relay simulator for mainnet-sized networks: first arrivals everywhere, messages on the
target's links.

The event simulator (:class:`.relay.RelaySimulator`) plays every ``inv``, ``getdata`` and ``tx``
of every link; its work grows as nodes x links x transactions, and 10,000 nodes x 100,000
transactions would take it days. An observer of the target sees only the target's links, and
what arrives there depends on the rest of the network only through *when each node first
learns a transaction*. This engine computes exactly that, per transaction, as a shortest-path
problem over the protocol's delays, and plays the messages of the target's links alone:

* A node that starts announcing at ``A(u)`` flushes its queue to a peer when that peer's Poisson
  timer next fires (mean ``inv_interval_outbound`` per outbound peer; one shared timer of mean
  ``inv_interval_inbound`` for all inbound peers); the ``inv`` arrives a link latency later; the
  receiver asks the first announcer whose request delay (0 from an outbound wtxid peer,
  +``nonpreferred_delay`` inbound, +``txid_relay_delay`` from a txid-relay peer) ends first, and
  the ``tx`` comes back two latencies after the request. Ready time of the request = Dijkstra
  key; a node is final when popped (every later offer is later still). ``A(v)`` = arrival +
  an optional validation delay (``validation_delay``, exponential; 0 in the event simulator).
* Dandelion++: the stem is walked first (the creator always passes its transaction on; each
  relay flips a coin of ``dandelion_fluff_probability``; one of the node's two stem relays; the
  walk ends at a node that already holds the transaction);
  the fluffing node starts announcing at once, every stem node when its embargo fires (mean
  ``dandelion_embargo``) or an ``inv`` reaches it, whichever is first.
* Timers off the target's links are drawn per transaction (a Poisson timer's wait from any
  moment is exponential, so each transaction's arrival times have exactly the event simulator's
  distribution); the timers that fire on the target's links (the target's per-peer and inbound
  timers, each neighbour's timer towards the target) are whole Poisson processes shared by all
  transactions, so the target's ``inv`` messages batch transactions as real ones do. What is not
  kept: off the target's links, two transactions are not batched into one message, so their
  arrival times are independent where the event simulator correlates them slightly.
* Random numbers come from a counter-based generator keyed by (seed, transaction, link or node):
  results do not depend on the number of threads or the order transactions run in.

The event log (:mod:`.relay_events`) of the target's links is the event simulator's, message for
message: with zero timer means every time is deterministic and both engines give the same
arrivals and the same log (a test checks it); with Core's timers a test compares their
distributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from numba import prange

from libraries.simulation.errors import SimulationConfigError
from libraries.simulation.relay import (RelayConfig, RelayRun, checked_workload, event_frame,
                                        node_name)
from libraries.simulation.topology import Topology, build_topology

_STEM_EVENTS = 4  # stem messages on the target's links kept per transaction (a walk rarely
# passes the target twice)
_SALT_WAIT, _SALT_INBOUND, _SALT_VALIDATION, _SALT_FLUFF, _SALT_RELAY, _SALT_EMBARGO = range(6)
_UINT_SCALE = 1.0 / 9007199254740992.0  # 2^-53


@numba.njit(inline="always")
def _mix(x):
    """splitmix64's finaliser: a bijection of uint64 that scatters every input bit."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@numba.njit(inline="always")
def _uniform(seed, tx, item, salt):
    """A uniform number in (0, 1) determined by (seed, transaction, link or node, purpose)."""
    h = _mix(np.uint64(seed) ^ _mix(np.uint64(tx) * np.uint64(0x9E3779B97F4A7C15)
                                    ^ _mix(np.uint64(item) * np.uint64(8) + np.uint64(salt))))
    return (np.float64(h >> np.uint64(11)) + 0.5) * _UINT_SCALE


@numba.njit(inline="always")
def _exponential(mean, seed, tx, item, salt):
    if mean <= 0.0:
        return 0.0
    return -mean * np.log(_uniform(seed, tx, item, salt))


@numba.njit(inline="always")
def _heap_push(keys, nodes, size, key, node):
    i = size
    keys[i], nodes[i] = key, node
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        nodes[parent], nodes[i] = nodes[i], nodes[parent]
        i = parent
    return size + 1


@numba.njit(inline="always")
def _heap_pop(keys, nodes, size):
    """Removes the root (the caller read it); returns the new size."""
    size -= 1
    keys[0], nodes[0] = keys[size], nodes[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and keys[left + 1] < keys[left]:
            child = left + 1
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        nodes[child], nodes[i] = nodes[i], nodes[child]
        i = child
    return size


@numba.njit(inline="always")
def _first_after(values, start, end, after):
    """The first index in ``values[start:end]`` (sorted) whose value is above ``after``, else
    ``end``."""
    lo, hi = start, end
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] <= after:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(inline="always")
def _next_fire(fires, start, end, after):
    """The first fire of a timer process strictly after ``after``, or -1.0 past its horizon."""
    at = _first_after(fires, start, end, after)
    return fires[at] if at < end else -1.0


@numba.njit(inline="always")
def _online(state, node, when, toggle_ptr, toggles, initially_up):
    """Whether ``node`` is online at ``when`` (its sessions alternate at ``toggles``), looked up
    once per transaction into ``state``."""
    if state[node] < 0:
        start = toggle_ptr[node]
        toggled = _first_after(toggles, start, toggle_ptr[node + 1], when) - start
        state[node] = initially_up[node] ^ (toggled & 1)
    return state[node] == 1


@numba.njit(parallel=True, cache=True)
def _propagate(indptr, neighbour, outbound, latency, reverse, txid_relay, stem_relays, nodes,
               origins, times, seed, params, dandelion, process, fire_ptr, fires, watch, slot0,
               toggle_ptr, toggles, initially_up, seen0, announce0, ready0, source0, nb_announce,
               nb_ready, nb_from0, nb_offline, stem_time, stem_slot, stem_sent, work_done,
               chunks):
    """Per transaction: the shortest-path pass of the module docstring, stopped once the target
    and every neighbour it watches are final. Outputs (indexed by transaction; neighbour slots
    ``slot0`` as in the target's CSR row): the target's first sight, announce start, request
    time and source slot; each neighbour's announce start, its request to the target and
    whether it got the transaction from the target, whether it was offline; the stem messages
    on the target's links. Churn (``toggle_ptr`` non-empty): a node offline when the
    transaction is created neither receives nor relays it (the target, probes and the creator
    are online)."""
    inv_out, inv_in, nonpreferred, txid_delay, validation, fluff, embargo = (
        params[0], params[1], params[2], params[3], params[4], params[5], params[6])
    total = indptr.shape[0] - 1
    n_tx = origins.shape[0]
    watched = 0
    for v in range(total):
        if watch[v] and v < nodes:
            watched += 1
    per_chunk = (n_tx + chunks - 1) // chunks
    for chunk in prange(chunks):
        key = np.empty(total)
        announce = np.empty(total)
        via = np.empty(total, np.int64)
        done = np.zeros(total, np.bool_)
        held = np.zeros(total, np.bool_)  # knows it from the stem, not yet announcing
        stem_known = np.zeros(total, np.bool_)
        heap_keys = np.empty(neighbour.shape[0] + 4 * total + 8)
        heap_nodes = np.empty(neighbour.shape[0] + 4 * total + 8, np.int64)
        walked = np.empty(total, np.int64)
        online = np.ones(total, np.int8)  # -1: not looked up yet for this transaction
        churn = toggle_ptr.shape[0] > 0
        for tx in range(chunk * per_chunk, min(n_tx, (chunk + 1) * per_chunk)):
            if churn:
                online[:] = -1
                online[0] = 1
                online[nodes:] = 1
                online[origins[tx]] = 1
            key[:] = np.inf
            announce[:] = np.inf
            via[:] = -1
            done[:] = False
            held[:] = False
            size = 0
            work = 0
            node, t = origins[tx], times[tx]
            if not dandelion:
                key[node] = t
                size = _heap_push(heap_keys, heap_nodes, size, t, node)
            else:
                hops, events = 0, 0
                while True:
                    stem_known[node] = True
                    walked[hops] = node
                    if node == 0:
                        seen0[tx] = t
                    relays = (stem_relays[node, 0] >= 0) + (stem_relays[node, 1] >= 0)
                    # the creator always stems its own transaction; relays flip the coin
                    if relays == 0 or (hops > 0 and _uniform(seed, tx, hops, _SALT_FLUFF) < fluff):
                        key[node] = t  # fluffs: announces now
                        size = _heap_push(heap_keys, heap_nodes, size, t, node)
                        hops += 1
                        break
                    held[node] = True
                    hold = t + _exponential(embargo, seed, tx, node, _SALT_EMBARGO)
                    key[node] = hold
                    size = _heap_push(heap_keys, heap_nodes, size, hold, node)
                    pick = 0 if relays == 1 else int(_uniform(seed, tx, hops, _SALT_RELAY) * 2.0)
                    nxt = stem_relays[node, pick]
                    if churn and not _online(online, nxt, times[tx], toggle_ptr, toggles,
                                             initially_up):
                        held[node] = False  # its stem relay is gone: it fluffs
                        key[node] = t
                        size = _heap_push(heap_keys, heap_nodes, size, t, node)
                        hops += 1
                        break
                    e = indptr[node]
                    while neighbour[e] != nxt:
                        e += 1
                    arrival = t + latency[e]
                    if node == 0 and events < _STEM_EVENTS:
                        stem_time[tx, events], stem_slot[tx, events] = t, e - indptr[0]
                        stem_sent[tx, events] = True
                        events += 1
                    elif nxt == 0 and events < _STEM_EVENTS:
                        stem_time[tx, events] = arrival
                        stem_slot[tx, events] = reverse[e] - indptr[0]
                        stem_sent[tx, events] = False
                        events += 1
                        source0[tx] = reverse[e] - indptr[0]
                    if node == 0 and slot0[nxt] >= 0:
                        nb_from0[tx, slot0[nxt]] = 1  # it holds the stem from the target
                    hops += 1
                    if nxt >= nodes or stem_known[nxt]:
                        break  # probes do not relay; a node that holds it ends the walk
                    node, t = nxt, arrival
                for k in range(hops):
                    stem_known[walked[k]] = False
            remaining = watched
            if churn:
                for e in range(indptr[0], indptr[1]):
                    v = neighbour[e]
                    if v < nodes and not _online(online, v, times[tx], toggle_ptr, toggles,
                                                 initially_up):
                        nb_offline[tx, e - indptr[0]] = 1
                        remaining -= 1
            while size > 0:
                current, u = heap_keys[0], heap_nodes[0]
                size = _heap_pop(heap_keys, heap_nodes, size)
                if done[u] or current > key[u]:
                    continue
                done[u] = True
                e_in = via[u]
                if held[u] or e_in < 0:
                    announce[u] = current  # a source, or a stem node whose hold ends
                else:
                    arrival = ((current + latency[e_in]) + latency[e_in])  # getdata, then tx
                    if u == 0:
                        seen0[tx] = arrival
                        ready0[tx] = current
                        source0[tx] = reverse[e_in] - indptr[0]
                    announce[u] = arrival + _exponential(validation, seed, tx, u,
                                                         _SALT_VALIDATION)
                    if slot0[u] >= 0 and neighbour[reverse[e_in]] == 0:
                        nb_from0[tx, slot0[u]] = 1
                        nb_ready[tx, slot0[u]] = current
                if u == 0:
                    announce0[tx] = announce[u]
                elif slot0[u] >= 0:
                    nb_announce[tx, slot0[u]] = announce[u]
                if watch[u] and u < nodes:
                    remaining -= 1
                    if remaining == 0:
                        break
                if u >= nodes:
                    continue  # probes only listen
                start = announce[u]
                shared = -1.0
                for e in range(indptr[u], indptr[u + 1]):
                    v = neighbour[e]
                    if done[v] or v >= nodes:
                        continue
                    if churn and not _online(online, v, times[tx], toggle_ptr, toggles,
                                             initially_up):
                        continue
                    work += 1
                    if process[e] >= 0:
                        fire = _next_fire(fires, fire_ptr[process[e]], fire_ptr[process[e] + 1],
                                          start)
                        if fire < 0.0:  # past the process's horizon: the same law, drawn
                            fire = start + _exponential(inv_out if outbound[e] else inv_in,
                                                        seed, tx, e, _SALT_WAIT)
                    elif outbound[e]:
                        fire = start + _exponential(inv_out, seed, tx, e, _SALT_WAIT)
                    else:
                        if shared < 0.0:
                            shared = start + _exponential(inv_in, seed, tx, u, _SALT_INBOUND)
                        fire = shared
                    offer = fire + latency[e]
                    if not held[v]:
                        delay = 0.0 if outbound[reverse[e]] else nonpreferred
                        if txid_relay[u]:
                            delay += txid_delay
                        offer = offer + delay
                    if offer < key[v]:
                        key[v] = offer
                        via[v] = e
                        size = _heap_push(heap_keys, heap_nodes, size, offer, v)
            work_done[tx] = work


@dataclass(frozen=True)
class _TimerProcesses:
    """The Poisson timers that fire on the target's links, whole: per directed link the process
    it uses (-1: drawn per transaction), and the processes' fire times end to end with their
    offsets."""

    process: np.ndarray
    fire_ptr: np.ndarray
    fires: np.ndarray


def _target_timers(topology: Topology, config: RelayConfig, horizon: float,
                   rng: np.random.Generator) -> _TimerProcesses:
    process = np.full(len(topology.neighbour), -1, np.int64)
    series: list[np.ndarray] = []

    def new_process(mean: float) -> int:
        if mean <= 0:
            series.append(np.zeros(0))  # zero mean: flushes at once (never past the horizon)
            return len(series) - 1
        count = int(horizon / mean * 1.2 + 50)
        draws = np.cumsum(rng.exponential(mean, count))
        while draws[-1] < horizon:
            draws = np.concatenate([draws, draws[-1] + np.cumsum(rng.exponential(mean, count))])
        series.append(draws)
        return len(series) - 1

    def owner_timers(node: int, only_towards: int | None) -> None:
        links = range(topology.indptr[node], topology.indptr[node + 1])
        inbound_process = None
        for e in links:
            if only_towards is not None and topology.neighbour[e] != only_towards and (
                    topology.outbound[e]):
                continue
            if topology.outbound[e]:
                process[e] = new_process(config.inv_interval_outbound)
            else:
                if inbound_process is None:
                    inbound_process = new_process(config.inv_interval_inbound)
                process[e] = inbound_process

    owner_timers(0, None)
    for e in range(topology.indptr[0], topology.indptr[1]):
        peer = int(topology.neighbour[e])
        if peer < topology.nodes:
            towards = int(topology.reverse[e])
            if topology.outbound[towards]:
                process[towards] = new_process(config.inv_interval_outbound)
            else:
                owner_timers(peer, 0)  # its shared inbound timer, for all its inbound peers
    lengths = np.array([len(s) for s in series], np.int64)
    fire_ptr = np.zeros(len(series) + 1, np.int64)
    np.cumsum(lengths, out=fire_ptr[1:])
    fires = np.concatenate(series) if series else np.zeros(0)
    # a zero-mean process has no fires: its link flushes at once
    zero = np.flatnonzero(lengths == 0)
    process[np.isin(process, zero)] = -1
    return _TimerProcesses(process, fire_ptr, fires)


def _sessions(total: int, config: RelayConfig, horizon: float,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Churn: each node's online and offline sessions up to ``horizon`` (exponential, online
    mean ``churn_session_mean``, offline mean set so that a node is offline
    ``churn_offline_share`` of the time; the state at time 0 drawn from that share), as
    toggle times in rows; empty arrays without churn."""
    share = config.churn_offline_share
    if share == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int8)
    on_mean = config.churn_session_mean
    off_mean = on_mean * share / (1 - share)
    initially_up = (rng.random(total) >= share).astype(np.int8)
    rows = []
    for node in range(total):
        up, clock, toggles = bool(initially_up[node]), 0.0, []
        while clock < horizon:
            clock += rng.exponential(on_mean if up else off_mean)
            toggles.append(clock)
            up = not up
        rows.append(toggles)
    toggle_ptr = np.zeros(total + 1, np.int64)
    np.cumsum([len(r) for r in rows], out=toggle_ptr[1:])
    return toggle_ptr, np.array([t for r in rows for t in r], np.float64), initially_up


class FirstArrivalSimulator:
    """Relays transactions over ``topology`` (default: :func:`.topology.build_topology` from
    ``config``, with its ``listening_share`` and ``target_inbound``) and writes the target's
    event log; the interface of :class:`.relay.RelaySimulator`. ``threads``: numba threads for
    the per-transaction passes (default: numba's current count, which the framework sets to the
    job's budget; results do not depend on it)."""

    def __init__(self, config: RelayConfig, topology: Topology | None = None,
                 threads: int | None = None) -> None:
        self.config = config
        self.threads = threads
        self.topology = topology if topology is not None else build_topology(
            config.nodes, outbound=config.outbound, max_connections=config.max_connections,
            listening_share=config.listening_share, target_inbound=config.target_inbound,
            probes=config.probes, latency_mean=config.latency_mean,
            txid_relay_share=config.txid_relay_share, seed=config.seed)
        if self.topology.nodes != config.nodes or self.topology.probes != config.probes:
            raise SimulationConfigError(f"relay simulator: the topology has {self.topology.nodes}"
                                        f" nodes and {self.topology.probes} probes, the config "
                                        f"{config.nodes} and {config.probes}")

    def name(self, node: int) -> str:
        return node_name(node, self.config.nodes)

    def run(self, origins: np.ndarray, times: np.ndarray, txids: list[str]) -> RelayRun:
        c, topo = self.config, self.topology
        origins, times = checked_workload(c, origins, times, txids)
        rng = np.random.default_rng([c.seed, 23])
        horizon = (float(times.max()) if len(times) else 0.0) + 600.0 + 20 * c.dandelion_embargo
        timers = _target_timers(topo, c, horizon, rng)
        n_tx = len(origins)
        row0 = slice(topo.indptr[0], topo.indptr[1])
        peers0 = topo.neighbour[row0]
        degree0 = len(peers0)
        slot0 = np.full(topo.nodes + topo.probes, -1, np.int64)
        slot0[peers0] = np.arange(degree0)
        watch = np.zeros(topo.nodes + topo.probes, np.bool_)
        watch[0] = True
        watch[peers0] = True
        seen0, announce0 = np.full(n_tx, np.nan), np.full(n_tx, np.inf)
        ready0, source0 = np.full(n_tx, np.nan), np.full(n_tx, -1, np.int64)
        nb_announce = np.full((n_tx, degree0), np.inf)
        nb_ready = np.full((n_tx, degree0), np.nan)
        nb_from0 = np.zeros((n_tx, degree0), np.int8)
        nb_offline = np.zeros((n_tx, degree0), np.int8)
        toggle_ptr, toggles, initially_up = _sessions(topo.nodes + topo.probes, c, horizon, rng)
        stem_time = np.full((n_tx, _STEM_EVENTS), np.nan)
        stem_slot = np.full((n_tx, _STEM_EVENTS), -1, np.int64)
        stem_sent = np.zeros((n_tx, _STEM_EVENTS), np.bool_)
        work = np.zeros(n_tx, np.int64)
        params = np.array([c.inv_interval_outbound, c.inv_interval_inbound, c.nonpreferred_delay,
                           c.txid_relay_delay, c.validation_delay,
                           c.dandelion_fluff_probability, c.dandelion_embargo])
        previous = numba.get_num_threads()
        threads = min(self.threads or previous, numba.config.NUMBA_NUM_THREADS)
        numba.set_num_threads(max(1, threads))
        try:
            _propagate(topo.indptr, topo.neighbour, topo.outbound, topo.latency, topo.reverse,
                       topo.txid_relay, topo.stem_relays, topo.nodes, origins, times,
                       int(rng.integers(2**62)), params, bool(c.dandelion), timers.process,
                       timers.fire_ptr, timers.fires, watch, slot0, toggle_ptr, toggles,
                       initially_up, seen0, announce0, ready0, source0, nb_announce, nb_ready,
                       nb_from0, nb_offline, stem_time, stem_slot, stem_sent, work,
                       max(1, min(n_tx, 64 * threads)))
        finally:
            numba.set_num_threads(previous)
        seen0 = np.where(origins == 0, times, seen0)
        log = _target_log(topo, c, timers, times, seen0, announce0, ready0, source0,
                          nb_announce, nb_ready, nb_from0, nb_offline, stem_time, stem_slot,
                          stem_sent)
        probes = list(range(topo.nodes, topo.nodes + topo.probes))
        names = np.array([self.name(p) for p in range(topo.nodes + topo.probes)], dtype=object)
        outbound0 = peers0[topo.outbound[row0]]
        return RelayRun(events=event_frame(log, names, topo.txid_relay, txids, "n0"), target=0,
                        first_seen=seen0,
                        outbound_peers=[self.name(int(p)) for p in sorted(outbound0)],
                        probe_peers=[self.name(p) for p in probes],
                        event_count=int(work.sum()) + n_tx)


def _fire_after(timers: _TimerProcesses, link: int, after: np.ndarray) -> np.ndarray:
    """The next fire of ``link``'s timer after each of ``after`` (inf stays inf)."""
    k = timers.process[link]
    finite = np.isfinite(after)
    out = after.copy()
    if k < 0:
        return out  # a zero-mean timer: flushes at once
    fires = timers.fires[timers.fire_ptr[k]:timers.fire_ptr[k + 1]]
    at = np.searchsorted(fires, after[finite], side="right")
    if (at >= len(fires)).any():
        raise SimulationConfigError("relay simulator: a transaction outlived the timer horizon "
                                    "of the target's links (an internal limit; report it)")
    out[finite] = fires[at]
    return out


def _target_log(topo: Topology, c: RelayConfig, timers: _TimerProcesses, times: np.ndarray,
                seen0: np.ndarray, announce0: np.ndarray, ready0: np.ndarray,
                source0: np.ndarray, nb_announce: np.ndarray, nb_ready: np.ndarray,
                nb_from0: np.ndarray, nb_offline: np.ndarray, stem_time: np.ndarray,
                stem_slot: np.ndarray, stem_sent: np.ndarray) -> tuple[np.ndarray, ...]:
    """The messages of the target's links as the event simulator logs them: (time, peer, sent,
    message, message key, tx) columns; rows with the same message key are one message."""
    n_tx = len(times)
    parts: list[tuple[np.ndarray, ...]] = []
    message_names = np.array(["inv", "getdata", "tx", "dandeliontx"], dtype=object)
    key_base = 0

    def add(time, peer, sent, kind, key, tx):
        parts.append((np.asarray(time, float), np.asarray(peer, np.int64),
                      np.asarray(sent, bool), np.asarray(kind, np.int64),
                      np.asarray(key, np.int64), np.asarray(tx, np.int64)))

    for j in range(topo.indptr[1] - topo.indptr[0]):
        e = topo.indptr[0] + j
        peer = int(topo.neighbour[e])
        back = int(topo.reverse[e])
        lat = float(topo.latency[e])
        own_flush = _fire_after(timers, e, announce0)
        mine = np.isfinite(own_flush) & (source0 != j) & (nb_offline[:, j] == 0)
        if peer < topo.nodes:
            their_flush = _fire_after(timers, back, nb_announce[:, j])
            theirs = np.isfinite(their_flush) & (nb_from0[:, j] == 0)
        else:
            their_flush = np.full(n_tx, np.inf)
            theirs = np.zeros(n_tx, bool)
        sends = mine & ~(theirs & (their_flush + lat < own_flush))
        hears = theirs & ~(mine & (own_flush + lat < their_flush))
        for flag, flush, sent in ((sends, own_flush, True), (hears, their_flush, False)):
            rows = np.flatnonzero(flag)
            if not len(rows):
                continue
            when = flush[rows]
            order = np.lexsort((rows, when))
            rows, when = rows[order], when[order]
            # one message per timer fire, at most inv_max_entries entries
            new = np.r_[True, when[1:] != when[:-1]]
            group = np.cumsum(new) - 1
            first = np.flatnonzero(new)
            position = np.arange(len(rows)) - first[group]
            _, message = np.unique(group * (len(rows) + 1) + position // c.inv_max_entries,
                                   return_inverse=True)
            add(when if sent else when + lat, np.full(len(rows), peer), np.full(len(rows), sent),
                np.zeros(len(rows)), key_base + message, rows)
            key_base += int(message.max()) + 1
        # the target's request to this peer, and the transaction coming back
        asked = np.flatnonzero((source0 == j) & np.isfinite(ready0))
        if len(asked):
            add(ready0[asked], np.full(len(asked), peer), np.ones(len(asked), bool),
                np.ones(len(asked)), key_base + np.arange(len(asked)), asked)
            key_base += len(asked)
            add(seen0[asked], np.full(len(asked), peer), np.zeros(len(asked), bool),
                np.full(len(asked), 2), key_base + np.arange(len(asked)), asked)
            key_base += len(asked)
        # this peer's request to the target, and the transaction the target sends back
        served = np.flatnonzero(np.isfinite(nb_ready[:, j]))
        if len(served):
            arrives = nb_ready[served, j] + lat
            add(arrives, np.full(len(served), peer), np.zeros(len(served), bool),
                np.ones(len(served)), key_base + np.arange(len(served)), served)
            key_base += len(served)
            add(arrives, np.full(len(served), peer), np.ones(len(served), bool),
                np.full(len(served), 2), key_base + np.arange(len(served)), served)
            key_base += len(served)
    stem_rows, stem_cols = np.nonzero(stem_slot >= 0)
    if len(stem_rows):
        slots = stem_slot[stem_rows, stem_cols]
        add(stem_time[stem_rows, stem_cols], topo.neighbour[topo.indptr[0] + slots],
            stem_sent[stem_rows, stem_cols], np.full(len(stem_rows), 3),
            key_base + np.arange(len(stem_rows)), stem_rows)
    if not parts:
        return tuple(np.zeros(0, t) for t in (float, np.int64, bool, object, np.int64, np.int64))
    time, peer, sent, kind, key, tx = (np.concatenate(column) for column in zip(*parts))
    order = np.lexsort((key, time))
    # message ids numbered in order of first appearance, as the event simulator numbers them
    _, first_row = np.unique(key[order], return_index=True)
    rank = np.empty(len(first_row), np.int64)
    rank[np.argsort(first_row, kind="stable")] = np.arange(1, len(first_row) + 1)
    ids = np.empty(len(key), np.int64)
    unique_keys = np.unique(key)
    ids[order] = rank[np.searchsorted(unique_keys, key[order])]
    return time, peer, sent, message_names[kind], ids, tx
