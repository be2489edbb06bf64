"""``txgraph``: ShadowEyes' TxGraph representation, account attributes + GAE structure.

A graph autoencoder whose encoder is two GAT layers (PyG ``GATConv``) learns a structural
embedding ``h`` of every account from the account graph: the adjacency is decoded by an inner
product trained with negative sampling (PyG ``GAE.recon_loss``) and the node features by a
linear decoder trained with mean squared error. The representation handed to models is
``concat(x, h)``, with ``x`` the raw attributes (the shared preprocessing normalises both).

**Which graph.** The dataset's :class:`~framework.data.InteractionGraph` (rows *and* every
counterparty they dealt with) whenever it has one; a dataset that only links its rows
(``edge_index``) gives a graph over the rows. ``graph=auto`` picks the dataset's graph whenever
there is one and otherwise a k-nearest-neighbour graph over the normalised attributes;
``graph=interaction`` insists on the dataset's graph, ``graph=knn`` on the kNN graph. The result
records which was used, with node and edge counts: a study must never again run on the kNN
fallback without saying so.

**Node features.** Row nodes carry their normalised attributes; counterparties have none (zeros,
the attributes' mean after normalisation) and an ``is_row`` flag of 0. Every node also carries
what the graph alone says of it (log in/out degree and, where the edges carry them, log in/out
transfer counts and values), computed on the graph the node is embedded in.

**Inductive.** The GAE is fitted on the *fit graph*: every node except the rows outside the fit
rows (test rows, zero-shot held-out rows), minus the counterparties that are then isolated. Fit
rows are always embedded on that same fit graph, so adding, removing or changing test rows
changes no training-row embedding (a test proves it bit for bit). Other rows are embedded on the
fit graph plus the edges that point *into* nodes outside it: they receive messages from the fit
graph (and from each other), while no fit node receives a message from them. For the kNN
graph, other rows receive edges from their k nearest fit rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import GAE, GATConv
from torch_geometric.utils import coalesce, to_undirected

from framework.data import AccountData, InteractionGraph
from framework.errors import ConfigError
from framework.hookspecs import hookimpl
from framework.progress import progress

GRAPH_CHOICES = ("auto", "interaction", "knn")


class GATEncoder(nn.Module):
    def __init__(self, in_dim: int, hidden: int, out_dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.first = GATConv(in_dim, hidden, heads=heads, dropout=dropout)
        self.second = GATConv(hidden * heads, out_dim, heads=1, dropout=dropout)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = nn.functional.elu(self.first(x, edge_index))
        x = nn.functional.dropout(x, p=self.dropout, training=self.training)
        return self.second(x, edge_index)


@dataclass(frozen=True)
class _Graph:
    """The graph TxGraph learns on, over node positions; rows know their node."""

    num_nodes: int
    row_nodes: np.ndarray
    edges: np.ndarray          # (2, E) directed, no self loops
    counts: np.ndarray | None  # per edge, or None
    values: np.ndarray | None  # per edge, or None
    kind: str


def _dataset_graph(data: AccountData) -> _Graph | None:
    graph: InteractionGraph | None = data.graph
    if graph is not None:
        names = list(graph.edge_attr_names)
        column = {name: graph.edge_attr[:, names.index(name)] for name in ("count", "value")
                  if name in names}
        edges, keep = graph.edge_index, graph.edge_index[0] != graph.edge_index[1]
        return _Graph(graph.num_nodes, graph.row_nodes, edges[:, keep],
                      column["count"][keep] if "count" in column else None,
                      column["value"][keep] if "value" in column else None, graph.kind)
    if data.edge_index is not None and data.edge_index.size:
        edges = np.asarray(data.edge_index, dtype=np.int64)
        return _Graph(len(data.ids), np.arange(len(data.ids)), edges[:, edges[0] != edges[1]],
                      None, None, "row links")
    return None


class TxGraphRepresentation:
    def __init__(self, graph: str = "auto", k: int = 10, hidden: int = 32,
                 embedding_dim: int = 16, heads: int = 2, dropout: float = 0.1,
                 epochs: int = 100, lr: float = 0.005, feature_weight: float = 1.0,
                 seed: int = 0) -> None:
        if graph == "data":  # the name this option had before interaction graphs existed
            graph = "interaction"
        if graph not in GRAPH_CHOICES:
            raise ConfigError(f"representation 'txgraph': graph must be one of "
                              f"{', '.join(GRAPH_CHOICES)}, got {graph!r}")
        self.graph, self.k = graph, k
        self.hidden, self.embedding_dim, self.heads, self.dropout = (hidden, embedding_dim, heads,
                                                                    dropout)
        self.epochs, self.lr, self.feature_weight, self.seed = epochs, lr, feature_weight, seed

    # ---------------------------------------------------------------- features and graphs
    def _normalise(self, X: np.ndarray) -> np.ndarray:
        Z = np.sign(X) * np.log1p(np.abs(X))
        Z = np.where(np.isnan(Z), self.median_, Z)
        return ((Z - self.mean_) / self.std_).astype(np.float32)

    def _structure(self, graph: _Graph, edges: np.ndarray, edge_ids: np.ndarray) -> np.ndarray:
        """What the given edges say of every node: log1p in/out degree, counts and values. A
        kNN graph says nothing of a node beyond its attributes: no columns."""
        if self.source_ == "knn":
            return np.zeros((graph.num_nodes, 0))
        columns = []
        for end in (1, 0):  # in, out
            columns.append(np.bincount(edges[end], minlength=graph.num_nodes))
            for weights in (graph.counts, graph.values):
                if weights is not None:
                    columns.append(np.bincount(edges[end], weights=np.abs(weights[edge_ids]),
                                               minlength=graph.num_nodes))
        return np.log1p(np.column_stack(columns).astype(np.float64))

    def _node_features(self, X: np.ndarray, structure: np.ndarray) -> np.ndarray:
        """Attributes (rows), ``is_row`` and standardised structure, for every node."""
        attributes = np.zeros((self.graph_.num_nodes, X.shape[1]), dtype=np.float32)
        attributes[self.graph_.row_nodes] = self._normalise(X)
        is_row = np.zeros((self.graph_.num_nodes, 1), dtype=np.float32)
        is_row[self.graph_.row_nodes] = 1.0
        scaled = ((structure - self.structure_mean_) / self.structure_std_).astype(np.float32)
        return np.hstack([attributes, is_row, scaled])

    def _knn_graph(self, x: np.ndarray, rows: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Directed edges from each target's k nearest ``rows`` (never itself) into it."""
        from sklearn.neighbors import NearestNeighbors

        k = min(self.k, len(rows) - 1)
        if k < 1 or not len(targets):
            return np.empty((2, 0), dtype=np.int64)
        index = NearestNeighbors(n_neighbors=k + 1).fit(x[rows])
        _, neighbours = index.kneighbors(x[targets])
        sources = rows[neighbours]
        keep = sources != targets[:, None]
        first_k = np.cumsum(keep, axis=1) <= k
        chosen = keep & first_k
        return np.vstack([sources[chosen], np.repeat(targets, chosen.sum(axis=1))])

    # ------------------------------------------------------------------------------ API
    def fit(self, data: AccountData, rows: np.ndarray) -> TxGraphRepresentation:
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        Z = np.sign(data.X[rows]) * np.log1p(np.abs(data.X[rows]))
        with np.errstate(all="ignore"):
            median = np.nanmedian(Z, axis=0)
        self.median_ = np.where(np.isnan(median), 0.0, median)
        filled = np.where(np.isnan(Z), self.median_, Z)
        self.mean_, std = filled.mean(axis=0), filled.std(axis=0)
        self.std_ = np.where(std > 0, std, 1.0)

        dataset_graph = _dataset_graph(data)
        if self.graph == "interaction" and dataset_graph is None:
            raise ConfigError(f"representation 'txgraph': dataset '{data.name}' has no graph "
                              f"(neither an interaction graph nor row links); use "
                              f"representation.graph=knn or auto")
        self.source_ = ("interaction" if self.graph != "knn" and dataset_graph is not None
                        else "knn")
        if self.source_ == "knn":
            n = len(data.ids)
            self.graph_ = _Graph(n, np.arange(n), np.empty((2, 0), dtype=np.int64), None, None,
                                 "attribute kNN")
        else:
            self.graph_ = dataset_graph
        self.fit_rows_ = rows

        # The fit graph: no node of a row outside ``rows``, no counterparty left without edges.
        outside = np.setdiff1d(np.arange(len(data.ids)), rows)
        excluded = np.zeros(self.graph_.num_nodes, dtype=bool)
        excluded[self.graph_.row_nodes[outside]] = True
        if self.source_ == "knn":
            x_rows = self._normalise(data.X)
            self.fit_edges_array_ = self._knn_graph(x_rows, rows, rows)
            fit_ids = np.arange(len(self.fit_edges_array_[0]))
        else:
            edges = self.graph_.edges
            fit_ids = np.flatnonzero(~excluded[edges[0]] & ~excluded[edges[1]])
            self.fit_edges_array_ = edges[:, fit_ids]
        in_fit = np.zeros(self.graph_.num_nodes, dtype=bool)
        in_fit[self.graph_.row_nodes[rows]] = True
        in_fit[self.fit_edges_array_.ravel()] = True
        self.fit_nodes_ = np.flatnonzero(in_fit)

        structure = self._structure(self.graph_, self.fit_edges_array_, fit_ids)
        self.structure_mean_ = structure[self.fit_nodes_].mean(axis=0)
        spread = structure[self.fit_nodes_].std(axis=0)
        self.structure_std_ = np.where(spread > 0, spread, 1.0)
        self.fit_structure_ = structure

        x = torch.as_tensor(self._node_features(data.X, structure)[self.fit_nodes_])
        edges = self._relabelled(self.fit_edges_array_, self.fit_nodes_)
        # Seeded locally (the caller's RNG state is left alone) and with our own negative
        # sampling: PyG's default draws from Python's global ``random``, so two fits on the same
        # graph would differ with whatever ran before them.
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            generator = torch.Generator().manual_seed(self.seed)
            self.model_ = GAE(GATEncoder(x.shape[1], self.hidden, self.embedding_dim, self.heads,
                                         self.dropout))
            self.feature_decoder_ = nn.Linear(self.embedding_dim, x.shape[1])
            parameters = (list(self.model_.parameters())
                          + list(self.feature_decoder_.parameters()))
            optimiser = torch.optim.Adam(parameters, lr=self.lr)
            self.history_: list[float] = []
            bar = progress(range(self.epochs), total=self.epochs,
                           desc="txgraph graph-autoencoder embedding", unit="epoch")
            for _ in bar:
                self.model_.train()
                optimiser.zero_grad()
                h = self.model_.encode(x, edges)
                loss = self.feature_weight * nn.functional.mse_loss(self.feature_decoder_(h), x)
                if edges.shape[1]:
                    negatives = torch.randint(0, len(x), edges.shape, generator=generator)
                    loss = loss + self.model_.recon_loss(h, edges, negatives)
                loss.backward()
                optimiser.step()
                self.history_.append(float(loss.detach()))
                bar.set_postfix(loss=f"{self.history_[-1]:.4f}", refresh=False)
        self.fit_edges_ = int(edges.shape[1])
        self.fit_edge_tensor_ = edges
        return self

    def _relabelled(self, edges: np.ndarray, nodes: np.ndarray) -> torch.Tensor:
        position = np.full(self.graph_.num_nodes, -1, dtype=np.int64)
        position[nodes] = np.arange(len(nodes))
        relabelled = torch.as_tensor(position[edges], dtype=torch.long)
        return to_undirected(relabelled, num_nodes=len(nodes))

    @torch.no_grad()
    def embed(self, data: AccountData, X: np.ndarray | None = None,
              rows: np.ndarray | None = None) -> np.ndarray:
        """Embeddings of ``rows`` (all rows by default), each on the graph the class docs name."""
        X = data.X if X is None else X
        rows = np.arange(len(data.ids)) if rows is None else np.asarray(rows, dtype=np.int64)
        self.model_.eval()
        out = np.zeros((len(rows), self.embedding_dim), dtype=np.float32)
        nodes = self.graph_.row_nodes[rows]
        in_fit = np.isin(rows, self.fit_rows_)

        fit_x = torch.as_tensor(self._node_features(X, self.fit_structure_)[self.fit_nodes_])
        fit_h = self.model_.encode(fit_x, self.fit_edge_tensor_).numpy()
        out[in_fit] = fit_h[np.searchsorted(self.fit_nodes_, nodes[in_fit])]
        if in_fit.all():
            return out
        new = np.ones(self.graph_.num_nodes, dtype=bool)
        new[self.fit_nodes_] = False
        structure = self.fit_structure_
        if self.source_ == "knn":
            inbound = self._knn_graph(self._normalise(X), self.fit_rows_, rows[~in_fit])
        else:
            both = np.hstack([self.graph_.edges, self.graph_.edges[::-1]])
            inbound = both[:, new[both[1]]]
            everything = self._structure(self.graph_, self.graph_.edges,
                                         np.arange(self.graph_.edges.shape[1]))
            structure = np.where(new[:, None], everything, structure)
        fit_edges = to_undirected(torch.as_tensor(self.fit_edges_array_, dtype=torch.long),
                                  num_nodes=self.graph_.num_nodes)
        edges = torch.cat([fit_edges, coalesce(torch.as_tensor(inbound, dtype=torch.long),
                                               num_nodes=self.graph_.num_nodes)], dim=1)
        h = self.model_.encode(torch.as_tensor(self._node_features(X, structure)), edges).numpy()
        out[~in_fit] = h[nodes[~in_fit]]
        return out

    def transform(self, data: AccountData, X: np.ndarray | None = None,
                  rows: np.ndarray | None = None) -> np.ndarray:
        raw = data.X if X is None else X
        chosen = raw if rows is None else raw[np.asarray(rows, dtype=np.int64)]
        return np.hstack([chosen, self.embed(data, X, rows).astype(np.float64)])

    def describe(self) -> dict[str, Any]:
        return {"name": "txgraph", "graph": self.source_, "graph_kind": self.graph_.kind,
                "nodes": int(self.graph_.num_nodes),
                "edges": int(self.graph_.edges.shape[1]) if self.source_ != "knn" else None,
                "fit_nodes": int(len(self.fit_nodes_)), "fit_edges": self.fit_edges_,
                "embedding_dim": self.embedding_dim, "epochs": self.epochs,
                "loss_first": self.history_[0] if self.history_ else None,
                "loss_last": self.history_[-1] if self.history_ else None, "inductive": True}


@hookimpl
def register_representations() -> dict[str, Callable[..., TxGraphRepresentation]]:
    return {"txgraph": TxGraphRepresentation}
