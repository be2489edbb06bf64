"""The graph bulk-loaded into ladybug answers Cypher with the same nodes and edges."""

from __future__ import annotations

import pytest

from framework.errors import DataError
from plugins.bitcoin_graph.graph import build_graph
from plugins.bitcoin_graph.graph_database import LadybugGraphDatabase
from plugins.bitcoin_graph.readers import read_blocks
from plugins.bitcoin_graph.tables import to_tables


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
    with pytest.raises(DataError, match="already exists"):
        LadybugGraphDatabase.create(graph, tmp_path / "graph.lbug")
