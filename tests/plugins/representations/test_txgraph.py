"""TxGraph: which graph it learns on, and that it is inductive, bit for bit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from framework.data import AccountData, InteractionGraph, Provenance
from framework.errors import ConfigError
from plugins.representations.txgraph import TxGraphRepresentation

SMALL = dict(epochs=15, hidden=8, embedding_dim=4, heads=1, seed=3)


def graph_data(n_rows: int = 40, n_counterparties: int = 120, seed: int = 0) -> AccountData:
    """Rows 0..n_rows-1 are nodes 0..n_rows-1; every counterparty deals with at least one row."""
    rng = np.random.default_rng(seed)
    nodes = n_rows + n_counterparties
    sources = np.concatenate([rng.integers(0, n_rows, n_counterparties),
                              rng.integers(0, nodes, 150)])
    targets = np.concatenate([np.arange(n_rows, nodes), rng.integers(0, nodes, 150)])
    flip = rng.random(len(sources)) < 0.5
    edges = np.vstack([np.where(flip, targets, sources), np.where(flip, sources, targets)])
    edges = np.unique(edges[:, edges[0] != edges[1]], axis=1)
    graph = InteractionGraph(node_ids=[f"n{i}" for i in range(nodes)], row_nodes=np.arange(n_rows),
                             edge_index=edges,
                             edge_attr=np.column_stack([rng.integers(1, 5, edges.shape[1]),
                                                        rng.random(edges.shape[1]) * 10]),
                             edge_attr_names=("count", "value"))
    X = rng.normal(size=(n_rows, 5))
    X[rng.random(X.shape) < 0.1] = np.nan
    return AccountData(name="toy", ids=graph.node_ids[:n_rows], X=X,
                       feature_names=[f"f{i}" for i in range(5)],
                       y=rng.integers(0, 2, n_rows), class_names=["a", "b"], benign_classes=["a"],
                       provenance=Provenance("synthetic", "test"), graph=graph,
                       edge_index=graph.between_rows())


def without_rows(data: AccountData, gone: np.ndarray) -> AccountData:
    """The same data as if the rows ``gone`` (and what only they dealt with) never existed."""
    graph = data.graph
    drop = np.zeros(graph.num_nodes, dtype=bool)
    drop[graph.row_nodes[gone]] = True
    keep_edge = ~drop[graph.edge_index[0]] & ~drop[graph.edge_index[1]]
    edges = graph.edge_index[:, keep_edge]
    keep_node = ~drop
    is_row = np.zeros(graph.num_nodes, dtype=bool)
    is_row[graph.row_nodes] = True
    touched = np.zeros(graph.num_nodes, dtype=bool)
    touched[edges.ravel()] = True
    keep_node &= touched | is_row
    position = np.cumsum(keep_node) - 1
    kept_rows = np.setdiff1d(np.arange(len(data.ids)), gone)
    reduced = InteractionGraph(node_ids=graph.node_ids[keep_node],
                               row_nodes=position[graph.row_nodes[kept_rows]],
                               edge_index=position[edges], edge_attr=graph.edge_attr[keep_edge],
                               edge_attr_names=graph.edge_attr_names)
    return replace(data, ids=data.ids[kept_rows], X=data.X[kept_rows], y=data.y[kept_rows],
                   graph=reduced, edge_index=reduced.between_rows())


@pytest.mark.parametrize("graph", ["interaction", "knn"])
def test_training_row_embeddings_do_not_depend_on_test_rows(graph):
    data = graph_data()
    test = np.arange(30, 40)
    fit = np.arange(30)
    full = TxGraphRepresentation(graph=graph, **SMALL).fit(data, fit)
    alone = TxGraphRepresentation(graph=graph, **SMALL).fit(without_rows(data, test), fit)
    assert np.array_equal(full.embed(data)[fit], alone.embed(without_rows(data, test)))
    # changing the test rows' attributes changes nothing for training rows either
    shifted = data.X.copy()
    shifted[test] += 100.0
    assert np.array_equal(full.embed(data, X=shifted)[fit], full.embed(data)[fit])
    # ... but does change the test rows' own embeddings: they are really embedded
    assert not np.allclose(full.embed(data, X=shifted)[test], full.embed(data)[test])


def test_held_out_rows_never_enter_the_fit_graph():
    data = graph_data()
    held_out = np.array([3, 17, 25])
    fit = np.setdiff1d(np.arange(40), held_out)
    representation = TxGraphRepresentation(**SMALL).fit(data, fit)
    assert not np.isin(data.graph.row_nodes[held_out], representation.fit_nodes_).any()
    fit_edges = representation.fit_edges_array_
    assert not np.isin(fit_edges, data.graph.row_nodes[held_out]).any()
    # a counterparty every one of whose edges touched a held-out row is not in the fit graph
    assert set(representation.fit_nodes_) == set(fit_edges.ravel()) | set(fit)


def test_auto_uses_the_interaction_graph_and_records_it():
    data = graph_data()
    representation = TxGraphRepresentation(**SMALL).fit(data, np.arange(30))
    described = representation.describe()
    assert described["graph"] == "interaction" and described["graph_kind"] == "transfers"
    assert described["nodes"] == data.graph.num_nodes == 160
    assert described["edges"] == data.graph.edge_index.shape[1]
    assert described["fit_nodes"] < described["nodes"] and described["inductive"] is True
    features = representation.transform(data)
    assert features.shape == (40, 5 + 4)
    assert np.array_equal(representation.transform(data, rows=[5, 35]), features[[5, 35]],
                          equal_nan=True)


def test_structure_reaches_the_embedding():
    """Two rows with the same attributes but different neighbourhoods embed differently."""
    data = graph_data()
    X = data.X.copy()
    X[1] = X[0] = np.nan_to_num(X[0])
    data = replace(data, X=X)
    representation = TxGraphRepresentation(**SMALL).fit(data, np.arange(40))
    embedding = representation.embed(data)
    assert not np.allclose(embedding[0], embedding[1])


def test_no_graph_falls_back_to_knn_only_when_allowed():
    data = replace(graph_data(), graph=None, edge_index=None)
    assert TxGraphRepresentation(**SMALL).fit(data, np.arange(30)).describe()["graph"] == "knn"
    with pytest.raises(ConfigError, match="dataset 'toy' has no graph"):
        TxGraphRepresentation(graph="interaction", **SMALL).fit(data, np.arange(30))
    with pytest.raises(ConfigError, match="graph must be one of auto, interaction, knn"):
        TxGraphRepresentation(graph="spectral")
    # the old name of the option still means the dataset's graph
    assert TxGraphRepresentation(graph="data").graph == "interaction"


def test_a_run_on_ethereum_txs_records_the_interaction_graph(tmp_path):
    """What a reviewer reads in result.json: the real graph, its size, the harmonised data."""
    import json

    from helpers import run_cli

    done = run_cli(["run", "method=abgrl", "dataset=ethereum_txs", "representation.epochs=1",
                    "seed=0", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "run" / "result.json").read_text())
    described = record["model"]["representation"]
    assert described["graph"] == "interaction" and described["graph_kind"] == "transfers"
    assert described["nodes"] > 100_000 and described["edges"] > 100_000
    assert record["dataset"]["graph"]["nodes"] == described["nodes"]
    assert record["config"]["dataset"]["harmonise"] is True
