"""Output script -> address, as Bitcoin Core prints it; a stable id for scripts without one.

Standard types: P2PKH and P2SH (Base58Check), P2WPKH and P2WSH (bech32, BIP 173), P2TR and
future witness versions (bech32m, BIP 350), all for mainnet. P2PK has no address in Core's
current JSON; we use the P2PKH address of its public key, as Core's former ``addresses`` field
and block explorers did, and record the script type. Every other script (OP_RETURN, bare
multisig, non-standard) gets ``script:<sha256 of the script>``, stable across blocks.

A block has thousands of outputs, so :func:`script_ids` encodes a whole column of scripts in one
compiled (numba) pass; :func:`script_address` is the same code for one script.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import pyarrow as pa

from libraries.bitcoin_wire.encoding import hash160
from libraries.bitcoin_wire.sha256_kernel import double_sha256_into, new_hasher, sha256_into

SCRIPT_TYPES = ("pubkeyhash", "scripthash", "witness_v0_keyhash", "witness_v0_scripthash",
                "witness_v1_taproot", "witness_unknown", "pubkey", "nulldata", "nonstandard")
_P2PKH, _P2SH, _P2WPKH, _P2WSH, _P2TR, _WITNESS_UNKNOWN, _P2PK, _NULLDATA, _NONSTANDARD = range(9)
_WIDTH = 80  # longest id: a 40-byte witness program in bech32m (74 characters)
_B58 = np.frombuffer(b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", np.uint8)
_BECH32 = np.frombuffer(b"qpzry9x8gf2tvdw0s3jn54khce6mua7l", np.uint8)
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
# BIP 173's polymod step XORs the generators selected by the top 5 bits: all 32 XORs at once
_POLYMOD_TOP = np.array([np.bitwise_xor.reduce([g for b, g in enumerate(_GENERATOR) if top >> b & 1]
                                               or [0]) for top in range(32)], np.int64)


def _polymod_python(checksum: int, value: int) -> int:
    return ((checksum & 0x1FFFFFF) << 5) ^ value ^ int(_POLYMOD_TOP[checksum >> 25])


_HRP_STATE = 1
for _value in (3, 3, 0, 2, 3):  # "bc" expanded as in BIP 173
    _HRP_STATE = _polymod_python(_HRP_STATE, _value)
_SCRIPT_PREFIX = np.frombuffer(b"script:", np.uint8)
_BASE58_CHUNK = 58**5  # five base58 digits per long division (fits 32 bits)


def _work() -> tuple:
    """A hasher and the work arrays of :func:`_base58check`, made once per column of scripts."""
    return (new_hasher(), np.empty(56, np.uint8), np.empty(7, np.uint64),
            np.empty(40, np.uint8))


@numba.njit(cache=True)
def _base58check(payload, chars, row, hasher, data, words, digits):
    """Base58Check of a 21-byte payload into ``chars[row]``; returns the length. The number is
    divided by 58^5 per pass over 32-bit words, so a 25-byte address takes 7 passes. ``data``
    (uint8[56]), ``words`` (uint64[7]) and ``digits`` (uint8[40]) are reused work arrays."""
    data[:3] = 0  # 3 bytes of padding, the payload, then its 4-byte checksum
    data[3:24] = payload
    double_sha256_into(payload, 0, 21, data, 24, hasher)  # 32 bytes; the first 4 are kept
    zeros = 0
    while zeros < 25 and data[3 + zeros] == 0:
        zeros += 1
    for i in range(7):
        words[i] = ((np.uint64(data[4 * i]) << np.uint64(24)) | (np.uint64(data[4 * i + 1]) << np.uint64(16))
                    | (np.uint64(data[4 * i + 2]) << np.uint64(8)) | np.uint64(data[4 * i + 3]))
    count = 0
    chunk = np.uint64(_BASE58_CHUNK)
    lead = 0  # words before ``lead`` are zero: each pass divides only the rest
    while True:
        while lead < 7 and words[lead] == 0:
            lead += 1
        remainder = np.uint64(0)
        for i in range(lead, 7):
            current = (remainder << np.uint64(32)) | words[i]
            words[i] = current // chunk
            remainder = current - words[i] * chunk
        for _ in range(5):
            digits[count] = remainder % np.uint64(58)
            remainder //= np.uint64(58)
            count += 1
        done = True
        for i in range(lead, 7):
            if words[i]:
                done = False
                break
        if done:
            break
    while count > 0 and digits[count - 1] == 0:
        count -= 1
    length = 0
    for _ in range(zeros):
        chars[row, length] = _B58[0]
        length += 1
    for i in range(count - 1, -1, -1):
        chars[row, length] = _B58[digits[i]]
        length += 1
    return length


@numba.njit(inline="always")
def _polymod(checksum, value):
    """One step of BIP 173's checksum."""
    return ((checksum & 0x1FFFFFF) << 5) ^ value ^ _POLYMOD_TOP[checksum >> 25]


@numba.njit(cache=True)
def _segwit_address(version, data, start, end, chars, row):
    """bech32 (version 0, BIP 173) or bech32m (versions 1-16, BIP 350) of the witness program
    ``data[start:end]`` into ``chars[row]``; returns the length. Each 5-bit value is written
    and folded into the checksum as it is cut from the program."""
    chars[row, 0], chars[row, 1], chars[row, 2] = 98, 99, 49  # "bc1"
    chars[row, 3] = _BECH32[version]
    length = 4
    checksum = _polymod(_HRP_STATE, version)
    accumulator, bits = 0, 0
    for i in range(start, end + 1):
        if i < end:
            accumulator = ((accumulator << 8) | data[i]) & 0xFFFFF
            bits += 8
        elif bits:  # the last bits, zero-padded to a 5-bit value
            accumulator, bits = accumulator << (5 - bits), 5
        while bits >= 5:
            bits -= 5
            value = (accumulator >> bits) & 31
            checksum = _polymod(checksum, value)
            chars[row, length] = _BECH32[value]
            length += 1
    for _ in range(6):
        checksum = _polymod(checksum, 0)
    checksum ^= 1 if version == 0 else 0x2BC830A3
    for i in range(6):
        chars[row, length] = _BECH32[(checksum >> (5 * (5 - i))) & 31]
        length += 1
    return length


