"""The in-memory engine's text handling against plain Python on the same strings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from libraries.graph_etl import strings
from libraries.graph_etl.errors import GraphDataError

WORDS = ["bc1qxy", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "", "a", "ab", "a\x00", "3J98t1Wp",
         "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "script:00ff", "zz", "ab"]


def _texts(offsets: np.ndarray, chars: np.ndarray) -> list[str]:
    return [chars[offsets[i]:offsets[i + 1]].tobytes().decode() for i in range(len(offsets) - 1)]


@pytest.mark.parametrize("column", [
    pa.array(WORDS), pa.array(WORDS, pa.large_string()),
    pa.array(WORDS).dictionary_encode(),
    pa.chunked_array([pa.array(WORDS[:4]), pa.array(WORDS[4:])]),
    pa.chunked_array([pa.array(WORDS)]),
], ids=["string", "large", "dictionary", "chunks", "one-chunk"])
def test_buffers_give_every_string_and_widen_offsets(column):
    offsets, chars = strings.buffers(column, "test column")
    assert offsets.dtype == np.int64
    assert _texts(offsets, chars) == WORDS


def test_buffers_of_a_slice_start_at_the_slice():
    offsets, chars = strings.buffers(pa.array(WORDS).slice(3, 5), "slice")
    assert _texts(offsets, chars) == WORDS[3:8]


def test_buffers_refuse_nulls_naming_the_column():
    with pytest.raises(GraphDataError, match="inputs: prev_txid: 1 null"):
        strings.buffers(pa.array(["a", None]), "inputs: prev_txid")


def test_concatenate_keeps_strings_and_order_whatever_the_chunk_types():
    chunks = [pa.array(WORDS[:3]), pa.array(WORDS[3:6], pa.large_string()).slice(1),
              pa.array(WORDS[6:])]
    joined = strings.concatenate(chunks)
    assert joined.to_pylist() == WORDS[:3] + WORDS[4:6] + WORDS[6:]
    plain = strings.concatenate([pa.array(WORDS[:3]), pa.array(WORDS[3:])])
    assert plain.type == pa.string() and plain.to_pylist() == WORDS


def test_sort_order_and_codes_follow_bytewise_order():
    column = pa.array(WORDS)
    order = strings.sort_order(pa.array(sorted(set(WORDS))[::-1]), "distinct")
    assert [sorted(set(WORDS))[::-1][i] for i in order] == sorted(set(WORDS))
    codes, distinct = strings.encode_sorted(column, "words")
    assert distinct.to_pylist() == sorted(set(WORDS), key=str.encode)
    assert [distinct[int(c)].as_py() for c in codes] == WORDS
