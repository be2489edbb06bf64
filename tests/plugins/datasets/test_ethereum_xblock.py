"""ethereum_xblock on the real XBlock/T-EDGE files: counts, graph, hand-checked attributes,
reader errors, and the publisher's split as scenario ``given_split``."""

from __future__ import annotations

import csv
import os
from dataclasses import replace
from importlib.metadata import entry_points

import numpy as np
import pytest
from helpers import fails_instead_of_hanging

from framework.contracts import toy_data
from framework.errors import ConfigError, DataError
from framework.interfaces import DataContext
from plugins.datasets.ethereum_xblock import (EDGES_FILE, NODES_FILE, RELATIVE_PATH,
                                              EthereumXBlockDataset)
from plugins.scenarios.given_split import GivenSplit


@pytest.fixture(scope="module")
def dataset(data_dir, tmp_path_factory):
    return EthereumXBlockDataset().load(DataContext(data_dir, tmp_path_factory.mktemp("c"), 0))


@pytest.fixture(scope="module")
def raw(data_dir):
    """The two files read with the csv module only (independent of the plugin's reader)."""
    root = data_dir / RELATIVE_PATH
    with open(root / EDGES_FILE, newline="") as handle:
        edges = [(int(r["from"]), int(r["to"]), float(r["amount"]), int(r["n_transactions"]),
                  int(r["timestamp"])) for r in csv.DictReader(handle)]
    with open(root / NODES_FILE, newline="") as handle:
        nodes = list(csv.DictReader(handle))
    return edges, nodes


def test_counts_match_data_md(dataset, raw):
    edges, nodes = raw
    assert (len(nodes), len(edges)) == (86622, 106083)
    graph = dataset.graph
    assert graph.num_nodes == 86622 and graph.edge_index.shape == (2, 106083)
    assert len(dataset.ids) == 890
    assert dataset.summary()["class_counts"] == {"normal": 445, "phishing": 445}
    assert dataset.class_names == ["normal", "phishing"] and dataset.benign_classes == ["normal"]
    phishing = dataset.y == dataset.class_names.index("phishing")
    train, test = dataset.given_split == "train", dataset.given_split == "test"
    assert (train.sum(), test.sum()) == (623, 267)
    assert ((train & phishing).sum(), (train & ~phishing).sum()) == (317, 306)
    assert ((test & phishing).sum(), (test & ~phishing).sum()) == (128, 139)
    assert dataset.provenance.origin == "real"
    assert dataset.provenance.details["split"] == {"train": 623, "test": 267}


def test_split_and_labels_are_the_files_own(dataset, raw):
    _, nodes = raw
    published = {r["id"]: ("train" if r["is_train"] == "True" else "test", float(r["label"]))
                 for r in nodes if r["has_label"] == "True"}
    ours = {i: (s, float(y)) for i, s, y in zip(dataset.ids, dataset.given_split, dataset.y)}
    assert ours == published


def test_graph_holds_every_node_and_aggregated_edge(dataset, raw):
    edges, _ = raw
    graph = dataset.graph
    assert graph.edge_attr_names == ("value", "count", "timestamp")
    ends = graph.node_ids[graph.edge_index].astype(int)
    got = {(a, b): tuple(attr) for a, b, attr in zip(ends[0], ends[1], graph.edge_attr)}
    assert got == {(a, b): (v, n, t) for a, b, v, n, t in edges}
    assert list(graph.node_ids[graph.row_nodes]) == list(dataset.ids)
    labelled = set(dataset.ids.astype(int))
    between = sum(a in labelled and b in labelled for a, b, *_ in edges)
    assert between == 85 and dataset.edge_index.shape == (2, between)
    assert set(dataset.ids[dataset.edge_index.ravel()].astype(int)) <= labelled


def attributes(dataset, node):
    return dict(zip(dataset.feature_names, dataset.X[list(dataset.ids).index(str(node))]))


def test_attributes_of_a_node_whose_edges_are_single_transfers(dataset, raw):
    """36206 (phishing) received 10, 5, 1, 10, 5 ETH in five single transfers and sent
    30.999097 once: every attribute is determined; checked here from the raw rows."""
    edges, _ = raw
    incoming = [e for e in edges if e[1] == 36206]
    outgoing = [e for e in edges if e[0] == 36206]
    assert sorted(v for _, _, v, _, _ in incoming) == [1.0, 5.0, 5.0, 10.0, 10.0]
    assert all(n == 1 for *_, n, _ in incoming + outgoing)
    times = [t for *_, t in incoming + outgoing]
    row = attributes(dataset, 36206)
    assert row["in_total"] == pytest.approx(31.0) and row["out_total"] == pytest.approx(30.999097)
    assert (row["in_degree"], row["out_degree"], row["tx_count"]) == (5, 1, 6)
    assert (row["in_min"], row["in_max"], row["in_median"]) == (1.0, 10.0, 5.0)
    assert row["max_in_share"] == pytest.approx(10 / 31)
    assert row["lifetime_days"] == pytest.approx((max(times) - min(times)) / 86400)
    first_in = min(t for *_, t in incoming)
    assert row["first_in_to_first_out_h"] == pytest.approx((outgoing[0][4] - first_in) / 3600)
    assert row["uniq_counterparties"] == 6