@numba.njit(cache=True)
def _encode_scripts(data, starts, ends, chars, lengths, kinds, work):
    """Classify and encode every script ``data[starts[i]:ends[i]]`` (``work``: see
    :func:`_work`). P2PK rows are left with length 0: their address needs RIPEMD-160, which the
    caller does with :mod:`hashlib`."""
    payload = np.empty(21, np.uint8)
    digest = np.empty(32, np.uint8)
    hasher, data58, words, digits = work
    for row in range(starts.shape[0]):
        s, n = starts[row], ends[row] - starts[row]
        if n == 25 and data[s] == 0x76 and data[s + 1] == 0xA9 and data[s + 2] == 0x14 and (
                data[s + 23] == 0x88 and data[s + 24] == 0xAC):
            payload[0] = 0
            payload[1:] = data[s + 3:s + 23]
            lengths[row], kinds[row] = _base58check(payload, chars, row, hasher, data58, words,
                                                      digits), _P2PKH
            continue
        if n == 23 and data[s] == 0xA9 and data[s + 1] == 0x14 and data[s + 22] == 0x87:
            payload[0] = 5
            payload[1:] = data[s + 2:s + 22]
            lengths[row], kinds[row] = _base58check(payload, chars, row, hasher, data58, words,
                                                      digits), _P2SH
            continue
        if n >= 4 and (data[s] == 0 or 0x51 <= data[s] <= 0x60) and data[s + 1] + 2 == n and (
                2 <= data[s + 1] <= 40):
            version = 0 if data[s] == 0 else data[s] - 0x50
            program = n - 2
            kind = -1
            if version == 0 and program == 20:
                kind = _P2WPKH
            elif version == 0 and program == 32:
                kind = _P2WSH
            elif version == 1 and program == 32:
                kind = _P2TR
            elif version != 0:
                kind = _WITNESS_UNKNOWN
            if kind >= 0:
                lengths[row] = _segwit_address(version, data, s + 2, s + n, chars, row)
                kinds[row] = kind
                continue
        if (n == 35 and data[s] == 33 and data[s + 34] == 0xAC) or (
                n == 67 and data[s] == 65 and data[s + 66] == 0xAC):
            lengths[row], kinds[row] = 0, _P2PK
            continue
        kinds[row] = _NULLDATA if n and data[s] == 0x6A else _NONSTANDARD
        chars[row, :7] = _SCRIPT_PREFIX
        sha256_into(data, s, s + n, digest, 0, hasher)
        for i in range(32):
            chars[row, 7 + 2 * i] = _HEX[digest[i] >> 4]
            chars[row, 8 + 2 * i] = _HEX[digest[i] & 15]
        lengths[row] = 71


@numba.njit(cache=True)
def _base58_rows(payloads, rows, chars, lengths, work):
    """Base58Check of each 21-byte payload into its row (P2PK keys hashed by the caller)."""
    hasher, data58, words, digits = work
    for i in range(rows.shape[0]):
        lengths[rows[i]] = _base58check(payloads[i], chars, rows[i], hasher, data58, words, digits)


@numba.njit(cache=True)
def _compact(chars, offsets, text):
    """The first ``offsets[i + 1] - offsets[i]`` characters of each row, end to end."""
    for row in range(chars.shape[0]):
        text[offsets[row]:offsets[row + 1]] = chars[row, :offsets[row + 1] - offsets[row]]


def script_ids(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """(address or stable id, Core's script type) of every script ``data[starts[i]:ends[i]]``,
    as Arrow string columns."""
    n = len(starts)
    chars = np.empty((n, _WIDTH), np.uint8)
    lengths = np.zeros(n, np.int32)
    kinds = np.zeros(n, np.int8)
    work = _work()
    _encode_scripts(np.ascontiguousarray(data), starts.astype(np.int64), ends.astype(np.int64),
                    chars, lengths, kinds, work)
    p2pk = np.flatnonzero(kinds == _P2PK)
    if len(p2pk):
        payloads = np.frombuffer(b"".join(
            b"\x00" + hash160(data[starts[row] + 1:ends[row] - 1].tobytes()) for row in p2pk),
            np.uint8).reshape(-1, 21)
        _base58_rows(payloads, p2pk, chars, lengths, work)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    text = np.empty(int(offsets[-1]), np.uint8)
    _compact(chars, offsets, text)
    ids = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(text))
    types = pa.DictionaryArray.from_arrays(pa.array(kinds), pa.array(SCRIPT_TYPES))
    return ids, types.cast(pa.string())


def script_ids_of(scripts: Sequence[bytes]) -> tuple[pa.Array, pa.Array]:
    """:func:`script_ids` of separate scripts (UTXO entries, JSON prevouts), in one pass."""
    ends = np.cumsum([len(script) for script in scripts], dtype=np.int64)
    starts = ends - np.array([len(script) for script in scripts], dtype=np.int64)
    return script_ids(np.frombuffer(b"".join(scripts), np.uint8), starts, ends)


def script_address(script: bytes) -> tuple[str, str]:
    """(address or stable id, Core's script type name) of one script."""
    ids, types = script_ids_of([script])
    return ids[0].as_py(), types[0].as_py()
