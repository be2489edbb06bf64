"""SHA-256 inside compiled kernels, OpenSSL's and the compiled fallback, against hashlib across
every padding boundary; one hasher reused hash after hash; OpenSSL found on this machine."""

import hashlib

import numpy as np
import pytest

from libraries.bitcoin_wire import sha256_kernel
from libraries.bitcoin_wire.sha256_kernel import (compiled_functions, double_sha256_into,
                                                  new_hasher, sha256_into)

BACKENDS = {"default": None, "compiled fallback": compiled_functions()}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("length", [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 70_000])
def test_sha256_of_a_range_matches_hashlib(backend, length):
    data = np.random.default_rng(length).integers(0, 256, length + 10, dtype=np.uint8)
    out = np.zeros(40, np.uint8)
    sha256_into(data, 3, 3 + length, out, 8, new_hasher(BACKENDS[backend]))
    assert out[8:].tobytes() == hashlib.sha256(data[3:3 + length].tobytes()).digest()
    assert not out[:8].any()


@pytest.mark.parametrize("backend", BACKENDS)
def test_hasher_reuse_and_double_sha256(backend):
    """One hasher serves hash after hash (the kernels reuse it for every address)."""
    hasher = new_hasher(BACKENDS[backend])
    out = np.zeros(32, np.uint8)
    for length in (21, 100, 0, 21, 64):
        data = np.random.default_rng(length).integers(0, 256, length, dtype=np.uint8)
        double_sha256_into(data, 0, length, out, 0, hasher)
        inner = hashlib.sha256(data.tobytes()).digest()
        assert out.tobytes() == hashlib.sha256(inner).digest()


def test_openssl_is_found_where_hashlib_uses_it():
    """This machine's hashlib is OpenSSL's; the kernels must use it, not the slow fallback."""
    assert hashlib.sha256.__name__ == "openssl_sha256"
    assert sha256_kernel.BACKEND == "openssl"


def test_ranges_outside_the_arrays_and_strided_data_are_refused():
    """The kernels hand raw pointers to C: a bad range or a strided view would hash or
    overwrite the wrong bytes, so both are refused."""
    data = np.zeros(64, np.uint8)
    out = np.zeros(32, np.uint8)
    with pytest.raises(ValueError, match="range or output position"):
        sha256_into(data, 0, 65, out, 0, new_hasher())
    with pytest.raises(ValueError, match="range or output position"):
        sha256_into(data, 0, 10, out, 1, new_hasher())
    with pytest.raises(ValueError, match="contiguous"):
        sha256_into(data[::2], 0, 10, out, 0, new_hasher())
