"""The pcap reader against tshark on real captures, and on hand-built captures of known content."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from framework.errors import DataError
from libraries.bitcoin_wire import parse_transaction
from libraries.simulation.relay_events import EVENT_COLUMNS, MSG_TX, MSG_WTX
from plugins.relay.pcap_reader import capture_summary, read_capture, scan_capture

SEGWIT_BLOCK_HASH = "0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2"
MAINNET_MAGIC = bytes.fromhex("f9beb4d9")
START = 1_700_000_000.0

# tshark's own TCP reassembly and Bitcoin dissector, with fixed preferences (an empty
# configuration directory keeps a user's Wireshark profile out of it). A frame that completes
# several messages lists each message's fields, joined by the aggregator.
TSHARK_FIELDS = ("frame.time_epoch", "bitcoin.command",
                 "bitcoin.inv.type", "bitcoin.inv.hash",
                 "bitcoin.getdata.type", "bitcoin.getdata.hash",
                 "bitcoin.notfound.type", "bitcoin.notfound.hash")
TSHARK_OPTIONS = ("-n", "-o", "tcp.desegment_tcp_streams:TRUE",
                  "-o", "tcp.reassemble_out_of_order:TRUE", "-d", "tcp.port==8333,bitcoin",
                  "-Y", "bitcoin", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|")


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


# --------------------------------------------------------------------------- tshark

def tshark_view(capture: Path, config_dir: Path) -> tuple[Counter, dict[str, Counter]]:
    """(capture microsecond, command) per message and (inv_type, txid) per inventory entry."""
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.fail("tshark is not installed: run `make test`, which installs it (Debian package "
                    "tshark), or apt-get install tshark")
    command = [tshark, "-r", str(capture), *TSHARK_OPTIONS]
    for name in TSHARK_FIELDS:
        command += ["-e", name]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True,
                            env={**os.environ, "WIRESHARK_CONFIG_DIR": str(config_dir)})
    messages: Counter = Counter()
    inventory = {name: Counter() for name in ("inv", "getdata", "notfound")}
    for line in result.stdout.splitlines():
        columns = dict(zip(TSHARK_FIELDS, line.split("\t"), strict=True))
        seconds, _, fraction = columns["frame.time_epoch"].partition(".")
        microsecond = int(seconds) * 1_000_000 + int(fraction.ljust(6, "0")[:6])
        for name in columns["bitcoin.command"].split("|"):
            messages[microsecond, name] += 1
        for name, entries in inventory.items():
            types = columns[f"bitcoin.{name}.type"]
            hashes = columns[f"bitcoin.{name}.hash"]
            if types:
                entries.update((int(kind, 0), bytes.fromhex(digest)[::-1].hex())
                               for kind, digest in zip(types.split("|"), hashes.split("|"),
                                                       strict=True))
    return messages, inventory


def reader_view(events: pd.DataFrame) -> tuple[Counter, dict[str, Counter]]:
    """The same view of our event log."""
    first_rows = events.drop_duplicates("message_id")
    messages = Counter(zip((first_rows["time"] * 1_000_000).round().astype(int),
                           first_rows["message"], strict=True))
    inventory = {name: Counter(zip(rows["inv_type"], rows["txid"], strict=True))
                 for name in ("inv", "getdata", "notfound")
                 for rows in [events[events["message"] == name]]}
    return messages, inventory


REAL_CAPTURES = ["bitcoin.pcap", "bitcoin_cmpctblock.pcap", "bitcoin_blocktxn.pcap",
                 "bitcoin_getblocktxn.pcap", "bitcoin_sendcmpct.pcap"]


@pytest.mark.parametrize("name", REAL_CAPTURES)
def test_messages_match_tshark(data_dir: Path, tmp_path: Path, name: str) -> None:
    capture = data_dir / "bitcoin_p2p" / name
    expected_messages, expected_inventory = tshark_view(capture, tmp_path)
    events = read_capture(capture)
    expected_summary: Counter = Counter()
    for (_, command), count in expected_messages.items():
        expected_summary[command] += count
    assert capture_summary(events) == dict(sorted(expected_summary.items()))
    messages, inventory = reader_view(events)
    assert messages == expected_messages
    assert inventory == expected_inventory


def test_bitcoin_pcap_counts_and_endpoints(data_dir: Path) -> None:
    """Pinned so that agreement with tshark cannot be two empty answers."""
    events, stats = scan_capture(data_dir / "bitcoin_p2p" / "bitcoin.pcap")
    assert capture_summary(events) == {"getdata": 8, "headers": 1, "inv": 35, "tx": 24}
    assert (events["message"] == "inv").sum() == 316
    assert set(events.loc[events["message"] == "inv", "inv_type"]) == {MSG_WTX}
    assert events["message_id"].nunique() == stats.messages == 68
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert events["time"].is_monotonic_increasing
    assert events["node"].str.endswith(":50254").all()
    assert (events["peer"] == "[2a01:4f8:200:7222::2]:8333").all()
    assert set(events.loc[events["message"] == "getdata", "direction"]) == {"sent"}
    assert set(events.loc[events["message"] == "tx", "direction"]) == {"recv"}
    assert events.loc[events["message"] == "tx", "txid"].str.fullmatch("[0-9a-f]{64}").all()
    assert (stats.packets, stats.connections, stats.connections_without_messages) == (1063, 9, 8)
    assert (stats.gaps, stats.bad_checksums, stats.malformed_payloads) == (0, 0, 0)
    assert stats.retransmitted_bytes > 0


# --------------------------------------------------------------------------- hand-built captures

CLIENT_V4, SERVER_V4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
CLIENT_V6, SERVER_V6 = (bytes.fromhex(f"20010db8{0:023x}{host}") for host in (1, 2))
SYN, ACK, PSH = 0x02, 0x10, 0x08


def bitcoin_message(command: str, payload: bytes, checksum: bytes | None = None) -> bytes:
    return (MAINNET_MAGIC + command.encode().ljust(12, b"\0") + struct.pack("<I", len(payload))
            + (checksum or sha256d(payload)[:4]) + payload)


def inv_payload(*hashes: bytes, inv_type: int = MSG_TX) -> bytes:
    return bytes([len(hashes)]) + b"".join(struct.pack("<I", inv_type) + h for h in hashes)


def tcp_segment(source: bytes, destination: bytes, ports: tuple[int, int], sequence: int,
                flags: int, payload: bytes) -> bytes:
    """An IPv4 or IPv6 packet (by address length) carrying one TCP segment."""
    tcp = struct.pack("!HHIIBBHHH", *ports, sequence, 0, 5 << 4, flags, 65535, 0, 0) + payload
    if len(source) == 4:
        return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, source,
                           destination) + tcp
    return struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, source, destination) + tcp


def link_frame(link_type: int, ip_packet: bytes) -> bytes:
    ethertype = 0x0800 if ip_packet[0] >> 4 == 4 else 0x86DD
    header = {1: b"\x02" * 6 + b"\x04" * 6 + struct.pack("!H", ethertype),
              113: struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, ethertype),
              276: struct.pack("!HHIHBB8s", ethertype, 0, 1, 1, 0, 6, b"\x02" * 8),
              101: b""}[link_type]
    return header + ip_packet + (b"\0" * 6 if link_type == 1 else b"")  # Ethernet pads frames


def write_pcap(path: Path, link_type: int, packets: list[tuple[float, bytes]]) -> Path:
    records = b"".join(struct.pack("<IIII", int(t), round(t % 1 * 1e6), len(p), len(p)) + p
                       for t, p in packets)
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link_type) + records)
    return path


def pcapng_block(block_type: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", block_type, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def write_pcapng(path: Path, link_type: int, packets: list[tuple[float, bytes]]) -> Path:
    """One section, one interface with nanosecond timestamps (if_tsresol = 9)."""
    section = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    interface = pcapng_block(1, struct.pack("<HHI", link_type, 0, 65535)
                             + struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0))
    blocks = b""
    for time, packet in packets:
        nanoseconds = round(time * 1_000_000_000)
        blocks += pcapng_block(6, struct.pack("<IIIII", 0, nanoseconds >> 32,
                                              nanoseconds & 0xFFFFFFFF, len(packet), len(packet))
                               + packet)
    path.write_bytes(section + interface + blocks)
    return path


def conversation(client_data: list[tuple[int, bytes]], client: bytes = CLIENT_V4,
                 server: bytes = SERVER_V4, link_type: int = 1,
                 ports: tuple[int, int] = (50000, 8333)) -> list[tuple[float, bytes]]:
    """Handshake, then the client's (stream offset, bytes) segments in the order given."""
    client_isn, server_isn = 0xFFFFFFF0, 1000  # the client's sequence numbers wrap around
    segments = [tcp_segment(client, server, ports, client_isn, SYN, b""),
                tcp_segment(server, client, ports[::-1], server_isn, SYN | ACK, b"")]
    segments += [tcp_segment(client, server, ports, (client_isn + 1 + offset) % 2**32, PSH | ACK,
                             data) for offset, data in client_data]
    return [(START + index * 0.5, link_frame(link_type, packet))
            for index, packet in enumerate(segments)]


