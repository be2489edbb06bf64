"""Seeded fuzzing of the block and UTXO readers from the real fixtures: every damaged file is
either read or rejected with DataError, never another exception (issue "Nothing lost, no one
in", item 5). Each case goes as far as ``graph verify`` does (coinbase height, transactions)."""

from __future__ import annotations

import bz2
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzzing import mutants as damaged
from fuzzing import outcomes
from helpers import DATA_DIR

from libraries.bitcoin_wire import MalformedData, coinbase_height, parse_block
from libraries.bitcoin_wire.block_files import framed_blocks
from libraries.graph_etl.tables import utxo_table
from plugins.bitcoin_graph.dataset import read_labels
from plugins.bitcoin_graph.readers import read_blocks, read_btcd_utxos

BLOCKS = DATA_DIR / "bitcoin_blocks"
SEGWIT_2019 = "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"
# Values that corrupt a length or count field in the most telling ways.
EDGE_VALUES = (b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\x7f", b"\xfd\xff\xff",
               b"\xfe\xff\xff\xff\xff", b"\xff" + b"\xff" * 8, b"\x01", b"\x00\x01")


def mutants(data: bytes, seed: int, count: int, alphabet: bytes | None = None) -> Iterator[bytes]:
    """Damaged copies of ``data`` with this format's edge values."""
    return damaged(data, seed, count, EDGE_VALUES, alphabet)


def verify_like(path: Path) -> None:
    """What ``graph verify`` does with a file."""
    for block in read_blocks(path):
        coinbase_height(block)
        sum(t.has_witness for t in block.transactions)


@pytest.fixture(scope="module")
def block_277647() -> bytes:
    return bz2.decompress((BLOCKS / "277647.dat.bz2").read_bytes())[8:]


def test_fuzz_raw_block(tmp_path, block_277647):
    seen = outcomes(mutants(block_277647, seed=1, count=300), tmp_path / "277647.raw",
                    verify_like)
    assert sum(seen.values()) == 300 and seen["DataError"] > 200


def test_fuzz_raw_block_without_merkle_check(block_277647):
    """The merkle check rejects almost every mutant before the layout is used; without it the
    damaged layouts reach coinbase_height and the transaction objects too."""
    seen = Counter()
    for case in mutants(block_277647, seed=2, count=300):
        try:
            block = parse_block(case, source="mutant", check_merkle=False)
            coinbase_height(block)
            len(block.transactions)
            seen["ok"] += 1
        except MalformedData as error:
            assert "mutant" in str(error)
            seen["MalformedData"] += 1
    assert sum(seen.values()) == 300 and seen["ok"] > 20


def test_fuzz_segwit_blk(tmp_path):
    raw = (BLOCKS / SEGWIT_2019).read_bytes()
    seen = outcomes(mutants(raw, seed=3, count=100), tmp_path / "segwit.blk", verify_like)
    assert sum(seen.values()) == 100


def test_fuzz_framed_bz2_blocks(tmp_path):
    """Damage inside the compressed stream (codec errors) and inside the framed blocks
    (recompressed, so magic, lengths and blocks are what breaks)."""
    packed = (BLOCKS / "blocks1-256.bz2").read_bytes()
    framed = bz2.decompress(packed)
    first_40 = framed[:sum(8 + len(b) for b in list(framed_blocks(framed, "fixture"))[:40])]
    codec = outcomes(mutants(packed, seed=4, count=150), tmp_path / "packed.bz2", verify_like)
    frames = outcomes((bz2.compress(case, 1) for case in mutants(first_40, seed=5, count=150)),
                      tmp_path / "framed.bz2", verify_like)
    assert sum(codec.values()) == sum(frames.values()) == 150
    assert frames["ok"] > 0 and frames["DataError"] > 0


def test_fuzz_btcd_utxo_store(tmp_path):
    plain = bz2.decompress((BLOCKS / "277647.utxostore.bz2").read_bytes())

    def read(path: Path) -> None:
        utxo_table(read_btcd_utxos(path))

    seen = outcomes(mutants(plain, seed=6, count=300), tmp_path / "277647.utxos", read)
    packed = outcomes((bz2.compress(case, 1) for case in mutants(plain, seed=7, count=30)),
                      tmp_path / "277647.utxostore.bz2", read)
    assert sum(seen.values()) == 300 and sum(packed.values()) == 30
    assert seen["ok"] > 0 and seen["DataError"] > 0


def test_fuzz_labels_csv(tmp_path):
    """The labels file of the ``bitcoin_graph`` dataset: real BASD-8 address,label rows."""
    rows = (DATA_DIR / "babd13" / "basd8_labels.csv").read_bytes().splitlines(keepends=True)
    text = b"".join(rows[:40])
    alphabet = b',,\n\r" #\t\x00\xff\xe9\xc3abc123'
    rng = random.Random(8)

    def text_mutants(count: int) -> Iterator[bytes]:
        for _ in range(count):
            out = bytearray(text)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(out) + 1)
                if rng.random() < 0.5:
                    out[at:at] = bytes(rng.choices(alphabet, k=rng.randint(1, 6)))
                else:
                    del out[at:at + rng.randint(1, 40)]
            yield bytes(out)

    seen = outcomes(text_mutants(300), tmp_path / "labels.csv", read_labels)
    assert sum(seen.values()) == 300 and seen["ok"] > 0 and seen["DataError"] > 0
