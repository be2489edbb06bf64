"""Bitcoin's primitive encodings: double SHA-256, CompactSize varints, merkle roots, Base58Check.

Every other module of the library (block and transaction parsing, serialisation, P2P framing)
uses these; there is no second copy.
"""

from __future__ import annotations

import hashlib
import struct

from libraries.bitcoin_wire.errors import MalformedData

_sha256 = hashlib.sha256
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


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