def test_message_split_out_of_order_with_duplicate_is_read_once(tmp_path: Path) -> None:
    hashes = [bytes(range(i, i + 32)) for i in (1, 2)]
    message = bitcoin_message("inv", inv_payload(*hashes))
    cut = 30
    packets = conversation([(cut, message[cut:]), (0, message[:cut]), (0, message[:cut]),
                            (10, message[10:40])])
    events, stats = scan_capture(write_pcap(tmp_path / "split.pcap", 1, packets))
    assert capture_summary(events) == {"inv": 1}
    assert events["txid"].tolist() == [h[::-1].hex() for h in hashes]
    assert (events["inv_type"] == MSG_TX).all()
    assert events["time"].tolist() == [START + 1.5] * 2  # the packet that completed the message
    assert events["node"].tolist() == ["10.0.0.1:50000"] * 2
    assert events["peer"].tolist() == ["10.0.0.2:8333"] * 2
    assert events["direction"].tolist() == ["sent"] * 2
    assert stats.retransmitted_bytes == cut + 30
    assert stats.gaps == 0


def test_bad_checksum_message_is_dropped_and_counted(tmp_path: Path) -> None:
    corrupt = bitcoin_message("inv", inv_payload(bytes(32)), checksum=b"\0\0\0\0")
    ping = bitcoin_message("ping", bytes(8))
    packets = conversation([(0, corrupt), (len(corrupt), ping)])
    events, stats = scan_capture(write_pcap(tmp_path / "checksum.pcap", 1, packets))
    assert capture_summary(events) == {"ping": 1}
    assert stats.bad_checksums == 1


