"""Just enough of Bitcoin's formats to emit blocks that Bitcoin Core tools would accept as JSON.

Transactions are serialised in the legacy (non-segwit) consensus format with empty input
scripts (the simulator signs nothing), so txids are real double-SHA-256 hashes of real
serialisations and merkle roots check. Addresses are P2PKH with Base58Check, exactly as Core
prints them. Blocks carry no proof of work: the header hash is computed, not mined.
"""

from __future__ import annotations

import hashlib
import struct

SATOSHI_PER_BTC = 100_000_000
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def dsha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def base58check(payload: bytes) -> str:
    data = payload + dsha256(payload)[:4]
    number = int.from_bytes(data, "big")
    text = ""
    while number:
        number, rem = divmod(number, 58)
        text = _B58[rem] + text
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + text


def p2pkh(hash160: bytes) -> tuple[str, str]:
    """Return (address, scriptPubKey hex) of a pay-to-public-key-hash output."""
    return base58check(b"\x00" + hash160), "76a914" + hash160.hex() + "88ac"


def varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    if n <= 0xFFFFFFFF:
        return b"\xfe" + struct.pack("<I", n)
    return b"\xff" + struct.pack("<Q", n)


def serialize_tx(inputs: list[tuple[str, int, bytes]], outputs: list[tuple[int, str]],
                 version: int = 2, locktime: int = 0) -> bytes:
    """Legacy serialisation: inputs are (prev txid hex, vout, scriptSig), outputs (sat, script hex)."""
    parts = [struct.pack("<i", version), varint(len(inputs))]
    for txid, vout, script_sig in inputs:
        parts += [bytes.fromhex(txid)[::-1], struct.pack("<I", vout), varint(len(script_sig)),
                  script_sig, b"\xff\xff\xff\xff"]
    parts.append(varint(len(outputs)))
    for value, script in outputs:
        raw = bytes.fromhex(script)
        parts += [struct.pack("<q", value), varint(len(raw)), raw]
    parts.append(struct.pack("<I", locktime))
    return b"".join(parts)


def txid_of(raw: bytes) -> str:
    return dsha256(raw)[::-1].hex()


def coinbase_script(height: int) -> bytes:
    """BIP 34: the coinbase script starts with the block height as a minimal push."""
    encoded = height.to_bytes((height.bit_length() + 8) // 8 or 1, "little")
    return bytes([len(encoded)]) + encoded + b"chainsleuth-sim"


def merkle_root(txids: list[str]) -> str:
    layer = [bytes.fromhex(t)[::-1] for t in txids]
    while len(layer) > 1:
        if len(layer) % 2:
            layer.append(layer[-1])
        layer = [dsha256(layer[i] + layer[i + 1]) for i in range(0, len(layer), 2)]
    return layer[0][::-1].hex()


def block_hash(version: int, previous: str, root: str, time: int, bits: int, nonce: int) -> str:
    header = (struct.pack("<i", version) + bytes.fromhex(previous)[::-1] + bytes.fromhex(root)[::-1]
              + struct.pack("<III", time, bits, nonce))
    return dsha256(header)[::-1].hex()


def btc(satoshi: int) -> float:
    return round(satoshi / SATOSHI_PER_BTC, 8)
