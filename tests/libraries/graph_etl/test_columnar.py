"""The in-memory engine (:mod:`libraries.graph_etl.columnar`, the default) gives the graph the
SQL stages give on DuckDB, table for table, on real blocks and a simulated chain, including
the exclusion of large transactions, and refuses the same bad input with the same message."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest

from libraries.bitcoin_wire import parse_block
from libraries.graph_etl.columnar import _round_half_away
from libraries.graph_etl.errors import GraphDataError
from libraries.graph_etl.graph import EDGE_TYPES, NODE_TYPES, DuckDBEngine, build_graph
from libraries.graph_etl.tables import tables_from_json, to_tables, utxo_table
from libraries.simulation import SimulationConfig, simulate
from plugins.bitcoin_graph.readers import read_blocks, read_btcd_utxos

BLOCK_2019 = ("bitcoin_blocks/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2"
              ".blk")


@pytest.fixture(scope="module")
def duckdb_engine():
    engine = DuckDBEngine(threads=1)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def workloads(data_dir):
    blocks_dir = data_dir / "bitcoin_blocks"
    tables_2019 = to_tables([parse_block((data_dir / BLOCK_2019).read_bytes())])
    spent = tables_2019.inputs
    # the 2019 block's spent outputs with distinct values and a few shared scripts, so shares,
    # fees and merges all vary
    prior_2019 = pa.table({"txid": spent["prev_txid"], "vout": spent["prev_vout"],
                           "script_id": [f"prevout:{i % 97}" for i in range(spent.num_rows)],
                           "value": [10**12 + 7_919 * i for i in range(spent.num_rows)]})
    chain, _ = simulate(SimulationConfig(days=1, individual_wallet=60))
    sim_tables, sim_prevouts = tables_from_json(json.loads(json.dumps(chain[:60])), "sim")
    return {
        "blocks 1-255": (to_tables(read_blocks(blocks_dir / "blocks1-256.bz2"), first_height=1),
                         None),
        "block 277647 with its UTXOs": (to_tables(read_blocks(blocks_dir / "277647.dat.bz2")),
                                        utxo_table(read_btcd_utxos(blocks_dir
                                                                   / "277647.utxostore.bz2"))),
        "the 2019 block": (tables_2019, prior_2019),
        "60 simulated blocks in one batch": (sim_tables, sim_prevouts),
    }


@pytest.mark.parametrize("limit", [20, 2, 0])
def test_in_memory_and_duckdb_give_identical_graphs(workloads, duckdb_engine, limit):
    for name, (tables, prior) in workloads.items():
        memory = build_graph(tables, prior, max_inputs=limit, max_outputs=limit)
        sql = build_graph(tables, prior, max_inputs=limit, max_outputs=limit,
                          engine=duckdb_engine)
        for kind in NODE_TYPES:
            assert memory.nodes[kind].equals(sql.nodes[kind]), (name, kind)
        for kind in EDGE_TYPES:
            assert memory.edges[kind].equals(sql.edges[kind]), (name, kind, limit)
        for kind in EDGE_TYPES:  # every table in the order the contract states, by Arrow's sort
            table = memory.edges[kind]
            assert table.equals(table.sort_by([(k, "ascending") for k in ("src", "dst", "height")]))
        if limit == 20:
            assert memory.edges["Transfers"].num_rows > 0, name
        if limit == 0:
            assert memory.edges["Transfers"].num_rows == 0, name


def test_rounding_is_duckdbs_half_away_from_zero():
    values = [2.5, -2.5, 3.5, 0.49999999999999994, -0.5, 1e15 + 0.5, 7.0]
    expected = duckdb.connect().execute(
        "SELECT " + ", ".join(f"round({v!r}::DOUBLE)" for v in values)).fetchone()
    assert [_round_half_away(v) for v in values] == list(expected)


def test_bad_input_gets_the_same_error_from_both_engines(workloads, duckdb_engine):
    tables, prior = workloads["block 277647 with its UTXOs"]
    messages = []
    for engine in (None, duckdb_engine):
        with pytest.raises(GraphDataError, match=r"670 inputs do not resolve, e\.g\. input \d+ "
                                                 r"of tx [0-9a-f]{64} spends [0-9a-f]{64}:\d+"):
            build_graph(tables, engine=engine)
        cheap = prior.set_column(prior.schema.get_field_index("value"), "value",
                                 pa.array([1] * prior.num_rows, pa.int64()))
        with pytest.raises(GraphDataError, match="spends less than it pays out") as caught:
            build_graph(tables, cheap, engine=engine)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_utxo_text_columns_may_be_large_or_dictionary_strings(workloads):
    """A UTXO table read from elsewhere may carry large strings (a whole set's txids pass
    2^31 bytes at about 33 million outputs, beyond 32-bit offsets) or dictionary-encoded
    script ids; the graph is the same."""
    tables, prior = workloads["block 277647 with its UTXOs"]
    expected = build_graph(tables, prior)
    wide = prior.set_column(0, "txid", prior["txid"].cast(pa.large_string()))
    wide = wide.set_column(2, "script_id", prior["script_id"].dictionary_encode())
    graph = build_graph(tables, wide)
    for kind in EDGE_TYPES:
        assert graph.edges[kind].equals(expected.edges[kind]), kind
