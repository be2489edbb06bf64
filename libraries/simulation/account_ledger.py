"""The account-ledger variant of the simulator (Ethereum-like), for cross-platform work.

The same entities and behaviours as the UTXO ledger run on an account model: an address holds a
balance; a payment is one transfer from one sending account to one receiving account, with a
fee burnt to the block's miner; there is no change and no multi-input consolidation (a sweep is
one transfer per swept account). Account-model wallets rarely rotate addresses, so "fresh
address" decisions of the behaviours are taken with a fifth of their UTXO probability.
Addresses look like Ethereum's (``0x`` + 40 lowercase hex digits); the output is a transfer list
in Etherscan's ``txlist`` columns, which is what the real account-chain datasets are made of.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from libraries.simulation.chain import DUST, START_HEIGHT, SUBSIDY, ChainSimulator, Entity

FRESH_FACTOR = 0.2
TRANSFER_GAS = 21_000


class AccountLedgerSimulator(ChainSimulator):
    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.transfers: list[tuple[str, int, int, str, str, int, int]] = []
        self._pending: list[tuple[str, str, str, int, int]] = []

    def new_address(self, entity: Entity) -> int:
        index = len(self.address_text)
        digest = hashlib.sha256(f"account:{self.config.seed}:{index}".encode()).hexdigest()
        self.address_text.append("0x" + digest[:40])
        self.address_script.append("")
        self.address_owner.append(entity.index)
        entity.addresses.append(index)
        return index

    def receiving_address(self, entity: Entity, fresh_probability: float) -> int:
        return super().receiving_address(entity, fresh_probability * FRESH_FACTOR)

    def _account(self, entity: Entity, address: int) -> tuple[str, int]:
        return (self.address_text[address], 0)

    def _add(self, address: int, value: int) -> None:
        owner = self.entities[self.address_owner[address]]
        key = self._account(owner, address)
        balance = owner.utxos.get(key, (0, address, self.height, False))[0]
        owner.utxos[key] = (balance + value, address, self.height, False)

    def _transfer(self, payer: Entity, source: int, target: int, value: int, fee: int) -> str:
        key = self._account(payer, source)
        balance = payer.utxos[key][0] - value - fee
        if balance > 0:
            payer.utxos[key] = (balance, source, self.height, False)
        else:
            del payer.utxos[key]
        self._add(target, value)
        self._sequence += 1
        txhash = "0x" + hashlib.sha256(
            f"{self.config.seed}:{self._sequence}:{source}:{target}".encode()).hexdigest()
        self._pending.append((txhash, self.address_text[source], self.address_text[target],
                              value, fee))
        self.pending_fees += fee
        return txhash

    def _fee(self) -> int:
        gwei = self.config.fee_rate * float(self.rng.lognormal(0.0, 0.4))
        return max(1, int(TRANSFER_GAS * gwei * 1e-9 * 1e8))  # in 1e-8 coin units

    def pay(self, payer: Entity, payments: list[tuple[int, int]], *, sweep: int = 0,
            change_fresh: float = 0.7, spend_from: list[int] | None = None) -> str | None:
        accounts = [(v[0], v[1]) for v in payer.utxos.values()]
        if spend_from is not None:
            wanted = set(spend_from)
            accounts = [a for a in accounts if a[1] in wanted]
        if not accounts:
            return None
        last = None
        if sweep:
            for balance, source in accounts[:sweep]:
                fee = self._fee()
                if balance - fee > DUST:
                    last = self._transfer(payer, source, payments[0][0], balance - fee, fee)
            return last
        for target, amount in payments:
            balance, source = max(((v[0], v[1]) for v in payer.utxos.values()
                                   if spend_from is None or v[1] in set(spend_from)),
                                  default=(0, -1))
            fee = self._fee()
            if source < 0 or balance <= fee + DUST:
                break
            value = min(amount, balance - fee)
            if value > DUST:
                last = self._transfer(payer, source, target, value, fee)
        return last

    def _mature(self, entity: Entity) -> None:
        """Account chains have no coinbase maturity: rewards are spendable at once."""

    def close_block(self, block_time: int, miner: Entity) -> None:
        if "coinbase_address" not in miner.state or self.rng.random() < 0.02:
            miner.state["coinbase_address"] = self.new_address(miner)
        self._add(miner.state["coinbase_address"], SUBSIDY + self.pending_fees)
        for txhash, source, target, value, fee in self._pending:
            self.transfers.append((txhash, self.height, block_time, source, target, value, fee))
        self._pending, self.pending_fees = [], 0
        self.height += 1

    def fund(self, allocations: list[tuple[Entity, int]]) -> None:
        for entity, amount in allocations:
            address = self.new_address(entity)
            self.funding_addresses.add(address)
            self._add(address, amount)
        self.height = START_HEIGHT + 1

    def transfer_table(self) -> pd.DataFrame:
        """Transfers in Etherscan ``txlist`` columns (values in coin, not 1e-8 units)."""
        frame = pd.DataFrame(self.transfers, columns=["TxHash", "BlockHeight", "TimeStamp", "From",
                                                      "To", "value_units", "fee_units"])
        frame["Value"] = frame.pop("value_units") / 1e8
        frame["Fee"] = frame.pop("fee_units") / 1e8
        frame["isError"] = np.zeros(len(frame), dtype=int)
        return frame
