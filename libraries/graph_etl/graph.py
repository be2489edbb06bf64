"""The temporal heterogeneous Bitcoin graph (EBA v1 model): the model, and its SQL engines.

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

Input resolution is a join of every input with the outputs of the loaded blocks and of an
optional UTXO table (outputs created before the first loaded block): the UTXO set never lives
in a Python dict. An input that resolves nowhere is an error naming it.

Three engines compute the model and give identical tables (tests compare them):

* in memory (the default, :mod:`.columnar`): numpy and compiled loops over integer script
  codes; about 3.5 times DuckDB's speed on a block, because a one-block batch spent most of its
  time in DuckDB's fixed cost per statement and in hashing strings;
* :class:`DuckDBEngine` runs the stages below as SQL on one machine and spills to disk when a
  batch outgrows memory;
* Apache Spark (:mod:`.spark_engine`) runs the same SQL for chains that do not fit one machine.

Value arithmetic is done in IEEE double in all three, in the same order of operations. Inside
one batch the SQL stages join transactions on the tables' integer ``tx`` numbers rather than
64-character txids; ``Tx`` and ``Block`` nodes and ``Confirms`` edges are columns of the input
tables and need no engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from libraries.graph_etl import strings
from libraries.graph_etl.columnar import Resolution, build_columnar
from libraries.graph_etl.errors import GraphDataError
from libraries.graph_etl.tables import SCHEMAS, BlockTables

NODE_TYPES = ("Coinbase", "Script", "Tx", "Block")
EDGE_TYPES = ("Mints", "Transfers", "Fee", "Redeems", "Confirms", "Credits")


@dataclass
class BitcoinGraph:
    nodes: dict[str, pa.Table]
    edges: dict[str, pa.Table]

    def counts(self) -> dict[str, int]:
        return {**{k: v.num_rows for k, v in self.nodes.items()},
                **{k: v.num_rows for k, v in self.edges.items()}}


class SqlEngine(Protocol):
    """What the ETL needs from a SQL engine: tables in, SQL stages, Arrow tables out."""

    def register(self, name: str, table: pa.Table) -> None: ...

    def materialize(self, name: str, query: str) -> None: ...

    def query(self, query: str) -> pa.Table: ...


class DuckDBEngine:
    """In-process DuckDB. One engine can serve many ``build_graph`` calls (stage tables are
    replaced), which saves the connection's start-up when blocks arrive one batch at a time;
    ``threads`` caps DuckDB's worker threads (1 = one core)."""

    def __init__(self, memory_limit: str = "2GB", temp_directory: str | None = None,
                 threads: int | None = None) -> None:
        self.con = duckdb.connect()
        self.con.execute(f"SET memory_limit='{memory_limit}'")
        # Results are sorted after every query (engines differ in row order anyway), so DuckDB
        # need not keep insertion order, which lets it skip work on every stage.
        self.con.execute("SET preserve_insertion_order=false")
        if temp_directory:
            self.con.execute(f"SET temp_directory='{temp_directory}'")
        if threads:
            self.con.execute(f"SET threads={int(threads)}")

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def materialize(self, name: str, query: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")

    def query(self, query: str) -> pa.Table:
        return self.con.sql(query).to_arrow_table()

    def close(self) -> None:
        self.con.close()


STAGES = {
    "tx_in": """
        SELECT i.tx, i.height, COALESCE(o.script_id, p.script_id) AS script_id,
               sum(COALESCE(o.value, p.value)) AS value
        FROM inputs i
        LEFT JOIN outputs o ON o.txid = i.prev_txid AND o.vout = i.prev_vout
        LEFT JOIN prior p ON p.txid = i.prev_txid AND p.vout = i.prev_vout
        GROUP BY ALL""",
    "tx_out": """
        SELECT tx, height, script_id, sum(value) AS value, bool_or(coinbase) AS coinbase
        FROM outputs GROUP BY tx, height, script_id""",
    "fees": """
        SELECT tx, height, sum(value_in) AS total_in, sum(value_out) AS total_out,
               sum(value_in) - sum(value_out) AS fee,
               sum(script_in) > {max_inputs} AND sum(script_out) > {max_outputs} AS excluded
        FROM (SELECT tx, height, value AS value_in, 0 AS value_out, 1 AS script_in,
                     0 AS script_out FROM tx_in
              UNION ALL
              SELECT tx, height, 0, value, 0, 1 FROM tx_out WHERE NOT coinbase) sides
        GROUP BY tx, height""",
    "miners": """
        SELECT height, script_id, value, sum(value) OVER (PARTITION BY height) AS coinbase_total
        FROM tx_out WHERE coinbase""",
}
# An input that resolves nowhere leaves a tx_in row with a NULL value (its script is NULL too,
# so it is never summed with resolved inputs); a negative fee is a tx paying out more than it
# spends. Both are checked in one query before any edge is built.
CHECKS = """
    SELECT (SELECT count(*) FROM tx_in WHERE value IS NULL) AS unresolved,
           (SELECT min(tx) FROM fees WHERE fee < 0) AS negative_fee"""
UNRESOLVED = """
    SELECT i.txid, i.n, i.prev_txid, i.prev_vout FROM inputs i
    LEFT JOIN outputs o ON o.txid = i.prev_txid AND o.vout = i.prev_vout
    LEFT JOIN prior p ON p.txid = i.prev_txid AND p.vout = i.prev_vout
    WHERE o.value IS NULL AND p.value IS NULL"""
EDGES = {
    "Mints": """
        SELECT 'coinbase' AS src, m.script_id AS dst, m.height,
               CAST(round(CAST(m.coinbase_total - coalesce(f.fees, 0) AS DOUBLE) * m.value
                          / m.coinbase_total) AS BIGINT) AS value
        FROM miners m
        LEFT JOIN (SELECT height, sum(fee) AS fees FROM fees GROUP BY height) f
            ON f.height = m.height
        WHERE m.coinbase_total > 0""",
    "Transfers": """
        SELECT i.script_id AS src, o.script_id AS dst, i.height,
               CAST(sum(round(CAST(o.value AS DOUBLE)
                              * (i.value - CAST(f.fee AS DOUBLE) * i.value / f.total_in)
                              / f.total_out)) AS BIGINT) AS value
        FROM tx_in i JOIN fees f ON f.tx = i.tx JOIN tx_out o ON o.tx = i.tx
        WHERE NOT f.excluded AND f.total_out > 0 AND f.total_in > 0
        GROUP BY i.script_id, o.script_id, i.height""",
    "Fee": """
        SELECT i.script_id AS src, m.script_id AS dst, i.height,
               CAST(sum(round(CAST(f.fee AS DOUBLE) * i.value / f.total_in * m.value
                              / m.coinbase_total)) AS BIGINT) AS value
        FROM tx_in i JOIN fees f ON f.tx = i.tx JOIN miners m ON m.height = i.height
        WHERE NOT f.excluded AND f.fee > 0 AND m.coinbase_total > 0
        GROUP BY i.script_id, m.script_id, i.height""",
    "Redeems": """
        SELECT script_id AS src, height AS dst, height, CAST(sum(value) AS BIGINT) AS value
        FROM tx_in GROUP BY script_id, height""",
    "Credits": """
        SELECT height AS src, script_id AS dst, height, CAST(sum(value) AS BIGINT) AS value
        FROM tx_out WHERE NOT coinbase GROUP BY height, script_id""",
}
NODES = {  # Tx and Block nodes and Confirms edges are columns of the input tables
    "Script": """
        SELECT script_id AS id, min(height) AS first_height FROM (
            SELECT script_id, height FROM outputs UNION ALL SELECT script_id, height FROM tx_in) u
        GROUP BY script_id""",
}


def _sorted(table: pa.Table, keys: list[str]) -> pa.Table:
    """Rows in a fixed order whatever the engine (engines return joins in any order)."""
    return table.sort_by([(k, "ascending") for k in keys])


def build_graph(tables: BlockTables, utxos: pa.Table | None = None, max_inputs: int = 20,
                max_outputs: int = 20, engine: SqlEngine | None = None,
                resolution: Resolution | None = None) -> BitcoinGraph:
    """Resolve inputs and build every node and edge table of the loaded blocks.

    ``engine``: None computes the graph in memory (:mod:`.columnar`, compiled loops over
    integer codes: the fast path for batches that fit in memory, which a store's appends do);
    a SQL engine runs the same model as SQL stages: :class:`DuckDBEngine` (spills to disk past
    its memory limit) or :class:`.spark_engine.SparkEngine` (a cluster). All give identical
    tables. ``resolution``: :func:`.columnar.resolve` of these tables and ``utxos``, when the
    caller has it (the in-memory engine then skips resolving; SQL engines resolve in SQL).
    """
    if engine is None:
        edges, scripts = build_columnar(tables, _prior(utxos), max_inputs, max_outputs,
                                        resolution)
        return _assemble(tables, edges, scripts)
    return _build(tables, utxos, max_inputs, max_outputs, engine)


def _prior(utxos: pa.Table | None) -> pa.Table:
    return (utxos.select(["txid", "vout", "script_id", "value"]) if utxos is not None
            else SCHEMAS["utxos"].empty_table())


def _build(tables: BlockTables, utxos: pa.Table | None, max_inputs: int, max_outputs: int,
           engine: SqlEngine) -> BitcoinGraph:
    engine.register("inputs", tables.inputs)
    engine.register("outputs", tables.outputs)
    engine.register("prior", _prior(utxos))
    for name, query in STAGES.items():
        engine.materialize(name, query.format(max_inputs=int(max_inputs),
                                              max_outputs=int(max_outputs)))
    unresolved, negative_fee = engine.query(CHECKS).to_pylist()[0].values()
    if unresolved:
        count = engine.query(f"SELECT count(*) AS n FROM ({UNRESOLVED}) u")["n"][0].as_py()
        example = engine.query(UNRESOLVED + " LIMIT 1").to_pylist()[0]
        raise GraphDataError(f"{count} inputs do not resolve, e.g. input "
                             f"{example['n']} of tx {example['txid']} spends {example['prev_txid']}:"
                             f"{example['prev_vout']}, which is neither an output of the loaded blocks "
                             f"nor in the UTXO table")
    txs = tables.transactions
    if negative_fee is not None:
        txid = txs.filter(pc.equal(txs["tx"], negative_fee))["txid"][0].as_py()
        raise GraphDataError(f"tx {txid} spends less than it pays out (negative fee)")
    edges = {name: _sorted(_typed(engine.query(query)), ["src", "dst", "height"])
             for name, query in EDGES.items()}
    return _assemble(tables, edges, _sorted(_typed(engine.query(NODES["Script"])), ["id"]))


def _assemble(tables: BlockTables, edges: dict[str, pa.Table], scripts: pa.Table) -> BitcoinGraph:
    """The graph from the computed edges and Script nodes, and the tables' own columns: Tx and
    Block nodes and Confirms edges."""
    txs = tables.transactions
    edges = dict(edges)
    height = txs["height"].to_numpy()
    by_txid = strings.sort_order(txs["txid"], "transactions: txid")
    confirms = by_txid[np.argsort(height[by_txid], kind="stable")]  # by height, then txid
    edges["Confirms"] = pa.table({"src": txs["height"], "dst": txs["txid"],
                                  "height": txs["height"]}).take(pa.array(confirms))
    transactions = pa.table({"id": txs["txid"], "height": txs["height"]})
    key = height * (1 << 32) + txs["position"].to_numpy()  # tables hold blocks in chain order
    if len(key) and np.any(key[1:] < key[:-1]):
        transactions = transactions.take(pa.array(np.argsort(key, kind="stable")))
    nodes = {"Coinbase": pa.table({"id": ["coinbase"]}),
             "Script": scripts,
             "Tx": transactions,
             "Block": _sorted(tables.blocks.select(["height", "hash", "time"])
                              .rename_columns(["id", "hash", "time"]), ["id"])}
    return BitcoinGraph(nodes=nodes, edges={name: edges[name] for name in EDGE_TYPES})


def _typed(table: pa.Table) -> pa.Table:
    """One Arrow type per column whatever the engine: integers as int64, text as string."""
    fields = []
    for field in table.schema:
        if pa.types.is_integer(field.type) or pa.types.is_decimal(field.type):
            fields.append(pa.field(field.name, pa.int64()))
        elif pa.types.is_large_string(field.type) or pa.types.is_string(field.type):
            fields.append(pa.field(field.name, pa.string()))
        else:
            fields.append(field)
    return table.cast(pa.schema(fields))
