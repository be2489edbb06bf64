"""Every failure of the ethereum_txs, babd13 and elliptic readers is a DataError naming the file
(issue "Nothing lost, no one in", item 5)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from helpers import fails_instead_of_hanging

from framework.errors import DataError
from framework.interfaces import DataContext
from plugins.datasets.babd13 import FEATURES, HEADER, read_table
from plugins.datasets.elliptic import CLASSES_FILE, EDGES_FILE, FEATURES_FILE, EllipticDataset
from plugins.datasets.ethereum_txs import FOLDERS, FULL_HEADER, SHORT_HEADER, read_transactions

PHISHER = "0x00650a784ee109797ba8c05f3496bdbf2b2b7a1c"
GOOD = f"0,0xaa,1,1539570132,0x5030,{PHISHER},0.68,NULL,0x,0"


def ethereum_root(tmp_path: Path, files: dict[str, bytes]) -> Path:
    """A crawl folder whose phishing folder holds ``files`` (name -> content)."""
    root = tmp_path / "root"
    for folder in FOLDERS.values():
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (root / FOLDERS["phishing"] / name).write_bytes(content)
    return root


def write_elliptic(root: Path, n: int = 6) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    ids = [str(230000000 + i) for i in range(n)]
    (root / FEATURES_FILE).write_text("".join(
        ",".join([tx, "1", *(["0.5"] * 165)]) + "\n" for tx in ids))
    (root / CLASSES_FILE).write_text("txId,class\n" + "".join(f"{tx},2\n" for tx in ids))
    (root / EDGES_FILE).write_text(f"txId1,txId2\n{ids[0]},{ids[1]}\n")
    return root


def babd_csv(path: Path, rows: int = 3) -> Path:
    lines = [",".join(HEADER)] + [",".join([f"1Addr{i}", "SA", *(["1.5"] * len(FEATURES)), "3"])
                                   for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_header_only_account_file_is_a_centre_without_transactions(tmp_path):
    """Before: its empty columns were typed null, and concatenating them with the other files
    raised an Arrow schema error. Now it reads as zero rows and the centre is kept in the stats
    (the dataset then drops it with the other centres that have no transactions)."""
    silent = "0x" + "c" * 40
    root = ethereum_root(tmp_path, {f"{PHISHER}.csv": f"{FULL_HEADER}\n{GOOD}\n".encode(),
                                    f"{silent}.csv": f"{FULL_HEADER}\n".encode()})
    frame, stats = read_transactions(root, ["phishing"])
    assert len(frame) == 1 and stats["files"] == 2 and stats["centres"][silent] == "phishing"
    short = ethereum_root(tmp_path / "short", {f"{silent}.csv": f"{SHORT_HEADER}\r\n".encode()})
    frame, stats = read_transactions(short, ["phishing"])
    assert len(frame) == 0 and stats["files"] == 1


@pytest.mark.parametrize("value, expected", [
    ("inf", "'inf' is not a whole number"),  # before: IntCastingNaNError from astype
    ("1e400", "'1e400' is not a whole number"),
    ("1539570132.5", "'1539570132.5' is not a whole number"),  # before: silently truncated
    ("99999999999999999999", "'99999999999999999999' is not a whole number"),
])
def test_a_timestamp_that_is_no_whole_number_names_its_line(tmp_path, value, expected):
    root = ethereum_root(tmp_path, {f"{PHISHER}.csv": f"{FULL_HEADER}\n{GOOD}\n{GOOD}\n"
                                    .replace("1539570132", value, 2)
                                    .replace(value, "1539570132", 1).encode()})
    with pytest.raises(DataError, match=rf"{PHISHER}\.csv, line 3, column 'timestamp': "
                                        rf"{expected}"):
        read_transactions(root, ["phishing"])


def test_non_utf8_bytes_name_the_file_line_and_offset(tmp_path):
    """Before: UnicodeDecodeError (no path) while reading the header of each CSV loader."""
    root = ethereum_root(tmp_path, {f"{PHISHER}.csv": b"\xef,TxHash" + FULL_HEADER[7:].encode()
                                    + b"\n"})
    with pytest.raises(DataError, match=rf"{PHISHER}\.csv, line 1, byte offset 0: .* not UTF-8"):
        read_transactions(root, ["phishing"])
    body = ethereum_root(tmp_path / "body", {
        f"{PHISHER}.csv": f"{FULL_HEADER}\n{GOOD}\n".replace("0x5030", "0x50\udce9", 1)
        .encode("utf-8", "surrogateescape")})
    with pytest.raises(DataError, match=rf"{PHISHER}\.csv: malformed CSV .*UTF8"):
        read_transactions(body, ["phishing"])

    babd = babd_csv(tmp_path / "BABD-13.csv")
    babd.write_bytes(b"acc\xf6unt" + babd.read_bytes()[7:])
    with pytest.raises(DataError, match=r"BABD-13\.csv, line 1, byte offset 3: .* not UTF-8"):
        read_table(babd)

    elliptic = write_elliptic(tmp_path / "elliptic_bitcoin_dataset")
    (elliptic / CLASSES_FILE).write_bytes(b"txId,cl\xe4ss\n1,2\n")
    with pytest.raises(DataError, match=rf"{CLASSES_FILE}, line 1, byte offset 7: .* not UTF-8"):
        EllipticDataset().load(DataContext(tmp_path, tmp_path, 0))


def test_duplicate_elliptic_txids_name_the_file_and_lines(tmp_path):
    """Before: pandas' InvalidIndexError ("Reindexing only valid with uniquely valued Index
    objects") from the edge lookup."""
    root = write_elliptic(tmp_path / "elliptic_bitcoin_dataset")
    lines = (root / FEATURES_FILE).read_text().splitlines(keepends=True)
    (root / FEATURES_FILE).write_text("".join(lines + [lines[1]]))
    with pytest.raises(DataError, match=rf"{FEATURES_FILE}, lines 2 and 7: txId 230000001 "
                                        rf"appears more than once"):
        EllipticDataset().load(DataContext(tmp_path, tmp_path, 0))
    (root / FEATURES_FILE).write_text("".join(lines))
    (root / CLASSES_FILE).write_text((root / CLASSES_FILE).read_text() + "230000000,1\n")
    with pytest.raises(DataError, match=rf"{CLASSES_FILE}, lines 2 and 8: txId 230000000"):
        EllipticDataset().load(DataContext(tmp_path, tmp_path, 0))


