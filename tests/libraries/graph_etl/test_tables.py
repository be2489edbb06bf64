"""Block tables: heights come from BIP 34 coinbases or a given first height, never from nowhere."""

import pytest

from libraries.graph_etl.errors import GraphDataError, MissingHeight
from libraries.graph_etl.tables import to_tables
from plugins.bitcoin_graph.readers import read_blocks


def test_blocks_before_bip34_without_a_first_height_are_a_data_error(data_dir):
    """It was a bare ValueError, which the CLI showed as a traceback."""
    blocks = list(read_blocks(data_dir / "bitcoin_blocks" / "blocks1-256.bz2"))[:3]
    with pytest.raises(MissingHeight) as error:
        to_tables(blocks)
    assert isinstance(error.value, GraphDataError)
    assert str(error.value) == (f"block {blocks[0].hash} states no height in its coinbase "
                                f"(blocks before BIP 34, height 227,836, do not) and no first "
                                f"height was given")
    assert to_tables(blocks, first_height=1).blocks["height"].to_pylist() == [1, 2, 3]
