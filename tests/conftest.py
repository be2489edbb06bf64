"""Session fixtures: the shared real data and the plugin manager."""

from pathlib import Path

import pytest
from helpers import DATA_DIR

from framework.plugin_manager import get_plugin_manager


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared real data (CI has it beside the checkout); missing data fails, never skips."""
    assert (DATA_DIR / "DATA.md").is_file(), (
        f"real test data not found at {DATA_DIR}; set CHAINSLEUTH_DATA_DIR to the shared data")
    return DATA_DIR


@pytest.fixture(scope="session")
def manager():
    return get_plugin_manager()