def make_odd(path: Path, kind: str) -> None:
    if kind == "a FIFO":
        os.mkfifo(path)
    elif kind == "a directory":
        path.mkdir()
    else:
        path.symlink_to(path.parent / "gone.csv")


KINDS = ["a FIFO", "a directory", "a dangling symbolic link"]


@pytest.mark.parametrize("kind", KINDS)
def test_non_regular_files_are_refused_before_reading(tmp_path, kind):
    """Before: a FIFO blocked forever (here: until the alarm); a directory or a dangling link
    gave IsADirectoryError / FileNotFoundError, or (elliptic) was called missing."""
    root = ethereum_root(tmp_path, {f"{PHISHER}.csv": f"{FULL_HEADER}\n{GOOD}\n".encode()})
    odd = root / FOLDERS["phishing"] / f"0x{'d' * 40}.csv"
    make_odd(odd, kind)
    with fails_instead_of_hanging(), pytest.raises(DataError, match=rf"{odd}: .* is {kind}"):
        read_transactions(root, ["phishing"])

    babd = tmp_path / "BABD-13.csv"
    make_odd(babd, kind)
    with fails_instead_of_hanging(), pytest.raises(DataError, match=rf"{babd}: .* is {kind}"):
        read_table(babd)

    elliptic = write_elliptic(tmp_path / "elliptic_bitcoin_dataset")
    for name in (FEATURES_FILE, EDGES_FILE):
        (elliptic / name).unlink()
        make_odd(elliptic / name, kind)
        with fails_instead_of_hanging(), pytest.raises(DataError,
                                                       match=rf"{elliptic / name}: .* is {kind}"):
            EllipticDataset().load(DataContext(tmp_path, tmp_path, 0))
        if (elliptic / name).is_dir():
            (elliptic / name).rmdir()
        else:
            (elliptic / name).unlink()
        write_elliptic(elliptic)
    assert np.isfinite(EllipticDataset().load(DataContext(tmp_path, tmp_path, 0)).X).all()
