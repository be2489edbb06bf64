"""The compiled SHA-256 against hashlib, across every padding boundary."""

import hashlib

import numpy as np
import pytest

from libraries.bitcoin_wire.sha256_kernel import double_sha256_into, new_scratch, sha256_into


@pytest.mark.parametrize("length", [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000])
def test_sha256_of_a_range_matches_hashlib(length):
    data = np.random.default_rng(length).integers(0, 256, length + 10, dtype=np.uint8)
    out = np.zeros(40, np.uint8)
    sha256_into(data, 3, 3 + length, out, 8, new_scratch())
    assert out[8:].tobytes() == hashlib.sha256(data[3:3 + length].tobytes()).digest()
    assert not out[:8].any()


def test_scratch_reuse_and_double_sha256():
    """One scratch set serves hash after hash (the kernels reuse it for every address)."""
    scratch = new_scratch()
    out = np.zeros(32, np.uint8)
    for length in (21, 100, 0, 21):
        data = np.random.default_rng(length).integers(0, 256, length, dtype=np.uint8)
        double_sha256_into(data, 0, length, out, 0, scratch)
        inner = hashlib.sha256(data.tobytes()).digest()
        assert out.tobytes() == hashlib.sha256(inner).digest()
