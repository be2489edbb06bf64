"""The compiled network builder: Bitcoin Core's connection limits, a consistent link table,
and clear refusals of networks that cannot exist."""

from __future__ import annotations

import numpy as np
import pytest

from libraries.simulation import SimulationConfigError
from libraries.simulation.relay import RelayConfig, RelaySimulator
from libraries.simulation.topology import build_topology


def _outbound_counts(topology):
    return np.add.reduceat(topology.outbound.astype(int), topology.indptr[:-1])


@pytest.mark.parametrize("kwargs", [
    dict(nodes=300, seed=1),
    dict(nodes=3000, seed=2, listening_share=0.3, target_inbound=117, probes=2),
])
def test_every_node_opens_its_outbound_links_within_core_limits(kwargs):
    topology = build_topology(**kwargs)
    nodes = kwargs["nodes"]
    degree = topology.degree()
    assert (_outbound_counts(topology)[:nodes] == 8).all()
    assert degree[:nodes].max() <= 125 + (kwargs.get("probes", 0))
    links = np.arange(len(topology.neighbour))
    owner = np.repeat(np.arange(len(degree)), degree)
    assert (topology.neighbour[topology.reverse] == owner).all()
    assert (topology.reverse[topology.reverse] == links).all()
    assert (topology.latency[topology.reverse] == topology.latency).all()
    assert (topology.outbound != topology.outbound[topology.reverse]).all()
    for node in range(nodes):  # no duplicate links, no self links
        peers = topology.peers_of(node)
        assert len(set(peers.tolist())) == len(peers) and node not in peers
        for relay in topology.stem_relays[node]:
            assert relay == -1 or relay in peers[topology.outbound[
                topology.indptr[node]:topology.indptr[node + 1]]]
    if "target_inbound" in kwargs:
        inbound_of_target = (~topology.outbound[topology.indptr[0]:topology.indptr[1]]).sum()
        assert inbound_of_target == 117 + kwargs["probes"]
        # non-listening nodes accept nobody
        inbound = np.add.reduceat((~topology.outbound).astype(int), topology.indptr[:-1])
        assert (inbound[:nodes] == 0).mean() > 0.5


def test_the_event_simulators_network_converts_link_for_link():
    simulator = RelaySimulator(RelayConfig(nodes=50, probes=2, seed=7))
    topology = simulator.topology()
    for node in range(52):
        assert topology.peers_of(node).tolist() == simulator.peers[node]
        links = range(topology.indptr[node], topology.indptr[node + 1])
        for e in links:
            peer = int(topology.neighbour[e])
            assert topology.outbound[e] == (peer in simulator.outbound[node])
            assert topology.latency[e] == simulator.latency[(node, peer)]


@pytest.mark.parametrize("kwargs, message", [
    (dict(nodes=5, outbound=8), "1 <= outbound < nodes"),
    (dict(nodes=100, outbound=8, max_connections=10), "at least twice outbound"),
    (dict(nodes=100, listening_share=0.0), "listening_share must lie in"),
    (dict(nodes=100, target_inbound=118), "target_inbound must lie in 0..99"),
    (dict(nodes=1000, listening_share=0.005, max_connections=20), "listening nodes x 12 inbound"),
])
def test_impossible_networks_are_refused_naming_the_parameter(kwargs, message):
    with pytest.raises(SimulationConfigError, match=message):
        build_topology(**kwargs)
