"""The bulk chain generator writes real, linked, verifiable blocks whose graph conserves value."""

import pyarrow.compute as pc
import pytest

from libraries.bitcoin_wire.consensus import block_subsidy, coinbase_height, parse_block
from libraries.graph_etl.graph import build_graph
from libraries.graph_etl.tables import to_tables
from libraries.simulation.bulk_chain import BulkChain, BulkChainConfig
from libraries.simulation.errors import SimulationConfigError


def test_blocks_parse_link_state_their_heights_and_conserve_value():
    chain = BulkChain(BulkChainConfig(transactions_per_block=300, initial_outputs=2000, seed=3))
    blocks = [parse_block(raw) for raw in chain.blocks(12)]  # merkle roots checked here
    assert [coinbase_height(b) for b in blocks] == list(range(1, 13))
    assert all(b.previous == a.hash for a, b in zip(blocks, blocks[1:]))
    assert all(b.n_tx == 300 for b in blocks[1:])
    graph = build_graph(to_tables(blocks))  # every input resolves inside the chain
    assert pc.sum(graph.edges["Mints"]["value"]).as_py() == sum(block_subsidy(h)
                                                                 for h in range(1, 13))
    fees = pc.sum(graph.edges["Redeems"]["value"]).as_py() - pc.sum(
        graph.edges["Credits"]["value"]).as_py()
    assert fees > 0 and abs(pc.sum(graph.edges["Fee"]["value"]).as_py() - fees) <= graph.edges[
        "Fee"].num_rows
    assert chain.unspent > 2000  # the UTXO set grows, as mainnet's does


def test_same_seed_same_chain_and_bad_config_is_refused():
    first = list(BulkChain(BulkChainConfig(transactions_per_block=50, seed=1)).blocks(3))
    again = list(BulkChain(BulkChainConfig(transactions_per_block=50, seed=1)).blocks(3))
    assert first == again
    with pytest.raises(SimulationConfigError, match="transactions_per_block 0"):
        BulkChain(BulkChainConfig(transactions_per_block=0))
