"""The P2P network a relay simulation runs on, as arrays, and a builder fast enough for 10,000+
nodes.

A :class:`Topology` is the undirected connection graph in compressed sparse rows: node ``u``'s
links are ``indptr[u]:indptr[u + 1]``; for each such link ``e``: the peer ``neighbour[e]``,
whether the peer is ``u``'s *outbound* peer (``u`` opened the connection: Core's preferred,
per-peer-timer links), the one-way ``latency[e]`` (the same both ways) and ``reverse[e]`` (the
same link seen from the peer). Per node: whether it still uses txid relay, and its two
Dandelion++ stem relays (among its outbound peers; -1 where it has fewer).

:func:`build_topology` draws one as Bitcoin Core forms it: every node opens ``outbound``
connections to distinct random listening nodes that still have a free inbound slot
(``max_connections - outbound``), in a random order of nodes; ``listening_share`` of the nodes
accept inbound connections (the rest only connect out, as most mainnet nodes do);
``target_inbound`` fixes how many inbound peers node 0, the observed target, has. Probes (spy
nodes) connect to the target last. In a network so small or so full that a node finds no
listening peer with room left, it opens fewer links (as Core does). The loop is compiled: 10,000 nodes take milliseconds where the
event simulator's Python loop (:class:`.relay.RelaySimulator`) is quadratic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numba
import numpy as np

from libraries.simulation.errors import SimulationConfigError

LATENCY_SIGMA = 0.5  # log-normal spread of link latencies (the event simulator's)


@dataclass(frozen=True)
class Topology:
    nodes: int  # relaying nodes 0..nodes-1 (node 0 is the target)
    probes: int  # spy nodes nodes..nodes+probes-1, connected to the target
    indptr: np.ndarray  # int64[nodes + probes + 1]
    neighbour: np.ndarray  # int64[links * 2]
    outbound: np.ndarray  # bool: neighbour is this node's outbound peer
    latency: np.ndarray  # float64 seconds, one way
    reverse: np.ndarray  # int64: the same link from the neighbour's side
    txid_relay: np.ndarray  # bool per node
    stem_relays: np.ndarray  # int64[nodes + probes, 2], -1 where missing

    def peers_of(self, node: int) -> np.ndarray:
        return self.neighbour[self.indptr[node]:self.indptr[node + 1]]

    def degree(self) -> np.ndarray:
        return np.diff(self.indptr)

    @classmethod
    def from_links(cls, nodes: int, probes: int, initiator: np.ndarray, listener: np.ndarray,
                   latency: np.ndarray, txid_relay: np.ndarray,
                   stem_relays: np.ndarray) -> "Topology":
        """From a list of connections (``initiator`` opened it to ``listener``); each node's
        links keep the order of the list."""
        total = nodes + probes
        initiator, listener = np.asarray(initiator, np.int64), np.asarray(listener, np.int64)
        links = len(initiator)
        ends = np.concatenate([initiator, listener])  # entry k: link k % links seen from ends[k]
        peers = np.concatenate([listener, initiator])
        order = np.lexsort((np.concatenate([np.arange(links), np.arange(links)]), ends))
        indptr = np.zeros(total + 1, np.int64)
        np.cumsum(np.bincount(ends, minlength=total), out=indptr[1:])
        position = np.empty(2 * links, np.int64)
        position[order] = np.arange(2 * links)
        reverse = np.empty(2 * links, np.int64)
        reverse[position] = position[(np.arange(2 * links) + links) % (2 * links)]
        return cls(nodes=nodes, probes=probes, indptr=indptr, neighbour=peers[order],
                   outbound=(order < links), latency=np.concatenate([latency, latency])[order],
                   reverse=reverse, txid_relay=np.asarray(txid_relay, bool),
                   stem_relays=np.asarray(stem_relays, np.int64))


@numba.njit(cache=True)
def _eligible(peers, count, listening, inbound, max_inbound, node, peer, target_inbound):
    """Whether ``node`` may open a connection to ``peer``."""
    if peer == node or not listening[peer] or inbound[peer] >= max_inbound:
        return False
    if peer == 0 and target_inbound >= 0:
        return False  # the target's inbound peers are fixed
    for k in range(count[node]):
        if peers[node, k] == peer:
            return False
    return True


@numba.njit(cache=True)
def _connect_all(nodes, outbound, max_inbound, listening, order, target_inbound, seed):
    """(initiator, listener) of every connection; see :func:`build_topology`."""
    np.random.seed(seed)
    capacity = outbound + max_inbound
    peers = np.full((nodes, capacity), -1, np.int64)
    count = np.zeros(nodes, np.int64)
    inbound = np.zeros(nodes, np.int64)
    opened = np.zeros(nodes, np.int64)
    initiator = np.empty(nodes * outbound, np.int64)
    listener = np.empty(nodes * outbound, np.int64)
    links = 0
    # the target's inbound peers first, when their number is fixed
    if target_inbound >= 0:
        chosen = 0
        for node in order:
            if chosen == target_inbound:
                break
            if node == 0:
                continue
            initiator[links], listener[links] = node, 0
            links += 1
            peers[node, count[node]] = 0
            count[node] += 1
            peers[0, count[0]] = node
            count[0] += 1
            inbound[0] += 1
            opened[node] += 1
            chosen += 1
        if chosen < target_inbound:
            return initiator[:0], listener[:0]
    for node in order:
        tries = 0
        while opened[node] < outbound:
            tries += 1
            peer = np.random.randint(0, nodes)
            if tries > 50 * nodes:  # nearly full: scan once from a random start
                peer = -1
                offset = np.random.randint(0, nodes)
                for k in range(nodes):
                    candidate = (offset + k) % nodes
                    if _eligible(peers, count, listening, inbound, max_inbound, node, candidate,
                                 target_inbound):
                        peer = candidate
                        break
                if peer < 0:
                    break  # no listening node has room: this node opens fewer links
            elif not _eligible(peers, count, listening, inbound, max_inbound, node, peer,
                               target_inbound):
                continue
            initiator[links], listener[links] = node, peer
            links += 1
            peers[node, count[node]] = peer
            count[node] += 1
            peers[peer, count[peer]] = node
            count[peer] += 1
            inbound[peer] += 1
            opened[node] += 1
    return initiator[:links], listener[:links]


def build_topology(nodes: int, outbound: int = 8, max_connections: int = 125,
                   listening_share: float = 1.0, target_inbound: int | None = None,
                   probes: int = 0, latency_mean: float = 0.1, txid_relay_share: float = 0.1,
                   seed: int = 0) -> Topology:
    """A network as Bitcoin Core nodes form it (module docstring). Refuses what cannot be
    built, naming the parameter: more outbound connections than other nodes, a target with
    more inbound peers than its slots or than there are nodes, too few listening nodes to take
    every node's outbound connections."""
    max_inbound = max_connections - outbound
    if nodes < 3 or not 1 <= outbound < nodes:
        raise SimulationConfigError(f"relay topology: need nodes >= 3 and 1 <= outbound < nodes "
                                    f"(got nodes={nodes}, outbound={outbound})")
    if max_inbound < outbound:
        raise SimulationConfigError(f"relay topology: max_connections ({max_connections}) must "
                                    f"be at least twice outbound ({outbound})")
    if not 0 < listening_share <= 1:
        raise SimulationConfigError(f"relay topology: listening_share must lie in (0, 1], got "
                                    f"{listening_share}")
    if target_inbound is not None and not 0 <= target_inbound <= min(max_inbound, nodes - 1):
        raise SimulationConfigError(f"relay topology: target_inbound must lie in 0.."
                                    f"{min(max_inbound, nodes - 1)} (max_connections - outbound, "
                                    f"and other nodes), got {target_inbound}")
    rng = np.random.default_rng([seed, 11])
    listening = rng.random(nodes) < listening_share
    listening[0] = True  # the target is a reachable node (a probe must be able to connect)
    if listening.sum() * max_inbound < nodes * outbound:
        raise SimulationConfigError(
            f"relay topology: {int(listening.sum())} listening nodes x {max_inbound} inbound "
            f"slots cannot take {nodes} x {outbound} outbound connections; raise "
            f"listening_share or max_connections")
    order = rng.permutation(nodes).astype(np.int64)
    initiator, listener = _connect_all(nodes, outbound, max_inbound, listening, order,
                                       -1 if target_inbound is None else int(target_inbound),
                                       int(rng.integers(2**31)))
    initiator = np.concatenate([initiator, np.arange(nodes, nodes + probes)])
    listener = np.concatenate([listener, np.zeros(probes, np.int64)])
    mu = np.log(latency_mean) - LATENCY_SIGMA ** 2 / 2
    latency = rng.lognormal(mu, LATENCY_SIGMA, len(initiator))
    total = nodes + probes
    txid_relay = rng.random(total) < txid_relay_share
    topology = Topology.from_links(nodes, probes, initiator, listener, latency, txid_relay,
                                   np.full((total, 2), -1, np.int64))
    stems = np.full((total, 2), -1, np.int64)
    for node in range(nodes):
        links = slice(topology.indptr[node], topology.indptr[node + 1])
        mine = topology.neighbour[links][topology.outbound[links]]
        stems[node, :min(2, len(mine))] = rng.permutation(mine)[:2]
    return replace(topology, stem_relays=stems)
