"""Samples of the heterogeneous Bitcoin graph: Forest Fire and rooted community sampling.

Both work on a :class:`GraphIndex`: one global numbering of every node of every type and CSR
adjacency (out- and in-edges, every edge type), built once. After that, a sample's cost grows
with the sample, not with the graph: burning a node reads only its own adjacency ranges, and
the induced edges are gathered from the sampled nodes' out-ranges.

* :func:`forest_fire` (Leskovec & Faloutsos, KDD 2006, "Sampling from large graphs"): from a
  random seed node, burn x out-neighbours and y in-neighbours not yet burned, x and y geometric
  with means p/(1-p) and rp/(1-rp) (``forward`` p, ``backward_ratio`` r), and recurse; when the
  fire dies, restart from a new random node, until ``size`` nodes are burned.
* :func:`forest_fire_in_database`: the same fire over a ladybug database
  (:mod:`.graph_database`), one Cypher neighbour query per burned node, so nothing is indexed up
  front and the cost is per burned node; :meth:`.graph_database.LadybugGraphDatabase.subgraph`
  returns the sample's tables.
* :func:`rooted_sample`: from given roots, expand ``max_hops`` hops over in- and out-edges,
  keeping at hop h a seeded share ``shrink ** (h - 1)`` of the new frontier (at least one node),
  for the k-hop community of labelled addresses.

:func:`subgraph` returns the sample as a :class:`.graph.BitcoinGraph` (node and edge tables of
the sampled rows), which :mod:`.export` writes as TSV and :func:`to_hetero_data` turns into a
PyG ``HeteroData``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from libraries.graph_etl.errors import GraphConfigError
from libraries.graph_etl.export import EDGE_HEADERS
from libraries.graph_etl.graph import BitcoinGraph


@dataclass
class _Csr:
    indptr: np.ndarray
    neighbours: np.ndarray
    edge_type: np.ndarray
    edge_row: np.ndarray

    def ranges(self, nodes: np.ndarray) -> np.ndarray:
        """Positions into ``neighbours`` of every edge of ``nodes`` (vectorised)."""
        starts, ends = self.indptr[nodes], self.indptr[nodes + 1]
        counts = ends - starts
        if counts.sum() == 0:
            return np.empty(0, dtype=np.int64)
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
        return offsets + np.arange(counts.sum())


class GraphIndex:
    """Global node ids over all node types and CSR adjacency over all edge types."""

    def __init__(self, graph: BitcoinGraph) -> None:
        self.graph = graph
        self.node_types = list(graph.nodes)
        self.offsets, self.ids, total = {}, {}, 0
        for kind in self.node_types:
            ids = pd.Index(graph.nodes[kind]["id"].to_pandas().astype(str))
            self.offsets[kind], self.ids[kind] = total, ids
            total += len(ids)
        self.size = total
        self.edge_types = [k for k in graph.edges if graph.edges[k].num_rows]
        sources, targets, types, rows = [], [], [], []
        for code, kind in enumerate(self.edge_types):
            src_type, dst_type, _ = EDGE_HEADERS[kind]
            table = graph.edges[kind]
            sources.append(self._global(src_type, table["src"]))
            targets.append(self._global(dst_type, table["dst"]))
            types.append(np.full(table.num_rows, code, dtype=np.int16))
            rows.append(np.arange(table.num_rows, dtype=np.int64))
        empty = [np.empty(0, dtype=np.int64)]
        self.src = np.concatenate(sources or empty)
        self.dst = np.concatenate(targets or empty)
        self.type = np.concatenate(types or [np.empty(0, dtype=np.int16)])
        self.row = np.concatenate(rows or empty)
        self.out = self._csr(self.src, self.dst)
        self.inc = self._csr(self.dst, self.src)

    def _global(self, kind: str, column: pa.ChunkedArray) -> np.ndarray:
        positions = self.ids[kind].get_indexer(column.to_pandas().astype(str))
        if (positions < 0).any():
            raise GraphConfigError(f"graph: an edge refers to a {kind} node that is not in the "
                                   f"node table (e.g. {column[int(np.argmin(positions))]})")
        return positions.astype(np.int64) + self.offsets[kind]

    def _csr(self, keys: np.ndarray, values: np.ndarray) -> _Csr:
        order = np.argsort(keys, kind="stable")
        indptr = np.zeros(self.size + 1, dtype=np.int64)
        np.add.at(indptr, keys + 1, 1)
        return _Csr(np.cumsum(indptr), values[order], self.type[order], self.row[order])

    def node(self, kind: str, node_id: str) -> int:
        position = self.ids[kind].get_indexer([str(node_id)])[0]
        if position < 0:
            raise GraphConfigError(f"graph: no {kind} node '{node_id}'")
        return int(position + self.offsets[kind])


def _check_burning(forward: float, backward_ratio: float) -> None:
    if not 0 < forward < 1 or not 0 <= backward_ratio * forward < 1:
        raise GraphConfigError(f"forest fire: need 0 < forward < 1 and 0 <= forward x "
                               f"backward_ratio < 1 (got {forward}, {backward_ratio})")


def _burn_counts(rng: np.random.Generator, forward: float,
                 backward_ratio: float) -> Iterator[tuple[str, int]]:
    """How many out-, then in-neighbours to burn: geometric, means p/(1-p) and rp/(1-rp).

    Lazy, so each count is drawn after the previous direction has burned (a fixed draw order).
    """
    yield "out", int(rng.geometric(1 - forward)) - 1
    yield "in", int(rng.geometric(1 - forward * backward_ratio)) - 1


def forest_fire(index: GraphIndex, size: int, forward: float = 0.7,
                backward_ratio: float = 0.3, seed: int = 0) -> np.ndarray:
    """Global ids of ``size`` nodes burned by Forest Fire (sorted)."""
    _check_burning(forward, backward_ratio)
    size = min(int(size), index.size)
    rng = np.random.default_rng(seed)
    burned = np.zeros(index.size, dtype=bool)
    count = 0
    adjacency = {"out": index.out, "in": index.inc}
    while count < size:
        start = int(rng.integers(index.size))
        if burned[start]:
            continue
        burned[start], count = True, count + 1
        queue = deque([start])
        while queue and count < size:
            node = queue.popleft()
            for direction, wanted in _burn_counts(rng, forward, backward_ratio):
                if wanted == 0:
                    continue
                csr = adjacency[direction]
                candidates = csr.neighbours[csr.indptr[node]:csr.indptr[node + 1]]
                candidates = np.unique(candidates[~burned[candidates]])
                if len(candidates) == 0:
                    continue
                chosen = rng.choice(candidates, size=min(wanted, len(candidates), size - count),
                                    replace=False)
                burned[chosen] = True
                count += len(chosen)
                queue.extend(int(c) for c in chosen)
                if count >= size:
                    break
    return np.flatnonzero(burned)


def forest_fire_in_database(database, size: int, forward: float = 0.7,
                            backward_ratio: float = 0.3, seed: int = 0) -> set[tuple[str, str]]:
    """(label, id) of ``size`` nodes burned by Forest Fire in a graph database."""
    _check_burning(forward, backward_ratio)
    rng = np.random.default_rng(seed)
    counts = {kind: n for kind, n in database.counts().items()
              if kind in ("Coinbase", "Script", "Tx", "Block") and n}
    kinds, weights = list(counts), np.array(list(counts.values()), dtype=float)
    size = min(int(size), int(weights.sum()))
    burned: set[tuple[str, str]] = set()
    while len(burned) < size:
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        start = (kind, database.node_at(kind, int(rng.integers(counts[kind]))))
        if start in burned:
            continue
        burned.add(start)
        queue = deque([start])
        while queue and len(burned) < size:
            node = queue.popleft()
            for direction, wanted in _burn_counts(rng, forward, backward_ratio):
                if wanted == 0:
                    continue
                candidates = sorted(set(database.neighbours(*node, direction)) - burned)
                if not candidates:
                    continue
                picks = rng.choice(len(candidates), size=min(wanted, len(candidates),
                                                             size - len(burned)), replace=False)
                chosen = [candidates[i] for i in picks]
                burned.update(chosen)
                queue.extend(chosen)
                if len(burned) >= size:
                    break
    return burned


def rooted_sample(index: GraphIndex, roots: list[int], max_hops: int = 2, shrink: float = 0.5,
                  seed: int = 0) -> np.ndarray:
    """Global ids of the roots and their sampled ``max_hops``-hop neighbourhood (sorted)."""
    if max_hops < 0 or not 0 < shrink <= 1:
        raise GraphConfigError(f"rooted sample: need max_hops >= 0 and 0 < shrink <= 1 "
                               f"(got {max_hops}, {shrink})")
    rng = np.random.default_rng(seed)
    visited = np.zeros(index.size, dtype=bool)
    frontier = np.unique(np.asarray(roots, dtype=np.int64))
    visited[frontier] = True
    for hop in range(1, max_hops + 1):
        reached = np.concatenate([csr.neighbours[csr.ranges(frontier)]
                                  for csr in (index.out, index.inc)])
        fresh = np.unique(reached[~visited[reached]])
        if len(fresh) == 0:
            break
        keep = max(1, int(np.ceil(len(fresh) * shrink ** (hop - 1))))
        frontier = np.sort(rng.choice(fresh, size=min(keep, len(fresh)), replace=False))
        visited[frontier] = True
    return np.flatnonzero(visited)


def subgraph(index: GraphIndex, nodes: np.ndarray) -> BitcoinGraph:
    """The sampled nodes and every edge between two of them, as node and edge tables."""
    member = np.zeros(index.size, dtype=bool)
    member[nodes] = True
    positions = index.out.ranges(np.asarray(nodes, dtype=np.int64))
    inside = positions[member[index.out.neighbours[positions]]]
    edges = {}
    for code, kind in enumerate(index.edge_types):
        rows = np.sort(index.out.edge_row[inside][index.out.edge_type[inside] == code])
        edges[kind] = index.graph.edges[kind].take(pa.array(rows, pa.int64()))
    for kind, table in index.graph.edges.items():
        edges.setdefault(kind, table.slice(0, 0))
    node_tables = {}
    for kind in index.node_types:
        start = index.offsets[kind]
        local = nodes[(nodes >= start) & (nodes < start + len(index.ids[kind]))] - start
        node_tables[kind] = index.graph.nodes[kind].take(pa.array(local, pa.int64()))
    return BitcoinGraph(nodes=node_tables, edges=edges)


def to_hetero_data(graph: BitcoinGraph):  # -> torch_geometric.data.HeteroData
    """PyG ``HeteroData``: node ids kept as ``ids``, edges with ``height`` and ``value``."""
    import torch
    from torch_geometric.data import HeteroData

    data = HeteroData()
    positions = {}
    for kind, table in graph.nodes.items():
        ids = pd.Index(table["id"].to_pandas().astype(str))
        positions[kind] = ids
        data[kind].num_nodes = len(ids)
        data[kind].ids = ids.tolist()
        for column in table.column_names:
            if column != "id" and pa.types.is_integer(table.schema.field(column).type):
                data[kind][column] = torch.tensor(table[column].to_numpy(), dtype=torch.long)
    for kind, table in graph.edges.items():
        src_type, dst_type, _ = EDGE_HEADERS[kind]
        src = positions[src_type].get_indexer(table["src"].to_pandas().astype(str))
        dst = positions[dst_type].get_indexer(table["dst"].to_pandas().astype(str))
        store = data[src_type, kind, dst_type]
        store.edge_index = torch.as_tensor(np.vstack([src, dst]), dtype=torch.long)
        store.height = torch.tensor(table["height"].to_numpy(), dtype=torch.long)
        if "value" in table.column_names:
            store.value = torch.tensor(table["value"].to_numpy(), dtype=torch.long)
    return data
