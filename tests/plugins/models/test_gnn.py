"""GNN node classifiers (graphsage, gat): they learn from the graph, never from test labels,
and refuse data without a graph."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from helpers import make_config

from framework.contracts import toy_data
from framework.data import AccountData, InteractionGraph, Provenance
from framework.errors import ConfigError
from framework.runner import JobInfo, run_job
from plugins.models.gnn import GATModel, GraphSAGEModel, receptive_field

MODELS = [GraphSAGEModel, GATModel]


def hub_world(n_rows: int = 160, seed: int = 0) -> AccountData:
    """Rows whose own features are noise and whose own degree is the same (3 senders each);
    only *who* sent tells the classes apart: phishing rows are paid by hubs (nodes that also pay
    30 leaves each), normal rows by private one-off senders. Only a model that looks at its
    neighbours can separate them."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_rows) % 2
    hubs = list(range(n_rows, n_rows + 10))
    next_node = n_rows + 10
    edges = []
    for row in range(n_rows):
        if y[row] == 1:
            edges += [(hub, row) for hub in rng.choice(hubs, 3, replace=False)]
        else:
            edges += [(next_node + k, row) for k in range(3)]
            next_node += 3
    for hub in hubs:
        edges += [(hub, next_node + k) for k in range(30)]
        next_node += 30
    edge_index = np.array(edges).T
    graph = InteractionGraph(node_ids=np.arange(next_node), row_nodes=np.arange(n_rows),
                             edge_index=edge_index, edge_attr=np.ones((len(edges), 2)),
                             edge_attr_names=("count", "value"))
    return AccountData(name="hub_world", ids=np.arange(n_rows), X=rng.normal(size=(n_rows, 4)),
                       feature_names=[f"noise_{i}" for i in range(4)], y=y,
                       class_names=["normal", "phishing"], benign_classes=["normal"],
                       provenance=Provenance("synthetic", "tests", "SYNTHETIC hub world"),
                       graph=graph, edge_index=graph.between_rows())


def halves(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2:])


def shuffled(y: np.ndarray, seed: int = 1) -> np.ndarray:
    """Labels that carry nothing about the true ones: in each true class, a random half is
    labelled 0 and the other half 1 (a plain permutation keeps a chance correlation)."""
    rng, out = np.random.default_rng(seed), np.empty_like(y)
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        out[members] = np.arange(len(members)) % 2
    return out


def hidden(data: AccountData) -> AccountData:
    return replace(data, y=np.full(len(data.y), -1))  # what the runner injects


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.architecture)
def test_learns_a_signal_that_only_the_graph_carries(model):
    data = hub_world()
    train, test = halves(len(data.y))
    X = data.X.astype(np.float32)
    fitted = model(seed=0, data=hidden(data)).fit(X[train], data.y[train], rows=train)
    accuracy = (fitted.predict(X[test], rows=test) == data.y[test]).mean()
    assert accuracy > 0.9
    # Control: labels that say nothing. Any one control still maps the two groups to two labels
    # (10 % or 90 % happen), so the mean over six of them must sit near chance.
    controls = [(model(seed=0, data=hidden(data)).fit(X[train], shuffled(data.y[train], k),
                                                      rows=train)
                 .predict(X[test], rows=test) == data.y[test]).mean() for k in range(6)]
    assert np.mean(controls) < 0.65 < accuracy
    with pytest.warns(UserWarning, match="no graph is used"):  # the same rows without a graph
        isolated = model(seed=0).fit(X[train], data.y[train])
    assert (isolated.predict(X[test]) == data.y[test]).mean() < 0.7


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.architecture)
def test_test_labels_never_reach_the_model(model):
    """Even handed the *labelled* data, predictions depend on the training labels only: with the
    test rows' labels permuted (or flipped) they are identical."""
    data = hub_world()
    train, test = halves(len(data.y))
    X = data.X.astype(np.float32)
    permuted = data.y.copy()
    permuted[test] = 1 - permuted[test]
    runs = [model(seed=3, data=replace(data, y=labels)).fit(X[train], data.y[train], rows=train)
            .predict_proba(X[test], rows=test) for labels in (data.y, permuted)]
    assert np.array_equal(runs[0], runs[1])
    changed = model(seed=3, data=data).fit(X[train], 1 - data.y[train], rows=train)
    assert not np.array_equal(changed.predict_proba(X[test], rows=test), runs[0])


def test_the_receptive_field_gives_the_whole_graphs_outputs():
    data = hub_world()
    train, test = halves(len(data.y))
    model = GATModel(seed=0, data=hidden(data), max_epochs=3).fit(
        data.X[train].astype(np.float32), data.y[train], rows=train)
    nodes = model.row_nodes_[test]
    x = model._features(data.X[test].astype(np.float32), nodes)
    whole = [torch.as_tensor(model.edges_)] * model.num_layers
    with torch.no_grad():
        expected = model.network_(x, whole)[torch.as_tensor(nodes)]
        got = model._logits(x, model._field(nodes))
    assert torch.equal(expected, got)
    kept, per_layer, _ = receptive_field(model.edges_, nodes, 2, data.graph.num_nodes)
    assert len(kept) < data.graph.num_nodes and per_layer[1].shape[1] < per_layer[0].shape[1]


@pytest.mark.parametrize("name", ["graphsage", "gat"])
def test_a_dataset_without_a_graph_is_a_config_error_naming_model_and_dataset(manager, name):
    with pytest.raises(ConfigError, match=rf"model '{name}' needs a dataset with an interaction "
                                          rf"graph .*dataset 'toy' has none"):
        manager.registry.create("model", {"name": name}, data=hidden(toy_data()), seed=0)


def test_rows_are_required_when_a_graph_is_used():
    data = hub_world()
    with pytest.raises(ConfigError, match="needs the dataset row positions"):
        GraphSAGEModel(data=hidden(data)).fit(data.X[:10], data.y[:10])


def test_a_job_on_the_publishers_split(data_dir, tmp_path):
    """The real runner: ethereum_xblock, the publisher's split, graphsage (2 epochs)."""
    cfg = make_config(["dataset=ethereum_xblock", "scenario=given_split", "model=graphsage",
                       "trainer.max_epochs=2", "trainer.enable_progress_bar=false"], tmp_path)
    record = run_job(cfg, JobInfo(output_dir=tmp_path / "job"))
    assert record["status"] == "ok", record.get("error")
    assert record["task"]["sizes"] == {"train": 560, "validation": 63, "test": 267,
                                       "unlabeled": 560}
    assert "publisher's is_train/is_test" in record["task"]["notes"]["split_origin"]
    details = record["model"]["details"]
    assert details["transductive"].startswith("transductive") and details["epochs_run"] == 2
    assert details["graph"]["nodes"] == 86622
    failed = run_job(make_config(["dataset=ethereum_fraud", "model=gat"], tmp_path),
                     JobInfo(output_dir=tmp_path / "no_graph"))
    assert failed["status"] == "failed" and failed["error"]["type"] == "ConfigError"
    assert "model 'gat'" in failed["error"]["message"]
    assert ("which dataset 'ethereum_fraud' does not provide; datasets that provide it: "
            "ethereum_txs, ethereum_xblock") in failed["error"]["message"]
