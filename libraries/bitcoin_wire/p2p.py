"""Bitcoin's v1 P2P messages: framing (magic, command, length, checksum), inventory entries and
the ``tx`` payload (parsed by the one transaction parser, :func:`.consensus.parse_transaction`).

:class:`BitcoinMessageFramer` cuts one direction's byte stream into messages. Bytes are skipped
until a known network magic (so a stream that starts mid-message or follows a gap finds the next
message); a message whose checksum is wrong is counted and never emitted. BIP324 (v2, encrypted)
connections carry no magic, so they yield no messages.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from libraries.bitcoin_wire.consensus import parse_transaction
from libraries.bitcoin_wire.encoding import read_varint, sha256d
from libraries.bitcoin_wire.errors import MalformedData

NETWORK_MAGICS: dict[bytes, str] = {
    bytes.fromhex("f9beb4d9"): "mainnet", bytes.fromhex("0b110907"): "testnet3",
    bytes.fromhex("1c163f28"): "testnet4", bytes.fromhex("0a03cf40"): "signet",
    bytes.fromhex("fabfb5da"): "regtest",
}
MESSAGE_HEADER_SIZE = 24
# Bitcoin Core's MAX_SIZE: a header announcing more cannot be a real message, so we are out of sync.
MAX_PAYLOAD_SIZE = 0x02000000
INVENTORY_COMMANDS = frozenset({"inv", "getdata", "notfound"})
INVENTORY_ENTRY_SIZE = 36
MSG_TX, MSG_BLOCK, MSG_WTX, MSG_WITNESS_TX = 1, 2, 5, 0x40000001
TRANSACTION_INV_TYPES = (MSG_TX, MSG_WTX, MSG_WITNESS_TX)


def message(command: str, payload: bytes, magic: bytes = bytes.fromhex("f9beb4d9")) -> bytes:
    """One framed message (header + payload)."""
    return (magic + command.encode("ascii").ljust(12, b"\0")
            + struct.pack("<I", len(payload)) + sha256d(payload)[:4] + payload)


@dataclass(frozen=True)
class FramedMessage:
    """One checksum-verified P2P message."""

    time: float
    command: str
    payload: bytes


def command_name(raw: bytes) -> str | None:
    """The command of a 12-byte header field, or None if it is not NUL-padded printable ASCII."""
    name, _, padding = raw.partition(b"\0")
    if not name or padding.strip(b"\0") or any(not 0x20 <= byte <= 0x7E for byte in name):
        return None
    return name.decode("ascii")


class BitcoinMessageFramer:
    """Cuts one direction's byte stream into v1 P2P messages, resynchronising on network magic."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.unframed_bytes = 0  # skipped while searching for a message, or cut off by a gap
        self.bad_checksums = 0

    def feed(self, data: bytes, time: float, follows_gap: bool = False) -> list[FramedMessage]:
        """Append stream bytes; return the messages they complete, stamped with ``time``.
        ``follows_gap``: bytes were lost just before ``data``, so a partial message is dropped."""
        if follows_gap:
            self.unframed_bytes += len(self._buffer)
            self._buffer.clear()
        self._buffer += data
        messages = []
        position = 0
        buffer = self._buffer
        while True:
            start = self._next_magic(position)
            if start < 0:
                keep_from = max(position, len(buffer) - 3)  # a magic may straddle the next chunk
                self.unframed_bytes += keep_from - position
                position = keep_from
                break
            self.unframed_bytes += start - position
            position = start
            if len(buffer) - position < MESSAGE_HEADER_SIZE:
                break
            command = command_name(bytes(buffer[position + 4:position + 16]))
            length, checksum = struct.unpack_from("<I4s", buffer, position + 16)
            if command is None or length > MAX_PAYLOAD_SIZE:
                self.unframed_bytes += 1
                position += 1
                continue
            end = position + MESSAGE_HEADER_SIZE + length
            if len(buffer) < end:
                break
            payload = bytes(buffer[position + MESSAGE_HEADER_SIZE:end])
            if sha256d(payload)[:4] != checksum:
                self.bad_checksums += 1
                self.unframed_bytes += 4
                position += 4
                continue
            messages.append(FramedMessage(time, command, payload))
            position = end
        del buffer[:position]
        return messages

    def finish(self) -> None:
        """Count the incomplete message (if any) left when the stream ends."""
        self.unframed_bytes += len(self._buffer)
        self._buffer.clear()

    def _next_magic(self, position: int) -> int:
        if bytes(self._buffer[position:position + 4]) in NETWORK_MAGICS:
            return position  # in sync: avoid rescanning a large message that is still arriving
        found = [index for magic in NETWORK_MAGICS
                 if (index := self._buffer.find(magic, position)) >= 0]
        return min(found, default=-1)


def inventory(payload: bytes, command: str = "inv") -> list[tuple[int, str]]:
    """(inv_type, hash as Core prints it) of every entry of an ``inv``/``getdata``/``notfound``
    payload; :class:`.MalformedData` unless the count and the entries fill it exactly."""
    if not payload:
        raise MalformedData(f"{command}: empty payload; expected a CompactSize entry count")
    count, position = read_varint(payload, 0)
    if position > len(payload) or position + count * INVENTORY_ENTRY_SIZE != len(payload):
        raise MalformedData(f"{command}: {len(payload)} payload bytes do not hold the "
                            f"{count} stated {INVENTORY_ENTRY_SIZE}-byte entries")
    entries = [struct.unpack_from("<I32s", payload, position + index * INVENTORY_ENTRY_SIZE)
               for index in range(count)]
    return [(inv_type, digest[::-1].hex()) for inv_type, digest in entries]


def tx_message_ids(payload: bytes) -> tuple[str, str]:
    """(txid, wtxid) of a ``tx`` message; :class:`.MalformedData` unless the payload is exactly
    one transaction."""
    txid, wtxid, end = parse_transaction(payload, source="tx message")
    if end != len(payload):
        raise MalformedData(f"tx message: {len(payload) - end} bytes follow the transaction")
    return txid, wtxid
