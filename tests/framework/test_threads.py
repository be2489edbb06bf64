"""A job's thread budget reaches numba's pool too (the relay simulator's parallel kernels); the
budget itself is tested with the CLI (tests/framework/test_cli.py)."""

from __future__ import annotations

import numba
import pytest

from framework import threads


def test_limited_sets_numbas_threads_and_restores_them():
    before = numba.get_num_threads()
    with threads.limited(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_limited_restores_numba_when_the_block_fails():
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError):
        with threads.limited(1):
            raise RuntimeError("job failed")
    assert numba.get_num_threads() == before