def test_aggregated_edges_give_sums_and_counts_but_no_per_transfer_statistics(dataset, raw):
    """1084 (normal) received 20.80098167 ETH in 4 transfers from 1 and 1.7955 in one from 1085,
    and sent 22.5946916 in 5 to 1086: totals and counts are exact, per-transfer ones NaN."""
    edges, _ = raw
    mine = sorted(e for e in edges if 1084 in e[:2])
    assert [(a, b, n, t) for a, b, _, n, t in mine] == [
        (1, 1084, 4, 1490158327), (1084, 1086, 5, 1500230113), (1085, 1084, 1, 1500210803)]
    received, sent = 20.80098167 + 1.7955, 22.594691582646764
    assert [v for _, _, v, _, _ in mine] == [20.80098167, sent, 1.7955]
    row = attributes(dataset, 1084)
    assert row["in_total"] == pytest.approx(received) and row["out_total"] == pytest.approx(sent)
    assert (row["in_degree"], row["out_degree"], row["tx_count"]) == (5, 5, 10)
    assert row["in_mean"] == pytest.approx(received / 5)
    assert row["value_mean"] == pytest.approx((received + sent) / 10)
    assert (row["uniq_in_counterparties"], row["uniq_counterparties"]) == (2, 3)
    for name in ("in_max", "in_std", "out_min", "lifetime_days", "hour_entropy",
                 "zero_value_share", "interval_mean_h"):
        assert np.isnan(row[name]), name
    assert dataset.time[list(dataset.ids).index("1084")] == 1490158327


def test_every_row_has_the_exact_attributes(dataset):
    exact = dataset.provenance.details["attributes_exact"]
    columns = [dataset.feature_names.index(a) for a in exact if a not in (
        "in_mean", "out_mean", "out_in_ratio")]  # undefined without in/out transfers
    assert not np.isnan(dataset.X[:, columns]).any()
    assert dataset.provenance.details["transfer_level_rows"] == 140  # measured: 15.7 %


# -- reader errors ---------------------------------------------------------------------------

NODES = (",id,label,has_label,is_train,is_test\n0,1,1.0,True,True,False\n1,2,0.0,True,False,True\n"
         "2,3,,False,False,False\n3,4,0.0,True,True,False\n4,5,1.0,True,False,True\n")
EDGES = (",from,to,amount,n_transactions,timestamp\n0,1,3,1.5,1,1500000000\n"
         "1,3,2,2.0,2,1500000100\n2,4,3,0.25,1,1500000200\n3,3,5,4.0,3,1500000300\n")


def write_root(tmp_path, nodes=NODES, edges=EDGES):
    root = tmp_path / "xblock"
    root.mkdir(exist_ok=True)
    (root / NODES_FILE).write_text(nodes)
    (root / EDGES_FILE).write_text(edges)
    return root


def load(root):
    return EthereumXBlockDataset(path=str(root)).load(DataContext(None, root / "cache", 0))


def test_a_small_well_formed_folder_loads(tmp_path):
    data = load(write_root(tmp_path))
    assert list(data.ids) == ["1", "2", "4", "5"] and list(data.given_split) == [
        "train", "test", "train", "test"]
    assert data.graph.num_nodes == 5 and data.edge_index.shape == (2, 0)


