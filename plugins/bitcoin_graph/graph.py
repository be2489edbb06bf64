"""The temporal heterogeneous Bitcoin graph (EBA v1 model), built with DuckDB.

Nodes: ``Coinbase`` (one), ``Script`` (an address, or a stable script id), ``Tx`` and ``Block``
(height). Edges, all stamped with the block height:

* ``Mints`` Coinbase -> miner Script: the newly minted value (coinbase outputs - block fees),
  split over the coinbase's output scripts in proportion to their value;
* ``Transfers`` input Script -> output Script of one transaction (complete bipartite over the
  distinct scripts on each side). Value of (s, t) = value_t x (value_s - fee_s) /
  (total_in - fee), where fee_s = fee x value_s / total_in is s's share of the fee: what s
  sent to t after paying its share of the fee. Change outputs are kept;
* ``Fee`` paying Script -> miner Script: fee_s split over the miner's coinbase output scripts
  in proportion to their value;
* ``Redeems`` Script -> Block (value spent by the script in that block), ``Credits`` Block ->
  Script (value received), ``Confirms`` Block -> Tx.

Excluded: zero-value transactions (no Transfers), and transactions with more than
``max_inputs`` distinct input scripts AND more than ``max_outputs`` distinct output scripts (no
Transfers or Fee edges; their Redeems / Credits remain). Edges with the same key are merged by
adding values. Amounts are satoshi.

Input resolution is a DuckDB join of every input with the outputs of the loaded blocks and of
an optional UTXO table (outputs created before the first loaded block): the UTXO set never lives
in a Python dict, and DuckDB spills to disk when it outgrows memory. An input that resolves
nowhere is an error naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from framework.errors import DataError
from plugins.bitcoin_graph.tables import BlockTables

NODE_TYPES = ("Coinbase", "Script", "Tx", "Block")
EDGE_TYPES = ("Mints", "Transfers", "Fee", "Redeems", "Confirms", "Credits")


@dataclass
class BitcoinGraph:
    nodes: dict[str, pa.Table]
    edges: dict[str, pa.Table]

    def counts(self) -> dict[str, int]:
        return {**{k: v.num_rows for k, v in self.nodes.items()},
                **{k: v.num_rows for k, v in self.edges.items()}}


def build_graph(tables: BlockTables, utxos: pa.Table | None = None, max_inputs: int = 20,
                max_outputs: int = 20, memory_limit: str = "2GB",
                temp_directory: str | None = None) -> BitcoinGraph:
    """Resolve inputs and build every node and edge table of the loaded blocks."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit='{memory_limit}'")
    if temp_directory:
        con.execute(f"SET temp_directory='{temp_directory}'")
    con.register("blocks", tables.blocks)
    con.register("txs", tables.transactions)
    con.register("inputs", tables.inputs)
    con.register("outputs", tables.outputs)
    empty = pa.table({"txid": pa.array([], pa.string()), "vout": pa.array([], pa.int64()),
                      "script_id": pa.array([], pa.string()), "value": pa.array([], pa.int64())})
    con.register("prior", utxos if utxos is not None else empty)
    con.execute("""
        CREATE TEMP TABLE spent AS
        SELECT i.txid, i.height, i.n, i.prev_txid, i.prev_vout,
               COALESCE(o.script_id, p.script_id) AS script_id,
               COALESCE(o.value, p.value) AS value
        FROM inputs i
        LEFT JOIN outputs o ON o.txid = i.prev_txid AND o.vout = i.prev_vout
        LEFT JOIN prior p ON p.txid = i.prev_txid AND p.vout = i.prev_vout""")
    missing = con.execute("SELECT txid, n, prev_txid, prev_vout FROM spent "
                          "WHERE value IS NULL LIMIT 1").fetchone()
    if missing:
        count = con.execute("SELECT count(*) FROM spent WHERE value IS NULL").fetchone()[0]
        raise DataError(f"{count} inputs do not resolve, e.g. input {missing[1]} of tx "
                        f"{missing[0]} spends {missing[2]}:{missing[3]}, which is neither an "
                        f"output of the loaded blocks nor in the UTXO table")
    con.execute(f"""
        CREATE TEMP TABLE tx_in AS
            SELECT txid, height, script_id, sum(value) AS value FROM spent GROUP BY ALL;
        CREATE TEMP TABLE tx_out AS
            SELECT o.txid, o.height, o.script_id, sum(o.value) AS value, bool_or(o.coinbase) AS coinbase
            FROM outputs o GROUP BY o.txid, o.height, o.script_id;
        CREATE TEMP TABLE tx_totals AS
            SELECT t.txid, t.height,
                   (SELECT coalesce(sum(value), 0) FROM tx_in i WHERE i.txid = t.txid) AS total_in,
                   (SELECT coalesce(sum(value), 0) FROM tx_out o WHERE o.txid = t.txid) AS total_out,
                   (SELECT count(*) FROM tx_in i WHERE i.txid = t.txid) AS n_scripts_in,
                   (SELECT count(*) FROM tx_out o WHERE o.txid = t.txid) AS n_scripts_out
            FROM txs t WHERE NOT t.coinbase;
        CREATE TEMP TABLE fees AS
            SELECT txid, height, total_in, total_out, total_in - total_out AS fee,
                   n_scripts_in > {max_inputs} AND n_scripts_out > {max_outputs} AS excluded
            FROM tx_totals;
        CREATE TEMP TABLE miners AS
            SELECT o.height, o.script_id, o.value,
                   sum(o.value) OVER (PARTITION BY o.height) AS coinbase_total
            FROM tx_out o WHERE o.coinbase;
        CREATE TEMP TABLE block_fees AS
            SELECT height, sum(fee) AS fees FROM fees GROUP BY height;
    """)
    negative = con.execute("SELECT txid FROM fees WHERE fee < 0 LIMIT 1").fetchone()
    if negative:
        raise DataError(f"tx {negative[0]} spends less than it pays out (negative fee)")
    edges = {
        "Mints": """
            SELECT 'coinbase' AS src, m.script_id AS dst, m.height,
                   round((m.coinbase_total - coalesce(f.fees, 0)) * m.value / m.coinbase_total)::BIGINT AS value
            FROM miners m LEFT JOIN block_fees f USING (height) WHERE m.coinbase_total > 0""",
        "Transfers": """
            SELECT i.script_id AS src, o.script_id AS dst, i.height,
                   sum(round(o.value * (i.value - f.fee * i.value / f.total_in)
                             / nullif(f.total_out, 0)))::BIGINT AS value
            FROM tx_in i JOIN fees f USING (txid) JOIN tx_out o USING (txid)
            WHERE NOT f.excluded AND f.total_out > 0 AND f.total_in > 0
            GROUP BY ALL""",
        "Fee": """
            SELECT i.script_id AS src, m.script_id AS dst, i.height,
                   sum(round(f.fee * i.value / f.total_in * m.value / m.coinbase_total))::BIGINT AS value
            FROM tx_in i JOIN fees f USING (txid) JOIN miners m ON m.height = i.height
            WHERE NOT f.excluded AND f.fee > 0 AND m.coinbase_total > 0
            GROUP BY ALL""",
        "Redeems": """
            SELECT script_id AS src, height AS dst, height, sum(value)::BIGINT AS value
            FROM tx_in GROUP BY ALL""",
        "Credits": """
            SELECT height AS src, script_id AS dst, height, sum(value)::BIGINT AS value
            FROM tx_out WHERE NOT coinbase GROUP BY ALL""",
        "Confirms": "SELECT height AS src, txid AS dst, height FROM txs",
    }
    edge_tables = {name: con.sql(query + " ORDER BY ALL").to_arrow_table()
                   for name, query in edges.items()}
    nodes = {
        "Coinbase": pa.table({"id": ["coinbase"]}),
        "Script": con.sql("""
            SELECT script_id AS id, min(height) AS first_height FROM (
                SELECT script_id, height FROM outputs UNION ALL SELECT script_id, height FROM spent)
            GROUP BY script_id ORDER BY id""").to_arrow_table(),
        "Tx": con.sql("SELECT txid AS id, height FROM txs ORDER BY height, position")
        .to_arrow_table(),
        "Block": con.sql("SELECT height AS id, hash, time FROM blocks ORDER BY height")
        .to_arrow_table(),
    }
    con.close()
    return BitcoinGraph(nodes=nodes, edges=edge_tables)
