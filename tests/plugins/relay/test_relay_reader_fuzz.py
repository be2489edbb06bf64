"""Seeded fuzzing of the capture and own-txid readers from the real captures: every damaged
file is either read or rejected with DataError, never another exception (issue "Nothing lost,
no one in", item 5)."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from fuzzing import mutants as damaged
from fuzzing import outcomes
from helpers import DATA_DIR

from plugins.relay.capture_dataset import read_own_txids
from plugins.relay.pcap_reader import scan_capture

P2P = DATA_DIR / "bitcoin_p2p"
READABLE_PORT = 50254  # the one v1 (unencrypted) connection of bitcoin.pcap, 68 messages
EDGE_VALUES = (b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\x7f", b"\x0c\x00\x00\x00",
               b"\x01\x00\x00\x00", b"\xfd\xff\xff", b"\xf9\xbe\xb4\xd9")


def mutants(data: bytes, seed: int, count: int, alphabet: bytes | None = None) -> Iterator[bytes]:
    """Damaged copies of ``data`` with this format's edge values."""
    return damaged(data, seed, count, EDGE_VALUES, alphabet)


def pcap_records(capture: bytes) -> tuple[bytes, list[bytes]]:
    """(file header, records) of a little-endian microsecond pcap file."""
    records, position = [], 24
    while position < len(capture):
        length = struct.unpack_from("<I", capture, position + 8)[0]
        records.append(capture[position:position + 16 + length])
        position += 16 + length
    return capture[:24], records


def readable_connection(capture: bytes) -> bytes:
    """bitcoin.pcap cut down to its one readable connection (LINUX_SLL2, IPv6): the TCP ports
    sit after the 20-byte link header and the 40-byte IPv6 header."""
    header, records = pcap_records(capture)
    kept = [r for r in records
            if len(r) >= 80 and READABLE_PORT in struct.unpack_from("!HH", r, 16 + 60)]
    return header + b"".join(kept)


def to_pcapng(capture: bytes) -> bytes:
    """The same packets as pcapng: section, one interface (microseconds), enhanced packets."""
    def block(block_type: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", block_type, len(body) + 12) + body + struct.pack(
            "<I", len(body) + 12)

    header, records = pcap_records(capture)
    link_type = struct.unpack_from("<I", header, 20)[0]
    blocks = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)),
              block(1, struct.pack("<HHI", link_type, 0, 65535) + struct.pack("<HHB3x", 9, 1, 6)
                    + struct.pack("<HH", 0, 0))]
    for record in records:
        seconds, micros, captured, original = struct.unpack_from("<IIII", record)
        stamp = seconds * 1_000_000 + micros
        blocks.append(block(6, struct.pack("<IIIII", 0, stamp >> 32, stamp & 0xFFFFFFFF,
                                           captured, original) + record[16:]))
    return b"".join(blocks)


def pcapng_block_mutants(pcapng: bytes, seed: int, count: int) -> Iterator[bytes]:
    """Structure-aware damage that byte mutations rarely reach: one block's body is cut to a
    shorter multiple of 4, with its leading and trailing lengths kept consistent."""
    blocks, position = [], 0
    while position < len(pcapng):
        length = struct.unpack_from("<I", pcapng, position + 4)[0]
        blocks.append(pcapng[position:position + length])
        position += length
    rng = random.Random(seed)
    for _ in range(count):
        index = rng.randrange(1, len(blocks))
        block = blocks[index]
        body = block[8:8 + rng.randrange(0, len(block) - 12, 4)]
        cut = block[:4] + struct.pack("<I", len(body) + 12) + body + struct.pack(
            "<I", len(body) + 12)
        yield b"".join(blocks[:index]) + cut + b"".join(blocks[index + 1:])


@pytest.fixture(scope="module")
def connection() -> bytes:
    capture = readable_connection((P2P / "bitcoin.pcap").read_bytes())
    assert len(capture) > 30_000
    return capture


def test_fuzz_pcap(tmp_path, connection):
    seen = outcomes(mutants(connection, seed=11, count=150), tmp_path / "mutant.pcap",
                    scan_capture)
    compact = outcomes(mutants((P2P / "bitcoin_cmpctblock.pcap").read_bytes(), seed=12,
                               count=100), tmp_path / "compact.pcap", scan_capture)
    assert sum(seen.values()) == 150 and sum(compact.values()) == 100
    assert seen["ok"] > 0 and seen["DataError"] > 0


def test_fuzz_pcapng(tmp_path, connection):
    pcapng = to_pcapng(connection)
    events, _ = scan_capture(_write(tmp_path / "clean.pcapng", pcapng))
    assert events["message_id"].nunique() == 68  # the conversion keeps every message
    seen = outcomes(mutants(pcapng, seed=13, count=150), tmp_path / "mutant.pcapng",
                    scan_capture)
    cut = outcomes(pcapng_block_mutants(pcapng, seed=15, count=100), tmp_path / "cut.pcapng",
                   scan_capture)
    assert sum(seen.values()) == 150 and seen["ok"] > 0 and seen["DataError"] > 0
    assert sum(cut.values()) == 100 and cut["DataError"] > 0


def test_fuzz_own_txids(tmp_path, connection):
    """An own-txid list of the capture's real transactions, damaged as text."""
    events, _ = scan_capture(_write(tmp_path / "clean.pcap", connection))
    txids = sorted(set(events.loc[events["message"] == "tx", "txid"]))
    text = ("# my wallet\n" + "\n".join(txids[:20]) + "\n").encode()
    alphabet = b"0123456789abcdefABCDEF#\n\r \t\x00\xff\xe9\xc3"
    seen = outcomes(mutants(text, seed=14, count=300, alphabet=alphabet), tmp_path / "own.txt",
                    read_own_txids)
    assert sum(seen.values()) == 300 and seen["ok"] > 0 and seen["DataError"] > 0


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
