"""cross_platform: target test rows never leak into training or pre-training; k target labels."""

import numpy as np
import pytest

from framework.contracts import toy_data
from framework.domains import SOURCE, TARGET, pair
from framework.errors import ConfigError
from plugins.scenarios.cross_platform import CrossPlatform


def data():
    return pair(toy_data(n=300, seed=0), toy_data(n=200, seed=1))


def test_pair_binarises_and_marks_domains():
    paired = data()
    assert paired.class_names == ["benign", "malicious"]
    assert (paired.groups[:300] == SOURCE).all() and (paired.groups[300:] == TARGET).all()
    assert paired.ids[0].startswith("source:") and paired.ids[-1].startswith("target:")


@pytest.mark.parametrize("k", [0, 10, 50])
def test_pooled_protocol_target_labels_and_no_leakage(k):
    paired = data()
    task = CrossPlatform(target_labels=k, protocol="pooled").split(paired, seed=0)
    assert (paired.groups[task.test] == TARGET).all()
    assert (paired.groups[task.train] == TARGET).sum() == k
    assert np.intersect1d(task.unlabeled, task.test).size == 0
    assert np.intersect1d(task.train, task.test).size == 0
    assert (paired.groups[task.validation] == SOURCE).all()


def test_needs_a_pair_and_a_shared_feature_space():
    with pytest.raises(ConfigError, match="source/target pair"):
        CrossPlatform().split(toy_data(), seed=0)
    with pytest.raises(ConfigError, match="do not share a feature space"):
        pair(toy_data(n_features=8), toy_data(n_features=6))


def test_published_protocol_trains_on_target_labels_and_pretrains_on_the_source():
    """Table VI as published: 100 target labels train every method; pre-training sees the
    source only; no target test row anywhere but the test set."""
    paired = data()
    task = CrossPlatform(target_labels=40).split(paired, seed=3)
    assert len(task.train) == 40 and (paired.groups[task.train] == TARGET).all()
    assert set(np.unique(paired.y[task.train])) == {0, 1}
    assert (paired.groups[task.unlabeled] == SOURCE).all()
    assert len(task.unlabeled) == (paired.groups == SOURCE).sum()
    assert len(task.validation) == 0 and (paired.groups[task.test] == TARGET).all()
    assert task.setting["protocol"] == "published"
    assert task.notes["source_rows_labelled_in_train"] == 0
    # the same seed gives the same target rows whatever the protocol: paired across protocols
    pooled = CrossPlatform(target_labels=40, protocol="pooled").split(paired, seed=3)
    assert np.array_equal(pooled.test, task.test)
    assert np.array_equal(np.intersect1d(pooled.train, np.flatnonzero(paired.groups == TARGET)),
                          task.train)


def test_protocol_errors_are_clear():
    with pytest.raises(ConfigError, match="protocol must be one of published, pooled"):
        CrossPlatform(protocol="transfer")
    with pytest.raises(ConfigError, match="set target_labels >= 2"):
        CrossPlatform(target_labels=0)
    one_class = toy_data(n=100, seed=2)
    one_class.y[:] = 0
    with pytest.raises(ConfigError, match="target dataset has labelled rows of 1 class"):
        CrossPlatform(target_labels=10).split(pair(toy_data(n=100, seed=0), one_class), seed=0)


def test_a_pair_keeps_both_interaction_graphs_side_by_side():
    from framework.data import InteractionGraph

    def with_graph(data, names):
        n = len(data.ids)
        edges = np.vstack([np.arange(n), (np.arange(n) + 1) % (n + 3)])  # 3 counterparties
        graph = InteractionGraph(node_ids=[*data.ids, "c1", "c2", "c3"], row_nodes=np.arange(n),
                                 edge_index=edges, edge_attr=np.ones((n, len(names))),
                                 edge_attr_names=names)
        data.graph, data.edge_index = graph, graph.between_rows()
        return data

    source = with_graph(toy_data(n=30, seed=0), ("count", "value"))
    target = with_graph(toy_data(n=20, seed=1), ("value", "first_timestamp"))
    paired = pair(source, target)
    graph = paired.graph
    assert graph.num_nodes == 33 + 23 and graph.edge_attr_names == ("value",)
    assert list(graph.node_ids[graph.row_nodes]) == list(paired.ids)
    # no edge crosses platforms
    side = (np.arange(graph.num_nodes) >= 33).astype(int)
    assert (side[graph.edge_index[0]] == side[graph.edge_index[1]]).all()
    assert graph.edge_index.shape[1] == 50
    assert pair(source, toy_data(n=20, seed=1)).graph is None
