"""Read pcap/pcapng captures of Bitcoin P2P traffic into the relay event log.

A real capture becomes the same table the relay simulator writes (see
:mod:`libraries.simulation.relay_events`), so observers and traffic features developed on
simulated traffic run unchanged on captured traffic.

The reader parses the pcap and pcapng containers itself, because it must report truncated files
and honour per-interface link types and timestamp resolutions in pcapng, which a generic packet
library hides. Bitcoin's own formats (message framing, inventory entries, transactions) are
read by :mod:`libraries.bitcoin_wire`, the one parser the block ETL uses too.

Pipeline, per TCP connection and direction:

1. ``TcpStreamReassembler`` orders payload bytes by sequence number and delivers each byte once:
   retransmissions and overlaps are dropped. A hole that no later segment fills is skipped at the
   end of the capture; the loss is counted and the framer resynchronises.
2. ``BitcoinMessageFramer`` (:mod:`libraries.bitcoin_wire.p2p`) cuts the byte stream into v1
   P2P messages (magic, command, length, checksum). Bytes are skipped until a known network magic (so a capture that starts mid-message
   or follows a gap finds the next message); a message whose checksum is wrong is counted and
   never emitted. BIP324 (v2, encrypted) connections carry no magic, so they yield no messages;
   they show up as ``connections_without_messages`` in :class:`CaptureStats`.
3. ``inv``/``getdata``/``notfound`` give one row per inventory entry and ``tx`` one row carrying
   its txid (segwit by Bitcoin Core's rule: marker 0x00 then flag 0x01; any other flag is
   malformed); every other message (and an inventory message with no or malformed entries, or
   a ``tx`` that does not parse) gives one row with an empty ``txid``, so message counts stay exact.

Which end is ``node`` (the local, observed side):

* if exactly one endpoint uses a port in ``ports`` (a listening Bitcoin port), ``node`` is the
  other endpoint: the capture is assumed to be taken where the client side of the connection is;
* otherwise ``node`` is the endpoint that sent the opening SYN (the initiator);
* if the SYN was not captured either, ``node`` is the source of the first packet seen.

Endpoints are written ``ip:port`` (IPv6 as ``[ip]:port``, the form Bitcoin Core prints). ``time``
is the capture timestamp (Unix seconds) of the packet whose bytes completed the message.
"""

from __future__ import annotations

import heapq
import ipaddress
import logging
import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from framework.errors import DataError, reraised_as
from framework.safe_files import open_regular
from libraries.bitcoin_wire import MalformedData
from libraries.bitcoin_wire.p2p import (INVENTORY_COMMANDS, BitcoinMessageFramer, FramedMessage,
                                        inventory, tx_message_ids)
from libraries.simulation.relay_events import EVENT_COLUMNS, MalformedEvents, validate_events

log = logging.getLogger(__name__)

BITCOIN_PORTS = (8333, 18333, 18444, 38333)
LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 = 1, 101, 113, 276
SUPPORTED_LINK_TYPES = {LINKTYPE_ETHERNET: "Ethernet", LINKTYPE_RAW: "raw IP",
                        LINKTYPE_LINUX_SLL: "LINUX_SLL", LINKTYPE_LINUX_SLL2: "LINUX_SLL2"}
ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD
VLAN_ETHERTYPES = frozenset({0x8100, 0x88A8, 0x9100})
IP_PROTOCOL_TCP = 6
IPV6_EXTENSION_HEADERS = frozenset({0, 43, 60})  # hop-by-hop, routing, destination options
IPV6_FRAGMENT_HEADER, IPV6_AUTHENTICATION_HEADER = 44, 51
TCP_SYN, TCP_ACK = 0x02, 0x10
SEQUENCE_MODULUS = 1 << 32

