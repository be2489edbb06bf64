"""The ETL's SQL stages on Spark ``local[2]`` give the graph the default in-memory engine gives
(which test_columnar checks against DuckDB)."""

from __future__ import annotations

import pytest

from libraries.graph_etl.graph import EDGE_TYPES, NODE_TYPES, build_graph
from libraries.graph_etl.spark_engine import SparkEngine
from libraries.graph_etl.tables import to_tables, utxo_table
from plugins.bitcoin_graph.readers import read_blocks, read_btcd_utxos


@pytest.fixture(scope="module")
def spark_engine():
    engine = SparkEngine("local[2]")
    yield engine
    engine.spark.stop()


def _workloads(data_dir):
    blocks_dir = data_dir / "bitcoin_blocks"
    utxos = read_btcd_utxos(blocks_dir / "277647.utxostore.bz2")
    prior = utxo_table(utxos)
    return {
        "blocks 1-255": (to_tables(read_blocks(blocks_dir / "blocks1-256.bz2"), first_height=1),
                         None),
        "block 277647 with its UTXOs": (to_tables(read_blocks(blocks_dir / "277647.dat.bz2")),
                                        prior),
    }


def test_spark_and_the_in_memory_engine_give_identical_node_and_edge_sets(data_dir, spark_engine):
    for name, (tables, prior) in _workloads(data_dir).items():
        memory = build_graph(tables, prior)
        spark = build_graph(tables, prior, engine=spark_engine)
        for kind in NODE_TYPES:
            assert spark.nodes[kind].equals(memory.nodes[kind]), (name, kind)
        for kind in EDGE_TYPES:
            assert spark.edges[kind].num_rows > 0 or kind in ("Fee", "Transfers"), (name, kind)
            assert spark.edges[kind].equals(memory.edges[kind]), (name, kind)
        assert memory.edges["Transfers"].num_rows > 0
