"""Parsed blocks as columnar tables (pyarrow), the ETL's interchange format.

One row per block, transaction, input and output; scripts are reduced to their address (or
stable script id, see :mod:`.addresses`) here, once, so later stages join on strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from plugins.bitcoin_graph.addresses import script_address
from plugins.bitcoin_graph.consensus import Block, coinbase_height


SCHEMAS = {
    "blocks": pa.schema([("height", pa.int64()), ("hash", pa.string()), ("previous", pa.string()),
                         ("time", pa.int64()), ("n_tx", pa.int64())]),
    "transactions": pa.schema([("txid", pa.string()), ("height", pa.int64()),
                               ("position", pa.int64()), ("coinbase", pa.bool_()),
                               ("n_in", pa.int64()), ("n_out", pa.int64())]),
    "inputs": pa.schema([("txid", pa.string()), ("height", pa.int64()), ("n", pa.int64()),
                         ("prev_txid", pa.string()), ("prev_vout", pa.int64())]),
    # Outputs a block range spends but did not create (btcd UTXO file, Core JSON prevouts).
    "utxos": pa.schema([("txid", pa.string()), ("vout", pa.int64()), ("script_id", pa.string()),
                        ("value", pa.int64())]),
    "outputs": pa.schema([("txid", pa.string()), ("height", pa.int64()), ("vout", pa.int64()),
                          ("script_id", pa.string()), ("script_type", pa.string()),
                          ("value", pa.int64()), ("coinbase", pa.bool_())]),
}


@dataclass
class BlockTables:
    blocks: pa.Table
    transactions: pa.Table
    inputs: pa.Table
    outputs: pa.Table


def to_tables(blocks: Iterable[Block], first_height: int | None = None) -> BlockTables:
    """Tables of consecutive blocks. Heights come from BIP 34 coinbases, else from
    ``first_height`` counted up (blocks before BIP 34 do not state their height)."""
    b_cols: dict[str, list] = {k: [] for k in ("height", "hash", "previous", "time", "n_tx")}
    t_cols: dict[str, list] = {k: [] for k in ("txid", "height", "position", "coinbase",
                                               "n_in", "n_out")}
    i_cols: dict[str, list] = {k: [] for k in ("txid", "height", "n", "prev_txid", "prev_vout")}
    o_cols: dict[str, list] = {k: [] for k in ("txid", "height", "vout", "script_id",
                                               "script_type", "value", "coinbase")}
    height = first_height
    for block in blocks:
        stated = coinbase_height(block)
        height = stated if stated is not None else height
        if height is None:
            raise ValueError(f"block {block.hash}: no BIP 34 height; pass first_height")
        b_cols["height"].append(height)
        b_cols["hash"].append(block.hash)
        b_cols["previous"].append(block.previous)
        b_cols["time"].append(block.time)
        b_cols["n_tx"].append(len(block.transactions))
        for position, tx in enumerate(block.transactions):
            coinbase = position == 0
            t_cols["txid"].append(tx.txid)
            t_cols["height"].append(height)
            t_cols["position"].append(position)
            t_cols["coinbase"].append(coinbase)
            t_cols["n_in"].append(len(tx.inputs))
            t_cols["n_out"].append(len(tx.outputs))
            if not coinbase:
                for n, txin in enumerate(tx.inputs):
                    i_cols["txid"].append(tx.txid)
                    i_cols["height"].append(height)
                    i_cols["n"].append(n)
                    i_cols["prev_txid"].append(txin.prev_txid)
                    i_cols["prev_vout"].append(txin.vout)
            for vout, out in enumerate(tx.outputs):
                script_id, kind = script_address(out.script)
                o_cols["txid"].append(tx.txid)
                o_cols["height"].append(height)
                o_cols["vout"].append(vout)
                o_cols["script_id"].append(script_id)
                o_cols["script_type"].append(kind)
                o_cols["value"].append(out.value)
                o_cols["coinbase"].append(coinbase)
        height += 1
    return BlockTables(pa.table(b_cols, schema=SCHEMAS["blocks"]),
                       pa.table(t_cols, schema=SCHEMAS["transactions"]),
                       pa.table(i_cols, schema=SCHEMAS["inputs"]),
                       pa.table(o_cols, schema=SCHEMAS["outputs"]))