PCAP_MAGICS = {  # first four bytes -> (byte order, timestamp fraction per second)
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000), b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000), b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
PCAPNG_SECTION_HEADER = b"\x0a\x0d\x0d\x0a"
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
PCAPNG_INTERFACE_DESCRIPTION, PCAPNG_OBSOLETE_PACKET, PCAPNG_ENHANCED_PACKET = 1, 2, 6
PCAPNG_OPTION_END, PCAPNG_OPTION_TSRESOL, PCAPNG_OPTION_TSOFFSET = 0, 9, 14
# libpcap refuses pcapng blocks over 16 MiB (and pcap snap lengths are far smaller): a larger
# stated length is corruption, refused before any buffer of that size is allocated.
MAX_BLOCK_SIZE = 16 * 1024 * 1024
# Fixed fields before the packet data: interface id, timestamp (2 x u32), captured and original
# lengths; the obsolete packet block has a u16 interface id and a u16 drop count instead.
PACKET_BLOCK_FIELDS = 20
INTERFACE_BLOCK_FIELDS = 8  # link type, reserved, snap length


# --------------------------------------------------------------------------- capture containers

@dataclass(frozen=True)
class CapturedPacket:
    """One link-layer frame as stored in the capture."""

    time: float
    link_type: int
    frame: bytes
    truncated: bool  # the capture kept fewer bytes than were on the wire (snap length)


class _CaptureFile:
    """Reads exact byte counts from a capture and turns short reads into a DataError naming it.

    Every length comes from the file and may be corrupt (up to 4 GiB in a u32), so it is checked
    against the bytes the file has left and against :data:`MAX_BLOCK_SIZE` *before* anything is
    read: a bad length costs a clear error, never a multi-gigabyte allocation.
    """

    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self.handle, self.path = handle, path
        self.size = os.fstat(handle.fileno()).st_size

    def _check(self, size: int, what: str, offset: int) -> None:
        if size > MAX_BLOCK_SIZE:
            raise DataError(f"{self.path}: corrupt capture: {what} at byte offset {offset} claims "
                            f"{size} bytes, more than the {MAX_BLOCK_SIZE} any capture block "
                            f"may hold")
        if size > self.size - offset:
            raise DataError(f"{self.path}: truncated capture: expected {size} bytes of {what} at "
                            f"byte offset {offset}, found {max(self.size - offset, 0)}")

    def read_exact(self, size: int, what: str) -> bytes:
        offset = self.handle.tell()
        self._check(size, what, offset)
        data = self.handle.read(size)
        if len(data) != size:
            raise DataError(f"{self.path}: truncated capture: expected {size} bytes of {what} at "
                            f"byte offset {offset}, found {len(data)}")
        return data

    def read_or_end(self, size: int, what: str) -> bytes | None:
        """Like read_exact, but a clean end of file (nothing left at all) returns None."""
        if self.handle.tell() >= self.size:
            return None
        return self.read_exact(size, what)


def iterate_packets(path: Path) -> Iterator[CapturedPacket]:
    """Yield every packet of a pcap or pcapng file, whichever the file's first bytes announce.
    Only a regular file is opened (a FIFO would block the reader forever)."""
    with open_regular(path, "pcap/pcapng capture") as handle:
        capture = _CaptureFile(handle, path)
        magic = handle.read(4)
        handle.seek(0)
        if magic in PCAP_MAGICS:
            yield from _iterate_pcap(capture, *PCAP_MAGICS[magic])
        elif magic == PCAPNG_SECTION_HEADER:
            yield from _iterate_pcapng(capture)
        else:
            raise DataError(f"{path}: not a pcap or pcapng capture: starts with "
                            f"{magic.hex() or 'nothing'}, expected pcap magic a1b2c3d4/a1b23c4d "
                            f"(either byte order) or pcapng section header 0a0d0d0a")


def _iterate_pcap(capture: _CaptureFile, order: str, fraction: int) -> Iterator[CapturedPacket]:
    header = capture.read_exact(24, "pcap file header")
    link_type = struct.unpack_from(order + "I", header, 20)[0] & 0x0FFFFFFF
    record = struct.Struct(order + "IIII")
    while (record_header := capture.read_or_end(record.size, "pcap record header")) is not None:
        seconds, fractional, captured_length, original_length = record.unpack(record_header)
        frame = capture.read_exact(captured_length, "packet data")
        yield CapturedPacket(seconds + fractional / fraction, link_type, frame,
                             captured_length < original_length)


