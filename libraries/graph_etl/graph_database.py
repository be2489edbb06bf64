"""The graph in an embedded graph database: ladybug (the maintained fork of Kùzu), Cypher.

Node and rel tables follow the EBA model (:mod:`.graph`); each is bulk-loaded with ``COPY FROM``
a Parquet file (written to a temporary folder beside the database), never row by row. A loaded
database answers Cypher, and ``QueryResult.get_as_torch_geometric()`` turns a query's subgraph
into PyG data. Loading goes into a new database folder; to add blocks, build the store
incrementally (:mod:`.store`) and load its graph into a fresh database.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from libraries.graph_etl.errors import GraphDataError
from libraries.graph_etl.export import EDGE_HEADERS
from libraries.graph_etl.graph import BitcoinGraph

NODE_TABLES = {
    "Coinbase": "id STRING, PRIMARY KEY(id)",
    "Script": "id STRING, first_height INT64, PRIMARY KEY(id)",
    "Tx": "id STRING, height INT64, PRIMARY KEY(id)",
    "Block": "id INT64, hash STRING, time INT64, PRIMARY KEY(id)",
}


def _rel_schema(kind: str) -> str:
    src, dst, valued = EDGE_HEADERS[kind]
    return f"FROM {src} TO {dst}, height INT64" + (", value INT64" if valued else "")


class LadybugGraphDatabase:
    def __init__(self, path: Path) -> None:
        import ladybug

        self.path = Path(path)
        self.database = ladybug.Database(str(self.path))
        self.connection = ladybug.Connection(self.database)

    @classmethod
    def create(cls, graph: BitcoinGraph, path: Path) -> LadybugGraphDatabase:
        """A new database at ``path`` holding ``graph``, bulk-loaded with COPY FROM Parquet."""
        path = Path(path)
        if path.exists():
            raise GraphDataError(f"graph database {path} already exists; choose a new path")
        database = cls(path)
        staging = Path(tempfile.mkdtemp(prefix=".copy-", dir=path.parent))
        try:
            for kind, columns in NODE_TABLES.items():
                database.connection.execute(f"CREATE NODE TABLE {kind}({columns})")
                database._copy(kind, graph.nodes[kind], staging)
            for kind in EDGE_HEADERS:
                database.connection.execute(f"CREATE REL TABLE {kind}({_rel_schema(kind)})")
                database._copy(kind, graph.edges[kind], staging)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return database

    def _copy(self, kind: str, table: pa.Table, staging: Path) -> None:
        if table.num_rows == 0:
            return
        file = staging / f"{kind}.parquet"
        pq.write_table(table, file)
        self.connection.execute(f"COPY {kind} FROM '{file.as_posix()}'")

    def query(self, cypher: str, parameters: dict | None = None) -> pa.Table:
        result = self.connection.execute(cypher, parameters or {})
        return result.get_as_arrow()

    def _key(self, kind: str, node_id: str) -> str | int:
        return int(node_id) if kind == "Block" else str(node_id)

    def neighbours(self, kind: str, node_id: str, direction: str) -> list[tuple[str, str]]:
        """(label, id) of the nodes one edge away (``out`` or ``in``), each once."""
        pattern = "-[e]->" if direction == "out" else "<-[e]-"
        rows = self.query(f"MATCH (a:{kind} {{id: $id}}){pattern}(b) "
                          "RETURN DISTINCT label(b) AS kind, CAST(b.id AS STRING) AS id",
                          {"id": self._key(kind, node_id)})
        return [(r["kind"], r["id"]) for r in rows.to_pylist()]

    def node_at(self, kind: str, position: int) -> str:
        """The id of the ``position``-th node of a table (storage order)."""
        rows = self.query(f"MATCH (n:{kind}) RETURN CAST(n.id AS STRING) AS id "
                          f"SKIP {int(position)} LIMIT 1")
        return rows["id"][0].as_py()

    def subgraph(self, nodes: set[tuple[str, str]]) -> BitcoinGraph:
        """The given nodes and the edges between them, as node and edge tables."""
        by_kind: dict[str, list] = {kind: [] for kind in NODE_TABLES}
        for kind, node_id in nodes:
            by_kind[kind].append(self._key(kind, node_id))
        node_tables = {kind: self.query(f"MATCH (n:{kind}) WHERE n.id IN $ids RETURN n.* "
                                        f"ORDER BY n.id", {"ids": ids})
                       for kind, ids in by_kind.items()}
        node_tables = {kind: table.rename_columns([c.split(".", 1)[-1] for c in table.column_names])
                       for kind, table in node_tables.items()}
        edges = {}
        for kind, (src, dst, valued) in EDGE_HEADERS.items():
            value = ", e.value AS value" if valued else ""
            edges[kind] = self.query(
                f"MATCH (a:{src})-[e:{kind}]->(b:{dst}) WHERE a.id IN $src AND b.id IN $dst "
                f"RETURN a.id AS src, b.id AS dst, e.height AS height{value} "
                f"ORDER BY src, dst, height", {"src": by_kind[src], "dst": by_kind[dst]})
        return BitcoinGraph(nodes=node_tables, edges=edges)

    def counts(self) -> dict[str, int]:
        counts = {kind: self.query(f"MATCH (n:{kind}) RETURN count(*) AS n")["n"][0].as_py()
                  for kind in NODE_TABLES}
        for kind in EDGE_HEADERS:
            src, dst, _ = EDGE_HEADERS[kind]
            counts[kind] = self.query(f"MATCH (:{src})-[e:{kind}]->(:{dst}) RETURN count(*) AS n"
                                      )["n"][0].as_py()
        return counts
