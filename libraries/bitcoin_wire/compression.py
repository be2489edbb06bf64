"""The compact coin encodings that btcd's utxostore and Bitcoin Core's chainstate (and its
``dumptxoutset`` snapshots) share: the base-128 VARINT, the compressed amount and the
compressed script. Both read and write live here, once, so that the two file formats cannot
drift apart and a snapshot written here is read back by the same code that reads Core's.

Positions in the messages are relative to the bytes handed in (an "entry": one btcd record or
one snapshot coin); the callers add where the entry starts in its file.
"""

from __future__ import annotations

SECP_P = 2**256 - 2**32 - 977  # the secp256k1 field prime
MAX_MONEY = 21_000_000 * 100_000_000  # no output can hold more satoshi
MAX_SCRIPT_SIZE = 10_000  # Core never keeps a longer script in its UTXO set
_MAX_VLQ_BYTES = 10  # a 64-bit value needs at most 10 base-128 groups
SPECIAL_SCRIPTS = 6  # script codes 0-5 are the compressed templates; 6+ is a raw length


def read_vlq(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the VARINT at ``pos``: base-128, most significant group first,
    +1 per continuation (so every value has exactly one encoding). Not CompactSize. Raises
    ValueError when it runs past ``data`` or is longer than a 64-bit value."""
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


def write_vlq(number: int) -> bytes:
    """The VARINT :func:`read_vlq` reads: groups are produced least significant first, each but
    the last taking 1 off what remains, which the reader's +1 restores."""
    groups = [number & 0x7F]
    while number > 0x7F:
        number = (number >> 7) - 1
        groups.append((number & 0x7F) | 0x80)
    return bytes(reversed(groups))


def compress_amount(satoshi: int) -> int:
    """Core's CompressAmount: trailing decimal zeros become an exponent (most amounts are round),
    so a typical value needs 1-3 VARINT bytes instead of 8."""
    if satoshi == 0:
        return 0
    exponent = 0
    while satoshi % 10 == 0 and exponent < 9:
        satoshi //= 10
        exponent += 1
    if exponent < 9:
        digit = satoshi % 10
        return 1 + (satoshi // 10 * 9 + digit - 1) * 10 + exponent
    return 1 + (satoshi - 1) * 10 + 9


def decompress_amount(x: int) -> int:
    """The inverse of :func:`compress_amount`."""
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


def _y_of(x: int) -> int | None:
    """A y with (x, y) on secp256k1 (p = 3 mod 4, so the square root is one power), or None
    when x is not the abscissa of a curve point."""
    rhs = (x**3 + 7) % SECP_P
    y = pow(rhs, (SECP_P + 1) // 4, SECP_P)
    return y if y * y % SECP_P == rhs else None


def _uncompressed_pubkey(x: bytes, odd: bool) -> bytes:
    y = _y_of(int.from_bytes(x, "big"))
    if y is None:
        raise ValueError(f"public key x {x.hex()} is not on secp256k1")
    if y % 2 != odd:
        y = SECP_P - y
    return b"\x04" + x + y.to_bytes(32, "big")


def _take(data: bytes, pos: int, size: int, what: str) -> bytes:
    """``size`` bytes at ``pos``, or ValueError when the entry holds fewer."""
    if pos + size > len(data):
        raise ValueError(f"{what} needs {size} bytes at entry byte {pos}, only "
                         f"{len(data) - pos} left")
    return data[pos:pos + size]


def decompress_script(data: bytes, pos: int) -> tuple[bytes, int]:
    """(script, next position) of a compressed script; ValueError when it is cut short."""
    code, pos = read_vlq(data, pos)
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
    size = code - SPECIAL_SCRIPTS
    return _take(data, pos, size, "script"), pos + size


def compress_script(script: bytes) -> bytes:
    """Core's ScriptCompression: P2PKH and P2SH keep their 20-byte hash, P2PK its key's x (the
    parity of y in the code; an uncompressed key only when it is on the curve, else it could not
    be restored), anything else its length + 6 and the bytes."""
    n = len(script)
    if n == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return b"\x00" + script[3:23]
    if n == 23 and script[:2] == b"\xa9\x14" and script[22] == 0x87:
        return b"\x01" + script[2:22]
    if n == 35 and script[0] == 33 and script[34] == 0xAC and script[1] in (2, 3):
        return script[1:34]
    if n == 67 and script[0] == 65 and script[66] == 0xAC and script[1] == 4:
        x, y = int.from_bytes(script[2:34], "big"), int.from_bytes(script[34:66], "big")
        if x < SECP_P and y < SECP_P and (y * y - x**3 - 7) % SECP_P == 0:
            return bytes([4 | (y & 1)]) + script[2:34]
    return write_vlq(n + SPECIAL_SCRIPTS) + script
