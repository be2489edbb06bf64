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
from framework.safe_files import read_bytes
from plugins.bitcoin_graph.addresses import script_ids_of
from plugins.bitcoin_graph.consensus import Block, parse_block
from plugins.bitcoin_graph.tables import SCHEMAS

MAINNET_MAGIC = bytes.fromhex("f9beb4d9")


def _read(path: Path, what: str) -> bytes:
    """The file's bytes, decompressed when it ends in ``.bz2``: a corrupt or cut bz2 stream is a
    DataError naming the file, never the OSError / ValueError / EOFError the codec raises."""
    data = read_bytes(path, what)
    if not str(path).endswith(".bz2"):
        return data
    try:
        return bz2.decompress(data)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a valid bz2 stream ({exc}); expected a complete "
                        f"bz2-compressed {what}") from exc


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
    data = _read(path, "block file")
    key_file = path.parent / "xor.dat"
    if xor_key is None and (key_file.exists() or key_file.is_symlink()):
        xor_key = read_bytes(key_file, "block-file XOR key")
    data = deobfuscate(data, xor_key or b"")
    if data[:4] == MAINNET_MAGIC:
        for index, raw in enumerate(framed_blocks(data, str(path))):
            yield parse_block(raw, source=f"{path} (block {index})")
    else:
        yield parse_block(data, source=str(path))


# --------------------------------------------------------------- btcd UTXO entries
_SECP_P = 2**256 - 2**32 - 977
MAX_MONEY = 21_000_000 * 100_000_000  # no output can hold more satoshi
_MAX_VLQ_BYTES = 10  # a 64-bit value needs at most 10 base-128 groups
_MAX_HEIGHT = 2**31 - 1  # btcd stores heights as int32


def _vlq(data: bytes, pos: int) -> tuple[int, int]:
    """btcd / Core VARINT: base-128, most significant group first, +1 per continuation.
    Raises ValueError when it runs past ``data`` or is longer than a 64-bit value."""
    number, start = 0, pos
    while True:
        if pos >= len(data):
            raise ValueError(f"VARINT at entry byte {start} runs past the end of the entry")
        if pos - start >= _MAX_VLQ_BYTES:
            raise ValueError(f"VARINT at entry byte {start} is longer than a 64-bit value")
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


def _take(data: bytes, pos: int, size: int, what: str) -> bytes:
    """``size`` bytes at ``pos``, or ValueError when the entry holds fewer."""
    if pos + size > len(data):
        raise ValueError(f"{what} needs {size} bytes at entry byte {pos}, only "
                         f"{len(data) - pos} left")
    return data[pos:pos + size]


def decompress_script(data: bytes, pos: int) -> tuple[bytes, int]:
    """(script, next position) of a btcd compressed script; ValueError when it is cut short."""
    code, pos = _vlq(data, pos)
    if code == 0:
        return b"\x76\xa9\x14" + _take(data, pos, 20, "P2PKH hash") + b"\x88\xac", pos + 20
    if code == 1:
        return b"\xa9\x14" + _take(data, pos, 20, "P2SH hash") + b"\x87", pos + 20
    if code in (2, 3):
        return (b"\x21" + bytes([code]) + _take(data, pos, 32, "public key") + b"\xac",
                pos + 32)
    if code in (4, 5):
        key = _uncompressed_pubkey(_take(data, pos, 32, "public key"), odd=code == 5)
        return b"\x41" + key + b"\xac", pos + 32
    size = code - 6
    return _take(data, pos, size, "script"), pos + size


def _utxo_entry(entry: bytes) -> tuple[int, bytes, int, bool]:
    """(satoshi, script, height, is_coinbase) of one serialised entry, which it must fill
    exactly; ValueError says what does not fit."""
    header, at = _vlq(entry, 0)
    amount, at = _vlq(entry, at)
    script, at = decompress_script(entry, at)
    if at != len(entry):
        raise ValueError(f"{len(entry) - at} bytes are left after the script")
    satoshi = decompress_amount(amount)
    if satoshi > MAX_MONEY:
        raise ValueError(f"amount {satoshi} exceeds the 21 million BTC supply")
    if header >> 1 > _MAX_HEIGHT:
        raise ValueError(f"height {header >> 1} exceeds btcd's int32 heights")
    return satoshi, script, header >> 1, bool(header & 1)


def read_btcd_utxos(path: Path) -> dict[tuple[str, int], tuple[int, bytes, int, bool]]:
    """``(txid, vout) -> (satoshi, script, height, is_coinbase)`` from records of txid (32 bytes,
    internal order), u32 output index, u32 length and a btcd-serialised UTXO entry."""
    data = _read(Path(path), "btcd UTXO file")
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
        try:
            value = _utxo_entry(entry)
        except ValueError as exc:
            raise DataError(f"{path}, byte {pos + 40}: malformed btcd UTXO entry for {txid}:"
                            f"{vout} ({exc}); expected header code, compressed amount and "
                            f"compressed script filling its {length} bytes") from exc
        if (txid, vout) in utxos:
            raise DataError(f"{path}, byte {pos}: a second UTXO record for {txid}:{vout}; "
                            f"expected one record per output")
        utxos[(txid, vout)] = value
        pos += 40 + length
    return utxos


def utxo_table(entries: dict[tuple[str, int], tuple[int, bytes, int, bool]]) -> pa.Table:
    """The UTXO table :func:`.graph.build_graph` resolves against, from read UTXO entries."""
    script_id, _ = script_ids_of([v[1] for v in entries.values()])
    return pa.table({"txid": [k[0] for k in entries], "vout": [k[1] for k in entries],
                     "script_id": script_id, "value": [v[0] for v in entries.values()]},
                    schema=SCHEMAS["utxos"])
