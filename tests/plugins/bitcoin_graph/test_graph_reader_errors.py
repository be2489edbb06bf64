"""Every failure of the block, UTXO and label readers is a DataError naming the file (issue
"Nothing lost, no one in", item 5), and ``graph verify`` reports each bad file and goes on."""

from __future__ import annotations

import argparse
import bz2
import hashlib
import os
from pathlib import Path

import pytest
from helpers import DATA_DIR, fails_instead_of_hanging

from framework.errors import DataError
from libraries.bitcoin_wire import MalformedData, coinbase_height, parse_block
from plugins.bitcoin_graph import _verify
from plugins.bitcoin_graph.dataset import read_labels
from plugins.bitcoin_graph.readers import read_blocks, read_btcd_utxos

BLOCKS = DATA_DIR / "bitcoin_blocks"


def dsha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def one_tx_block(tx: bytes, version: int = 2) -> bytes:
    """A block holding only ``tx``, with the merkle root that commits to it."""
    header = (version.to_bytes(4, "little") + bytes(32) + dsha256(tx) + (0).to_bytes(4, "little")
              + bytes.fromhex("ffff001d") + bytes(4))
    return header + b"\x01" + tx


# version 1, no input, no output, locktime 0: parses, and its merkle root checks.
ZERO_INPUT_TX = (1).to_bytes(4, "little") + b"\x00\x00" + bytes(4)


def utxo_record(entry: bytes, vout: int = 0) -> bytes:
    return bytes(range(32)) + vout.to_bytes(4, "little") + len(entry).to_bytes(4, "little") + entry


