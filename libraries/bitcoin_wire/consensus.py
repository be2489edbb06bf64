"""Bitcoin's consensus serialisation of blocks and transactions, segwit included.

``parse_block`` walks one serialised block in a compiled (numba) pass that records where every
transaction, input and output lies (:class:`BlockLayout`), computes every txid (double SHA-256
of the serialisation without witness data) and checks the header's merkle root against them: a
block whose root does not match is rejected with :class:`.MalformedData`. The graph ETL reads
its columns straight from the layout (:mod:`libraries.graph_etl.tables`);
:attr:`Block.transactions` builds Python objects, wtxids and witness stacks included, only when
something asks for them. :func:`parse_transaction` runs the same compiled walk over one
transaction (a P2P ``tx`` message); :func:`parse_bare_transaction` reads a file's worth of one
transaction (what ``getrawtransaction`` prints) with its size and weight, and
:func:`parse_block_or_transaction` tells a raw block from a bare transaction.

Segwit detection is Bitcoin Core's rule (``UnserializeTransaction``): after the version, a 0x00
marker followed by a non-zero flag announces the extended format; the flag must be 0x01, and any
other flag is rejected (Core: "Unknown transaction optional data"). A 0x00 followed by 0x00 is
the legacy serialisation of a transaction with no inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np

from libraries.bitcoin_wire.encoding import read_varint
from libraries.bitcoin_wire.encoding import sha256d as dsha256
from libraries.bitcoin_wire.errors import MalformedData
from libraries.bitcoin_wire.sha256_kernel import double_sha256_into, new_hasher

_NULL_TXID = "0" * 64
SEGWIT_FLAG = 0x01


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
        return len(self.inputs) == 1 and self.inputs[0].prev_txid == _NULL_TXID and (
            self.inputs[0].vout == 0xFFFFFFFF)

    @property
    def has_witness(self) -> bool:
        return self.txid != self.wtxid


@dataclass(frozen=True)
class BlockLayout:
    """Byte offsets into the block of every transaction, input and output (int64 arrays).

    ``tx``: start, body start, body end, end, first input, first output (one row per tx; the
    body is inputs + outputs, so a tx is segwit when its body does not start at start + 4).
    ``inputs``: prevout txid offset, prevout index, script start, script end, sequence, witness
    start, witness end. ``outputs``: value, script start, script end.
    """

    tx: np.ndarray
    inputs: np.ndarray
    outputs: np.ndarray

    @property
    def segwit(self) -> np.ndarray:
        return self.tx[:, 1] != self.tx[:, 0] + 4


@dataclass(frozen=True, eq=False)
class Block:
    hash: str
    version: int
    previous: str
    merkle_root: str
    time: int
    bits: int
    nonce: int
    size: int
    raw: bytes
    layout: BlockLayout
    txid_digests: np.ndarray  # (n_tx, 32) uint8, internal byte order

    @property
    def n_tx(self) -> int:
        return len(self.txid_digests)

    @property
    def txids(self) -> list[str]:
        return [digest[::-1].hex() for digest in map(bytes, self.txid_digests)]

    @cached_property
    def transactions(self) -> tuple[Transaction, ...]:
        """Every transaction as objects (built on first use: the ETL never needs them)."""
        return _transactions(self.raw, self.layout, self.txids)


@dataclass(frozen=True, slots=True)
class BareTransaction:
    """One transaction read from its own serialisation, with the sizes only its bytes give (a
    :class:`Transaction` keeps no bytes): ``size`` counts all of them, ``stripped_size`` those
    the txid hashes (no marker, flag or witnesses). Weight and vsize are BIP 141's."""

    transaction: Transaction
    size: int
    stripped_size: int

    @property
    def weight(self) -> int:
        return 3 * self.stripped_size + self.size

    @property
    def vsize(self) -> int:
        return -(-self.weight // 4)


def _transactions(raw: bytes, layout: BlockLayout, txids: list[str]) -> tuple[Transaction, ...]:
    """Transaction objects of the walked ``raw`` (a block's or a bare transaction's)."""
    tx, inputs, outputs = layout.tx, layout.inputs, layout.outputs
    input_bounds = np.append(tx[:, 4], len(inputs)).tolist()
    output_bounds = np.append(tx[:, 5], len(outputs)).tolist()
    segwit = layout.segwit.tolist()
    built = []
    for i, txid in enumerate(txids):
        start, end = tx[i, 0].item(), tx[i, 3].item()
        wtxid = dsha256(raw[start:end])[::-1].hex() if segwit[i] else txid
        ins = tuple(TxIn(raw[p:p + 32][::-1].hex(), vout, raw[s:e], sequence,
                         _witness_items(raw, ws, we)) for p, vout, s, e, sequence, ws, we
                    in inputs[input_bounds[i]:input_bounds[i + 1]].tolist())
        outs = tuple(TxOut(value, raw[s:e]) for value, s, e
                     in outputs[output_bounds[i]:output_bounds[i + 1]].tolist())
        built.append(Transaction(
            txid, wtxid, int.from_bytes(raw[start:start + 4], "little", signed=True), ins,
            outs, int.from_bytes(raw[end - 4:end], "little")))
    return tuple(built)


def _witness_items(raw: bytes, start: int, end: int) -> tuple[bytes, ...]:
    """The stack items of one input's witness (already bounds-checked by the block walk)."""
    items, pos = [], start
    if start == end:
        return ()
    count, pos = read_varint(raw, pos)
    for _ in range(count):
        length, pos = read_varint(raw, pos)
        items.append(raw[pos:pos + length])
        pos += length
    return tuple(items)


_TRUNCATED, _TOO_LARGE, _UNKNOWN_FLAG = 1, 2, 3


@numba.njit(inline="always")
def _varint(data, pos):
    """(value, next position); value -1 when the varint runs past the data."""
    n = data.shape[0]
    if pos >= n:
        return -1, pos
    first = data[pos]
    if first < 0xFD:
        return np.int64(first), pos + 1
    width = 2 if first == 0xFD else (4 if first == 0xFE else 8)
    if pos + 1 + width > n:
        return -1, pos
    value = np.int64(0)
    for i in range(width):
        value |= np.int64(data[pos + 1 + i]) << np.int64(8 * i)
    return value, pos + 1 + width


@numba.njit(inline="always")
def _le(data, pos, width):
    value = np.int64(0)
    for i in range(width):
        value |= np.int64(data[pos + i]) << np.int64(8 * i)
    return value


@numba.njit(cache=True)
def _walk(data, pos, tx, inputs, outputs):
    """Fill the layout arrays; returns (status, position, inputs used, outputs used). Counts
    larger than the bytes left are malformed (every input takes >= 41 bytes, every output
    >= 9), which also bounds the preallocated arrays."""
    n = data.shape[0]
    n_in_total, n_out_total = 0, 0
    for t in range(tx.shape[0]):
        start = pos
        if pos + 6 > n:
            return _TRUNCATED, pos, n_in_total, n_out_total
        pos += 4
        segwit = data[pos] == 0 and data[pos + 1] != 0  # marker, then a non-zero flag
        if segwit:
            if data[pos + 1] != SEGWIT_FLAG:
                return _UNKNOWN_FLAG, pos + 1, n_in_total, n_out_total
            pos += 2
        body_start = pos
        count, pos = _varint(data, pos)
        if count < 0:
            return _TRUNCATED, pos, n_in_total, n_out_total
        if count > (n - pos) // 41 or n_in_total + count > inputs.shape[0]:
            return _TOO_LARGE, pos, n_in_total, n_out_total
        tx[t, 0], tx[t, 1], tx[t, 4], tx[t, 5] = start, body_start, n_in_total, n_out_total
        first_input = n_in_total
        for _ in range(count):
            if pos + 37 > n:
                return _TRUNCATED, pos, n_in_total, n_out_total
            row = inputs[n_in_total]
            row[0], row[1] = pos, _le(data, pos + 32, 4)
            length, pos = _varint(data, pos + 36)
            if length < 0 or length > n - pos - 4:
                return _TRUNCATED, pos, n_in_total, n_out_total
            row[2], row[3] = pos, pos + length
            pos += length
            row[4] = _le(data, pos, 4)
            row[5] = 0  # witness range, set below for segwit transactions
            row[6] = 0
            pos += 4
            n_in_total += 1
        count, pos = _varint(data, pos)
        if count < 0:
            return _TRUNCATED, pos, n_in_total, n_out_total
        if count > (n - pos) // 9 or n_out_total + count > outputs.shape[0]:
            return _TOO_LARGE, pos, n_in_total, n_out_total
        for _ in range(count):
            if pos + 9 > n:
                return _TRUNCATED, pos, n_in_total, n_out_total
            row = outputs[n_out_total]
            row[0] = _le(data, pos, 8)
            length, pos = _varint(data, pos + 8)
            if length < 0 or length > n - pos:
                return _TRUNCATED, pos, n_in_total, n_out_total
            row[1], row[2] = pos, pos + length
            pos += length
            n_out_total += 1
        tx[t, 2] = pos
        if segwit:
            for i in range(first_input, n_in_total):
                inputs[i, 5] = pos
                items, pos = _varint(data, pos)
                if items < 0 or items > n - pos:
                    return _TRUNCATED, pos, n_in_total, n_out_total
                for _ in range(items):
                    length, pos = _varint(data, pos)
                    if length < 0 or length > n - pos:
                        return _TRUNCATED, pos, n_in_total, n_out_total
                    pos += length
                inputs[i, 6] = pos
        if pos + 4 > n:
            return _TRUNCATED, pos, n_in_total, n_out_total
        pos += 4
        tx[t, 3] = pos
    return 0, pos, n_in_total, n_out_total


@numba.njit(cache=True)
def _txid_kernel(data, tx, digests, hasher):
    """Every txid (internal byte order) into ``digests`` (uint8[count, 32]): a segwit
    transaction is hashed without its marker, flag and witnesses, as its version, body and
    lock time in one streaming hash."""
    init, update, final, context, first = hasher
    ctx, base = context.ctypes.data, data.ctypes.data
    for t in range(tx.shape[0]):
        start, body_start, body_end, end = tx[t, 0], tx[t, 1], tx[t, 2], tx[t, 3]
        init(ctx)
        if body_start == start + 4:
            update(ctx, base + start, end - start)
        else:
            update(ctx, base + start, 4)
            update(ctx, base + body_start, body_end - body_start)
            update(ctx, base + end - 4, 4)
        final(first.ctypes.data, ctx)
        init(ctx)
        update(ctx, first.ctypes.data, 32)
        final(digests[t].ctypes.data, ctx)


@numba.njit(cache=True)
def _merkle_kernel(digests, hasher):
    """The merkle root (internal byte order) of txid digests (uint8[count, 32], count >= 1):
    pairs hashed level by level, an odd level's last node paired with itself."""
    layer = digests.copy()
    pair = np.empty(64, np.uint8)
    width = layer.shape[0]
    while width > 1:
        for i in range(0, width, 2):
            pair[:32] = layer[i]
            pair[32:] = layer[i + 1] if i + 1 < width else layer[i]
            double_sha256_into(pair, 0, 64, layer[i // 2], 0, hasher)
        width = (width + 1) // 2
    return layer[0].copy()


def _txids(data: np.ndarray, tx: np.ndarray) -> np.ndarray:
    """uint8[count, 32]: the txids of the transactions ``tx`` locates in ``data``."""
    digests = np.empty((tx.shape[0], 32), np.uint8)
    _txid_kernel(data, tx, digests, new_hasher())
    return digests


def _walk_arrays(size: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layout arrays for ``count`` transactions in ``size`` bytes. The walk writes every row it
    returns; the spare rows of the bounds are dropped by the caller."""
    return (np.empty((count, 6), np.int64), np.empty((size // 41 + 1, 7), np.int64),
            np.empty((size // 9 + 1, 3), np.int64))


def _walk_failure(status: int, raw: bytes, pos: int, what: str) -> str:
    if status == _UNKNOWN_FLAG:
        return (f"at byte {pos - 1} (a transaction has segwit marker 0x00 then flag "
                f"{raw[pos]:#04x}; expected flag 0x01, Bitcoin Core rejects any other as "
                f"'Unknown transaction optional data')")
    detail = "runs past the end of the data" if status == _TRUNCATED else (
        "states more inputs or outputs than its bytes can hold")
    return f"at byte {pos} (a {what} {detail})"


def parse_block(raw: bytes, source: str = "block", check_merkle: bool = True) -> Block:
    """Parse one serialised block (80-byte header, varint count, transactions)."""
    if len(raw) < 81:
        raise MalformedData(f"{source}: {len(raw)} bytes is too short for a block (80-byte "
                            f"header + transactions)")
    data = np.frombuffer(raw, np.uint8)
    count, pos = read_varint(raw, 80)
    if pos > len(raw):
        raise MalformedData(f"{source}: truncated or malformed block (its transaction count "
                            f"runs past the end of the data)")
    if count == 0:
        raise MalformedData(f"{source}: block states 0 transactions; expected at least its "
                            f"coinbase")
    if count * 10 > len(raw) - pos:
        raise MalformedData(f"{source}: truncated or malformed block ({count} transactions "
                            f"cannot fit in {len(raw) - pos} bytes)")
    tx, inputs, outputs = _walk_arrays(len(raw), count)
    status, pos, n_in, n_out = _walk(data, pos, tx, inputs, outputs)
    if status:
        raise MalformedData(f"{source}: truncated or malformed block "
                            f"{_walk_failure(status, raw, pos, 'transaction')}")
    digests = _txids(data, tx)
    header = raw[:80]
    block = Block(hash=dsha256(header)[::-1].hex(),
                  version=int.from_bytes(header[0:4], "little", signed=True),
                  previous=header[4:36][::-1].hex(), merkle_root=header[36:68][::-1].hex(),
                  time=int.from_bytes(header[68:72], "little"),
                  bits=int.from_bytes(header[72:76], "little"),
                  nonce=int.from_bytes(header[76:80], "little"), size=pos, raw=raw,
                  layout=BlockLayout(tx, inputs[:n_in].copy(), outputs[:n_out].copy()),
                  txid_digests=digests)
    if check_merkle:
        computed = _merkle_kernel(digests, new_hasher())[::-1].tobytes().hex()
        if computed != block.merkle_root:
            raise MalformedData(f"{source}: block {block.hash} is rejected: its header's merkle "
                                f"root {block.merkle_root} does not match the root of its {count} "
                                f"txids ({computed})")
    return block


def parse_transaction(raw: bytes, offset: int = 0,
                      source: str = "transaction") -> tuple[str, str, int]:
    """(txid, wtxid, offset just past it) of the transaction serialised at ``offset``, read by
    the same compiled walk as a block's transactions (so the same segwit rule). The txid hashes
    the serialisation without marker, flag and witnesses (BIP 144); the wtxid hashes all of it.
    Raises :class:`.MalformedData` when the bytes are not a complete transaction."""
    data = np.frombuffer(raw, np.uint8)
    tx, inputs, outputs = _walk_arrays(len(raw) - offset, 1)
    status, pos, _, _ = _walk(data, offset, tx, inputs, outputs)
    if status:
        raise MalformedData(f"{source}: truncated or malformed transaction "
                            f"{_walk_failure(status, raw, pos, 'field')}")
    txid = _txids(data, tx)[0].tobytes()
    start, body_start, _, end = tx[0, :4].tolist()
    wtxid = txid if body_start == start + 4 else dsha256(raw[start:end])
    return txid[::-1].hex(), wtxid[::-1].hex(), end


def parse_bare_transaction(raw: bytes, source: str = "transaction") -> BareTransaction:
    """The one transaction ``raw`` holds, every byte of it (a file, or the hex that
    ``getrawtransaction TXID`` prints, decoded), by the same compiled walk as a block's
    transactions (so Core's segwit rule). Bytes after its end are refused, not ignored: they
    mean the data is something else (several transactions, a block, a cut-and-paste slip)."""
    tx, inputs, outputs = _walk_arrays(len(raw), 1)
    status, pos, n_in, n_out = _walk(np.frombuffer(raw, np.uint8), 0, tx, inputs, outputs)
    if status:
        raise MalformedData(f"{source}: truncated or malformed transaction "
                            f"{_walk_failure(status, raw, pos, 'field')}")
    if pos != len(raw):
        raise MalformedData(f"{source}: {len(raw) - pos} trailing bytes at byte {pos}, after "
                            f"the transaction's end; expected one transaction and nothing after "
                            f"it")
    layout = BlockLayout(tx, inputs[:n_in], outputs[:n_out])
    built = _transactions(raw, layout, [_txids(np.frombuffer(raw, np.uint8), tx)[0][::-1]
                                        .tobytes().hex()])[0]
    _, body_start, body_end, _ = tx[0, :4].tolist()
    return BareTransaction(built, size=len(raw), stripped_size=8 + body_end - body_start)


def header_meets_target(header: bytes) -> bool:
    """Whether the 80-byte ``header``'s hash meets the target its ``bits`` state (Core's
    ``CheckProofOfWork`` without the network's limit; a negative, overflowing or zero target
    fails, as in Core's ``SetCompact``). Any mined block's header does; 80 bytes of anything
    else almost never do, which makes it the test of whether bytes start like a block."""
    bits = int.from_bytes(header[72:76], "little")
    size, word = bits >> 24, bits & 0x007FFFFF
    target = word >> 8 * (3 - size) if size <= 3 else word << 8 * (size - 3)
    negative = word != 0 and bool(bits & 0x00800000)
    overflow = word != 0 and (size > 34 or (word > 0xFF and size > 33)
                              or (word > 0xFFFF and size > 32))
    if negative or overflow or target == 0:
        return False
    return int.from_bytes(dsha256(header[:80]), "little") <= target


def parse_block_or_transaction(raw: bytes, source: str) -> Block | BareTransaction:
    """The single raw block or the bare transaction ``raw`` is. The block layout is tried first
    where the first 80 bytes are a plausible header (:func:`header_meets_target`), the
    transaction first otherwise; either accepted kind is returned whichever order was taken (a
    block mined for no work, as the chain simulator's, is still read). Bytes that are neither
    are reported as the kind tried first, so a damaged block's error speaks of the block and a
    damaged transaction's of the transaction, saying why the bytes were not taken for a block."""
    block_first = len(raw) >= 81 and header_meets_target(raw[:80])
    first, second = ((parse_block, parse_bare_transaction) if block_first
                     else (parse_bare_transaction, parse_block))
    try:
        return first(raw, source)
    except MalformedData as exc:
        error = exc
    try:
        return second(raw, source)
    except MalformedData:
        pass
    if block_first:
        raise error
    why = (f"{len(raw)} bytes is too short for one" if len(raw) < 81 else
           "its first 80 bytes are no block header: their hash does not meet the target they "
           "state")
    raise MalformedData(f"{error}. Expected one serialised transaction or a block; not read as "
                        f"a block: {why}")


def block_subsidy(height: int) -> int:
    """Satoshi minted by the coinbase at ``height`` (50 BTC halving every 210,000 blocks)."""
    halvings = height // 210_000
    return 0 if halvings >= 64 else (50 * 100_000_000) >> halvings


def coinbase_height(block: Block) -> int | None:
    """BIP 34 height from the coinbase script (blocks of version >= 2), else None (also when
    the first transaction has no input at all: a malformed block must not crash a report)."""
    tx, inputs = block.layout.tx, block.layout.inputs
    coinbase_inputs = (tx[1, 4] if len(tx) > 1 else len(inputs)) - tx[0, 4]
    if block.version < 2 or not coinbase_inputs:
        return None
    script_start, script_end = inputs[tx[0, 4], 2:4].tolist()
    script = block.raw[script_start:script_end]
    if not script or not 1 <= script[0] <= 8:
        return None
    return int.from_bytes(script[1:1 + script[0]], "little")
