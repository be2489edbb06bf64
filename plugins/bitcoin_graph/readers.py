"""Where blocks come from: Bitcoin Core's ``blk*.dat`` files (XOR-obfuscated since Core 28),
files of magic + length framed blocks (optionally bz2-compressed), single raw blocks, and btcd's
serialised UTXO entries (to resolve the inputs of a block without its history).
"""

from __future__ import annotations

import bz2
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from framework.errors import DataError
from plugins.bitcoin_graph.addresses import script_ids_of
from plugins.bitcoin_graph.consensus import Block, parse_block
from plugins.bitcoin_graph.tables import SCHEMAS

MAINNET_MAGIC = bytes.fromhex("f9beb4d9")


def _read(path: Path) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    return bz2.decompress(data) if str(path).endswith(".bz2") else data


def deobfuscate(data: bytes, key: bytes, offset: int = 0) -> bytes:
    """Undo Core's block-file XOR obfuscation (``blocks/xor.dat``; all-zero key = none)."""
    if not key or not any(key):
        return data
    repeated = (key * (len(data) // len(key) + 2))[offset % len(key):][:len(data)]
    return (int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")).to_bytes(
        len(data), "little")


def framed_blocks(data: bytes, source: str, magic: bytes = MAINNET_MAGIC) -> Iterator[bytes]:
    """Raw blocks of a magic + u32 length framed stream (blk*.dat layout)."""
    pos = 0
    while pos + 8 <= len(data):
        if data[pos:pos + 4] == b"\0\0\0\0":  # pre-allocated tail of a blk file
            break
        if data[pos:pos + 4] != magic:
            raise DataError(f"{source}, byte {pos}: expected network magic {magic.hex()}, found "
                            f"{data[pos:pos + 4].hex()} (wrong network, or an XOR key missing)")
        length = int.from_bytes(data[pos + 4:pos + 8], "little")
        if pos + 8 + length > len(data):
            raise DataError(f"{source}, byte {pos}: block of {length} bytes runs past the end of "
                            f"the file (truncated)")
        yield data[pos + 8:pos + 8 + length]
        pos += 8 + length


def read_blocks(path: Path, xor_key: bytes | None = None) -> Iterator[Block]:
    """Blocks of a ``blk*.dat`` / framed file (``.bz2`` allowed) or of a single raw block."""
    path = Path(path)
    data = _read(path)
    if xor_key is None and (path.parent / "xor.dat").is_file():
        xor_key = (path.parent / "xor.dat").read_bytes()
    data = deobfuscate(data, xor_key or b"")
    if data[:4] == MAINNET_MAGIC:
        for index, raw in enumerate(framed_blocks(data, str(path))):
            yield parse_block(raw, source=f"{path} (block {index})")
    else:
        yield parse_block(data, source=str(path))


# --------------------------------------------------------------- btcd UTXO entries
_SECP_P = 2**256 - 2**32 - 977


def _vlq(data: bytes, pos: int) -> tuple[int, int]:
    """btcd / Core VARINT: base-128, most significant group first, +1 per continuation."""
    number = 0
    while True:
        byte = data[pos]
        pos += 1
        number = (number << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return number, pos
        number += 1


def decompress_amount(x: int) -> int:
    if x == 0:
        return 0
    x -= 1
    exponent = x % 10
    x //= 10
    if exponent < 9:
        digit = x % 9 + 1
        x //= 9
        n = x * 10 + digit
    else:
        n = x + 1
    return n * 10**exponent


def _uncompressed_pubkey(x: bytes, odd: bool) -> bytes:
    xi = int.from_bytes(x, "big")
    y = pow((xi**3 + 7) % _SECP_P, (_SECP_P + 1) // 4, _SECP_P)
    if y % 2 != odd:
        y = _SECP_P - y
    return b"\x04" + x + y.to_bytes(32, "big")


def decompress_script(data: bytes, pos: int) -> tuple[bytes, int]:
    code, pos = _vlq(data, pos)
    if code == 0:
        return b"\x76\xa9\x14" + data[pos:pos + 20] + b"\x88\xac", pos + 20
    if code == 1:
        return b"\xa9\x14" + data[pos:pos + 20] + b"\x87", pos + 20
    if code in (2, 3):
        return b"\x21" + bytes([code]) + data[pos:pos + 32] + b"\xac", pos + 32
    if code in (4, 5):
        key = _uncompressed_pubkey(data[pos:pos + 32], odd=code == 5)
        return b"\x41" + key + b"\xac", pos + 32
    size = code - 6
    return data[pos:pos + size], pos + size


def read_btcd_utxos(path: Path) -> dict[tuple[str, int], tuple[int, bytes, int, bool]]:
    """``(txid, vout) -> (satoshi, script, height, is_coinbase)`` from records of txid (32 bytes,
    internal order), u32 output index, u32 length and a btcd-serialised UTXO entry."""
    data = _read(Path(path))
    utxos, pos = {}, 0
    while pos < len(data):
        if pos + 40 > len(data):
            raise DataError(f"{path}, byte {pos}: truncated UTXO record header")
        txid = data[pos:pos + 32][::-1].hex()
        vout = int.from_bytes(data[pos + 32:pos + 36], "little")
        length = int.from_bytes(data[pos + 36:pos + 40], "little")
        entry = data[pos + 40:pos + 40 + length]
        if len(entry) != length:
            raise DataError(f"{path}, byte {pos}: UTXO entry of {length} bytes is truncated")
        header, at = _vlq(entry, 0)
        amount, at = _vlq(entry, at)
        script, _ = decompress_script(entry, at)
        utxos[(txid, vout)] = (decompress_amount(amount), script, header >> 1, bool(header & 1))
        pos += 40 + length
    return utxos


def utxo_table(entries: dict[tuple[str, int], tuple[int, bytes, int, bool]]) -> pa.Table:
    """The UTXO table :func:`.graph.build_graph` resolves against, from read UTXO entries."""
    script_id, _ = script_ids_of([v[1] for v in entries.values()])
    return pa.table({"txid": [k[0] for k in entries], "vout": [k[1] for k in entries],
                     "script_id": script_id, "value": [v[0] for v in entries.values()]},
                    schema=SCHEMAS["utxos"])
