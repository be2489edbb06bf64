"""Bitcoin's consensus serialisation of blocks and transactions, segwit included.

``parse_block`` reads one serialised block, computes every txid (double SHA-256 of the
serialisation without witness data) and wtxid, and checks the header's merkle root against the
txids: a block whose root does not match is rejected with :class:`DataError`. Transactions are
plain tuples-backed dataclasses with ``__slots__``: parsing is the ETL's hot path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from framework.errors import DataError

_sha256 = hashlib.sha256


def dsha256(data: bytes) -> bytes:
    return _sha256(_sha256(data).digest()).digest()


@dataclass(frozen=True, slots=True)
class TxIn:
    prev_txid: str
    vout: int
    script_sig: bytes
    sequence: int
    witness: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class TxOut:
    value: int
    script: bytes


@dataclass(frozen=True, slots=True)
class Transaction:
    txid: str
    wtxid: str
    version: int
    inputs: tuple[TxIn, ...]
    outputs: tuple[TxOut, ...]
    locktime: int

    @property
    def is_coinbase(self) -> bool:
        return len(self.inputs) == 1 and self.inputs[0].prev_txid == "0" * 64 and (
            self.inputs[0].vout == 0xFFFFFFFF)

    @property
    def has_witness(self) -> bool:
        return self.txid != self.wtxid


@dataclass(frozen=True, slots=True)
class Block:
    hash: str
    version: int
    previous: str
    merkle_root: str
    time: int
    bits: int
    nonce: int
    transactions: tuple[Transaction, ...]
    size: int


def merkle_root(txids: list[str]) -> str:
    layer = [bytes.fromhex(t)[::-1] for t in txids]
    if not layer:
        raise DataError("merkle root of an empty block")
    while len(layer) > 1:
        if len(layer) % 2:
            layer.append(layer[-1])
        layer = [dsha256(layer[i] + layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0][::-1].hex()


class _Reader:
    __slots__ = ("data", "pos", "source")

    def __init__(self, data: bytes, source: str) -> None:
        self.data, self.pos, self.source = data, 0, source

    def fail(self, what: str) -> DataError:
        return DataError(f"{self.source}: truncated or malformed block at byte {self.pos} "
                         f"({what})")


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    if first == 0xFD:
        return int.from_bytes(data[pos + 1:pos + 3], "little"), pos + 3
    if first == 0xFE:
        return int.from_bytes(data[pos + 1:pos + 5], "little"), pos + 5
    return int.from_bytes(data[pos + 1:pos + 9], "little"), pos + 9


def _parse_tx(data: bytes, pos: int) -> tuple[Transaction, int]:
    start = pos
    version = int.from_bytes(data[pos:pos + 4], "little", signed=True)
    pos += 4
    segwit = data[pos] == 0 and data[pos + 1] != 0
    if segwit:
        pos += 2
    body_start = pos
    n_in, pos = _varint(data, pos)
    raw_inputs = []
    for _ in range(n_in):
        prev = data[pos:pos + 32][::-1].hex()
        vout = int.from_bytes(data[pos + 32:pos + 36], "little")
        length, pos = _varint(data, pos + 36)
        script = data[pos:pos + length]
        pos += length
        sequence = int.from_bytes(data[pos:pos + 4], "little")
        pos += 4
        raw_inputs.append((prev, vout, script, sequence))
    n_out, pos = _varint(data, pos)
    outputs = []
    for _ in range(n_out):
        value = int.from_bytes(data[pos:pos + 8], "little", signed=True)
        length, pos = _varint(data, pos + 8)
        outputs.append(TxOut(value, data[pos:pos + length]))
        pos += length
    body_end = pos
    witnesses: list[tuple[bytes, ...]] = []
    if segwit:
        for _ in range(n_in):
            items, pos = _varint(data, pos)
            stack = []
            for _ in range(items):
                length, pos = _varint(data, pos)
                stack.append(data[pos:pos + length])
                pos += length
            witnesses.append(tuple(stack))
    locktime = int.from_bytes(data[pos:pos + 4], "little")
    pos += 4
    if pos > len(data):
        raise IndexError("transaction runs past the end of the data")
    if segwit:
        stripped = data[start:start + 4] + data[body_start:body_end] + data[pos - 4:pos]
        txid = dsha256(stripped)[::-1].hex()
        wtxid = dsha256(data[start:pos])[::-1].hex()
    else:
        txid = wtxid = dsha256(data[start:pos])[::-1].hex()
    inputs = tuple(TxIn(p, v, s, q, witnesses[i] if segwit else ())
                   for i, (p, v, s, q) in enumerate(raw_inputs))
    return Transaction(txid, wtxid, version, inputs, tuple(outputs), locktime), pos


def parse_block(raw: bytes, source: str = "block", check_merkle: bool = True) -> Block:
    """Parse one serialised block (80-byte header, varint count, transactions)."""
    if len(raw) < 81:
        raise DataError(f"{source}: {len(raw)} bytes is too short for a block (80-byte header + "
                        f"transactions)")
    header = raw[:80]
    try:
        count, pos = _varint(raw, 80)
        transactions = []
        for _ in range(count):
            tx, pos = _parse_tx(raw, pos)
            transactions.append(tx)
    except (IndexError, ValueError) as exc:
        raise DataError(f"{source}: truncated or malformed block ({exc})") from None
    block = Block(hash=dsha256(header)[::-1].hex(),
                  version=int.from_bytes(header[0:4], "little", signed=True),
                  previous=header[4:36][::-1].hex(), merkle_root=header[36:68][::-1].hex(),
                  time=int.from_bytes(header[68:72], "little"),
                  bits=int.from_bytes(header[72:76], "little"),
                  nonce=int.from_bytes(header[76:80], "little"),
                  transactions=tuple(transactions), size=pos)
    if check_merkle:
        computed = merkle_root([t.txid for t in transactions])
        if computed != block.merkle_root:
            raise DataError(f"{source}: block {block.hash} is rejected: its header's merkle root "
                            f"{block.merkle_root} does not match the root of its {count} txids "
                            f"({computed})")
    return block


def block_subsidy(height: int) -> int:
    """Satoshi minted by the coinbase at ``height`` (50 BTC halving every 210,000 blocks)."""
    halvings = height // 210_000
    return 0 if halvings >= 64 else (50 * 100_000_000) >> halvings


def coinbase_height(block: Block) -> int | None:
    """BIP 34 height from the coinbase script (blocks of version >= 2), else None."""
    script = block.transactions[0].inputs[0].script_sig
    if block.version < 2 or not script or not 1 <= script[0] <= 8:
        return None
    return int.from_bytes(script[1:1 + script[0]], "little")
