"""``bitcoin_graph`` dataset: addresses described from the graph, simulator and real blocks."""

from __future__ import annotations

import json

import pytest
from helpers import DATA_DIR, run_cli

from framework.account_schema import ATTRIBUTE_NAMES
from framework.errors import DataError
from framework.interfaces import DataContext
from plugins.bitcoin_graph.dataset import BitcoinGraphDataset, read_labels


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    context = DataContext(data_dir=DATA_DIR, cache_dir=tmp_path_factory.mktemp("c"), seed=0)
    return BitcoinGraphDataset(days=2, individual_wallet=80, hops=1).load(context)


def test_simulated_rows_are_labelled_addresses_plus_their_neighbourhood(simulated):
    data = simulated
    assert data.provenance.origin == "synthetic"
    labelled, unlabelled = data.y >= 0, data.y < 0
    assert labelled.sum() > 50 and unlabelled.sum() >= 0
    assert data.feature_names == list(ATTRIBUTE_NAMES)
    assert data.edge_index.max() < len(data.ids) and data.edge_index.shape[0] == 2
    # in_total is what Credits and Mints brought the address, in BTC.
    events = data.history.events
    first = data.ids[0]
    received = events[(events["account"] == first) & (events["direction"] == "in")]["value"].sum()
    column = data.feature_names.index("in_total")
    assert data.X[0, column] == pytest.approx(received)


def test_real_fixture_blocks_run_end_to_end_with_a_labels_file(tmp_path):
    from libraries.graph_etl.graph import build_graph
    from plugins.bitcoin_graph.readers import read_blocks
    from libraries.graph_etl.tables import to_tables

    graph = build_graph(to_tables(read_blocks(DATA_DIR / "bitcoin_blocks" / "blocks1-256.bz2"),
                                  first_height=1))
    miners = graph.edges["Mints"].to_pandas().sort_values("height")["dst"].drop_duplicates()
    labels = tmp_path / "labels.csv"
    labels.write_text("address,label\n" + "".join(
        f"{a},{'early_miner' if i < 40 else 'late_miner'}\n" for i, a in enumerate(miners[:80])))
    done = run_cli(["run", "dataset=bitcoin_graph", "dataset.blocks=[bitcoin_blocks/blocks1-256.bz2]",
                    "dataset.first_height=1", f"dataset.labels={labels}",
                    "dataset.benign=[early_miner]", "model=lr",
                    f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "ok", result["error"]
    assert result["dataset"]["provenance"]["origin"] == "real"
    assert result["dataset"]["provenance"]["details"]["labelled_in_graph"] == 80


def test_bad_labels_are_named(tmp_path):
    bad = tmp_path / "labels.csv"
    bad.write_text("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n")
    with pytest.raises(DataError, match="line 1"):
        read_labels(bad)
    with pytest.raises(DataError, match="dataset.labels"):
        BitcoinGraphDataset(blocks=["x.blk"])


def test_blocks_without_a_height_need_dataset_first_height(tmp_path):
    """Blocks before BIP 34 state no height: the error names the setting, not a ValueError."""
    labels = tmp_path / "labels.csv"
    labels.write_text("address,label\n")
    dataset = BitcoinGraphDataset(blocks=["bitcoin_blocks/blocks1-256.bz2"], labels=str(labels))
    context = DataContext(data_dir=DATA_DIR, cache_dir=tmp_path / "c", seed=0)
    with pytest.raises(DataError, match="no first height was given: set dataset.first_height "
                                        "to the height of the first block in dataset.blocks"):
        dataset.load(context)


def test_a_missing_graph_extra_is_named(monkeypatch):
    """duckdb and ladybug come with the 'graph' extra; without them the plugin says so."""
    import sys

    from framework.errors import PluginError
    from plugins.bitcoin_graph.library import require_graph_extra

    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb now raises ImportError
    with pytest.raises(PluginError, match=r"needs duckdb.*pip install 'chainsleuth\[graph\]'"):
        BitcoinGraphDataset().load(DataContext(data_dir=DATA_DIR, cache_dir=DATA_DIR, seed=0))
    with pytest.raises(PluginError, match=r"graph build needs duckdb.*'graph' extra"):
        require_graph_extra("graph build")
