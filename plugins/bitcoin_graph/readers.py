"""Where blocks come from: Bitcoin Core's ``blk*.dat`` files (XOR-obfuscated since Core 28),
files of magic + length framed blocks (optionally bz2-compressed), single raw blocks, and btcd's
serialised UTXO entries (to resolve the inputs of a block without its history).

The files are read here, through the framework's safe reader (regular files only, errors naming
the file); their bytes are interpreted by :mod:`libraries.bitcoin_wire`, whose
:class:`~libraries.bitcoin_wire.MalformedData` becomes a :class:`DataError` with the same message.
"""

from __future__ import annotations

import bz2
from collections.abc import Iterator
from pathlib import Path

from framework.errors import DataError
from framework.safe_files import read_bytes
from libraries.bitcoin_wire import Block
from libraries.bitcoin_wire.block_files import deobfuscate, parse_blocks
from libraries.bitcoin_wire.btcd import parse_btcd_utxos
from plugins.bitcoin_graph.library import framework_errors


def _read(path: Path, what: str) -> bytes:
    """The file's bytes, decompressed when it ends in ``.bz2``: a corrupt or cut bz2 stream is a
    DataError naming the file, never the OSError / ValueError / EOFError the codec raises."""
    data = read_bytes(path, what)
    if not str(path).endswith(".bz2"):
        return data
    try:
        return bz2.decompress(data)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a valid bz2 stream ({exc}); expected a complete "
                        f"bz2-compressed {what}") from exc


def read_blocks(path: Path, xor_key: bytes | None = None) -> Iterator[Block]:
    """Blocks of a ``blk*.dat`` / framed file (``.bz2`` allowed) or of a single raw block."""
    path = Path(path)
    data = _read(path, "block file")
    key_file = path.parent / "xor.dat"
    if xor_key is None and (key_file.exists() or key_file.is_symlink()):
        xor_key = read_bytes(key_file, "block-file XOR key")
    with framework_errors():
        yield from parse_blocks(deobfuscate(data, xor_key or b""), str(path))


def read_btcd_utxos(path: Path) -> dict[tuple[str, int], tuple[int, bytes, int, bool]]:
    """``(txid, vout) -> (satoshi, script, height, is_coinbase)`` of a btcd UTXO file."""
    data = _read(Path(path), "btcd UTXO file")
    with framework_errors():
        return parse_btcd_utxos(data, str(path))
