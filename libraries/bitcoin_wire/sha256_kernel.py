"""SHA-256 inside compiled (numba) kernels: OpenSSL's, called without leaving the kernel.

The block walk and the address encoder hash thousands of short byte ranges per block (txids,
merkle nodes, Base58Check checksums). Calling :mod:`hashlib` for each from Python costs more
than the hashing; a SHA-256 compiled with numba avoids the calls but runs at about 85 MB/s.
So the kernels call the OpenSSL that :mod:`hashlib` itself uses (``SHA256_Init/Update/Final``,
SHA-NI where the CPU has it: about 50 ns for an address checksum, 1.6 GB/s on long data)
through function pointers passed in as arguments: a pointer is an argument, not a constant
compiled in, so the kernels stay in numba's on-disk cache. Where no OpenSSL can be found the
same three functions are compiled from the FIPS 180-4 definition below, with the same context
layout, so every kernel runs unchanged. Tests check both against :mod:`hashlib`.

A *hasher* is ``(init, update, final, context, first)``: the three functions, a SHA256_CTX
sized work area and a 32-byte buffer for the inner hash of a double SHA-256. One hasher serves
one thread, hash after hash.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numba
import numpy as np
from numba import types

_K = np.array([
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
], dtype=np.uint32)
_H0 = np.array([0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19], dtype=np.uint32)
_MASK = np.uint64(0xFFFFFFFF)
CONTEXT_WORDS = 28  # sizeof(SHA256_CTX) / 4 in OpenSSL 1.1 and 3; the fallback uses 27


@numba.njit(inline="always")
def _rotr(x, n):
    """Rotate a 32-bit value held in a uint64 (numba widens integer arithmetic)."""
    return ((x >> np.uint64(n)) | (x << np.uint64(32 - n))) & _MASK


@numba.njit(cache=True)
def _compress(state, block, w):
    """One 64-byte block (``block``: uint8[64]) into ``state`` (uint32[8]); ``w`` (uint64[64])
    is scratch. Arithmetic runs in uint64 and is masked back to 32 bits."""
    for t in range(16):
        w[t] = ((np.uint64(block[4 * t]) << np.uint64(24)) | (np.uint64(block[4 * t + 1]) << np.uint64(16))
                | (np.uint64(block[4 * t + 2]) << np.uint64(8)) | np.uint64(block[4 * t + 3]))
    for t in range(16, 64):
        s0 = _rotr(w[t - 15], 7) ^ _rotr(w[t - 15], 18) ^ (w[t - 15] >> np.uint64(3))
        s1 = _rotr(w[t - 2], 17) ^ _rotr(w[t - 2], 19) ^ (w[t - 2] >> np.uint64(10))
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) & _MASK
    a, b, c, d = np.uint64(state[0]), np.uint64(state[1]), np.uint64(state[2]), np.uint64(state[3])
    e, f, g, h = np.uint64(state[4]), np.uint64(state[5]), np.uint64(state[6]), np.uint64(state[7])
    for t in range(64):
        choose = (e & f) ^ (~e & g & _MASK)
        t1 = (h + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + choose + np.uint64(_K[t]) + w[t]) & _MASK
        t2 = ((_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) & _MASK
        h, g, f, e, d, c, b, a = g, f, e, (d + t1) & _MASK, c, b, a, (t1 + t2) & _MASK
    state[0] = np.uint32((np.uint64(state[0]) + a) & _MASK)
    state[1] = np.uint32((np.uint64(state[1]) + b) & _MASK)
    state[2] = np.uint32((np.uint64(state[2]) + c) & _MASK)
    state[3] = np.uint32((np.uint64(state[3]) + d) & _MASK)
    state[4] = np.uint32((np.uint64(state[4]) + e) & _MASK)
    state[5] = np.uint32((np.uint64(state[5]) + f) & _MASK)
    state[6] = np.uint32((np.uint64(state[6]) + g) & _MASK)
    state[7] = np.uint32((np.uint64(state[7]) + h) & _MASK)


# The fallback's context: words 0-7 the state, 8-9 the byte count (low, high), 10-25 the
# partial block, 26 how many of its bytes are filled.
@numba.cfunc(types.int32(types.voidptr), cache=True)
def _fallback_init(context):
    words = numba.carray(context, CONTEXT_WORDS, np.uint32)
    words[:8] = _H0
    words[8:] = 0
    return 1


@numba.cfunc(types.int32(types.voidptr, types.voidptr, types.uint64), cache=True)
def _fallback_update(context, data, length):
    words = numba.carray(context, CONTEXT_WORDS, np.uint32)
    pending = numba.carray(context, 4 * CONTEXT_WORDS, np.uint8)[40:104]
    source = numba.carray(data, length, np.uint8)
    count = (np.uint64(words[9]) << np.uint64(32)) | np.uint64(words[8])
    count += length
    words[8], words[9] = np.uint32(count & _MASK), np.uint32(count >> np.uint64(32))
    fill = words[26]
    w = np.empty(64, np.uint64)
    for i in range(length):
        pending[fill] = source[i]
        fill += 1
        if fill == 64:
            _compress(words[:8], pending, w)
            fill = 0
    words[26] = fill
    return 1


@numba.cfunc(types.int32(types.voidptr, types.voidptr), cache=True)
def _fallback_final(digest, context):
    words = numba.carray(context, CONTEXT_WORDS, np.uint32)
    pending = numba.carray(context, 4 * CONTEXT_WORDS, np.uint8)[40:104]
    out = numba.carray(digest, 32, np.uint8)
    bits = ((np.uint64(words[9]) << np.uint64(32)) | np.uint64(words[8])) * np.uint64(8)
    fill = words[26]
    w = np.empty(64, np.uint64)
    pending[fill] = 0x80
    fill += 1
    if fill > 56:
        pending[fill:] = 0
        _compress(words[:8], pending, w)
        fill = 0
    pending[fill:56] = 0
    for i in range(8):
        pending[63 - i] = np.uint8((bits >> np.uint64(8 * i)) & np.uint64(0xFF))
    _compress(words[:8], pending, w)
    for i in range(8):
        for j in range(4):
            out[4 * i + j] = np.uint8((np.uint64(words[i]) >> np.uint64(24 - 8 * j)) & np.uint64(0xFF))
    return 1


def _declared(library: ctypes.CDLL) -> tuple[Any, Any, Any]:
    init, update, final = library.SHA256_Init, library.SHA256_Update, library.SHA256_Final
    init.argtypes, init.restype = [ctypes.c_void_p], ctypes.c_int
    update.argtypes, update.restype = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64], ctypes.c_int
    final.argtypes, final.restype = [ctypes.c_void_p, ctypes.c_void_p], ctypes.c_int
    return init, update, final


def _openssl() -> tuple[Any, Any, Any] | None:
    """OpenSSL's SHA-256 functions, from the library :mod:`hashlib` is linked with (a handle
    on ``_hashlib`` finds the symbols of what it links); None where it does not export them
    (a statically linked build), and the compiled fallback serves."""
    try:
        import _hashlib

        return _declared(ctypes.CDLL(_hashlib.__file__))
    except (ImportError, AttributeError, OSError):
        # No other libcrypto is tried: loading an unversioned one (macOS's system
        # libcrypto.dylib) aborts the process, which no exception handler can catch.
        return None


def compiled_functions() -> tuple[Any, Any, Any]:
    """The fallback: SHA-256 compiled here, with OpenSSL's calling convention."""
    return _fallback_init.ctypes, _fallback_update.ctypes, _fallback_final.ctypes