@dataclass
class _PcapngInterface:
    link_type: int
    units_per_second: int = 1_000_000
    offset_seconds: int = 0


def _iterate_pcapng(capture: _CaptureFile) -> Iterator[CapturedPacket]:
    order = "<"
    interfaces: list[_PcapngInterface] = []
    while (head := capture.read_or_end(8, "pcapng block header")) is not None:
        block_type = head[:4]
        if block_type == PCAPNG_SECTION_HEADER:
            byte_order_magic = capture.read_exact(4, "pcapng byte-order magic")
            order = next((o for o in "<>" if struct.unpack(o + "I", byte_order_magic)[0]
                          == PCAPNG_BYTE_ORDER_MAGIC), "")
            if not order:
                raise DataError(f"{capture.path}: corrupt pcapng section header: byte-order magic "
                                f"{byte_order_magic.hex()}, expected 1a2b3c4d or 4d3c2b1a")
            interfaces = []
            body_prefix = byte_order_magic
        else:
            body_prefix = b""
        block_code = struct.unpack(order + "I", block_type)[0]
        total_length = struct.unpack_from(order + "I", head, 4)[0]
        if total_length < 12 + len(body_prefix) or total_length % 4:
            raise DataError(f"{capture.path}: corrupt pcapng block of type {block_code:#x}: total "
                            f"length {total_length}, expected a multiple of 4 of at least 12")
        body = body_prefix + capture.read_exact(total_length - 12 - len(body_prefix),
                                                "pcapng block body")
        trailer = struct.unpack(order + "I", capture.read_exact(4, "pcapng block trailer"))[0]
        if trailer != total_length:
            raise DataError(f"{capture.path}: corrupt pcapng block of type {block_code:#x}: "
                            f"trailing length {trailer} differs from leading length {total_length}")
        if block_code == PCAPNG_INTERFACE_DESCRIPTION:
            if len(body) < INTERFACE_BLOCK_FIELDS:
                raise DataError(f"{capture.path}: corrupt pcapng interface description block: "
                                f"{len(body)} body bytes, expected at least "
                                f"{INTERFACE_BLOCK_FIELDS} (link type, reserved, snap length)")
            interfaces.append(_read_interface(body, order))
        elif block_code in (PCAPNG_ENHANCED_PACKET, PCAPNG_OBSOLETE_PACKET):
            yield _read_packet_block(capture.path, block_code, body, order, interfaces)


def _read_interface(body: bytes, order: str) -> _PcapngInterface:
    interface = _PcapngInterface(link_type=struct.unpack_from(order + "H", body, 0)[0])
    position = 8
    while position + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, position)
        value = body[position + 4:position + 4 + length]
        if code == PCAPNG_OPTION_END:
            break
        if code == PCAPNG_OPTION_TSRESOL and value:
            exponent = value[0] & 0x7F
            interface.units_per_second = (2 if value[0] & 0x80 else 10) ** exponent
        elif code == PCAPNG_OPTION_TSOFFSET and len(value) == 8:
            interface.offset_seconds = struct.unpack(order + "q", value)[0]
        position += 4 + (length + 3) // 4 * 4
    return interface


