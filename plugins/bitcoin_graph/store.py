"""A graph on disk that grows block by block: Parquet parts, a UTXO set, and the chain tip.

``GraphStore.append(tables)`` adds the graph of blocks that extend the stored tip:

* blocks at or below the tip whose hash matches the stored chain are skipped, so re-running
  an import is a no-op;
* a block whose parent is not the stored tip is a re-org (or a gap) and is **refused** with a
  clear error naming both hashes; rolling back is left to a rebuild from the fork point (this
  store does not keep undo data);
* inputs resolve against the stored UTXO set (Parquet, joined in DuckDB), which is then
  updated: spent outputs removed, new outputs added.

Every file is written to a temporary name and renamed, and ``state.json`` (tip and parts) is
written last, so an interrupted append leaves the previous state intact.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from framework.errors import DataError
from framework.results import atomic_output, write_atomic
from plugins.bitcoin_graph.graph import EDGE_TYPES, NODE_TYPES, BitcoinGraph, build_graph
from plugins.bitcoin_graph.tables import SCHEMAS, BlockTables

UTXO_COLUMNS = ("txid", "vout", "script_id", "value")


def _write_parquet(table: pa.Table, path: Path) -> None:
    with atomic_output(path) as tmp:
        pq.write_table(table, tmp)


class GraphStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.state_path = self.root / "state.json"

    def state(self) -> dict:
        if not self.state_path.is_file():
            return {"tip_height": None, "tip_hash": None, "hashes": {}, "parts": []}
        return json.loads(self.state_path.read_text())

    def utxos(self) -> pa.Table | None:
        path = self.root / "utxo.parquet"
        return pq.read_table(path) if path.is_file() else None

    def append(self, tables: BlockTables, prevouts: pa.Table | None = None,
               **graph_options) -> dict[str, int]:
        """Add the blocks that extend the stored tip. ``prevouts``: outputs the blocks spend
        that the store has not seen (Core JSON verbosity 3 carries them), used to resolve."""
        state = self.state()
        blocks = tables.blocks.to_pylist()
        known = state["hashes"]
        new = [b for b in blocks if known.get(str(b["height"])) != b["hash"]]
        for block in new:
            if state["tip_height"] is not None and block["height"] <= state["tip_height"]:
                raise DataError(
                    f"block {block['hash']} at height {block['height']} conflicts with the "
                    f"stored block {known.get(str(block['height']))} (a re-org): refused; "
                    f"rebuild the graph from below height {block['height']}")
        if not new:
            return {"blocks_added": 0}
        expected = state["tip_hash"]
        for block in new:
            if expected is not None and block["previous"] != expected:
                raise DataError(f"block {block['hash']} (height {block['height']}) does not "
                                f"extend the stored tip {expected}: its parent is "
                                f"{block['previous']}; refused (re-org or missing blocks)")
            expected = block["hash"]
        heights = {b["height"] for b in new}
        tables = _only_heights(tables, heights)
        graph = build_graph(tables, self._prior(prevouts), **graph_options)
        first, last = min(heights), max(heights)
        part = self.root / "parts" / f"{first:09d}-{last:09d}"
        part.mkdir(parents=True, exist_ok=True)
        for name, table in {**graph.nodes, **graph.edges}.items():
            _write_parquet(table, part / f"{name}.parquet")
        _write_parquet(self._next_utxos(tables), self.root / "utxo.parquet")
        state["parts"].append(part.name)
        state["hashes"].update({str(b["height"]): b["hash"] for b in new})
        state["tip_height"], state["tip_hash"] = last, expected
        write_atomic(self.state_path, json.dumps(state))
        return {"blocks_added": len(new), **graph.counts()}

    def _prior(self, prevouts: pa.Table | None) -> pa.Table | None:
        """The stored UTXO set, plus ``prevouts`` it lacks (one row per outpoint)."""
        stored = self.utxos()
        if prevouts is None:
            return stored
        if stored is None:
            stored = prevouts.slice(0, 0)
        con = duckdb.connect()
        con.register("stored", stored.select(list(UTXO_COLUMNS)))
        con.register("prevouts", prevouts.select(list(UTXO_COLUMNS)))
        return con.sql("""
            SELECT * FROM stored UNION ALL
            SELECT p.* FROM prevouts p ANTI JOIN stored s ON s.txid = p.txid AND s.vout = p.vout
            QUALIFY row_number() OVER (PARTITION BY txid, vout) = 1""").to_arrow_table()

    def _next_utxos(self, tables: BlockTables) -> pa.Table:
        con = duckdb.connect()
        prior = self.utxos()
        con.register("prior", prior if prior is not None else SCHEMAS["utxos"].empty_table())
        con.register("outputs", tables.outputs)
        con.register("inputs", tables.inputs)
        return con.sql("""
            SELECT u.* FROM (
                SELECT txid, vout::BIGINT AS vout, script_id, value::BIGINT AS value FROM prior
                UNION ALL
                SELECT txid, vout::BIGINT, script_id, value::BIGINT FROM outputs) u
            ANTI JOIN inputs i ON i.prev_txid = u.txid AND i.prev_vout = u.vout
            ORDER BY txid, vout""").to_arrow_table()

    def read(self) -> BitcoinGraph:
        """The whole stored graph: parts concatenated, Script nodes merged (first height)."""
        parts = [self.root / "parts" / p for p in self.state()["parts"]]
        if not parts:
            raise DataError(f"{self.root}: no graph stored yet")
        con = duckdb.connect()
        tables = {}
        for name in (*NODE_TYPES, *EDGE_TYPES):
            files = [str(p / f"{name}.parquet") for p in parts]
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({files!r})")
        nodes = {"Coinbase": con.sql("SELECT DISTINCT id FROM Coinbase").to_arrow_table(),
                 "Script": con.sql("SELECT id, min(first_height) AS first_height FROM Script "
                                   "GROUP BY id ORDER BY id").to_arrow_table(),
                 "Tx": con.sql("SELECT * FROM Tx ORDER BY height, id").to_arrow_table(),
                 "Block": con.sql("SELECT * FROM Block ORDER BY id").to_arrow_table()}
        for name in EDGE_TYPES:
            tables[name] = con.sql(f"SELECT * FROM {name} ORDER BY ALL").to_arrow_table()
        return BitcoinGraph(nodes=nodes, edges=tables)

    def clear(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _only_heights(tables: BlockTables, heights: set[int]) -> BlockTables:
    import pyarrow.compute as pc

    keep = pa.array(sorted(heights))
    pick = lambda t: t.filter(pc.is_in(t["height"], value_set=keep))  # noqa: E731
    return BlockTables(pick(tables.blocks), pick(tables.transactions), pick(tables.inputs),
                       pick(tables.outputs))
