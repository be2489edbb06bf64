"""btcd's serialised UTXO entries (header code, compressed amount, compressed script), which
resolve the inputs of a block range without the chain's history, and the record framing of a
UTXO file (txid, output index, length, entry). The caller reads the bytes.
"""

from __future__ import annotations

from libraries.bitcoin_wire.errors import MalformedData

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


def parse_btcd_utxos(data: bytes,
                     source: str) -> dict[tuple[str, int], tuple[int, bytes, int, bool]]:
    """``(txid, vout) -> (satoshi, script, height, is_coinbase)`` from records of txid (32 bytes,
    internal order), u32 output index, u32 length and a btcd-serialised UTXO entry."""
    utxos, pos = {}, 0
    while pos < len(data):
        if pos + 40 > len(data):
            raise MalformedData(f"{source}, byte {pos}: truncated UTXO record header")
        txid = data[pos:pos + 32][::-1].hex()
        vout = int.from_bytes(data[pos + 32:pos + 36], "little")
        length = int.from_bytes(data[pos + 36:pos + 40], "little")
        entry = data[pos + 40:pos + 40 + length]
        if len(entry) != length:
            raise MalformedData(f"{source}, byte {pos}: UTXO entry of {length} bytes is truncated")
        try:
            value = _utxo_entry(entry)
        except ValueError as exc:
            raise MalformedData(f"{source}, byte {pos + 40}: malformed btcd UTXO entry for "
                                f"{txid}:{vout} ({exc}); expected header code, compressed amount "
                                f"and compressed script filling its {length} bytes") from exc
        if (txid, vout) in utxos:
            raise MalformedData(f"{source}, byte {pos}: a second UTXO record for {txid}:{vout}; "
                                f"expected one record per output")
        utxos[(txid, vout)] = value
        pos += 40 + length
    return utxos