def _read_packet_block(path: Path, block_code: int, body: bytes, order: str,
                       interfaces: list[_PcapngInterface]) -> CapturedPacket:
    if len(body) < PACKET_BLOCK_FIELDS:
        raise DataError(f"{path}: corrupt pcapng packet block of type {block_code:#x}: "
                        f"{len(body)} body bytes, expected at least {PACKET_BLOCK_FIELDS} "
                        f"(interface, timestamp, captured and original lengths)")
    if block_code == PCAPNG_ENHANCED_PACKET:
        interface_id, high, low, captured_length, original_length = struct.unpack_from(
            order + "IIIII", body, 0)
    else:
        interface_id, _drops, high, low, captured_length, original_length = struct.unpack_from(
            order + "HHIIII", body, 0)
    if interface_id >= len(interfaces):
        raise DataError(f"{path}: pcapng packet names interface {interface_id}, but only "
                        f"{len(interfaces)} interface description block(s) precede it")
    if PACKET_BLOCK_FIELDS + captured_length > len(body):
        raise DataError(f"{path}: corrupt pcapng packet block: captured length {captured_length} "
                        f"exceeds the block's {len(body) - PACKET_BLOCK_FIELDS} data bytes")
    interface = interfaces[interface_id]
    time = interface.offset_seconds + ((high << 32) | low) / interface.units_per_second
    return CapturedPacket(time, interface.link_type,
                          body[PACKET_BLOCK_FIELDS:PACKET_BLOCK_FIELDS + captured_length],
                          captured_length < original_length)


# --------------------------------------------------------------------------- link, IP and TCP

@dataclass(frozen=True)
class TcpSegment:
    """The parts of a TCP segment that reassembly needs; endpoints are ``ip:port`` strings."""

    source: str
    destination: str
    source_port: int
    destination_port: int
    sequence: int
    flags: int
    payload: bytes


def _network_layer(path: Path, packet: CapturedPacket) -> tuple[int, bytes] | None:
    """The (ethertype, IP packet) a frame carries, or None for frames that are not IP."""
    frame = packet.frame
    if packet.link_type == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None
        ethertype, position = struct.unpack_from("!H", frame, 12)[0], 14
        while ethertype in VLAN_ETHERTYPES and len(frame) >= position + 4:
            ethertype, position = struct.unpack_from("!H", frame, position + 2)[0], position + 4
        return ethertype, frame[position:]
    if packet.link_type == LINKTYPE_LINUX_SLL:
        return (struct.unpack_from("!H", frame, 14)[0], frame[16:]) if len(frame) >= 16 else None
    if packet.link_type == LINKTYPE_LINUX_SLL2:
        return (struct.unpack_from("!H", frame, 0)[0], frame[20:]) if len(frame) >= 20 else None
    if packet.link_type == LINKTYPE_RAW:
        version = frame[0] >> 4 if frame else 0
        return {4: (ETHERTYPE_IPV4, frame), 6: (ETHERTYPE_IPV6, frame)}.get(version)
    supported = ", ".join(f"{code} ({name})" for code, name in SUPPORTED_LINK_TYPES.items())
    raise DataError(f"{path}: unsupported link type {packet.link_type}; expected one of "
                    f"{supported}")


def _ipv4_tcp(packet: bytes) -> tuple[str, str, bytes] | None:
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    header_length = (packet[0] & 0x0F) * 4
    total_length, fragment = struct.unpack_from("!H2xH", packet, 2)
    if packet[9] != IP_PROTOCOL_TCP or fragment & 0x3FFF or header_length < 20:
        return None
    return (str(ipaddress.IPv4Address(packet[12:16])), str(ipaddress.IPv4Address(packet[16:20])),
            packet[header_length:total_length])


def _ipv6_tcp(packet: bytes) -> tuple[str, str, bytes] | None:
    if len(packet) < 40 or packet[0] >> 4 != 6:
        return None
    payload_length, next_header = struct.unpack_from("!HB", packet, 4)
    source = f"[{ipaddress.IPv6Address(packet[8:24])}]"
    destination = f"[{ipaddress.IPv6Address(packet[24:40])}]"
    payload, position = packet[40:40 + payload_length], 0
    while next_header != IP_PROTOCOL_TCP:
        if len(payload) < position + 8:
            return None
        if next_header in IPV6_EXTENSION_HEADERS:
            length = (payload[position + 1] + 1) * 8
        elif next_header == IPV6_AUTHENTICATION_HEADER:
            length = (payload[position + 1] + 2) * 4
        elif next_header == IPV6_FRAGMENT_HEADER:
            if struct.unpack_from("!H", payload, position + 2)[0] & 0xFFF9:
                return None
            length = 8
        else:
            return None
        next_header, position = payload[position], position + length
    return source, destination, payload[position:]


