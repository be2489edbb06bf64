"""Bitcoin's primitive encodings: double SHA-256, CompactSize varints, merkle roots, Base58Check,
and hex text back to the bytes it spells (what ``getrawtransaction`` and ``getblock`` print).

Every other module of the library (block and transaction parsing, serialisation, P2P framing)
uses these; there is no second copy.
"""

from __future__ import annotations

import hashlib
import re
import struct

from libraries.bitcoin_wire.errors import MalformedData

_sha256 = hashlib.sha256
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_TEXT = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_NOT_HEX = re.compile(rb"[^0-9a-fA-F]")


def sha256d(data: bytes) -> bytes:
    """Bitcoin's double SHA-256 (txids, block hashes, message checksums, merkle nodes)."""
    return _sha256(_sha256(data).digest()).digest()


def hash160(data: bytes) -> bytes:
    """RIPEMD-160 of SHA-256: the hash in P2PKH and P2WPKH scripts."""
    return hashlib.new("ripemd160", _sha256(data).digest()).digest()


def varint(n: int) -> bytes:
    """CompactSize encoding of ``n`` (1, 3, 5 or 9 bytes)."""
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the CompactSize at ``pos``. Not bounds-checked beyond the first
    byte: when the varint runs past ``data`` the next position is past ``len(data)``, which the
    caller checks."""
    first = data[pos]
    if first < 0xFD:
        return first, pos + 1
    width = 2 if first == 0xFD else 4 if first == 0xFE else 8
    return int.from_bytes(data[pos + 1:pos + 1 + width], "little"), pos + 1 + width


def merkle_root(digests: list[bytes]) -> bytes:
    """Merkle root (internal byte order) of txid digests in internal byte order."""
    if not digests:
        raise MalformedData("merkle root of an empty block")
    layer = list(digests)
    while len(layer) > 1:
        if len(layer) % 2:
            layer.append(layer[-1])
        layer = [sha256d(layer[i] + layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0]


def base58check(payload: bytes) -> str:
    """Base58Check of a version-prefixed payload (as Core prints P2PKH and P2SH addresses)."""
    data = payload + sha256d(payload)[:4]
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, rem = divmod(number, 58)
        text = _B58[rem] + text
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + text


def decode_hex_text(data: bytes, source: str) -> bytes | None:
    """The bytes that hex text ``data`` spells, or None when ``data`` is binary. Text means
    printable ASCII and whitespace only: a serialised transaction or block always holds other
    bytes (its version's zero bytes), so the two cannot be confused. Whitespace is allowed at
    the ends only (Core prints a newline after the hex); any other character, or an odd number
    of digits, is refused naming the byte, since guessing would parse a different payload."""
    if not data or data.translate(None, _TEXT):
        return None
    lead = len(data) - len(data.lstrip())
    digits = data.strip()
    bad = _NOT_HEX.search(digits)
    if bad:
        raise MalformedData(f"{source}, byte {lead + bad.start()}: {chr(digits[bad.start()])!r} "
                            f"is not a hex digit; expected hex text (as getrawtransaction "
                            f"prints it) or raw binary bytes")
    if len(digits) % 2:
        raise MalformedData(f"{source}, byte {lead + len(digits) - 1}: the hex text ends in the "
                            f"middle of a byte ({len(digits)} digits, an odd number); expected "
                            f"two digits per byte")
    return bytes.fromhex(digits.decode("ascii"))
