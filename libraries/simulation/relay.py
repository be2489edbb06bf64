"""A seeded discrete-event simulator of Bitcoin transaction relay, written for network-layer
de-anonymisation research.

What it models (Bitcoin Core's transaction relay, constants from its source):

* Topology: every node opens ``outbound`` full-relay connections to random nodes that still have
  a free inbound slot (``max_connections - outbound``, so nobody exceeds ``max_connections``).
* Announcement: a node that learns a transaction queues it for every peer not known to have it
  and announces the queue in one ``inv`` when that peer's Poisson timer fires (mean
  ``inv_interval_outbound`` per outbound peer, one shared timer of mean ``inv_interval_inbound``
  for all inbound peers), at most ``inv_max_entries`` entries per message.
* Requests: on an announcement of an unknown transaction a node requests it with ``getdata``
  after the Core delays: 0 s from a preferred (outbound) wtxid-relay peer, +``nonpreferred_delay``
  for inbound peers, +``txid_relay_delay`` for peers that still use txid relay; while a request
  is in flight no other peer is asked for ``getdata_interval`` seconds; the answer is a ``tx``.
* Dandelion++ (optional): a new transaction is first passed along a stem (one outbound stem
  relay per hop, chosen among two per node; its creator always passes it on), each relay
  fluffing with probability ``dandelion_fluff_probability``; a stem node that has not seen the transaction diffuse within
  its embargo timer (exponential, mean ``dandelion_embargo``) fluffs it itself.
* Observers: ``probes`` spy nodes connect to the target as inbound peers; they listen (never
  announce, never request). Passive capture of a share of the target's links is applied later
  to the log (the relay plugin's observers), since it does not change the traffic.

Simplifications, on purpose: no bandwidth limits or INV rate cap below ``inv_max_entries``, no
validation (a child may arrive before its parent), one constant latency per link (log-normal
across links), no connection churn. Messages are logged only on the target's links, which is all
an observer of that node can see, and keeps memory proportional to the target's traffic.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
import pandas as pd

from libraries.simulation.errors import SimulationConfigError
from libraries.simulation.relay_events import EVENT_COLUMNS, MSG_TX, MSG_WTX, validate_events
from libraries.simulation.topology import Topology

_CREATE, _TIMER_OUT, _TIMER_IN, _INV, _GETDATA, _TX, _READY, _STEM, _EMBARGO = range(9)


@dataclass(frozen=True)
class RelayConfig:
    """Network, protocol and observer parameters (defaults: Bitcoin Core's relay constants)."""

    nodes: int = 200
    outbound: int = 8
    max_connections: int = 125
    inv_interval_outbound: float = 2.0
    inv_interval_inbound: float = 5.0
    inv_max_entries: int = 1000
    nonpreferred_delay: float = 2.0
    txid_relay_delay: float = 2.0
    txid_relay_share: float = 0.1
    getdata_interval: float = 60.0
    latency_mean: float = 0.1
    dandelion: bool = False
    dandelion_fluff_probability: float = 0.1
    dandelion_embargo: float = 30.0
    probes: int = 0
    seed: int = 0
    # realism the first-arrival engine models (:mod:`.first_arrival`); at their defaults here
    # both engines simulate the same network
    listening_share: float = 1.0
    target_inbound: int | None = None
    validation_delay: float = 0.0
    churn_offline_share: float = 0.0
    churn_session_mean: float = 3600.0

    def __post_init__(self) -> None:
        if self.nodes < 3 or not 1 <= self.outbound < self.nodes:
            raise SimulationConfigError(f"relay simulator: need nodes >= 3 and 1 <= outbound < "
                                        f"nodes (got nodes={self.nodes}, "
                                        f"outbound={self.outbound})")
        if self.max_connections < 2 * self.outbound:
            raise SimulationConfigError(f"relay simulator: max_connections "
                                        f"({self.max_connections}) must be at least twice "
                                        f"outbound ({self.outbound})")
        if not 0 <= self.dandelion_fluff_probability <= 1 or not 0 <= self.txid_relay_share <= 1:
            raise SimulationConfigError("relay simulator: probabilities must lie in [0, 1]")
        if not 0 <= self.churn_offline_share < 1 or self.churn_session_mean <= 0:
            raise SimulationConfigError(f"relay simulator: churn_offline_share must lie in [0, 1) "
                                        f"and churn_session_mean be > 0 s (got "
                                        f"{self.churn_offline_share}, "
                                        f"{self.churn_session_mean})")
        if self.validation_delay < 0 or min(self.inv_interval_outbound, self.inv_interval_inbound,
                                            self.latency_mean) < 0:
            raise SimulationConfigError("relay simulator: delays and intervals must be >= 0 s "
                                        f"(validation_delay={self.validation_delay}, "
                                        f"inv intervals {self.inv_interval_outbound} / "
                                        f"{self.inv_interval_inbound}, latency_mean="
                                        f"{self.latency_mean})")


@dataclass
class RelayRun:
    """What one simulation produced.

    ``events``: the event log (:mod:`.events`) of the target's links. ``first_seen``: per
    transaction, when the target learned it (created or received). ``outbound_peers``: the
    target's outbound peers (its preferred links). ``event_count``: simulator events processed.
    """

    events: pd.DataFrame
    target: int
    first_seen: np.ndarray
    outbound_peers: list[str]
    probe_peers: list[str]
    event_count: int


def node_name(node: int, nodes: int) -> str:
    """A node's name in the event log: ``n<i>`` for relaying nodes, ``probe<k>`` for spies."""
    return f"n{node}" if node < nodes else f"probe{node - nodes}"


def checked_workload(config: RelayConfig, origins: np.ndarray, times: np.ndarray,
                     txids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(origins, times) as arrays, or a :class:`SimulationConfigError` naming what is wrong:
    one entry per transaction, origins among the relaying nodes, finite creation times."""
    origins = np.asarray(origins, dtype=np.int64)
    times = np.asarray(times, dtype=np.float64)
    if len(origins) != len(times) or len(origins) != len(txids):
        raise SimulationConfigError("relay simulator: origins, times and txids must have one "
                                    "entry per transaction")
    if len(origins) and (origins.min() < 0 or origins.max() >= config.nodes):
        raise SimulationConfigError(f"relay simulator: origins must be node numbers "
                                    f"0..{config.nodes - 1}")
    if len(times) and not np.isfinite(times).all():
        raise SimulationConfigError("relay simulator: creation times must be finite")
    return origins, times


class RelaySimulator:
    """Relays ``len(origins)`` transactions created at ``times`` by the nodes ``origins``.

    Node 0 is the target whose links are logged; transaction ``i`` is named ``txids[i]``.
    """

    def __init__(self, config: RelayConfig) -> None:
        self.check_supported(config)
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self._build_topology()

    def _build_topology(self) -> None:
        c, rng = self.config, self.rng
        total = c.nodes + c.probes
        self.peers: list[list[int]] = [[] for _ in range(total)]
        self.outbound: list[set[int]] = [set() for _ in range(total)]
        self.latency: dict[tuple[int, int], float] = {}
        sigma = 0.5
        mu = np.log(c.latency_mean) - sigma ** 2 / 2
        for node in rng.permutation(c.nodes):
            node = int(node)
            for peer in rng.permutation(c.nodes):
                peer = int(peer)
                if len(self.outbound[node]) >= c.outbound:
                    break
                inbound = len(self.peers[peer]) - len(self.outbound[peer])
                if (peer == node or peer in self.peers[node]
                        or inbound >= c.max_connections - c.outbound):  # outbound slots stay free
                    continue
                self._connect(node, peer, float(rng.lognormal(mu, sigma)))
        for probe in range(c.nodes, total):
            self._connect(probe, 0, float(rng.lognormal(mu, sigma)))
        self.txid_relay = rng.random(total) < c.txid_relay_share
        self.stem_relays = [rng.permutation(sorted(self.outbound[n]))[:2].tolist()
                            for n in range(total)]

    def _connect(self, initiator: int, listener: int, latency: float) -> None:
        self.peers[initiator].append(listener)
        self.peers[listener].append(initiator)
        self.outbound[initiator].add(listener)
        self.latency[(initiator, listener)] = self.latency[(listener, initiator)] = latency

    @staticmethod
    def check_supported(config: RelayConfig) -> None:
        """Refuse the parameters only the first-arrival engine models, naming them."""
        unsupported = [name for name, default in (("listening_share", 1.0),
                                                  ("target_inbound", None),
                                                  ("validation_delay", 0.0),
                                                  ("churn_offline_share", 0.0))
                       if getattr(config, name) != default]
        if unsupported:
            raise SimulationConfigError(f"relay simulator: the event engine does not model "
                                        f"{', '.join(unsupported)}; use the first-arrival engine "
                                        f"(engine=first_arrival)")

    def name(self, node: int) -> str:
        return node_name(node, self.config.nodes)

    def topology(self) -> Topology:
        """This simulator's network as arrays, each node's links in its peer-list order (so
        the first-arrival engine can run on the very same network)."""
        total = self.config.nodes + self.config.probes
        links = [(u, v) for u in range(total) for v in self.peers[u] if v in self.outbound[u]]
        initiator = np.array([u for u, _ in links], np.int64)
        listener = np.array([v for _, v in links], np.int64)
        latency = np.array([self.latency[link] for link in links])
        built = Topology.from_links(self.config.nodes, self.config.probes, initiator, listener,
                                    latency, self.txid_relay,
                                    np.full((total, 2), -1, np.int64))
        # each node's links in its own peer order (its inbound timer flushes them in it)
        order = np.concatenate([
            built.indptr[u] + np.argsort([self.peers[u].index(int(v)) for v in built.peers_of(u)])
            for u in range(total)]) if len(built.neighbour) else np.zeros(0, np.int64)
        position = np.empty_like(order)
        position[order] = np.arange(len(order))
        stems = np.array([(relays + [-1, -1])[:2] for relays in self.stem_relays], np.int64)
        return Topology(nodes=built.nodes, probes=built.probes, indptr=built.indptr,
                        neighbour=built.neighbour[order], outbound=built.outbound[order],
                        latency=built.latency[order], reverse=position[built.reverse[order]],
                        txid_relay=built.txid_relay, stem_relays=stems)

    def run(self, origins: np.ndarray, times: np.ndarray, txids: list[str]) -> RelayRun:
        c, rng = self.config, self.rng
        origins, times = checked_workload(c, origins, times, txids)
        total = c.nodes + c.probes
        probes = range(c.nodes, total)
        known: list[set[int]] = [set() for _ in range(total)]
        # tx -> bitmask over the node's peer slots of the peers known to have it (an int per
        # node and transaction: a fraction of a set's memory)
        have: list[dict[int, int]] = [{} for _ in range(total)]
        slot = [{peer: 1 << i for i, peer in enumerate(self.peers[n])} for n in range(total)]
        pending: list[dict[int, list[int]]] = [{p: [] for p in self.peers[n]} for n in range(total)]
        timer_out: list[set[int]] = [set() for _ in range(total)]
        timer_in = [False] * total
        in_flight: list[dict[int, float]] = [{} for _ in range(total)]
        stem_held: list[set[int]] = [set() for _ in range(total)]
        first_seen = np.full(len(origins), np.nan)
        log: list[tuple[float, int, int, str, int, int]] = []  # time, peer, sent?, msg, msg_id, tx
        queue: list[tuple[float, int, int, int, int, object]] = []
        sequence = 0
        message_id = 0

        def push(when: float, kind: int, a: int, b: int, payload: object = None) -> None:
            nonlocal sequence
            sequence += 1
            heapq.heappush(queue, (when, sequence, kind, a, b, payload))

        def send(now: float, sender: int, receiver: int, kind: int, message: str,
                 txs: list[int]) -> None:
            nonlocal message_id
            arrival = now + self.latency[(sender, receiver)]
            if sender == 0 or receiver == 0:
                message_id += 1
                sent = sender == 0
                when, peer = (now, receiver) if sent else (arrival, sender)
                log.extend((when, peer, sent, message, message_id, tx) for tx in txs)
            push(arrival, kind, receiver, sender, txs)

        def announce(now: float, node: int, tx: int) -> None:
            """Queue ``tx`` for every peer of ``node`` not known to have it; arm the timers."""
            holders = have[node].get(tx, 0)
            bits = slot[node]
            for peer in self.peers[node]:
                if holders & bits[peer]:
                    continue
                pending[node][peer].append(tx)
                if peer in self.outbound[node]:
                    if peer not in timer_out[node]:
                        timer_out[node].add(peer)
                        push(now + rng.exponential(c.inv_interval_outbound), _TIMER_OUT, node, peer)
                elif not timer_in[node]:
                    timer_in[node] = True
                    push(now + rng.exponential(c.inv_interval_inbound), _TIMER_IN, node, -1)

        def flush(now: float, node: int, peer: int) -> None:
            holders, bit = have[node], slot[node][peer]
            txs = [t for t in pending[node][peer] if not holders.get(t, 0) & bit]
            pending[node][peer] = []
            for start in range(0, len(txs), c.inv_max_entries):
                send(now, node, peer, _INV, "inv", txs[start:start + c.inv_max_entries])

        def learn(now: float, node: int, tx: int) -> None:
            known[node].add(tx)
            in_flight[node].pop(tx, None)
            if node == 0:
                first_seen[tx] = now
            if node >= c.nodes:  # probes listen only
                return
            announce(now, node, tx)

        def stem(now: float, node: int, tx: int, own: bool = False) -> None:
            """Hold ``tx`` in the stem: pass it on, or fluff it, and arm the embargo. The
            creator (``own``) always passes its transaction on; relays flip the fluff coin."""
            known[node].add(tx)
            if node == 0 and np.isnan(first_seen[tx]):
                first_seen[tx] = now
            relays = self.stem_relays[node]
            if not relays or (not own and rng.random() < c.dandelion_fluff_probability):
                announce(now, node, tx)
                return
            stem_held[node].add(tx)
            push(now + rng.exponential(c.dandelion_embargo), _EMBARGO, node, tx)
            send(now, node, relays[int(rng.integers(len(relays)))], _STEM, "dandeliontx", [tx])

        for tx, (origin, when) in enumerate(zip(origins, times)):
            push(float(when), _CREATE, int(origin), tx)

        processed = 0
        while queue:
            now, _, kind, a, b, payload = heapq.heappop(queue)
            processed += 1
            if kind == _CREATE:
                if b in known[a]:
                    continue
                if c.dandelion:
                    stem(now, a, b, own=True)
                else:
                    learn(now, a, b)
            elif kind == _TIMER_OUT:
                timer_out[a].discard(b)
                flush(now, a, b)
            elif kind == _TIMER_IN:
                timer_in[a] = False
                for peer in self.peers[a]:
                    if peer not in self.outbound[a] and pending[a][peer]:
                        flush(now, a, peer)
            elif kind == _INV:
                node, peer = a, b
                for tx in payload:
                    have[node][tx] = have[node].get(tx, 0) | slot[node][peer]
                    if tx in stem_held[node]:
                        stem_held[node].discard(tx)
                        announce(now, node, tx)
                    if tx in known[node] or node >= c.nodes:
                        continue
                    delay = 0.0 if peer in self.outbound[node] else c.nonpreferred_delay
                    if self.txid_relay[peer]:
                        delay += c.txid_relay_delay
                    push(now + delay, _READY, node, peer, tx)
            elif kind == _READY:
                node, peer, tx = a, b, payload
                if tx in known[node]:
                    continue
                asked = in_flight[node].get(tx)
                if asked is not None and now < asked + c.getdata_interval:
                    push(asked + c.getdata_interval, _READY, node, peer, tx)
                    continue
                in_flight[node][tx] = now
                send(now, node, peer, _GETDATA, "getdata", [tx])
            elif kind == _GETDATA:
                for tx in payload:
                    send(now, a, b, _TX, "tx", [tx])
            elif kind == _TX:
                tx = payload[0]
                have[a][tx] = have[a].get(tx, 0) | slot[a][b]
                if tx not in known[a]:
                    learn(now, a, tx)
            elif kind == _STEM:
                tx = payload[0]
                have[a][tx] = have[a].get(tx, 0) | slot[a][b]
                if tx not in known[a] and a < c.nodes:
                    stem(now, a, tx)
            elif kind == _EMBARGO:
                if b in stem_held[a]:
                    stem_held[a].discard(b)
                    announce(now, a, b)
        names = np.array([self.name(p) for p in range(total)], dtype=object)
        columns = tuple(map(list, zip(*log))) if log else ([], [], [], [], [], [])
        return RelayRun(events=event_frame(columns, names, self.txid_relay, txids,
                                           self.name(0)), target=0,
                        first_seen=first_seen,
                        outbound_peers=[self.name(p) for p in sorted(self.outbound[0])],
                        probe_peers=[self.name(p) for p in probes], event_count=processed)


def event_frame(log: tuple, names: np.ndarray, txid_relay: np.ndarray, txids: list[str],
                target: str) -> pd.DataFrame:
    """The event log (:mod:`.relay_events`) of the target's links from the columns a simulator
    collected: (time, peer number, sent by the target?, message, message id, transaction
    number). ``names``: node number -> peer name; a sender's txid-relay flag sets the
    inventory type of its ``inv`` and ``getdata`` entries."""
    when, peer, sent, message, message_id, tx = log
    txid_names = np.asarray(txids, dtype=object)
    peer_ids = np.asarray(peer, dtype=np.int64)
    sent = np.asarray(sent, dtype=bool)
    sender = np.where(sent, 0, peer_ids)
    wtxid = ~txid_relay[sender] if len(sender) else np.empty(0, dtype=bool)
    messages = np.asarray(message, dtype=object)
    inv_type = np.where(np.isin(messages, ["inv", "getdata"]),
                        np.where(wtxid, MSG_WTX, MSG_TX), 0)
    when = np.asarray(when, dtype=np.float64)
    message_id = np.asarray(message_id, dtype=np.int64)
    order = np.lexsort((message_id, when))  # by time, then message (a stable sort)
    # text columns hold shared string objects: millions of rows, a handful of distinct values
    peer_names = names[peer_ids[order]] if len(peer_ids) else np.empty(0, dtype=object)
    txid_column = (txid_names[np.asarray(tx, dtype=np.int64)[order]] if len(order)
                   else np.empty(0, dtype=object))
    messages = messages[order] if len(order) else np.empty(0, dtype=object)
    text = {  # object columns kept as such (pandas 3 would convert them to its string type,
        # and back to one new string object per row when the schema asks for object)
        "node": np.full(len(order), target, dtype=object),
        "peer": peer_names,
        "direction": np.array(["recv", "sent"], dtype=object)[sent[order].astype(np.int64)],
        "message": messages,
        "txid": txid_column,
        # no witnesses: a transaction's wtxid is its txid
        "wtxid": np.where(messages == "tx", txid_column, np.array("", dtype=object)),
    }
    numeric = {"time": when[order], "message_id": message_id[order],
               "inv_type": inv_type[order].astype(np.int64)}
    frame = pd.DataFrame({name: pd.Series(numeric[name]) if name in numeric else
                          pd.Series(text[name], dtype=object, copy=False)
                          for name in EVENT_COLUMNS})
    return validate_events(frame, "relay simulator")
