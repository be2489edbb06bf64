"""Where blocks come from: Bitcoin Core's ``blk*.dat`` files (XOR-obfuscated since Core 28),
files of magic + length framed blocks (optionally bz2-compressed), single raw blocks, for
``graph verify`` also a bare transaction (raw or hex, :func:`read_blocks_or_transaction`), and
the outputs a build starts from (``--utxo``): btcd's serialised UTXO entries, Bitcoin Core's
``dumptxoutset`` snapshots and Parquet / CSV UTXO tables (:func:`read_utxo_file`).

The files are read here, through the framework's safe reader (regular files only, errors naming
the file); their bytes are interpreted by :mod:`libraries.bitcoin_wire`, whose
:class:`~libraries.bitcoin_wire.MalformedData` becomes a :class:`DataError` with the same message.
"""

from __future__ import annotations

import bz2
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from framework.errors import DataError
from framework.safe_files import read_bytes
from libraries.bitcoin_wire import (BareTransaction, Block, decode_hex_text,
                                    parse_block_or_transaction)
from libraries.bitcoin_wire.block_files import MAINNET_MAGIC, deobfuscate, parse_blocks
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


def _xor_key(path: Path) -> bytes:
    """Core's block-file obfuscation key beside ``path`` (``xor.dat``), or none."""
    key_file = path.parent / "xor.dat"
    if key_file.exists() or key_file.is_symlink():
        return read_bytes(key_file, "block-file XOR key")
    return b""


def read_blocks(path: Path, xor_key: bytes | None = None) -> Iterator[Block]:
    """Blocks of a ``blk*.dat`` / framed file (``.bz2`` allowed) or of a single raw block."""
    path = Path(path)
    data = _read(path, "block file")
    if xor_key is None:
        xor_key = _xor_key(path)
    with framework_errors():
        yield from parse_blocks(deobfuscate(data, xor_key), str(path))


def read_blocks_or_transaction(path: Path) -> Iterator[Block | BareTransaction]:
    """What ``graph verify`` reads: the blocks of a file as :func:`read_blocks` does, or the one
    bare transaction it holds, either as raw bytes or as the hex text ``getrawtransaction``
    prints (hex is decoded first, so a ``getblock`` hex block reads too; errors in it give
    byte offsets into the decoded bytes, and say so). A build needs blocks, so only verify
    takes transactions."""
    path = Path(path)
    data = _read(path, "block or transaction file")
    with framework_errors():
        decoded = decode_hex_text(data, str(path))
        if decoded is None:
            data, source = deobfuscate(data, _xor_key(path)), str(path)
        else:
            data, source = decoded, f"{path} (hex text, decoded)"
        if data[:4] == MAINNET_MAGIC:
            yield from parse_blocks(data, source)
        else:
            yield parse_block_or_transaction(data, source)


def read_btcd_utxos(path: Path) -> dict[tuple[str, int], tuple[int, bytes, int, bool]]:
    """``(txid, vout) -> (satoshi, script, height, is_coinbase)`` of a btcd UTXO file."""
    data = _read(Path(path), "btcd UTXO file")
    with framework_errors():
        return parse_btcd_utxos(data, str(path))


UTXO_FORMATS = ("a Bitcoin Core dumptxoutset snapshot (starts with 'utxo\\xff'), a Parquet "
                "(.parquet) or CSV (.csv) table with columns txid, vout, value (satoshi), script "
                "(hex) and optionally height, coinbase, or btcd utxostore records "
                "(.utxostore); each optionally .bz2")


def read_utxo_file(path: Path) -> tuple[Any, str | None, str]:
    """(UTXO set table, the block a snapshot is at or None, format name) of a ``--utxo`` file.

    Core's snapshot is recognised by its magic bytes and Parquet by its own ('PAR1'); CSV and
    btcd records carry no magic, so their suffix decides (btcd records are bare binary, which
    no content sniffing could tell from noise). Anything else is refused naming what is
    accepted. Every error is a :class:`DataError` naming the file (and the byte or row)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from libraries.bitcoin_wire.utxo_snapshot import MAGIC, parse_snapshot
    from libraries.graph_etl.tables import utxo_set_from_table, utxo_table

    path = Path(path)
    data = _read(path, "UTXO file")
    suffix = Path(str(path).removesuffix(".bz2")).suffix.lower()
    with framework_errors():
        if data.startswith(MAGIC):
            header, coins = parse_snapshot(data, str(path))
            return utxo_table(coins), header.base_hash, "Core snapshot"
        if data.startswith(b"PAR1") or suffix == ".parquet":
            try:
                table = pq.read_table(pa.BufferReader(data))
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"{path}: not a readable Parquet file ({exc}); expected a "
                                f"UTXO table") from None
            return utxo_set_from_table(table, str(path)), None, "Parquet table"
        if suffix == ".csv":
            try:
                table = pacsv.read_csv(pa.BufferReader(data), convert_options=pacsv.ConvertOptions(
                    column_types={"txid": pa.string(), "script": pa.string()}))
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"{path}: not a readable CSV UTXO table ({exc})") from None
            return utxo_set_from_table(table, str(path)), None, "CSV table"
        if suffix == ".utxostore":
            return utxo_table(parse_btcd_utxos(data, str(path))), None, "btcd utxostore"
    raise DataError(f"{path}: unknown UTXO file format; expected {UTXO_FORMATS}")
