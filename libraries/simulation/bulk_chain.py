"""A synthetic Bitcoin chain of any length as raw serialised blocks, fast enough for scale tests.

The agent-based :mod:`.chain` simulator models who pays whom (entity classes, labels) at about
7,000 transactions a second, which makes ten million transactions an hour of CPU before the
ETL sees one. Scale tests need volume with the shape of real blocks instead: here every block
is real consensus bytes (legacy serialisation, a 107-byte scriptSig per input as a signature
and key take, P2PKH outputs, BIP 34 coinbase, a merkle root that checks, a parent hash that
links), transactions spend random unspent outputs of earlier blocks (1-3 inputs, 1-3 outputs,
about as many outputs as inputs plus a little growth of the UTXO set, as mainnet has), pay a fee
by size, and a share of outputs go to reused addresses. So the same parser, tables and store
that read Bitcoin Core's files read these, and the cost per transaction and the growth of the
UTXO set are those of a real chain of that size. No proof of work; seeded, deterministic.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from libraries.bitcoin_wire.consensus import block_subsidy
from libraries.bitcoin_wire.encoding import merkle_root, sha256d, varint
from libraries.bitcoin_wire.serialize import coinbase_script
from libraries.simulation.errors import SimulationConfigError


@dataclass(frozen=True)
class BulkChainConfig:
    transactions_per_block: int = 2000
    reused_address_share: float = 0.3  # outputs paid to one of ``reused_addresses``
    reused_addresses: int = 100_000
    first_height: int = 1
    initial_outputs: int = 20_000  # the first coinbase's outputs: what the first blocks spend
    seed: int = 0

    def check(self) -> None:
        if self.transactions_per_block < 1:
            raise SimulationConfigError(f"transactions_per_block {self.transactions_per_block} "
                                        f"< 1; expected at least the coinbase")
        if not 0 <= self.reused_address_share <= 1:
            raise SimulationConfigError(f"reused_address_share {self.reused_address_share} is "
                                        f"not a share in [0, 1]")
        if self.first_height < 1 or self.initial_outputs < 1 or self.reused_addresses < 1:
            raise SimulationConfigError("first_height, initial_outputs and reused_addresses "
                                        "must be >= 1")


_P2PKH = (b"\x19\x76\xa9\x14", b"\x88\xac")  # length-prefixed script around a 20-byte hash
_SEQUENCE = b"\xff\xff\xff\xff"
_LOCKTIME = b"\x00\x00\x00\x00"
_VERSION = struct.pack("<i", 2)


class BulkChain:
    """Blocks one after another: ``blocks(n)`` yields the next ``n`` serialised blocks."""

    def __init__(self, config: BulkChainConfig = BulkChainConfig()) -> None:
        config.check()
        self.config = config
        self.rng = np.random.default_rng(config.seed)
        self.height = config.first_height
        self.previous = bytes(32)
        self.time = 1_600_000_000
        # the UTXO pool: (txid internal order, vout, value) of outputs of earlier blocks
        self.pool_txid: list[bytes] = []
        self.pool_vout: list[int] = []
        self.pool_value: list[int] = []
        self.reused = self.rng.integers(0, 256, (config.reused_addresses, 20), np.uint8)

    def _addresses(self, count: int) -> list[bytes]:
        """``count`` output addresses (20-byte hashes), a share of them reused ones."""
        fresh = self.rng.integers(0, 256, (count, 20), np.uint8)
        reuse = self.rng.random(count) < self.config.reused_address_share
        fresh[reuse] = self.reused[self.rng.integers(0, len(self.reused), int(reuse.sum()))]
        return [row.tobytes() for row in fresh]

    def _coinbase(self, value: int, outputs: int) -> bytes:
        script = coinbase_script(self.height)
        parts = [_VERSION, b"\x01", bytes(32), b"\xff\xff\xff\xff", varint(len(script)), script,
                 _SEQUENCE, varint(outputs)]
        share, rest = divmod(value, outputs)
        for k, address in enumerate(self._addresses(outputs)):
            parts += [struct.pack("<q", share + (rest if k == 0 else 0)), _P2PKH[0], address,
                      _P2PKH[1]]
        parts.append(_LOCKTIME)
        return b"".join(parts)

    def next_block(self) -> bytes:
        """The next block: its coinbase, then transactions spending earlier blocks' outputs.
        Every random draw of a block is made at once, in numpy."""
        c, rng = self.config, self.rng
        bodies: list[bytes] = []
        txids: list[bytes] = []
        created: list[tuple[bytes, int, int]] = []
        fees = 0
        count = 0 if not self.pool_txid else c.transactions_per_block - 1
        n_in = rng.choice((1, 2, 3), count, p=(0.6, 0.25, 0.15))
        n_out = rng.choice((1, 2, 3), count, p=(0.35, 0.5, 0.15))
        fee_rate = rng.integers(1, 40, count)
        picks = rng.random(int(n_in.sum()))
        cut_draws = rng.random((count, 2))
        signatures = rng.bytes(107 * len(picks))
        addresses = self._addresses(int(n_out.sum()))
        pool_txid, pool_vout, pool_value = self.pool_txid, self.pool_vout, self.pool_value
        pick = address = 0
        for t in range(count):
            if len(pool_txid) < 3:
                break
            inputs, outputs = int(n_in[t]), int(n_out[t])
            parts = [_VERSION, varint(inputs)]
            available = 0
            for _ in range(inputs):  # a random unspent output, swapped out of the pool
                k = int(picks[pick] * len(pool_txid))
                parts += [pool_txid[k], struct.pack("<I", pool_vout[k]), b"\x6b",
                          signatures[107 * pick:107 * pick + 107], _SEQUENCE]
                available += pool_value[k]
                for column in (pool_txid, pool_vout, pool_value):
                    column[k] = column[-1]
                    column.pop()
                pick += 1
            fee = (10 + 148 * inputs + 34 * outputs) * int(fee_rate[t])
            if available - fee < outputs * 546:  # dust: the whole input to one output, no fee
                fee, outputs = 0, 1
            available -= fee
            cuts = sorted(int(1 + x * (available - 1)) for x in cut_draws[t, :outputs - 1])
            values = [b - a for a, b in zip([0, *cuts], [*cuts, available])]
            parts.append(varint(outputs))
            for value in values:
                parts += [struct.pack("<q", value), _P2PKH[0], addresses[address], _P2PKH[1]]
                address += 1
            address += int(n_out[t]) - outputs
            parts.append(_LOCKTIME)
            body = b"".join(parts)
            txid = sha256d(body)
            bodies.append(body)
            txids.append(txid)
            created += [(txid, vout, value) for vout, value in enumerate(values)]
            fees += fee
        reward = block_subsidy(self.height) + fees
        outputs = c.initial_outputs if not self.pool_txid and not bodies else 2
        coinbase = self._coinbase(reward, outputs)
        coinbase_txid = sha256d(coinbase)
        share, rest = divmod(reward, outputs)
        created += [(coinbase_txid, k, share + (rest if k == 0 else 0)) for k in range(outputs)]
        header = (_VERSION + self.previous + merkle_root([coinbase_txid, *txids])
                  + struct.pack("<III", self.time, 0x207FFFFF, 0))
        block = header + varint(1 + len(bodies)) + coinbase + b"".join(bodies)
        for txid, vout, value in created:  # spendable from the next block on
            pool_txid.append(txid)
            pool_vout.append(vout)
            pool_value.append(value)
        self.previous = sha256d(header)
        self.height += 1
        self.time += 600
        return block

    def blocks(self, count: int) -> Iterator[bytes]:
        for _ in range(count):
            yield self.next_block()

    @property
    def unspent(self) -> int:
        return len(self.pool_txid)
