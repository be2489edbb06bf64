"""The EBA v1 graph on real blocks: value conservation across edge types, input resolution."""

import pyarrow.compute as pc
import pytest

from libraries.bitcoin_wire.consensus import block_subsidy
from libraries.graph_etl.errors import GraphDataError
from libraries.graph_etl.graph import build_graph
from libraries.graph_etl.tables import to_tables, utxo_table
from plugins.bitcoin_graph.readers import read_blocks, read_btcd_utxos


def total(table, column="value"):
    return pc.sum(table[column]).as_py() or 0


@pytest.fixture(scope="module")
def block_277647(data_dir):
    blocks_dir = data_dir / "bitcoin_blocks"
    tables = to_tables(read_blocks(blocks_dir / "277647.dat.bz2"))
    utxos = read_btcd_utxos(blocks_dir / "277647.utxostore.bz2")
    prior = utxo_table(utxos)
    return tables, prior


def test_values_are_conserved_across_edge_types(block_277647):
    tables, prior = block_277647
    graph = build_graph(tables, prior)
    credits, redeems = total(graph.edges["Credits"]), total(graph.edges["Redeems"])
    fees = redeems - credits
    assert fees == 4_737_355  # coinbase 2,504,737,355 - subsidy
    assert total(graph.edges["Mints"]) == block_subsidy(277647)
    # Transfers and Fee split values in proportion; each edge is rounded to a satoshi.
    assert abs(total(graph.edges["Transfers"]) - credits) <= graph.edges["Transfers"].num_rows
    assert abs(total(graph.edges["Fee"]) - fees) <= graph.edges["Fee"].num_rows
    assert graph.nodes["Tx"].num_rows == 213 and graph.edges["Confirms"].num_rows == 213
    assert set(pc.unique(graph.edges["Transfers"]["height"]).to_pylist()) == {277647}


def test_unresolvable_inputs_are_an_error(block_277647):
    tables, _ = block_277647
    # DATA.md: 670 of its inputs spend earlier outputs; the other 62 spend this block's own.
    with pytest.raises(GraphDataError, match=r"670 inputs do not resolve"):
        build_graph(tables)


def test_blocks_1_to_255_resolve_within_the_file(data_dir):
    blocks = read_blocks(data_dir / "bitcoin_blocks" / "blocks1-256.bz2")
    graph = build_graph(to_tables(blocks, first_height=1))
    assert graph.nodes["Block"].num_rows == 255
    assert total(graph.edges["Mints"]) == 255 * 50 * 10**8
    transfers = graph.edges["Transfers"].to_pylist()
    assert any(e["height"] == 170 and e["src"] == "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
               for e in transfers)  # Satoshi -> Hal Finney, the first payment


def test_exclusion_of_large_transactions(block_277647):
    tables, prior = block_277647
    everything = build_graph(tables, prior)
    strict = build_graph(tables, prior, max_inputs=0, max_outputs=0)
    assert strict.edges["Transfers"].num_rows == 0 and strict.edges["Fee"].num_rows == 0
    assert total(strict.edges["Redeems"]) == total(everything.edges["Redeems"])
