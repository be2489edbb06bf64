"""relay_sim: the first-arrival engine through the dataset, and its world cache (a reused world
is the world, and a changed parameter never reuses one)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from framework.errors import ConfigError
from framework.interfaces import DataContext
from plugins.relay.dataset import RelaySimDataset

SMALL = dict(nodes=120, transactions=300, target_share=0.05, days=3, individual_wallet=150,
             engine="first_arrival", target_inbound=40, churn_offline_share=0.1,
             validation_delay=0.005, listening_share=0.5)


def _load(tmp_path, **overrides):
    source = RelaySimDataset(**{**SMALL, **overrides}, seed=2)
    return source, source.load(DataContext(data_dir=None, cache_dir=tmp_path, seed=2))


def test_a_cached_world_loads_as_the_simulated_one(tmp_path):
    source, fresh = _load(tmp_path)
    entries = list((tmp_path / "relay_sim").iterdir())
    assert len(entries) == 1 and {p.name for p in entries[0].iterdir()} == {
        "transactions.parquet", "events.parquet", "run.json"}
    _, cached = _load(tmp_path)
    assert np.array_equal(fresh.X, cached.X) and np.array_equal(fresh.y, cached.y)
    assert list(fresh.ids) == list(cached.ids)
    pd.testing.assert_frame_equal(fresh.relay_traffic.events, cached.relay_traffic.events)
    assert fresh.provenance.details == cached.provenance.details
    assert fresh.provenance.details["engine"] == "first_arrival"
    # 8 outbound + 40 inbound + 4 probes; a peer offline through the whole run (churn) is silent
    assert 8 + 40 + 4 - 5 <= fresh.relay_traffic.events["peer"].nunique() <= 8 + 40 + 4
    first = fresh.transactions.frame
    again = cached.transactions.frame
    assert first["inputs"].tolist() == again["inputs"].tolist()
    np.testing.assert_array_equal(first["first_seen"].to_numpy(), again["first_seen"].to_numpy())


def test_another_parameter_is_another_world_and_a_damaged_entry_is_rebuilt(tmp_path):
    source, _ = _load(tmp_path)
    other, _ = _load(tmp_path, churn_offline_share=0.2)
    assert source.cache_key() != other.cache_key()
    assert len(list((tmp_path / "relay_sim").iterdir())) == 2
    (tmp_path / "relay_sim" / source.cache_key() / "events.parquet").write_bytes(b"not parquet")
    with pytest.warns(UserWarning, match="is damaged"):
        _, rebuilt = _load(tmp_path)
    assert rebuilt.relay_traffic.events.shape[0] > 10_000


def test_an_unknown_engine_and_event_engine_realism_are_config_errors():
    with pytest.raises(ConfigError, match="engine must be one of"):
        RelaySimDataset(engine="fast")
    with pytest.raises(ConfigError, match="event engine does not model target_inbound"):
        RelaySimDataset(target_inbound=10)
