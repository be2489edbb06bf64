"""``txgraph``: ShadowEyes' TxGraph representation, account attributes + GAE structure.

A graph autoencoder whose encoder is two GAT layers (PyG ``GATConv``) learns a structural
embedding ``h`` of every account from the account graph: the adjacency is decoded by an inner
product trained with negative sampling (PyG ``GAE.recon_loss``) and the attributes by a linear
decoder trained with mean squared error. The representation handed to models is
``concat(x, h)``, with ``x`` the raw attributes (the shared preprocessing normalises both).

The graph is the dataset's own interaction graph when it has one (``graph=data``; ``auto``
uses it when it has at least ``min_mean_degree`` edges per node), otherwise a k-nearest-
neighbour graph over the normalised attributes (``graph=knn``); the result records which.
Training is inductive: the GAE is fitted on the graph induced by the non-test rows, then
applied to the whole graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import GAE, GATConv
from torch_geometric.utils import subgraph, to_undirected

from framework.data import AccountData
from framework.errors import ConfigError
from framework.hookspecs import hookimpl


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


class TxGraphRepresentation:
    def __init__(self, graph: str = "auto", k: int = 10, min_mean_degree: float = 1.0,
                 hidden: int = 32, embedding_dim: int = 16, heads: int = 2, dropout: float = 0.1,
                 epochs: int = 100, lr: float = 0.005, feature_weight: float = 1.0,
                 seed: int = 0) -> None:
        if graph not in ("auto", "data", "knn"):
            raise ConfigError(f"representation 'txgraph': graph must be auto, data or knn, "
                              f"got {graph!r}")
        self.graph, self.k, self.min_mean_degree = graph, k, min_mean_degree
        self.hidden, self.embedding_dim, self.heads, self.dropout = (hidden, embedding_dim, heads,
                                                                    dropout)
        self.epochs, self.lr, self.feature_weight, self.seed = epochs, lr, feature_weight, seed

    # -------------------------------------------------------------------------- helpers
    def _normalise(self, X: np.ndarray) -> np.ndarray:
        Z = np.sign(X) * np.log1p(np.abs(X))
        Z = np.where(np.isnan(Z), self.median_, Z)
        return ((Z - self.mean_) / self.std_).astype(np.float32)

    def _edges(self, data: AccountData, x: np.ndarray) -> torch.Tensor:
        if self.source_ == "data":
            edges = torch.as_tensor(data.edge_index, dtype=torch.long)
        else:
            from sklearn.neighbors import NearestNeighbors

            k = min(self.k, len(x) - 1)
            _, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
            source = np.repeat(np.arange(len(x)), k)
            edges = torch.as_tensor(np.vstack([source, neighbours[:, 1:].ravel()]),
                                    dtype=torch.long)
        edges = edges[:, edges[0] != edges[1]]
        return to_undirected(edges, num_nodes=len(x))

    # ------------------------------------------------------------------------------ API
    def fit(self, data: AccountData, rows: np.ndarray) -> TxGraphRepresentation:
        Z = np.sign(data.X[rows]) * np.log1p(np.abs(data.X[rows]))
        with np.errstate(all="ignore"):
            median = np.nanmedian(Z, axis=0)
        self.median_ = np.where(np.isnan(median), 0.0, median)
        filled = np.where(np.isnan(Z), self.median_, Z)
        self.mean_, std = filled.mean(axis=0), filled.std(axis=0)
        self.std_ = np.where(std > 0, std, 1.0)
        has_graph = data.edge_index is not None and data.edge_index.size > 0
        dense = has_graph and data.edge_index.shape[1] / len(data.ids) >= self.min_mean_degree
        if self.graph == "data" and not has_graph:
            raise ConfigError(f"representation 'txgraph': dataset '{data.name}' has no graph; "
                              f"use representation.graph=knn or auto")
        self.source_ = "data" if self.graph == "data" or (self.graph == "auto" and dense) else "knn"

        x_all = self._normalise(data.X)
        keep = torch.as_tensor(rows, dtype=torch.long)
        if self.source_ == "data":
            edges, _ = subgraph(keep, self._edges(data, x_all), relabel_nodes=True,
                                num_nodes=len(x_all))
        else:
            edges = self._edges(data, x_all[rows])
        x = torch.as_tensor(x_all[rows])
        torch.manual_seed(self.seed)
        self.model_ = GAE(GATEncoder(x.shape[1], self.hidden, self.embedding_dim, self.heads,
                                     self.dropout))
        self.feature_decoder_ = nn.Linear(self.embedding_dim, x.shape[1])
        parameters = list(self.model_.parameters()) + list(self.feature_decoder_.parameters())
        optimiser = torch.optim.Adam(parameters, lr=self.lr)
        self.history_: list[float] = []
        for _ in range(self.epochs):
            self.model_.train()
            optimiser.zero_grad()
            h = self.model_.encode(x, edges)
            loss = self.feature_weight * nn.functional.mse_loss(self.feature_decoder_(h), x)
            if edges.shape[1]:
                loss = loss + self.model_.recon_loss(h, edges)
            loss.backward()
            optimiser.step()
            self.history_.append(float(loss.detach()))
        self.fit_edges_ = int(edges.shape[1])
        return self

    @torch.no_grad()
    def embed(self, data: AccountData, X: np.ndarray | None = None) -> np.ndarray:
        x = self._normalise(data.X if X is None else X)
        self.model_.eval()
        return self.model_.encode(torch.as_tensor(x), self._edges(data, x)).numpy()

    def transform(self, data: AccountData, X: np.ndarray | None = None) -> np.ndarray:
        raw = data.X if X is None else X
        return np.hstack([raw, self.embed(data, X).astype(np.float64)])

    def describe(self) -> dict[str, Any]:
        return {"name": "txgraph", "graph": self.source_, "fit_edges": self.fit_edges_,
                "embedding_dim": self.embedding_dim, "epochs": self.epochs,
                "loss_first": self.history_[0] if self.history_ else None,
                "loss_last": self.history_[-1] if self.history_ else None, "inductive": True}


@hookimpl
def register_representations() -> dict[str, Callable[..., TxGraphRepresentation]]:
    return {"txgraph": TxGraphRepresentation}