def test_missing_segment_resynchronises_on_the_next_magic(tmp_path: Path) -> None:
    first, lost, last = (bitcoin_message(command, bytes(8)) for command in ("ping", "pong", "ping"))
    packets = conversation([(0, first), (len(first), lost[:10]), (len(first) + 10, lost[10:]),
                            (len(first) + len(lost), last)])
    del packets[3]  # the segment carrying the start of "pong" was not captured
    events, stats = scan_capture(write_pcap(tmp_path / "gap.pcap", 1, packets))
    assert events["message"].tolist() == ["ping", "ping"]
    assert (stats.gaps, stats.lost_bytes) == (1, 10)


@pytest.mark.parametrize("writer", [write_pcap, write_pcapng])
@pytest.mark.parametrize("link_type,client,server,node", [
    (1, CLIENT_V4, SERVER_V4, "10.0.0.1:50000"),
    (113, CLIENT_V4, SERVER_V4, "10.0.0.1:50000"),
    (276, CLIENT_V6, SERVER_V6, "[2001:db8::1]:50000"),
    (101, CLIENT_V6, SERVER_V6, "[2001:db8::1]:50000"),
])
def test_containers_and_link_types(tmp_path: Path, writer, link_type: int, client: bytes,
                                   server: bytes, node: str) -> None:
    packets = conversation([(0, bitcoin_message("verack", b""))], client, server, link_type)
    events = read_capture(writer(tmp_path / "capture", link_type, packets))
    assert events[["node", "message", "direction"]].values.tolist() == [[node, "verack", "sent"]]
    assert events["time"].tolist() == [pytest.approx(START + 1.0, abs=1e-6)]


