"""``p2p_capture`` on the real shared capture, through the same scenario and models."""

from __future__ import annotations

import json

import pytest
from helpers import DATA_DIR, run_cli

from framework.errors import DataError
from framework.interfaces import DataContext
from plugins.relay.capture_dataset import P2PCaptureDataset, read_own_txids
from plugins.relay.pcap_reader import read_capture

CAPTURE = DATA_DIR / "bitcoin_p2p" / "bitcoin.pcap"


@pytest.fixture(scope="module")
def captured_txids():
    events = read_capture(CAPTURE)
    return sorted(set(events.loc[events["message"] == "tx", "txid"]))


def test_capture_rows_are_its_transactions_labelled_by_the_own_list(tmp_path, captured_txids):
    own = tmp_path / "own.txt"
    own.write_text("# my wallet\n" + "\n".join(captured_txids[:3]) + "\n")
    data = P2PCaptureDataset(own_txids=str(own)).load(
        DataContext(data_dir=DATA_DIR, cache_dir=tmp_path, seed=0))
    assert data.provenance.origin == "real"
    assert set(captured_txids) <= set(data.ids)
    assert data.y.sum() == 3
    assert set(data.ids[data.y == 1]) == set(captured_txids[:3])
    assert (data.relay_traffic.events["node"].str.contains(data.provenance.details["node"],
                                                              regex=False)).all()
    # Rows are exactly the transactions the node's links carried, wtxids folded into txids.
    events = data.relay_traffic.events
    tx = events[events["message"] == "tx"]
    to_txid = dict(zip(tx["wtxid"], tx["txid"]))
    carried = events[events["inv_type"].isin([1, 5, 0x40000001]) | (events["message"] == "tx")]
    assert set(data.ids) == {to_txid.get(h, h) for h in carried["txid"]}
    announced = events[(events["message"] == "inv") & (events["direction"] == "sent")]
    assert data.X[:, 0].sum() == len(announced)


def test_bad_own_list_and_missing_list_are_named(tmp_path):
    bad = tmp_path / "own.txt"
    bad.write_text("not-a-txid\n")
    with pytest.raises(DataError, match="line 1"):
        read_own_txids(bad)
    with pytest.raises(DataError, match="own_txids"):
        P2PCaptureDataset().load(DataContext(data_dir=DATA_DIR, cache_dir=tmp_path, seed=0))


def test_a_real_capture_runs_through_interception_and_the_baseline(tmp_path, captured_txids):
    own = tmp_path / "own.txt"
    own.write_text("\n".join(captured_txids[:4]))
    done = run_cli(["run", "dataset=p2p_capture", f"dataset.own_txids={own}",
                    "scenario=interception", "scenario.share=1.0", "method=traffic_anomaly",
                    f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["status"] == "ok", result["error"]
    assert result["dataset"]["provenance"]["origin"] == "real"
    assert result["task"]["test_class_counts"][1] == 2
