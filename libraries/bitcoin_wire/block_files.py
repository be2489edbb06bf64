"""Bitcoin Core's block files: ``blk*.dat`` framing (network magic + u32 length per block) and
the XOR obfuscation of Core 28+ (``blocks/xor.dat``). The caller reads the bytes (and decompresses
them); this module only interprets them.
"""

from __future__ import annotations

from collections.abc import Iterator

from libraries.bitcoin_wire.consensus import Block, parse_block
from libraries.bitcoin_wire.errors import MalformedData

MAINNET_MAGIC = bytes.fromhex("f9beb4d9")


def deobfuscate(data: bytes, key: bytes, offset: int = 0) -> bytes:
    """Undo Core's block-file XOR obfuscation (``blocks/xor.dat``; all-zero key = none)."""
    if not key or not any(key):
        return data
    repeated = (key * (len(data) // len(key) + 2))[offset % len(key):][:len(data)]
    return (int.from_bytes(data, "little") ^ int.from_bytes(repeated, "little")).to_bytes(
        len(data), "little")


def framed_blocks(data: bytes, source: str, magic: bytes = MAINNET_MAGIC) -> Iterator[bytes]:
    """Raw blocks of a magic + u32 length framed stream (blk*.dat layout)."""
    pos = 0
    while pos + 8 <= len(data):
        if data[pos:pos + 4] == b"\0\0\0\0":  # pre-allocated tail of a blk file
            break
        if data[pos:pos + 4] != magic:
            raise MalformedData(f"{source}, byte {pos}: expected network magic {magic.hex()}, "
                                f"found {data[pos:pos + 4].hex()} (wrong network, or an XOR key "
                                f"missing)")
        length = int.from_bytes(data[pos + 4:pos + 8], "little")
        if pos + 8 + length > len(data):
            raise MalformedData(f"{source}, byte {pos}: block of {length} bytes runs past the end "
                                f"of the file (truncated)")
        yield data[pos + 8:pos + 8 + length]
        pos += 8 + length


def parse_blocks(data: bytes, source: str) -> Iterator[Block]:
    """Blocks of a de-obfuscated framed stream, or the single raw block ``data`` is."""
    if data[:4] == MAINNET_MAGIC:
        for index, raw in enumerate(framed_blocks(data, source)):
            yield parse_block(raw, source=f"{source} (block {index})")
    else:
        yield parse_block(data, source=source)
