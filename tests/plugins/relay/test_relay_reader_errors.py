"""Every failure of the capture and own-txid readers is a DataError naming the file (issue
"Nothing lost, no one in", item 5); a corrupt length is refused before it is allocated."""

from __future__ import annotations

import os
import struct
import tracemalloc
from pathlib import Path

import pytest
from helpers import DATA_DIR, fails_instead_of_hanging

from framework.errors import DataError
from framework.interfaces import DataContext
from plugins.relay.capture_dataset import P2PCaptureDataset, read_own_txids
from plugins.relay.pcap_reader import scan_capture


def pcapng_block(block_type: int, body: bytes, total_length: int | None = None) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12 if total_length is None else total_length
    return struct.pack("<II", block_type, length) + body + struct.pack("<I", length)


SECTION = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
INTERFACE = pcapng_block(1, struct.pack("<HHI", 1, 0, 65535))
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


@pytest.mark.parametrize("blocks, message", [
    (SECTION + pcapng_block(1, b""), "interface description block: 0 body bytes"),
    (SECTION + pcapng_block(1, b"\x01\x00"), "interface description block: 4 body bytes"),
    (SECTION + INTERFACE + pcapng_block(6, bytes(8)), "packet block of type 0x6: 8 body bytes"),
    (SECTION + INTERFACE + pcapng_block(2, bytes(16)), "packet block of type 0x2: 16 body bytes"),
], ids=["empty_interface", "short_interface", "short_enhanced_packet", "short_obsolete_packet"])
def test_short_pcapng_blocks_are_data_errors(tmp_path: Path, blocks: bytes, message: str):
    """Before: struct.error ("unpack_from requires a buffer of at least ... bytes")."""
    capture = tmp_path / "short.pcapng"
    capture.write_bytes(blocks)
    with pytest.raises(DataError, match=rf"short\.pcapng: corrupt pcapng {message}"):
        scan_capture(capture)


CLAIMED = 1 << 30  # 1 GiB claimed by a 4-byte length field in a file of a few dozen bytes


@pytest.mark.parametrize("content, what, claimed", [
    (PCAP_HEADER + struct.pack("<IIII", 0, 0, CLAIMED, CLAIMED) + bytes(16), "packet data",
     CLAIMED),
    (SECTION + struct.pack("<II", 1, CLAIMED) + bytes(16), "pcapng block body",
     CLAIMED - 12),  # the block's length counts its 8-byte head and 4-byte trailer
], ids=["pcap_record", "pcapng_block"])
def test_a_huge_claimed_length_is_refused_before_allocating_it(tmp_path: Path, content: bytes,
                                                               what: str, claimed: int):
    """Before: the reader asked the file for the claimed size, allocating a 1 GiB (up to
    4 GiB) buffer before finding the file shorter."""
    capture = tmp_path / "huge.cap"
    capture.write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=rf"huge\.cap: corrupt capture: {what} at byte "
                                            rf"offset \d+ claims {claimed} bytes"):
            scan_capture(capture)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_a_length_past_the_end_of_the_file_is_a_truncation(tmp_path: Path):
    capture = tmp_path / "cut.pcap"
    capture.write_bytes(PCAP_HEADER + struct.pack("<IIII", 0, 0, 1000, 1000) + bytes(100))
    with pytest.raises(DataError, match=r"cut\.pcap: truncated capture: expected 1000 bytes of "
                                        r"packet data at byte offset 40, found 100"):
        scan_capture(capture)


def test_non_utf8_own_txids_name_the_file_line_and_offset(tmp_path: Path):
    """Before: UnicodeDecodeError, naming neither the file nor the line."""
    own = tmp_path / "own.txt"
    own.write_bytes(b"# my wallet\n" + b"ab" * 32 + b"\n\xff\xfe\n")
    with pytest.raises(DataError, match=r"own\.txt, line 3, byte offset 77: .* not UTF-8"):
        read_own_txids(own)


@pytest.fixture
def odd_paths(tmp_path):
    """A FIFO, a directory and a dangling symbolic link, each named like a data file."""
    os.mkfifo(tmp_path / "fifo.pcap")
    (tmp_path / "folder.pcap").mkdir()
    (tmp_path / "dangling.pcap").symlink_to(tmp_path / "gone.pcap")
    return {"a FIFO": tmp_path / "fifo.pcap", "a directory": tmp_path / "folder.pcap",
            "a dangling symbolic link": tmp_path / "dangling.pcap"}


@pytest.mark.parametrize("reader", [scan_capture, read_own_txids])
def test_non_regular_files_are_refused_before_reading(odd_paths, reader):
    """Before: a FIFO blocked forever (here: until the alarm)."""
    for kind, path in odd_paths.items():
        with fails_instead_of_hanging(), pytest.raises(DataError) as error:
            reader(path)
        assert str(path) in str(error.value) and kind in str(error.value)


def test_a_fifo_among_a_folders_captures_is_refused(tmp_path: Path):
    folder = tmp_path / "captures"
    folder.mkdir()
    os.mkfifo(folder / "live.pcap")
    own = tmp_path / "own.txt"
    own.write_text("ab" * 32 + "\n")
    dataset = P2PCaptureDataset(path=str(folder), own_txids=str(own))
    with fails_instead_of_hanging(), pytest.raises(DataError, match=r"live\.pcap: .* is a FIFO"):
        dataset.load(DataContext(data_dir=DATA_DIR, cache_dir=tmp_path, seed=0))