def decode_tcp_segment(path: Path, packet: CapturedPacket) -> TcpSegment | None:
    """The TCP segment in a captured frame, or None for anything else (ARP, UDP, IP fragments)."""
    network = _network_layer(path, packet)
    if network is None:
        return None
    ethertype, ip_packet = network
    if ethertype == ETHERTYPE_IPV4:
        addresses = _ipv4_tcp(ip_packet)
    elif ethertype == ETHERTYPE_IPV6:
        addresses = _ipv6_tcp(ip_packet)
    else:
        return None
    if addresses is None:
        return None
    source, destination, tcp = addresses
    if len(tcp) < 20 or (tcp[12] >> 4) * 4 < 20 or len(tcp) < (tcp[12] >> 4) * 4:
        return None
    source_port, destination_port, sequence = struct.unpack_from("!HHI", tcp, 0)
    return TcpSegment(f"{source}:{source_port}", f"{destination}:{destination_port}", source_port,
                      destination_port, sequence, tcp[13], tcp[(tcp[12] >> 4) * 4:])


# --------------------------------------------------------------------------- TCP reassembly

@dataclass(frozen=True)
class StreamChunk:
    """Bytes delivered in stream order, stamped with the capture time at which they (and every
    byte before them since the last gap) had all been captured."""

    data: bytes
    time: float
    follows_gap: bool  # bytes were lost just before this chunk


