"""Seeded simulators of a blockchain economy and of Bitcoin's transaction relay.

* :mod:`.chain`: an agent-based UTXO ledger whose entities behave like the BABD classes; it emits
  Bitcoin Core ``getblock`` verbosity-3 JSON (serialised by :mod:`libraries.bitcoin_wire`);
  :func:`.chain.rival_branch` re-mines a competing branch of it (a re-org).
* :mod:`.account_ledger`: the same economy on an account ledger (Ethereum-like transfers).
* :mod:`.relay`: a discrete-event simulator of Bitcoin Core's transaction relay, which writes
  the relay event log of :mod:`.relay_events` (the table a pcap capture is read into, too).

Bad parameters raise :class:`~.errors.SimulationConfigError`, a malformed event log
:class:`~.errors.MalformedEvents` (both :class:`ValueError`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from libraries.simulation.account_ledger import AccountLedgerSimulator
from libraries.simulation.chain import (BENIGN, CLASSES, ChainSimulator, SimulationConfig,
                                       rival_branch)
from libraries.simulation.errors import MalformedEvents, SimulationConfigError

__all__ = ["BENIGN", "CLASSES", "AccountLedgerSimulator", "ChainSimulator", "MalformedEvents",
           "SimulationConfig", "SimulationConfigError", "rival_branch", "simulate",
           "simulate_accounts"]


@lru_cache(maxsize=4)
def simulate(config: SimulationConfig) -> tuple[list[dict[str, Any]], list[tuple[str, str, int, bool]]]:
    """UTXO ledger: Core JSON blocks and ground truth."""
    simulator = ChainSimulator(config)
    blocks = simulator.run()
    return blocks, simulator.ground_truth()


@lru_cache(maxsize=4)
def simulate_accounts(config: SimulationConfig) -> tuple[pd.DataFrame, list[tuple[str, str, int, bool]]]:
    """Account ledger: Etherscan-style transfer list and ground truth."""
    simulator = AccountLedgerSimulator(config)
    simulator.run()
    return simulator.transfer_table(), simulator.ground_truth()
