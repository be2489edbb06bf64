"""The graph bulk-loaded into ladybug answers Cypher with the same nodes and edges."""

from __future__ import annotations

import pytest

from libraries.graph_etl.errors import GraphDataError
from libraries.graph_etl.graph import build_graph
from libraries.graph_etl.graph_database import LadybugGraphDatabase
from libraries.graph_etl.tables import to_tables
from plugins.bitcoin_graph.readers import read_blocks


@pytest.fixture(scope="module")
def graph(data_dir):
    blocks = read_blocks(data_dir / "bitcoin_blocks" / "blocks1-256.bz2")
    return build_graph(to_tables(blocks, first_height=1))


def test_copy_from_loads_every_node_and_edge(graph, tmp_path):
    database = LadybugGraphDatabase.create(graph, tmp_path / "graph.lbug")
    assert database.counts() == graph.counts()
    first_payment = database.query(
        "MATCH (a:Script)-[t:Transfers]->(b:Script) WHERE t.height = 170 "
        "RETURN a.id AS src, b.id AS dst, t.height AS height, t.value AS value").to_pylist()
    expected = [e for e in graph.edges["Transfers"].to_pylist() if e["height"] == 170]
    assert sorted(first_payment, key=str) == sorted(expected, key=str)
    assert {e["src"] for e in first_payment} == {"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"}
    assert 10 * 10**8 in {e["value"] for e in first_payment}  # Satoshi -> Hal Finney, 10 BTC
    subgraph = database.connection.execute(
        "MATCH (b:Block)-[c:Confirms]->(t:Tx) WHERE b.id <= 3 RETURN b, c, t")
    data = subgraph.get_as_torch_geometric()[0]
    assert data["Tx"].height.tolist() == [1, 2, 3]
    with pytest.raises(GraphDataError, match="already exists"):
        LadybugGraphDatabase.create(graph, tmp_path / "graph.lbug")


def test_forest_fire_in_the_database_returns_an_induced_sample(graph, tmp_path):
    from libraries.graph_etl.sampling import forest_fire_in_database

    database = LadybugGraphDatabase.create(graph, tmp_path / "g.lbug")
    nodes = forest_fire_in_database(database, 60, seed=4)
    assert len(nodes) == 60
    assert nodes == forest_fire_in_database(database, 60, seed=4)
    sample = database.subgraph(nodes)
    assert sum(t.num_rows for t in sample.nodes.values()) == 60
    keys = {(kind, str(i)) for kind, table in sample.nodes.items() for i in table["id"].to_pylist()}
    assert keys == nodes
    # Induced: exactly the full graph's edges whose two ends were burned.
    from libraries.graph_etl.export import EDGE_HEADERS
    for kind, (src, dst, _) in EDGE_HEADERS.items():
        expected = sorted((str(e["src"]), str(e["dst"]), e["height"])
                          for e in graph.edges[kind].to_pylist()
                          if (src, str(e["src"])) in nodes and (dst, str(e["dst"])) in nodes)
        got = sorted((str(e["src"]), str(e["dst"]), e["height"])
                     for e in sample.edges[kind].to_pylist())
        assert got == expected, kind