class TcpStreamReassembler:
    """One direction of a TCP connection: payload bytes in sequence order, each exactly once.

    Sequence numbers are unwrapped into absolute stream offsets so that 32-bit wrap-around needs
    no special case. Segments ahead of the next expected byte wait in a heap; a hole no later
    segment fills is only skipped by :meth:`flush`, at the end of the capture, because a
    retransmission may still arrive.
    """

    def __init__(self) -> None:
        self.initial_sequence: int | None = None  # sequence number of stream offset 0
        self._delivered = 0  # stream offset of the next byte to deliver
        self._pending: list[tuple[int, int, bytes, float]] = []  # (offset, arrival, data, time)
        self._arrivals = 0
        self.retransmitted_bytes = 0  # dropped: already delivered or older than the first byte seen
        self.gaps = 0
        self.lost_bytes = 0

    def add(self, sequence: int, syn: bool, payload: bytes, time: float) -> list[StreamChunk]:
        """Accept one segment; return whatever bytes it makes deliverable."""
        if syn:
            sequence = (sequence + 1) % SEQUENCE_MODULUS  # the SYN consumes one sequence number
            if self.initial_sequence is None:
                self.initial_sequence = sequence
        if not payload:
            return []
        if self.initial_sequence is None:
            self.initial_sequence = sequence
        relative = (sequence - self.initial_sequence) % SEQUENCE_MODULUS
        ahead = (relative - self._delivered + SEQUENCE_MODULUS // 2) % SEQUENCE_MODULUS
        offset = self._delivered + ahead - SEQUENCE_MODULUS // 2
        heapq.heappush(self._pending, (offset, self._arrivals, payload, time))
        self._arrivals += 1
        return self._drain(skip_gaps=False, release_time=time)

    def flush(self) -> list[StreamChunk]:
        """Deliver everything still waiting, skipping (and counting) holes nothing filled."""
        return self._drain(skip_gaps=True, release_time=-math.inf)

    def _drain(self, skip_gaps: bool, release_time: float) -> list[StreamChunk]:
        """Deliver the contiguous run of waiting segments.

        A segment that waited for an earlier one becomes available when the earlier one arrives,
        so each chunk's time is the latest capture time among the bytes delivered up to it.
        """
        chunks = []
        follows_gap, available_time = False, release_time
        while self._pending:
            offset, _, data, time = self._pending[0]
            if offset > self._delivered:
                if not skip_gaps:
                    break
                self.gaps += 1
                self.lost_bytes += offset - self._delivered
                self._delivered, follows_gap, available_time = offset, True, release_time
            heapq.heappop(self._pending)
            already_delivered = min(self._delivered - offset, len(data))
            self.retransmitted_bytes += already_delivered
            if already_delivered < len(data):
                available_time = max(available_time, time)
                chunks.append(StreamChunk(data[already_delivered:], available_time, follows_gap))
                self._delivered, follows_gap = offset + len(data), False
        return chunks


# --------------------------------------------------------------------------- payloads

def message_rows(command: str, payload: bytes) -> list[tuple[int, str, str]] | None:
    """The (inv_type, txid, wtxid) rows of one message, or None when its payload is malformed."""
    try:
        if command in INVENTORY_COMMANDS:
            return [(inv_type, txid, "") for inv_type, txid in inventory(payload, command)] or [
                (0, "", "")]
        if command == "tx":
            return [(0, *tx_message_ids(payload))]
    except MalformedData:
        return None
    return [(0, "", "")]


# --------------------------------------------------------------------------- connections

@dataclass
class CaptureStats:
    """What the reader could not turn into events, so a caller can judge a capture's coverage."""

    packets: int = 0
    packets_skipped: int = 0  # not TCP over IPv4/IPv6, or IP fragments
    truncated_packets: int = 0  # captured shorter than on the wire (snap length)
    connections: int = 0
    connections_without_messages: int = 0  # BIP324 (encrypted) or non-Bitcoin connections
    retransmitted_bytes: int = 0  # dropped because that part of the stream was already delivered
    gaps: int = 0  # holes in a TCP stream that no captured segment filled
    lost_bytes: int = 0  # bytes in those holes
    unframed_bytes: int = 0  # stream bytes outside any complete message (encrypted, cut by a gap)
    bad_checksums: int = 0
    malformed_payloads: int = 0
    messages: int = 0


@dataclass
class _Direction:
    reassembler: TcpStreamReassembler = field(default_factory=TcpStreamReassembler)
    framer: BitcoinMessageFramer = field(default_factory=BitcoinMessageFramer)
    messages: list[FramedMessage] = field(default_factory=list)

    def deliver(self, chunks: list[StreamChunk]) -> None:
        for chunk in chunks:
            self.messages.extend(self.framer.feed(chunk.data, chunk.time, chunk.follows_gap))


@dataclass
class _Connection:
    first_source: str
    ports: dict[str, int]
    initiator: str | None = None
    directions: dict[str, _Direction] = field(default_factory=dict)

    def local_endpoint(self, bitcoin_ports: tuple[int, ...]) -> str:
        """The ``node`` end, by the rule in the module docstring."""
        on_bitcoin_port = [end for end, port in self.ports.items() if port in bitcoin_ports]
        if len(on_bitcoin_port) == 1:
            return next(end for end in self.ports if end != on_bitcoin_port[0])
        return self.initiator or self.first_source


class _ConnectionTracker:
    """Routes segments to per-connection, per-direction reassemblers and framers."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str], _Connection] = {}
        self.finished: list[_Connection] = []

    def add(self, segment: TcpSegment, time: float) -> None:
        key = tuple(sorted((segment.source, segment.destination)))
        connection = self.open.get(key)
        syn = bool(segment.flags & TCP_SYN)
        opening = syn and not segment.flags & TCP_ACK
        if connection is not None and opening and self._is_new_connection(connection, segment):
            self.finished.append(self.open.pop(key))
            connection = None
        if connection is None:
            connection = self.open[key] = _Connection(segment.source, {
                segment.source: segment.source_port, segment.destination: segment.destination_port})
        if opening:
            connection.initiator = segment.source
        direction = connection.directions.setdefault(segment.source, _Direction())
        direction.deliver(direction.reassembler.add(segment.sequence, syn, segment.payload, time))

    @staticmethod
    def _is_new_connection(connection: _Connection, segment: TcpSegment) -> bool:
        """A SYN on a known 4-tuple with a different initial sequence number reuses the ports."""
        direction = connection.directions.get(segment.source)
        expected = None if direction is None else direction.reassembler.initial_sequence
        return expected is not None and expected != (segment.sequence + 1) % SEQUENCE_MODULUS

    def finish(self) -> list[_Connection]:
        connections = self.finished + list(self.open.values())
        for connection in connections:
            for direction in connection.directions.values():
                direction.deliver(direction.reassembler.flush())
                direction.framer.finish()
        return connections


# --------------------------------------------------------------------------- public API

def scan_capture(path: Path,
                 ports: tuple[int, ...] = BITCOIN_PORTS) -> tuple[pd.DataFrame, CaptureStats]:
    """Read a capture into the relay event log and report what could not be read.

    ``ports`` are the listening Bitcoin ports used to decide which end is ``node``; messages are
    recognised by their magic on every TCP connection whatever its ports.
    """
    path = Path(path)
    stats = CaptureStats()
    tracker = _ConnectionTracker()
    for packet in iterate_packets(path):
        stats.packets += 1
        stats.truncated_packets += packet.truncated
        segment = decode_tcp_segment(path, packet)
        if segment is None:
            stats.packets_skipped += 1
            continue
        tracker.add(segment, packet.time)
    connections = tracker.finish()

    rows = []
    message_number = 0
    for connection in connections:
        stats.connections += 1
        node = connection.local_endpoint(tuple(ports))
        peer = next((end for end in connection.ports if end != node), node)
        stats.connections_without_messages += not any(
            direction.messages for direction in connection.directions.values())
        for source, direction in connection.directions.items():
            reassembler, framer = direction.reassembler, direction.framer
            stats.retransmitted_bytes += reassembler.retransmitted_bytes
            stats.gaps += reassembler.gaps
            stats.lost_bytes += reassembler.lost_bytes
            stats.unframed_bytes += framer.unframed_bytes
            stats.bad_checksums += framer.bad_checksums
            sent_or_received = "sent" if source == node else "recv"
            for message in direction.messages:
                entries = message_rows(message.command, message.payload)
                if entries is None:
                    stats.malformed_payloads += 1
                    entries = [(0, "", "")]
                rows.extend((message.time, node, peer, sent_or_received, message.command,
                             message_number, inv_type, txid, wtxid)
                            for inv_type, txid, wtxid in entries)
                message_number += 1
    stats.messages = message_number

    events = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    events = events.sort_values(["time", "message_id"], kind="stable", ignore_index=True)
    events["message_id"] = pd.factorize(events["message_id"])[0]  # ids follow capture time
    with reraised_as(DataError, MalformedEvents):
        return validate_events(events, str(path)), stats


def read_capture(path: Path, ports: tuple[int, ...] = BITCOIN_PORTS) -> pd.DataFrame:
    """The relay event log of a pcap/pcapng capture; losses are logged, see :func:`scan_capture`."""
    events, stats = scan_capture(path, ports)
    losses = {name: count for name in ("gaps", "lost_bytes", "bad_checksums",
                                       "malformed_payloads", "truncated_packets")
              if (count := getattr(stats, name))}
    if losses:
        log.warning("%s: incomplete Bitcoin traffic: %s", path, losses)
    if stats.connections_without_messages:
        log.info("%s: %d of %d TCP connections carried no v1 Bitcoin message (BIP324 encrypted "
                 "transport, or not Bitcoin)", path, stats.connections_without_messages,
                 stats.connections)
    return events


def capture_summary(events: pd.DataFrame) -> dict[str, int]:
    """Messages per command (distinct ``message_id``), the count tools such as tshark report."""
    counts = events.groupby("message")["message_id"].nunique()
    return {str(command): int(count) for command, count in counts.sort_index().items()}
