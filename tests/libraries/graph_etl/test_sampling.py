"""Forest Fire and rooted community sampling, and the PyG HeteroData export."""

from __future__ import annotations

import numpy as np
import pytest

from libraries.graph_etl.errors import GraphConfigError
from libraries.graph_etl.graph import EDGE_TYPES, build_graph
from libraries.graph_etl.sampling import (GraphIndex, forest_fire, rooted_sample, subgraph,
                                            to_hetero_data)
from libraries.graph_etl.tables import tables_from_json
from libraries.simulation import simulate
from libraries.simulation.chain import SimulationConfig


@pytest.fixture(scope="module")
def graph():
    blocks, _ = simulate(SimulationConfig(days=2, individual_wallet=100))
    tables, prevouts = tables_from_json(blocks[1:], "sim")
    return build_graph(tables, prevouts)


@pytest.fixture(scope="module")
def index(graph):
    return GraphIndex(graph)


def test_index_numbers_every_node_and_keeps_every_edge(graph, index):
    assert index.size == sum(t.num_rows for t in graph.nodes.values())
    assert len(index.src) == sum(graph.edges[k].num_rows for k in EDGE_TYPES)
    assert index.out.indptr[-1] == index.inc.indptr[-1] == len(index.src)


def test_forest_fire_is_seeded_sized_and_induced(graph, index):
    a = forest_fire(index, 300, seed=1)
    assert len(a) == 300
    assert np.array_equal(a, forest_fire(index, 300, seed=1))
    assert not np.array_equal(a, forest_fire(index, 300, seed=2))
    sample = subgraph(index, a)
    assert sum(t.num_rows for t in sample.nodes.values()) == 300
    member = set(a.tolist())
    kept = 0
    for kind in EDGE_TYPES:
        table = sample.edges[kind]
        kept += table.num_rows
        for row in table.to_pylist()[:50]:
            assert row in graph.edges[kind].to_pylist()
    # Induced: every edge of the full graph with both ends sampled is kept, and only those.
    both = member.__contains__
    expected = int(sum(both(int(s)) and both(int(d)) for s, d in zip(index.src, index.dst)))
    assert kept == expected > 0


def test_higher_burning_probability_gives_denser_samples(index):
    def edges_of(forward):
        return np.mean([sum(t.num_rows for t in subgraph(
            index, forest_fire(index, 300, forward=forward, seed=s)).edges.values())
            for s in range(3)])
    assert edges_of(0.8) > edges_of(0.1)


def test_rooted_sample_shrinks_per_hop_and_contains_the_roots(graph, index):
    address = graph.edges["Transfers"]["src"][0].as_py()
    root = index.node("Script", address)
    one = rooted_sample(index, [root], max_hops=1)
    two = rooted_sample(index, [root], max_hops=2, shrink=0.5)
    assert root in one and set(one) <= set(two)
    neighbours = set(index.out.neighbours[index.out.ranges(np.array([root]))]) | set(
        index.inc.neighbours[index.inc.ranges(np.array([root]))])
    assert set(one) == neighbours | {root}
    with pytest.raises(GraphConfigError, match="shrink"):
        rooted_sample(index, [root], shrink=0)
    with pytest.raises(GraphConfigError, match="no Script node"):
        index.node("Script", "1NotAnAddress")


def test_hetero_data_has_every_type_with_consistent_indices(graph):
    data = to_hetero_data(graph)
    assert set(data.node_types) == set(graph.nodes)
    for (src, kind, dst) in data.edge_types:
        store = data[src, kind, dst]
        assert store.edge_index.shape == (2, graph.edges[kind].num_rows)
        assert int(store.edge_index[0].min()) >= 0 and int(store.edge_index[1].min()) >= 0
        assert int(store.edge_index[0].max()) < data[src].num_nodes
        assert int(store.edge_index[1].max()) < data[dst].num_nodes
    transfers = data["Script", "Transfers", "Script"]
    first = graph.edges["Transfers"].slice(0, 1).to_pylist()[0]
    ids = data["Script"].ids
    assert ids[int(transfers.edge_index[0, 0])] == first["src"]
    assert int(transfers.value[0]) == first["value"]
