"""Output script -> address, as Bitcoin Core prints it; a stable id for scripts without one.

Standard types: P2PKH and P2SH (Base58Check), P2WPKH and P2WSH (bech32, BIP 173), P2TR and
future witness versions (bech32m, BIP 350). P2PK has no address in Core's current JSON; we use
the P2PKH address of its public key, as Core's former ``addresses`` field and block explorers
did, and record the script type. Every other script (OP_RETURN, bare multisig, non-standard) gets
``script:<sha256 of the script>``, stable across blocks.
"""

from __future__ import annotations

import hashlib

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST, _BECH32_CONST = 0x2BC830A3, 1


def _dsha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


_PAIRS = [_B58[i // 58] + _B58[i % 58] for i in range(58 * 58)]


def base58check(payload: bytes) -> str:
    """Base58Check. The Python loop is the cost, so each step emits two digits from a table."""
    data = payload + _dsha256(payload)[:4]
    number = int.from_bytes(data, "big")
    pairs = []
    while number:
        number, rem = divmod(number, 3364)
        pairs.append(_PAIRS[rem])
    text = "".join(reversed(pairs)).lstrip("1")
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def _polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            checksum ^= generator[i] if (top >> i) & 1 else 0
    return checksum


def _convert_bits(data: bytes, from_bits: int, to_bits: int) -> list[int]:
    accumulator, bits, out = 0, 0, []
    mask = (1 << to_bits) - 1
    for byte in data:
        accumulator = (accumulator << from_bits) | byte
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((accumulator >> bits) & mask)
    if bits:
        out.append((accumulator << (to_bits - bits)) & mask)
    return out


def segwit_address(version: int, program: bytes, hrp: str = "bc") -> str:
    """bech32 for witness version 0 (BIP 173), bech32m for versions 1-16 (BIP 350)."""
    data = [version, *_convert_bits(program, 8, 5)]
    constant = _BECH32_CONST if version == 0 else _BECH32M_CONST
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _polymod(expanded + data + [0] * 6) ^ constant
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


def script_address(script: bytes) -> tuple[str, str]:
    """(address or stable id, Core's script type name)."""
    n = len(script)
    if n == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return base58check(b"\x00" + script[3:23]), "pubkeyhash"
    if n == 23 and script[:2] == b"\xa9\x14" and script[22] == 0x87:
        return base58check(b"\x05" + script[2:22]), "scripthash"
    if n >= 4 and (script[0] == 0 or 0x51 <= script[0] <= 0x60) and script[1] + 2 == n and (
            2 <= script[1] <= 40):
        version = 0 if script[0] == 0 else script[0] - 0x50
        program = script[2:]
        if version == 0 and len(program) == 20:
            return segwit_address(0, program), "witness_v0_keyhash"
        if version == 0 and len(program) == 32:
            return segwit_address(0, program), "witness_v0_scripthash"
        if version == 1 and len(program) == 32:
            return segwit_address(1, program), "witness_v1_taproot"
        if version != 0:
            return segwit_address(version, program), "witness_unknown"
    if (n == 35 and script[0] == 33 and script[34] == 0xAC) or (
            n == 67 and script[0] == 65 and script[66] == 0xAC):
        return base58check(b"\x00" + hash160(script[1:-1])), "pubkey"
    kind = "nulldata" if n and script[0] == 0x6A else "nonstandard"
    return "script:" + hashlib.sha256(script).hexdigest(), kind
