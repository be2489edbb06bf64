"""Session fixtures: the shared real data, the plugin manager and one small relay world."""

from pathlib import Path

import pytest
from helpers import DATA_DIR

from framework.plugin_manager import PluginManager


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real data (CI has it beside the checkout); missing data fails, never skips."""
    assert (DATA_DIR / "DATA.md").is_file(), (
        f"real test data not found at {DATA_DIR}; set CHAINSLEUTH_DATA_DIR to the shared data")
    return DATA_DIR


@pytest.fixture(scope="session")
def manager():
    return PluginManager()


SMALL_WORLD = dict(nodes=60, transactions=400, target_share=0.05, probes=3, days=4,
                   individual_wallet=150)


@pytest.fixture(scope="session")
def small_world():
    """(transactions, relay run) of one small simulated relay world, seed 0 (a few seconds to
    build; shared by the relay simulator's and the relay plugin's tests)."""
    from plugins.relay.dataset import RelaySimDataset

    return RelaySimDataset(**SMALL_WORLD, seed=0).simulate()