@pytest.mark.parametrize("file, old, new, message", [
    (EDGES_FILE, ",amount,", ",value,", r"line 1: header .* lacks column\(s\) \['amount'\]"),
    (EDGES_FILE, "0,1,3,1.5,", "0,1,3,lots,", r"line 2, column 'amount': 'lots' is not a finite"),
    (EDGES_FILE, "0,1,3,1.5,", "0,1,3,-1.5,", r"line 2, column 'amount': '-1.5' is not a finite "
                                              r"number >= 0"),
    (EDGES_FILE, "1,3,2,2.0,2,", "1,3,2,2.0,0,", r"line 3, column 'n_transactions': '0'"),
    (EDGES_FILE, ",1500000200", ",soon", r"line 4, column 'timestamp': 'soon' is not a whole"),
    (EDGES_FILE, "2,4,3,", "2,4,99,", r"line 4, column 'to': node 99 is not in .*" + NODES_FILE),
    (EDGES_FILE, "3,3,5,", "3,1,3,", r"lines 2 and 5: the pair \(from, to\) \(1, 3\) appears"),
    (EDGES_FILE, "0,1,3,1.5,1,1500000000", "0,1,3,1.5", "malformed CSV"),
    (NODES_FILE, ",is_test", ",in_test", r"lacks column\(s\) \['is_test'\]"),
    (NODES_FILE, "3,4,0.0,True,True,False", "3,4,0.0,True,False,False",
     r"line 5, column 'is_train'.*every labelled node must be in the publisher's train or test"),
    (NODES_FILE, "1,2,0.0,True,False,True", "1,2,0.0,True,True,True", r"line 3, column 'is_test'"),
    (NODES_FILE, "2,3,,False,False,False", "2,3,,False,True,False", r"line 4, column 'has_label'"),
    (NODES_FILE, "2,3,,False,", "2,3,,True,", r"line 4, column 'has_label'.*consistent"),
    (NODES_FILE, "4,5,1.0,", "4,5,2.0,", r"line 6, column 'label': '2.0' is not 0, 1 or empty"),
    (NODES_FILE, "4,5,1.0,", "4,4,1.0,", r"lines 5 and 6: node id 4 appears more than once"),
    (NODES_FILE, NODES, NODES.replace("True,False,True", "True,True,False"),
     r"no labelled node has is_test=True"),
])
def test_malformed_input_is_a_data_error_naming_the_file(tmp_path, file, old, new, message):
    nodes, edges = NODES, EDGES
    if file == NODES_FILE:
        assert old in nodes
        nodes = nodes.replace(old, new, 1)
    else:
        assert old in edges
        edges = edges.replace(old, new, 1)
    root = write_root(tmp_path, nodes, edges)
    with pytest.raises(DataError, match=message) as error:
        load(root)
    assert str(root / file) in str(error.value)


def test_missing_file_fifo_and_non_utf8_are_named(tmp_path):
    root = write_root(tmp_path)
    (root / EDGES_FILE).unlink()
    with pytest.raises(DataError, match="does not exist") as error:
        load(root)
    assert str(root / EDGES_FILE) in str(error.value)
    os.mkfifo(root / EDGES_FILE)
    with fails_instead_of_hanging(), pytest.raises(DataError, match="FIFO"):
        load(root)
    (root / EDGES_FILE).unlink()
    (root / EDGES_FILE).write_bytes(EDGES.replace(",from", ",fr\xf6m").encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8") as error:
        load(root)
    assert str(root / EDGES_FILE) in str(error.value)


# -- the publisher's split as a scenario -------------------------------------------------------

def test_given_split_keeps_the_published_test_rows_for_every_seed(dataset):
    first, other = GivenSplit().split(dataset, 0), GivenSplit().split(dataset, 1)
    assert np.array_equal(first.test, np.flatnonzero(dataset.given_split == "test"))
    assert np.array_equal(first.test, other.test)
    published_train = np.flatnonzero(dataset.given_split == "train")
    for task in (first, other):
        assert len(task.validation) == 63 and len(task.train) == 560
        assert np.array_equal(np.sort(np.concatenate([task.train, task.validation])),
                              published_train)
    assert not np.array_equal(first.validation, other.validation)
    assert "publisher's is_train/is_test" in first.notes["split_origin"]
    assert first.class_names[first.positive_class] == "phishing"
    whole = GivenSplit(val_size=0).split(dataset, 0)
    assert np.array_equal(whole.train, published_train) and not len(whole.validation)


def test_given_split_refuses_a_dataset_that_declares_none():
    with pytest.raises(ConfigError, match="dataset 'toy' declares no train/test split"):
        GivenSplit().split(toy_data(), 0)
    with pytest.raises(DataError, match="given_split must hold one of"):
        replace(toy_data(), given_split=np.array(["train", "validation"] * 120))


def test_plugins_are_registered_by_entry_point(manager):
    points = {e.name: e.value for e in entry_points(group="chainsleuth")}
    assert points["ethereum_xblock"] == "plugins.datasets.ethereum_xblock"
    assert points["given_split"] == "plugins.scenarios.given_split"
    assert points["gnn"] == "plugins.models.gnn"
    registry = manager.registry
    assert "ethereum_xblock" in registry.names("dataset")
    assert "given_split" in registry.names("scenario")
    assert {"graphsage", "gat"} <= set(registry.names("model"))
    assert registry.get("model", "gat").provider.plugin == "gnn"
