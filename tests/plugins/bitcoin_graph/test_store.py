"""Incremental loading: two halves equal one shot, re-running is a no-op, re-orgs are refused."""

import pytest

from framework.errors import DataError
from plugins.bitcoin_graph.readers import read_blocks
from plugins.bitcoin_graph.store import GraphStore
from plugins.bitcoin_graph.tables import to_tables


@pytest.fixture(scope="module")
def blocks(data_dir):
    return list(read_blocks(data_dir / "bitcoin_blocks" / "blocks1-256.bz2"))


def as_rows(graph):
    return ({k: sorted(map(str, v.to_pylist())) for k, v in graph.nodes.items()},
            {k: sorted(map(str, v.to_pylist())) for k, v in graph.edges.items()})


def test_two_halves_equal_one_shot_and_rerun_is_a_no_op(tmp_path, blocks):
    whole = GraphStore(tmp_path / "whole")
    whole.append(to_tables(blocks, first_height=1))
    halves = GraphStore(tmp_path / "halves")
    halves.append(to_tables(blocks[:128], first_height=1))
    added = halves.append(to_tables(blocks, first_height=1))  # overlaps the first half
    assert added["blocks_added"] == 255 - 128
    assert as_rows(halves.read()) == as_rows(whole.read())
    assert halves.append(to_tables(blocks, first_height=1)) == {"blocks_added": 0}
    assert halves.state()["tip_height"] == 255 and len(halves.state()["parts"]) == 2
    utxo = halves.utxos().to_pylist()
    assert len(utxo) == len(whole.utxos()) and all(row["value"] > 0 for row in utxo)


def test_a_block_that_does_not_extend_the_tip_is_refused(tmp_path, blocks):
    store = GraphStore(tmp_path / "g")
    store.append(to_tables(blocks[:10], first_height=1))
    with pytest.raises(DataError, match="does not extend the stored tip"):
        store.append(to_tables(blocks[11:20], first_height=12))  # block 11 missing
    assert store.state()["tip_height"] == 10  # nothing half-written
