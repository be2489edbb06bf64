"""chainsleuth relay-sim, as a user runs it."""

import pandas as pd
from helpers import run_cli

from libraries.simulation.relay_events import EVENT_COLUMNS


def test_relay_sim_writes_the_event_log_and_ground_truth(tmp_path):
    done = run_cli(["relay-sim", "--out", str(tmp_path / "sim"), "--nodes", "40",
                    "--transactions", "120", "--probes", "2"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "synthetic" in done.stdout
    events = pd.read_csv(tmp_path / "sim" / "events.csv", keep_default_na=False)
    truth = pd.read_csv(tmp_path / "sim" / "ground_truth.csv")
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert len(truth) == 120 and truth["origin"].str.fullmatch(r"n\d+").all()
    assert truth["target_first_seen"].notna().all()
    assert {"probe0", "probe1"} <= set(events["peer"])
    assert set(events.loc[events["txid"] != "", "txid"]) <= set(truth["txid"])