_OPENSSL = _openssl()
BACKEND = "openssl" if _OPENSSL is not None else "compiled"
_FUNCTIONS = _OPENSSL or compiled_functions()


def new_hasher(functions: tuple[Any, Any, Any] | None = None) -> tuple:
    """A hasher for one thread: OpenSSL's functions (or the compiled fallback) and their work
    areas. ``functions`` picks others (tests run the fallback this way)."""
    init, update, final = functions or _FUNCTIONS
    return init, update, final, np.zeros(CONTEXT_WORDS, np.uint32), np.zeros(32, np.uint8)


@numba.njit(inline="always")
def _check(data, start, end, out, out_pos):
    """The C functions get raw pointers: refuse what would make them read or write the wrong
    bytes (a read-only ``out`` already fails to compile on the store below)."""
    if not (data.flags.c_contiguous and out.flags.c_contiguous):
        raise ValueError("sha256: data and out must be contiguous arrays")
    if start < 0 or end < start or end > data.shape[0] or out_pos < 0 or (
            out_pos + 32 > out.shape[0]):
        raise ValueError("sha256: range or output position outside the arrays")
    out[out_pos] = out[out_pos]


@numba.njit(cache=True)
def sha256_into(data, start, end, out, out_pos, hasher):
    """SHA-256 of ``data[start:end]`` (contiguous uint8), written as 32 bytes at
    ``out[out_pos:]``."""
    _check(data, start, end, out, out_pos)
    init, update, final, context, _ = hasher
    init(context.ctypes.data)
    update(context.ctypes.data, data.ctypes.data + start, end - start)
    final(out.ctypes.data + out_pos, context.ctypes.data)


@numba.njit(cache=True)
def double_sha256_into(data, start, end, out, out_pos, hasher):
    """SHA-256(SHA-256(``data[start:end]``)): Bitcoin's txid, merkle node and checksum hash."""
    _check(data, start, end, out, out_pos)
    init, update, final, context, first = hasher
    init(context.ctypes.data)
    update(context.ctypes.data, data.ctypes.data + start, end - start)
    final(first.ctypes.data, context.ctypes.data)
    init(context.ctypes.data)
    update(context.ctypes.data, first.ctypes.data, 32)
    final(out.ctypes.data + out_pos, context.ctypes.data)