def test_corrupt_and_cut_bz2_files_are_data_errors_naming_them(tmp_path):
    """Before: OSError ("Invalid data stream") and ValueError ("Compressed data ended before
    the end-of-stream marker") escaped from bz2.decompress."""
    packed = (BLOCKS / "277647.dat.bz2").read_bytes()
    corrupt = bytearray(packed)
    corrupt[len(corrupt) // 2:len(corrupt) // 2 + 16] = bytes(16)
    cases = {"corrupt.dat.bz2": bytes(corrupt), "cut.dat.bz2": packed[:len(packed) // 3],
             "not_bz2.dat.bz2": b"plain bytes, not compressed"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match=rf"{name}: not a valid bz2 stream"):
            list(read_blocks(tmp_path / name))
    utxos = (BLOCKS / "277647.utxostore.bz2").read_bytes()
    (tmp_path / "cut.utxostore.bz2").write_bytes(utxos[:-100])
    with pytest.raises(DataError, match=r"cut\.utxostore\.bz2: not a valid bz2 stream"):
        read_btcd_utxos(tmp_path / "cut.utxostore.bz2")


@pytest.mark.parametrize("entry, message", [
    (b"", "VARINT at entry byte 0 runs past the end"),  # before: IndexError
    (b"\x80", "VARINT at entry byte 0 runs past the end"),  # before: IndexError
    (b"\x02\x09", "VARINT at entry byte 2 runs past the end"),  # no script code; IndexError
    (b"\x02\x09\x00" + bytes(10), "P2PKH hash needs 20 bytes"),  # before: a 10-byte hash, silently
    (b"\x02\x09\x00" + bytes(21), "1 bytes are left after the script"),  # before: accepted
    (b"\x02\x09\x10" + bytes(3), "script needs 10 bytes"),  # before: a 3-byte script, silently
    (b"\x80" * 12, "longer than a 64-bit value"),
    (b"\x02\xff\xff\xff\xff\x7f\x00" + bytes(20), "exceeds the 21 million BTC supply"),
], ids=["empty", "cut_varint", "no_script", "short_hash", "trailing_bytes", "short_script",
        "long_varint", "too_much_money"])
def test_short_or_malformed_btcd_entries_are_data_errors(tmp_path, entry, message):
    path = tmp_path / "bad.utxos"
    good = bz2.decompress((BLOCKS / "277647.utxostore.bz2").read_bytes())
    path.write_bytes(good + utxo_record(entry))
    with pytest.raises(DataError, match=message) as error:
        read_btcd_utxos(path)
    assert f"{path}, byte {len(good) + 40}: malformed btcd UTXO entry" in str(error.value)


def test_a_repeated_utxo_record_is_a_data_error(tmp_path):
    path = tmp_path / "twice.utxos"
    record = utxo_record(b"\x02\x09\x00" + bytes(20))
    path.write_bytes(record + record)
    with pytest.raises(DataError, match=rf"byte {len(record)}: a second UTXO record"):
        read_btcd_utxos(path)


def test_a_block_whose_only_transaction_has_no_input(tmp_path):
    """Before: coinbase_height indexed the first input of an empty input table (IndexError),
    which crashed ``graph verify``."""
    path = tmp_path / "no_input.raw"
    path.write_bytes(one_tx_block(ZERO_INPUT_TX))
    (block,) = read_blocks(path)
    assert block.n_tx == 1 and block.transactions[0].inputs == ()
    assert coinbase_height(block) is None


def test_a_block_of_zero_transactions_names_its_source():
    with pytest.raises(MalformedData, match="empty.raw: block states 0 transactions"):
        parse_block(bytes(80) + b"\x00" + bytes(10), source="empty.raw")


@pytest.fixture
def odd_paths(tmp_path):
    """A FIFO, a directory and a dangling symbolic link, each named like a data file."""
    os.mkfifo(tmp_path / "fifo.dat")
    (tmp_path / "folder.dat").mkdir()
    (tmp_path / "dangling.dat").symlink_to(tmp_path / "gone.dat")
    return {"a FIFO": tmp_path / "fifo.dat", "a directory": tmp_path / "folder.dat",
            "a dangling symbolic link": tmp_path / "dangling.dat"}


@pytest.mark.parametrize("reader", [lambda p: list(read_blocks(p)), read_btcd_utxos, read_labels],
                         ids=["read_blocks", "read_btcd_utxos", "read_labels"])
def test_non_regular_files_are_refused_before_reading(odd_paths, reader):
    """Before: a FIFO blocked forever (here: until the alarm), a directory gave
    IsADirectoryError in read_labels."""
    for kind, path in odd_paths.items():
        with fails_instead_of_hanging(), pytest.raises(DataError) as error:
            reader(path)
        assert str(path) in str(error.value) and kind in str(error.value)


def test_an_xor_key_that_is_a_fifo_is_refused(tmp_path):
    (tmp_path / "blk00000.dat").write_bytes(bz2.decompress((BLOCKS / "blocks1-256.bz2")
                                                           .read_bytes())[:1000])
    os.mkfifo(tmp_path / "xor.dat")
    with fails_instead_of_hanging(), pytest.raises(DataError, match=r"xor\.dat: block-file XOR "
                                                                    r"key is a FIFO"):
        list(read_blocks(tmp_path / "blk00000.dat"))


def test_non_utf8_labels_name_the_file_line_and_offset(tmp_path):
    """Before: UnicodeDecodeError, naming neither the file nor the line."""
    path = tmp_path / "labels.csv"
    path.write_bytes(b"address,label\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,miner\n1B,gam\xe9\n")
    with pytest.raises(DataError, match=r"labels\.csv, line 3, byte offset 61: .* not UTF-8"):
        read_labels(path)


def test_verify_reports_every_bad_file_and_goes_on(tmp_path: Path, capsys):
    """Before: the corrupt bz2 file's OSError ended the run with a traceback, before the
    files after it were looked at. (In-process: the command's exit status is _verify's.)"""
    corrupt = tmp_path / "corrupt.dat.bz2"
    packed = bytearray((BLOCKS / "277647.dat.bz2").read_bytes())
    packed[5000:5016] = bytes(16)
    corrupt.write_bytes(bytes(packed))
    no_input = tmp_path / "no_input.raw"
    no_input.write_bytes(one_tx_block(ZERO_INPUT_TX))
    cut = tmp_path / "cut.raw"
    cut.write_bytes((BLOCKS / "block413567.raw").read_bytes()[:5000])
    folder = tmp_path / "folder.raw"
    folder.mkdir()
    files = [corrupt, no_input, BLOCKS / "277647.dat.bz2", cut, folder]
    status = _verify(argparse.Namespace(graph_action="verify", files=files))
    stdout = capsys.readouterr().out
    assert status == 1, stdout
    rejected = [line for line in stdout.splitlines() if line.startswith("rejected:")]
    assert len(rejected) == 3
    assert f"rejected: {corrupt}: not a valid bz2 stream" in rejected[0]
    assert f"rejected: {cut}: truncated or malformed block" in rejected[1]
    assert f"rejected: {folder}: block or transaction file is a directory" in rejected[2]
    assert f"{no_input}: block " in stdout and "height None 1 txs" in stdout
    assert "height 277647 213 txs" in stdout
    assert "3 of 5 files rejected" in stdout
