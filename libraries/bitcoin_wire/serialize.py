"""Writing Bitcoin's formats: enough to emit blocks that Bitcoin Core tools would accept as JSON.

Transactions are serialised in the legacy (non-segwit) consensus format with the input scripts
given (the chain simulator signs nothing, so they are empty), so txids are real double-SHA-256
hashes of real serialisations and merkle roots check. Addresses are P2PKH with Base58Check,
exactly as Core prints them. Headers carry no proof of work: the hash is computed, not mined.
"""

from __future__ import annotations

import struct

from libraries.bitcoin_wire.encoding import base58check, merkle_root, sha256d, varint

SATOSHI_PER_BTC = 100_000_000


def p2pkh(hash160: bytes) -> tuple[str, str]:
    """Return (address, scriptPubKey hex) of a pay-to-public-key-hash output."""
    return base58check(b"\x00" + hash160), "76a914" + hash160.hex() + "88ac"


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
    """Txid of a legacy serialisation, as Core prints it (byte-reversed hex)."""
    return sha256d(raw)[::-1].hex()


def coinbase_script(height: int) -> bytes:
    """BIP 34: the coinbase script starts with the block height as a minimal push."""
    encoded = height.to_bytes((height.bit_length() + 8) // 8 or 1, "little")
    return bytes([len(encoded)]) + encoded + b"chainsleuth-sim"


def merkle_root_hex(txids: list[str]) -> str:
    """Merkle root of txids, all as Core prints them (byte-reversed hex)."""
    return merkle_root([bytes.fromhex(t)[::-1] for t in txids])[::-1].hex()


def block_header(version: int, previous: str, root: str, time: int, bits: int,
                 nonce: int) -> bytes:
    """The 80-byte header; ``previous`` and ``root`` as Core prints them."""
    return (struct.pack("<i", version) + bytes.fromhex(previous)[::-1] + bytes.fromhex(root)[::-1]
            + struct.pack("<III", time, bits, nonce))


def block_hash(version: int, previous: str, root: str, time: int, bits: int, nonce: int) -> str:
    return sha256d(block_header(version, previous, root, time, bits, nonce))[::-1].hex()


def btc(satoshi: int) -> float:
    return round(satoshi / SATOSHI_PER_BTC, 8)
