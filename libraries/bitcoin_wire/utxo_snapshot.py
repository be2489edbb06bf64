"""Bitcoin Core's UTXO snapshot (``dumptxoutset``, the file ``loadtxoutset`` / assumeutxo
reads), so that a graph can start from a node's UTXO set at height H and build from H+1, and
a store's UTXO set can be handed back to Core.

Layout (Core 28+, snapshot version 2), all integers little-endian:

* header: magic ``utxo\\xff``, u16 version, the network's 4 message-start bytes, the base
  block hash (32 bytes, internal order), u64 number of coins;
* then the coins grouped by transaction, in txid order: txid (32 bytes, internal order),
  CompactSize number of its coins, and per coin CompactSize output index followed by Core's
  ``Coin``: VARINT(height * 2 + coinbase), VARINT(compressed amount), compressed script
  (:mod:`.compression`: VARINT, not CompactSize).

The file must hold exactly the number of coins its header states; anything else (cut short,
trailing bytes, another network, the same outpoint twice) is :class:`MalformedData` naming
the source and the byte offset. Coins are ``(satoshi, script, height, is_coinbase)``, as
:func:`.btcd.parse_btcd_utxos` returns them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from libraries.bitcoin_wire.compression import (MAX_MONEY, compress_amount, compress_script,
                                                decompress_amount, decompress_script, read_vlq,
                                                write_vlq)
from libraries.bitcoin_wire.encoding import read_varint, varint
from libraries.bitcoin_wire.errors import MalformedData

MAGIC = b"utxo\xff"
VERSION = 2
NETWORKS = {"main": bytes.fromhex("f9beb4d9"), "test": bytes.fromhex("0b110907"),
            "testnet4": bytes.fromhex("1c163f28"), "signet": bytes.fromhex("0a03cf40"),
            "regtest": bytes.fromhex("fabfb5da")}
_HEADER = struct.Struct("<5sH4s32sQ")
_MAX_HEIGHT = 2**31 - 1  # Core's heights are int32

Coin = tuple[int, bytes, int, bool]


@dataclass(frozen=True)
class SnapshotHeader:
    """What a snapshot says about itself: the block its UTXO set is at (hash as Core prints
    it) and how many coins follow."""

    network: str
    base_hash: str
    coins: int


def _network_name(magic: bytes) -> str:
    for name, start in NETWORKS.items():
        if start == magic:
            return name
    return f"an unknown network (message start {magic.hex()})"


def parse_header(data: bytes, source: str, network: str = "main") -> SnapshotHeader:
    """The header, checked: Core's magic, version 2, and ``network``'s message start (a
    snapshot of another chain would resolve inputs against coins that never existed here)."""
    if len(data) < _HEADER.size:
        raise MalformedData(f"{source}, byte 0: {len(data)} bytes is shorter than the "
                            f"{_HEADER.size}-byte header of a Bitcoin Core UTXO snapshot")
    magic, version, start, base, count = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise MalformedData(f"{source}, byte 0: starts with {magic!r}, not a Bitcoin Core UTXO "
                            f"snapshot (expected {MAGIC!r}, as dumptxoutset writes since Core 28)")
    if version != VERSION:
        raise MalformedData(f"{source}, byte 5: snapshot version {version}; only version "
                            f"{VERSION} (Core 28 and later) is supported")
    if start != NETWORKS[network]:
        raise MalformedData(f"{source}, byte 7: a snapshot of {_network_name(start)}, not of "
                            f"{network} (message start {NETWORKS[network].hex()}); refused")
    return SnapshotHeader(network, base[::-1].hex(), count)


def _coin(data: memoryview, pos: int) -> tuple[Coin, int]:
    """One serialised ``Coin`` at ``pos`` and the position after it; ValueError says what does
    not fit (positions relative to ``pos``; ``data`` is a view, so no copy of the rest)."""
    entry = data[pos:]
    code, at = read_vlq(entry, 0)
    amount, at = read_vlq(entry, at)
    script, at = decompress_script(entry, at)
    satoshi = decompress_amount(amount)
    if satoshi > MAX_MONEY:
        raise ValueError(f"amount {satoshi} exceeds the 21 million BTC supply")
    if code >> 1 > _MAX_HEIGHT:
        raise ValueError(f"height {code >> 1} exceeds Core's int32 heights")
    return (satoshi, bytes(script), code >> 1, bool(code & 1)), pos + at


def _compact(data: bytes, pos: int, source: str, what: str) -> tuple[int, int]:
    if pos >= len(data):
        raise MalformedData(f"{source}, byte {pos}: the snapshot ends where {what} was expected")
    value, after = read_varint(data, pos)
    if after > len(data):
        raise MalformedData(f"{source}, byte {pos}: {what} runs past the end of the snapshot")
    return value, after


def parse_snapshot(data: bytes, source: str,
                   network: str = "main") -> tuple[SnapshotHeader, dict[tuple[str, int], Coin]]:
    """The header and ``(txid, vout) -> coin`` of a whole snapshot, which must hold exactly the
    coins its header counts."""
    header = parse_header(data, source, network)
    coins: dict[tuple[str, int], Coin] = {}
    view, pos = memoryview(data), _HEADER.size
    while len(coins) < header.coins:
        if pos + 32 > len(data):
            raise MalformedData(f"{source}, byte {pos}: the snapshot is truncated after "
                                f"{len(coins)} of its {header.coins} coins")
        txid = data[pos:pos + 32][::-1].hex()
        count, pos = _compact(data, pos + 32, source, f"the coin count of {txid}")
        if count == 0 or len(coins) + count > header.coins:
            raise MalformedData(f"{source}, byte {pos}: {txid} claims {count} coins, but "
                                f"{header.coins - len(coins)} of the header's {header.coins} "
                                f"remain; expected 1 to that many")
        for _ in range(count):
            start = pos
            vout, pos = _compact(data, pos, source, f"an output index of {txid}")
            if vout >= 2**32 - 1:
                raise MalformedData(f"{source}, byte {start}: output index {vout} of {txid} "
                                    f"is not a 32-bit index")
            try:
                coin, pos = _coin(view, pos)
            except ValueError as exc:
                raise MalformedData(f"{source}, byte {start}: malformed coin {txid}:{vout} "
                                    f"({exc}); expected Core's VARINT height code, compressed "
                                    f"amount and compressed script") from exc
            if (txid, vout) in coins:
                raise MalformedData(f"{source}, byte {start}: a second coin for {txid}:{vout}; "
                                    f"expected each outpoint once")
            coins[(txid, vout)] = coin
    if pos != len(data):
        raise MalformedData(f"{source}, byte {pos}: {len(data) - pos} bytes follow the "
                            f"{header.coins} coins the header counts")
    return header, coins


def write_snapshot(coins: Iterable[tuple[str, int, Coin]], base_hash: str,
                   network: str = "main") -> bytes:
    """A snapshot of ``(txid, vout, coin)`` at block ``base_hash`` (as Core prints it), in
    Core's order (txid's internal bytes, then output index) so that Core's own reader, which
    groups by txid, sees each transaction once."""
    ordered = sorted(((bytes.fromhex(txid)[::-1], vout, coin) for txid, vout, coin in coins),
                     key=lambda row: (row[0], row[1]))
    parts = [_HEADER.pack(MAGIC, VERSION, NETWORKS[network], bytes.fromhex(base_hash)[::-1],
                          len(ordered))]
    index = 0
    while index < len(ordered):
        txid = ordered[index][0]
        end = index
        while end < len(ordered) and ordered[end][0] == txid:
            end += 1
        parts += [txid, varint(end - index)]
        for _, vout, (satoshi, script, height, coinbase) in ordered[index:end]:
            parts += [varint(vout), write_vlq(height * 2 + int(coinbase)),
                      write_vlq(compress_amount(satoshi)), compress_script(script)]
        index = end
    return b"".join(parts)