def test_node_is_the_syn_sender_when_no_port_is_a_bitcoin_port(tmp_path: Path) -> None:
    packets = conversation([(0, bitcoin_message("verack", b""))], ports=(50000, 40000))
    events = read_capture(write_pcap(tmp_path / "ports.pcap", 1, packets))
    assert events[["node", "peer"]].values.tolist() == [["10.0.0.1:50000", "10.0.0.2:40000"]]


def test_segwit_transaction_txid_matches_the_block_merkle_root(data_dir: Path,
                                                               tmp_path: Path) -> None:
    """Txids are checked by the header's merkle root, which commits to witness-stripped txids."""
    block = (data_dir / "bitcoin_blocks" / f"block-{SEGWIT_BLOCK_HASH}.blk").read_bytes()
    assert sha256d(block[:80])[::-1].hex() == SEGWIT_BLOCK_HASH
    assert block[80] == 0xFD  # CompactSize: a uint16 transaction count follows
    count, position = int.from_bytes(block[81:83], "little"), 83
    transactions = []
    for _ in range(count):
        txid, _, end = parse_transaction(block, position)
        transactions.append((txid, block[position:end]))
        position = end
    assert position == len(block)
    layer = [bytes.fromhex(txid)[::-1] for txid, _ in transactions]
    while len(layer) > 1:
        layer += layer[-1:] * (len(layer) % 2)
        layer = [sha256d(layer[i] + layer[i + 1]) for i in range(0, len(layer), 2)]
    assert layer[0] == block[36:68]

    txid, serialised = next((t, raw) for t, raw in transactions[1:] if raw[4:6] == b"\x00\x01")
    assert txid != sha256d(serialised)[::-1].hex()  # the witness really had to be stripped
    packets = conversation([(0, bitcoin_message("tx", serialised))])
    events = read_capture(write_pcap(tmp_path / "tx.pcap", 1, packets))
    assert events[["message", "txid"]].values.tolist() == [["tx", txid]]
    assert events["wtxid"].tolist() == [sha256d(serialised)[::-1].hex()]

    # Core's segwit rule, the block parser's too: marker 0x00 then flag 0x01; a tx message with
    # flag 0x02 is malformed (Core: "Unknown transaction optional data"), counted, no txid.
    flag_2 = serialised[:5] + b"\x02" + serialised[6:]
    packets = conversation([(0, bitcoin_message("tx", flag_2))])
    events, stats = scan_capture(write_pcap(tmp_path / "flag2.pcap", 1, packets))
    assert events[["message", "txid"]].values.tolist() == [["tx", ""]]
    assert stats.malformed_payloads == 1


def test_non_capture_file_raises_data_error_naming_it(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a capture\n")
    with pytest.raises(DataError, match=r"notes\.txt.*not a pcap or pcapng"):
        read_capture(text)


@pytest.mark.parametrize("writer", [write_pcap, write_pcapng])
def test_truncated_capture_raises_data_error_naming_it(tmp_path: Path, writer) -> None:
    capture = writer(tmp_path / "cut", 1, conversation([(0, bitcoin_message("verack", b""))]))
    capture.write_bytes(capture.read_bytes()[:-7])
    with pytest.raises(DataError, match=r"cut: truncated capture"):
        read_capture(capture)
