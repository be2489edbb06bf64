"""GNN node classifiers on a dataset's interaction graph: ``graphsage`` and ``gat`` (PyG).

**Transductive.** The model is built over the dataset's whole :class:`InteractionGraph`
(``AccountData.graph``, injected by the runner as ``data`` with every label hidden): every node
and every edge, those of test rows and of unlabelled counterparties included, take part in
message passing during training. Labels are only those passed to ``fit`` (the training rows);
a row's own features enter where the runner hands them over: training rows' at ``fit``, test
rows' at ``predict_proba`` (until then a row node's feature block is zero, the training mean
after standardisation). Any dataset with a graph works (``ethereum_xblock``, ``ethereum_txs``);
one without a graph is a ConfigError naming the model and the dataset.

Node features (finite everywhere):

* the row block: the preprocessed row features ``X`` for row nodes (zeros elsewhere);
* the graph block, computed from the graph alone for *every* node, label-free: log1p of the
  numbers of in- and out-neighbours and, where the graph's edges carry them (by name), log1p of
  the summed ``count`` and ``value`` in and out; z-scored over all nodes;
* ``is_row``: 1 for the dataset's row nodes.

Edges are used in both directions (a phishing account is defined by whom it receives from and
whom it pays). Training is full-batch: Adam, cross-entropy on the training rows, early stopping
on the early-stopping rows' accuracy (their loss breaks ties; ``patience`` epochs without
improvement) with the best weights restored. Each step computes only the receptive
field of the rows it scores (:func:`receptive_field`: layer ``l`` needs the edges into the
nodes within ``L - 1 - l`` hops); the outputs are exactly those of the whole graph (a test
checks it), at a third of the work on ``ethereum_xblock``.

The scenario's validation rows arrive without their row positions (the runner passes ``rows=``
for the training rows only), so they cannot be placed in the graph: early stopping uses a
stratified tenth of the training rows (seeded), as the shared Lightning loop does when no
validation is given; ``describe()`` says which rows it used. Runs on the CPU, seeded
(``torch.manual_seed``); threads are the framework's budget.

Without ``data`` (a direct call outside the runner, e.g. the model contract check) there is no
graph to use: the rows given are isolated nodes and the model is a per-row network with the
GNN's weights; a warning says so and ``describe()`` records ``graph: none``.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from framework.capabilities import Tags
from framework.data import AccountData
from framework.errors import ConfigError
from framework.hookspecs import hookimpl
from framework.progress import allowed_by, progress

TRANSDUCTIVE = ("transductive: every node and edge of the interaction graph (test rows and "
                "unlabelled counterparties included) is used in message passing while "
                "training; only the training rows' labels are used; a row's own features enter "
                "when the runner hands them over (training rows at fit, test rows at predict)")


def graph_features(graph: Any) -> tuple[np.ndarray, list[str]]:
    """Label-free per-node numbers from the graph alone: log1p in/out neighbours, and log1p
    summed ``count`` / ``value`` in and out where the edges carry them; z-scored over nodes."""
    n = graph.num_nodes
    source, target = graph.edge_index
    columns = {"log_in_neighbours": np.bincount(target, minlength=n),
               "log_out_neighbours": np.bincount(source, minlength=n)}
    for attribute in ("count", "value"):
        if attribute in graph.edge_attr_names:
            weight = np.nan_to_num(graph.edge_attr[:, graph.edge_attr_names.index(attribute)])
            weight = np.clip(weight, 0, None)
            columns[f"log_{attribute}_in"] = np.bincount(target, weights=weight, minlength=n)
            columns[f"log_{attribute}_out"] = np.bincount(source, weights=weight, minlength=n)
    block = np.log1p(np.column_stack(list(columns.values())).astype(np.float64))
    std = block.std(axis=0)
    block = (block - block.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return block, list(columns)


def receptive_field(edge_index: np.ndarray, targets: np.ndarray, layers: int,
                    num_nodes: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """The nodes and per-layer edges that ``layers`` rounds of message passing need to compute
    the outputs at ``targets``: layer ``l`` (0 = first) only needs the edges into the nodes
    within ``layers - 1 - l`` hops of the targets. Returns the nodes (sorted), each layer's
    edges relabelled onto them, and the targets' positions among them. Outputs at the targets
    are exactly those of the whole graph; only the work shrinks."""
    within = [np.zeros(num_nodes, dtype=bool)]
    within[0][targets] = True
    for _ in range(layers):
        grown = within[-1].copy()
        grown[edge_index[0][within[-1][edge_index[1]]]] = True
        within.append(grown)
    nodes = np.flatnonzero(within[-1])
    relabel = np.full(num_nodes, -1, dtype=np.int64)
    relabel[nodes] = np.arange(len(nodes))
    per_layer = [relabel[edge_index[:, within[layers - 1 - layer][edge_index[1]]]]
                 for layer in range(layers)]
    return nodes, per_layer, relabel[targets]


def _stack(convs: list[Any], dropout: float, activation: str) -> Any:
    """Message-passing layers with dropout before and an activation after each hidden one;
    ``forward(x, edges)`` takes one edge set per layer (see :func:`receptive_field`)."""

    class Stack(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = torch.nn.ModuleList(convs)

        def forward(self, x: torch.Tensor, edges: list[torch.Tensor]) -> torch.Tensor:
            for index, (conv, edge_index) in enumerate(zip(self.convs, edges)):
                x = conv(F.dropout(x, p=dropout, training=self.training), edge_index)
                if index < len(self.convs) - 1:
                    x = F.elu(x) if activation == "elu" else F.relu(x)
            return x

    return Stack()


class _GNNClassifier:
    """Shared fit / predict of the GNN node classifiers; subclasses build the layers."""

    architecture = "gnn"
    activation = "relu"
    # A job on a dataset without an interaction graph stops before loading, naming the
    # datasets that have one (the check in __init__ stays for direct use).
    chainsleuth_tags = Tags(requires=frozenset({"graph"}))

    def __init__(self, hidden_channels: int, num_layers: int, dropout: float, lr: float,
                 weight_decay: float, max_epochs: int, patience: int,
                 trainer: dict[str, Any] | None, seed: int, data: AccountData | None) -> None:
        if data is not None and data.graph is None:
            raise ConfigError(
                f"model '{self.architecture}' needs a dataset with an interaction graph "
                f"(AccountData.graph: every row's node, its counterparties and the edges "
                f"between them); dataset '{data.name}' has none. Use a dataset that provides "
                f"one (e.g. ethereum_xblock, ethereum_txs) or a non-graph model")
        if num_layers < 1 or hidden_channels < 1 or max_epochs < 1 or patience < 1:
            raise ConfigError(f"model '{self.architecture}': num_layers, hidden_channels, "
                              f"max_epochs and patience must be >= 1")
        self.hidden_channels, self.num_layers, self.dropout = hidden_channels, num_layers, dropout
        self.lr, self.weight_decay = lr, weight_decay
        self.max_epochs, self.patience = max_epochs, patience
        self.trainer, self.seed, self.data = trainer, seed, data

    def _convs(self, in_channels: int, out_channels: int) -> list[Any]:
        raise NotImplementedError

    # -- graph and node features --------------------------------------------------------------
    def _prepare_graph(self) -> None:
        """Edges (both directions), the label-free node feature matrix, each row's node."""
        from torch_geometric.utils import to_undirected

        if self.data is None:
            warnings.warn(f"model '{self.architecture}' got no dataset (no data=): the rows are "
                          f"isolated nodes, no graph is used", stacklevel=3)
            self.graph_feature_names_ = []
            return
        graph = self.data.graph
        self.edges_ = to_undirected(torch.as_tensor(graph.edge_index, dtype=torch.long),
                                    num_nodes=graph.num_nodes).numpy()
        block, self.graph_feature_names_ = graph_features(graph)
        self.row_nodes_ = graph.row_nodes
        is_row = np.zeros((graph.num_nodes, 1))
        is_row[graph.row_nodes] = 1.0
        self.x_ = torch.as_tensor(np.hstack([np.zeros((graph.num_nodes, self.n_row_features_)),
                                             block, is_row]), dtype=torch.float32)

    def _nodes(self, rows: np.ndarray | None, n: int) -> np.ndarray:
        if self.data is None:
            return np.arange(n)
        if rows is None:
            raise ConfigError(f"model '{self.architecture}' needs the dataset row positions of "
                              f"its inputs (rows=); the runner passes them")
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) != n:
            raise ConfigError(f"model '{self.architecture}': {n} feature rows but {len(rows)} "
                              f"row positions")
        return self.row_nodes_[rows]

    def _features(self, X: np.ndarray, nodes: np.ndarray) -> Any:
        """The node feature matrix with ``X`` placed in the row block at ``nodes``."""

        X = np.nan_to_num(np.asarray(X, dtype=np.float32))
        if self.data is None:  # isolated rows: their features and is_row = 1
            return torch.as_tensor(np.hstack([X, np.ones((len(X), 1), dtype=np.float32)]))
        x = self.x_.clone()
        x[torch.as_tensor(nodes), :self.n_row_features_] = torch.as_tensor(X)
        return x

    def _field(self, targets: np.ndarray) -> tuple[Any, list[Any], Any]:
        """What the network needs to score ``targets``: nodes, per-layer edges, positions."""

        if self.data is None:
            empty = torch.empty((2, 0), dtype=torch.long)
            return (torch.as_tensor(targets), [empty] * self.num_layers,
                    torch.arange(len(targets)))
        nodes, edges, positions = receptive_field(self.edges_, targets, self.num_layers,
                                                  self.data.graph.num_nodes)
        return (torch.as_tensor(nodes), [torch.as_tensor(e) for e in edges],
                torch.as_tensor(positions))

    def _logits(self, x: Any, field: tuple[Any, list[Any], Any]) -> Any:
        nodes, edges, positions = field
        return self.network_(x[nodes], edges)[positions]

    # -- training -----------------------------------------------------------------------------
    def _early_stopping_split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions (into the training rows) to train on and to early-stop on."""
        from sklearn.model_selection import train_test_split

        positions = np.arange(len(y))
        counts = np.bincount(y)
        if len(y) < 20 or counts[counts > 0].min() < 2:
            return positions, np.empty(0, dtype=np.int64)
        fit, stop = train_test_split(positions, test_size=0.1, random_state=self.seed,
                                     stratify=y)
        return np.sort(fit), np.sort(stop)

    def fit(self, X: np.ndarray, y: np.ndarray, *,
            validation: tuple[np.ndarray, np.ndarray] | None = None,
            unlabeled: Any = None, rows: np.ndarray | None = None) -> _GNNClassifier:

        self.classes_, encoded = np.unique(np.asarray(y), return_inverse=True)
        self.n_row_features_ = np.shape(X)[1]
        self._prepare_graph()
        nodes = self._nodes(rows, len(X))
        x = self._features(X, nodes)
        fit_at, stop_at = self._early_stopping_split(encoded)
        self.validation_used_ = (
            f"stratified 10 % of the {len(encoded)} training rows (seed {self.seed}); "
            + ("the scenario's validation rows were not used (no row positions for them)"
               if validation is not None and len(validation[0]) else "no scenario validation")
            if len(stop_at) else "none (too few training rows): the last epoch is kept")
        torch.manual_seed(self.seed)
        self.network_ = _stack(self._convs(x.shape[1], max(len(self.classes_), 2)),
                               self.dropout, self.activation)
        target = torch.as_tensor(encoded, dtype=torch.long)
        fit_field, stop_field = self._field(nodes[fit_at]), self._field(nodes[stop_at])
        optimiser = torch.optim.Adam(self.network_.parameters(), lr=self.lr,
                                     weight_decay=self.weight_decay)
        cap = (self.trainer or {}).get("max_epochs")
        epochs = min(self.max_epochs, cap) if cap else self.max_epochs
        best, best_state, waited, self.epochs_run_, self.best_epoch_ = (
            (-1.0, np.inf), None, 0, 0, None)
        with progress(total=epochs, desc=f"{self.architecture} training", unit="epoch",
                      allowed=allowed_by(self.trainer)) as bar:
            for epoch in range(epochs):
                self.network_.train()
                optimiser.zero_grad()
                F.cross_entropy(self._logits(x, fit_field), target[fit_at]).backward()
                optimiser.step()
                self.epochs_run_ = epoch + 1
                bar.update(1)
                if not len(stop_at):
                    continue
                self.network_.eval()
                with torch.no_grad():
                    logits = self._logits(x, stop_field)
                    loss = float(F.cross_entropy(logits, target[stop_at]))
                    accuracy = float((logits.argmax(dim=1) == target[stop_at]).float().mean())
                bar.set_postfix(val_loss=f"{loss:.4f}", val_accuracy=f"{accuracy:.4f}",
                                refresh=False)
                # Accuracy first, loss to break ties: on a few dozen rows the loss is ruled by the
                # few rows the model gets confidently wrong and can rise while accuracy improves
                # (it once kept an epoch-1 model).
                if accuracy > best[0] or (accuracy == best[0] and loss < best[1]):
                    best, best_state, waited, self.best_epoch_ = (accuracy, loss), copy.deepcopy(
                        self.network_.state_dict()), 0, epoch + 1
                else:
                    waited += 1
                    if waited >= self.patience:
                        break
        if best_state is not None:
            self.network_.load_state_dict(best_state)
        self.network_.eval()
        if self.data is not None:
            self.x_ = x  # the training rows' features stay in place for prediction
        return self

    def predict_proba(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:

        nodes = self._nodes(rows, len(X))
        x = self._features(X, nodes)
        with torch.no_grad():
            logits = self._logits(x, self._field(nodes))
        return torch.softmax(logits[:, :len(self.classes_)].double(), dim=1).numpy()

    def predict(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X, rows=rows), axis=1)]

    def describe(self) -> dict[str, Any]:
        graph = self.data.graph if self.data is not None else None
        return {"architecture": self.architecture, "transductive": TRANSDUCTIVE,
                "graph": None if graph is None else {
                    "dataset": self.data.name, "nodes": graph.num_nodes,
                    "edges": int(graph.edge_index.shape[1]), "directions": "both"},
                "node_features": ["row block (preprocessed X)",
                                  *getattr(self, "graph_feature_names_", []), "is_row"],
                "early_stopping": getattr(self, "validation_used_", None),
                "epochs_run": getattr(self, "epochs_run_", None),
                "best_epoch": getattr(self, "best_epoch_", None), "device": "cpu"}


class GraphSAGEModel(_GNNClassifier):
    """GraphSAGE (mean aggregation, PyG ``SAGEConv``), full-batch node classification."""

    architecture = "graphsage"

    def __init__(self, hidden_channels: int = 64, num_layers: int = 2, dropout: float = 0.2,
                 lr: float = 0.01, weight_decay: float = 5e-4, max_epochs: int = 200,
                 patience: int = 20, trainer: dict[str, Any] | None = None, seed: int = 0,
                 data: AccountData | None = None) -> None:
        super().__init__(hidden_channels, num_layers, dropout, lr, weight_decay, max_epochs,
                         patience, trainer, seed, data)

    def _convs(self, in_channels: int, out_channels: int) -> list[Any]:
        from torch_geometric.nn import SAGEConv

        widths = [in_channels] + [self.hidden_channels] * (self.num_layers - 1) + [out_channels]
        return [SAGEConv(a, b, aggr="mean") for a, b in zip(widths[:-1], widths[1:])]


class GATModel(_GNNClassifier):
    """Graph attention network (PyG ``GATConv``), full-batch node classification.
    ``hidden_channels`` is the width after concatenating the ``heads``."""

    architecture = "gat"
    activation = "elu"

    def __init__(self, hidden_channels: int = 64, heads: int = 4, num_layers: int = 2,
                 dropout: float = 0.2, lr: float = 0.01, weight_decay: float = 5e-4,
                 max_epochs: int = 200, patience: int = 20,
                 trainer: dict[str, Any] | None = None, seed: int = 0,
                 data: AccountData | None = None) -> None:
        if heads < 1 or hidden_channels % heads:
            raise ConfigError(f"model 'gat': hidden_channels ({hidden_channels}) must be a "
                              f"multiple of heads ({heads})")
        self.heads = heads
        super().__init__(hidden_channels, num_layers, dropout, lr, weight_decay, max_epochs,
                         patience, trainer, seed, data)

    def _convs(self, in_channels: int, out_channels: int) -> list[Any]:
        from torch_geometric.nn import GATConv

        per_head = self.hidden_channels // self.heads
        hidden = [GATConv(in_channels if i == 0 else self.hidden_channels, per_head,
                          heads=self.heads, dropout=self.dropout)
                  for i in range(self.num_layers - 1)]
        last = in_channels if self.num_layers == 1 else self.hidden_channels
        return [*hidden, GATConv(last, out_channels, heads=1, concat=False,
                                 dropout=self.dropout)]


@hookimpl
def register_models() -> dict[str, Callable[..., _GNNClassifier]]:
    return {"graphsage": GraphSAGEModel, "gat": GATModel}
