"""Seeded fuzzing of the CSV loaders (ethereum_txs, babd13, elliptic) from small CSVs cut from
the real data: every damaged file is either read or rejected with DataError, never another
exception (issue "Nothing lost, no one in", item 5)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers import DATA_DIR

from framework.errors import DataError
from framework.interfaces import DataContext
from plugins.datasets.babd13 import FEATURES, LABELS, BABD13Dataset
from plugins.datasets.elliptic import (CLASSES_FILE, EDGES_FILE, FEATURES_FILE, N_FEATURES,
                                       EllipticDataset)
from plugins.datasets.ethereum_txs import FOLDERS, deduplicate, read_transactions

# Small real centre files, one per label folder used: both crawls, both header layouts.
CENTRES = {"phishing": "0x00650a784ee109797ba8c05f3496bdbf2b2b7a1c",
           "normal": "0x000e0e5701b14fb77160bcc7bfe7256522d5927b",
           "hack": "0x00b1480259b3c9f9b0cb9b62bafac3c10c0d08bd"}
# What CSV damage is made of: separators, quotes, line ends, signs, exponents, words that parse
# as special numbers, and bytes that are not UTF-8.
ALPHABET = b',,,\n\n\r"" .-+eE0123456789xnaNAifINF\t\x00\xff\xe9\xc3'


def text_mutants(data: bytes, seed: int, count: int) -> Iterator[bytes]:
    """``count`` damaged copies of CSV ``data``: 1-3 of overwritten bytes, cuts, deletions,
    insertions of CSV-ish characters and repeated spans (which repeat rows and ids)."""
    rng = random.Random(seed)
    for _ in range(count):
        out = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(out) + 1)
            kind = rng.randrange(5)
            if kind == 0 and out:
                out[min(at, len(out) - 1)] = rng.choice(ALPHABET)
            elif kind == 1:
                del out[at:]
            elif kind == 2:
                del out[at:at + rng.randint(1, 40)]
            elif kind == 3:
                out[at:at] = bytes(rng.choices(ALPHABET, k=rng.randint(1, 8)))
            else:
                out[at:at] = out[at:at + rng.randint(1, 200)]
        yield bytes(out)


def outcomes(originals: dict[Path, bytes], seed: int, count: int,
             read: Callable[[], object]) -> Counter:
    """Damage one of ``originals`` (path -> content) per case, in turn, restoring the others,
    and read; count 'ok' and 'DataError' (anything else fails the test)."""
    seen: Counter = Counter()
    paths = list(originals)
    streams = {p: text_mutants(originals[p], seed + i, count) for i, p in enumerate(paths)}
    for number in range(count):
        target = paths[number % len(paths)]
        for path, content in originals.items():
            path.write_bytes(next(streams[target]) if path == target else content)
        try:
            read()
            seen["ok"] += 1
        except DataError as error:
            assert target.name in str(error) or target.parent.name in str(error), (
                f"case {number}: {error} does not name {target}")
            seen["DataError"] += 1
    return seen


def test_fuzz_ethereum_txs(tmp_path):
    source = DATA_DIR / "ethereum_txs_fdgnn"
    originals = {}
    for label, centre in CENTRES.items():
        (tmp_path / FOLDERS[label]).mkdir()
        originals[tmp_path / FOLDERS[label] / f"{centre}.csv"] = (
            source / FOLDERS[label] / f"{centre}.csv").read_bytes()

    def read() -> None:
        frame, _ = read_transactions(tmp_path, list(CENTRES))
        deduplicate(frame)

    seen = outcomes(originals, seed=21, count=300, read=read)
    assert sum(seen.values()) == 300 and seen["ok"] > 0 and seen["DataError"] > 0


@pytest.fixture
def babd_file(tmp_path) -> Path:
    """The official header (csv_format.yml) and the 15 real labelled addresses with their SW
    flags (Bitcoin_Ads_type.csv); features are seeded numbers (the real rows are not here)."""
    header = (DATA_DIR / "babd13" / "csv_format.yml").read_text().splitlines()[0] + ", label"
    ads = (DATA_DIR / "babd13" / "Bitcoin_Ads_type.csv").read_text().splitlines()[1:]
    rng = np.random.default_rng(0)
    rows = [f"{ad},{','.join(map(str, rng.gamma(1.0, 100.0, len(FEATURES)).round(3)))},"
            f"{i % len(LABELS)}" for i, ad in enumerate(ads)]
    path = tmp_path / "BABD-13.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_fuzz_babd13(tmp_path, babd_file):
    context = DataContext(None, tmp_path, 0)

    def read() -> None:
        BABD13Dataset(path=str(babd_file), variant="shadoweyes", features="schema").load(context)

    assert BABD13Dataset(path=str(babd_file)).load(context).X.shape == (15, len(FEATURES))
    seen = outcomes({babd_file: babd_file.read_bytes()}, seed=22, count=300, read=read)
    assert sum(seen.values()) == 300 and seen["ok"] > 0 and seen["DataError"] > 0


def test_fuzz_elliptic(tmp_path):
    """The Elliptic files are not in the shared data: a small set in the raw layout."""
    root = tmp_path / "elliptic_bitcoin_dataset"
    root.mkdir()
    rng = np.random.default_rng(0)
    ids = [str(230000000 + i) for i in range(12)]
    (root / FEATURES_FILE).write_text("".join(
        ",".join([tx, str(1 + i // 4), *map(str, rng.normal(size=N_FEATURES).round(2))]) + "\n"
        for i, tx in enumerate(ids)))
    (root / CLASSES_FILE).write_text("txId,class\n" + "".join(
        f"{tx},{('1', '2', 'unknown')[i % 3]}\n" for i, tx in enumerate(ids)))
    (root / EDGES_FILE).write_text("txId1,txId2\n" + "".join(
        f"{ids[i]},{ids[(i * 5 + 1) % 12]}\n" for i in range(12)))
    originals = {root / name: (root / name).read_bytes()
                 for name in (FEATURES_FILE, CLASSES_FILE, EDGES_FILE)}
    context = DataContext(tmp_path, tmp_path, 0)
    seen = outcomes(originals, seed=23, count=300, read=lambda: EllipticDataset().load(context))
    assert sum(seen.values()) == 300 and seen["ok"] > 0 and seen["DataError"] > 0
