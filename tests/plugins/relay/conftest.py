"""One small simulated relay world shared by the relay tests (a few seconds to build)."""

from __future__ import annotations

import pytest

from plugins.relay.dataset import RelaySimDataset

SMALL_WORLD = dict(nodes=60, transactions=400, target_share=0.05, probes=3, days=4,
                   individual_wallet=150)


@pytest.fixture(scope="session")
def small_world():
    """(transactions, relay run) of the small world, seed 0."""
    return RelaySimDataset(**SMALL_WORLD, seed=0).simulate()
