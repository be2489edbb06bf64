"""Parsed blocks as columnar tables (pyarrow), the ETL's interchange format.

One row per block, transaction, input and output (and per unspent output the blocks spend but did
not create: btcd UTXO entries, Core JSON prevouts); scripts are reduced to their address (or
stable script id, see :mod:`.addresses`) here, once, so later stages join on strings. ``tx``
numbers the transactions of one batch of tables (0, 1, ...): joins inside the batch use it
instead of the 64-character txid, which only identifies the output an input spends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numba
import numpy as np
import pyarrow as pa

from libraries.bitcoin_wire.addresses import script_ids, script_ids_of
from libraries.bitcoin_wire.consensus import Block, coinbase_height
from libraries.bitcoin_wire.core_json import block_from_json
from libraries.graph_etl.errors import GraphDataError, MissingHeight


SCHEMAS = {
    "blocks": pa.schema([("height", pa.int64()), ("hash", pa.string()), ("previous", pa.string()),
                         ("time", pa.int64()), ("n_tx", pa.int64())]),
    "transactions": pa.schema([("tx", pa.int64()), ("txid", pa.string()), ("height", pa.int64()),
                               ("position", pa.int64()), ("coinbase", pa.bool_()),
                               ("n_in", pa.int64()), ("n_out", pa.int64())]),
    "inputs": pa.schema([("tx", pa.int64()), ("txid", pa.string()), ("height", pa.int64()),
                         ("n", pa.int64()),
                         ("prev_txid", pa.string()), ("prev_vout", pa.int64())]),
    # Outputs a block range spends but did not create (btcd UTXO file, Core JSON prevouts).
    "utxos": pa.schema([("txid", pa.string()), ("vout", pa.int64()), ("script_id", pa.string()),
                        ("value", pa.int64())]),
    # The same with what a UTXO snapshot needs to write them back (the script, not only its
    # address; the creating height and coinbase flag, null when the source lacks them): the
    # store's UTXO set and what --utxo files load.
    "utxo_set": pa.schema([("txid", pa.string()), ("vout", pa.int64()), ("script_id", pa.string()),
                           ("value", pa.int64()), ("script", pa.binary()), ("height", pa.int64()),
                           ("coinbase", pa.bool_())]),
    "outputs": pa.schema([("tx", pa.int64()), ("txid", pa.string()), ("height", pa.int64()),
                          ("vout", pa.int64()),
                          ("script_id", pa.string()), ("script_type", pa.string()),
                          ("value", pa.int64()), ("coinbase", pa.bool_()),
                          ("script", pa.binary())]),
}


@dataclass
class BlockTables:
    blocks: pa.Table
    transactions: pa.Table
    inputs: pa.Table
    outputs: pa.Table


# the two hex digits of each byte value as one uint16 whose memory holds them in order (so
# any byte order): one store per byte
_HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % value for value in range(256)), np.uint16)


@numba.njit(cache=True)
def _hex_kernel(data, starts, width, reverse, pairs):
    for row in range(starts.shape[0]):
        out = row * width
        for j in range(width):
            pairs[out + j] = _HEX_PAIRS[data[starts[row] + (width - 1 - j if reverse else j)]]


def _string_rows(chars: np.ndarray, n: int, width: int) -> pa.Array:
    """A string column of ``n`` strings of ``width`` characters laid end to end."""
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))


def hex_strings(data: np.ndarray, starts: np.ndarray, width: int,
                reverse: bool = False) -> pa.Array:
    """Hex of the ``width`` bytes at each of ``starts`` in ``data`` (uint8) as an Arrow string
    column, in one compiled pass; ``reverse`` prints hashes in Bitcoin's display order
    (internal byte order reversed). A block's txids and the txids its inputs spend are columns
    of this; its inputs' and outputs' own txid columns copy rows of the first
    (:func:`repeated_rows`)."""
    n = len(starts)
    pairs = np.empty(n * width, np.uint16)
    _hex_kernel(np.ascontiguousarray(data).reshape(-1), np.asarray(starts, np.int64), width,
                reverse, pairs)
    return _string_rows(pairs.view(np.uint8), n, 2 * width)


def repeated_rows(column: pa.Array, rows: np.ndarray, width: int) -> pa.Array:
    """``column.take(rows)`` for a column of fixed-width strings (txids: 64 characters), as a
    numpy row copy of its character buffer, several times faster than a string take."""
    chars = np.frombuffer(column.buffers()[2], np.uint8)[column.offset * width:
                                                         (column.offset + len(column)) * width]
    return _string_rows(chars.reshape(-1, width)[rows].reshape(-1), len(rows), width)


@numba.njit(cache=True)
def _gather_kernel(data, starts, ends, offsets, out):
    for row in range(starts.shape[0]):
        out[offsets[row]:offsets[row + 1]] = data[starts[row]:ends[row]]


def _slices(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """``data[starts[i]:ends[i]]`` for every i as one Arrow binary column, gathered in a single
    compiled pass (a block has thousands of output scripts)."""
    lengths = (ends - starts).astype(np.int64)
    offsets = np.zeros(len(lengths) + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    out = np.empty(int(offsets[-1]), np.uint8)
    _gather_kernel(data, starts.astype(np.int64), ends.astype(np.int64), offsets, out)
    return pa.BinaryArray.from_buffers(pa.binary(), len(lengths), [None, pa.py_buffer(offsets),
                                                                  pa.py_buffer(out)])


def _block_tables(block: Block, height: int,
                  first_tx: int) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    """One block's four tables, every column computed over the block's layout at once; its
    transactions are numbered from ``first_tx``."""
    layout, n_tx = block.layout, block.n_tx
    data = np.frombuffer(block.raw, np.uint8)
    n_in_rows, n_out_rows = len(layout.inputs), len(layout.outputs)
    first_in = layout.tx[:, 4]
    first_out = layout.tx[:, 5]
    n_in = np.diff(np.append(first_in, n_in_rows))
    n_out = np.diff(np.append(first_out, n_out_rows))
    digests = block.txid_digests.reshape(-1)
    txids = hex_strings(digests, np.arange(n_tx) * 32, 32, reverse=True)
    positions = np.arange(n_tx)
    coinbase = positions == 0
    blocks = pa.table({"height": [height], "hash": [block.hash], "previous": [block.previous],
                       "time": [block.time], "n_tx": [n_tx]}, schema=SCHEMAS["blocks"])
    transactions = pa.table({"tx": first_tx + positions, "txid": txids, "height": np.full(n_tx, height), "position": positions,
                             "coinbase": coinbase, "n_in": n_in, "n_out": n_out},
                            schema=SCHEMAS["transactions"])
    spends = layout.inputs[n_in[0]:]  # the coinbase's input spends nothing
    input_tx = np.repeat(positions, n_in)[n_in[0]:]
    inputs = pa.table({"tx": first_tx + input_tx,
                       "txid": repeated_rows(txids, input_tx, 64),
                       "height": np.full(len(spends), height),
                       "n": np.arange(n_in[0], n_in_rows) - first_in[input_tx],
                       "prev_txid": hex_strings(data, spends[:, 0], 32, reverse=True),
                       "prev_vout": spends[:, 1]}, schema=SCHEMAS["inputs"])
    output_tx = np.repeat(positions, n_out)
    script_id, script_type = script_ids(data, layout.outputs[:, 1], layout.outputs[:, 2])
    scripts = _slices(data, layout.outputs[:, 1], layout.outputs[:, 2])
    outputs = pa.table({"tx": first_tx + output_tx,
                        "txid": repeated_rows(txids, output_tx, 64),
                        "height": np.full(n_out_rows, height),
                        "vout": np.arange(n_out_rows) - first_out[output_tx],
                        "script_id": script_id, "script_type": script_type,
                        "value": layout.outputs[:, 0], "coinbase": output_tx == 0,
                        "script": scripts},
                       schema=SCHEMAS["outputs"])
    return blocks, transactions, inputs, outputs


def to_tables(blocks: Iterable[Block], first_height: int | None = None) -> BlockTables:
    """Tables of consecutive blocks. Heights come from BIP 34 coinbases, else from
    ``first_height`` counted up (blocks before BIP 34 do not state their height); without
    either, :class:`.errors.MissingHeight`. :meth:`.store.GraphStore.append` checks the counted
    heights against the parent hashes."""
    parts: list[tuple[pa.Table, ...]] = []
    height, first_tx = first_height, 0
    for block in blocks:
        stated = coinbase_height(block)
        height = stated if stated is not None else height
        if height is None:
            raise MissingHeight(f"block {block.hash} states no height in its coinbase (blocks "
                                f"before BIP 34, height 227,836, do not) and no first height "
                                f"was given")
        parts.append(_block_tables(block, height, first_tx))
        height += 1
        first_tx += block.n_tx
    names = ("blocks", "transactions", "inputs", "outputs")
    if not parts:
        return BlockTables(*(SCHEMAS[name].empty_table() for name in names))
    return BlockTables(*(pa.concat_tables([part[k] for part in parts]).combine_chunks()
                         for k in range(len(names))))


def utxo_table(entries: dict[tuple[str, int], tuple[int, bytes, int, bool]]) -> pa.Table:
    """The UTXO table :func:`.graph.build_graph` resolves against and the store keeps, from
    btcd UTXO entries or snapshot coins (:func:`libraries.bitcoin_wire.btcd.parse_btcd_utxos`,
    :func:`libraries.bitcoin_wire.utxo_snapshot.parse_snapshot`)."""
    scripts = [v[1] for v in entries.values()]
    script_id, _ = script_ids_of(scripts)
    return pa.table({"txid": [k[0] for k in entries], "vout": [k[1] for k in entries],
                     "script_id": script_id, "value": [v[0] for v in entries.values()],
                     "script": scripts, "height": [v[2] for v in entries.values()],
                     "coinbase": [v[3] for v in entries.values()]}, schema=SCHEMAS["utxo_set"])


_TXID = re.compile(r"[0-9a-f]{64}")


def utxo_set_from_table(table: pa.Table, source: str) -> pa.Table:
    """A user's UTXO table (Parquet or CSV: txid as Core prints it, vout, value in satoshi,
    script as bytes or hex; optional height and coinbase) checked and completed with each
    script's address. Every refusal names the source and the first offending row, because a
    bad row would otherwise resolve an input to the wrong value or script."""
    missing = [c for c in ("txid", "vout", "value", "script") if c not in table.column_names]
    if missing:
        raise GraphDataError(f"{source}: UTXO table lacks column(s) {', '.join(missing)}; "
                             f"expected txid, vout, value (satoshi), script (hex or bytes) and "
                             f"optionally height, coinbase; has {', '.join(table.column_names)}")
    columns = {name: table[name].to_pylist() for name in
               ("txid", "vout", "value", "script", "height", "coinbase")
               if name in table.column_names}
    n = table.num_rows
    columns.setdefault("height", [None] * n)
    columns.setdefault("coinbase", [None] * n)
    seen: set[tuple[str, int]] = set()
    for row in range(n):
        txid, vout, value, script = (columns[c][row] for c in ("txid", "vout", "value", "script"))
        where = f"{source}, row {row + 1}"
        if isinstance(txid, str):
            txid = txid.lower()
        if not (isinstance(txid, str) and _TXID.fullmatch(txid)):
            raise GraphDataError(f"{where}: txid {txid!r} is not 64 hex digits")
        if not (isinstance(vout, int) and 0 <= vout < 2**32):
            raise GraphDataError(f"{where}: vout {vout!r} is not a 32-bit output index")
        if not (isinstance(value, int) and 0 <= value <= 21_000_000 * 10**8):
            raise GraphDataError(f"{where}: value {value!r} is not an amount in satoshi "
                                 f"(0 to 21 million BTC)")
        if isinstance(script, str):
            try:
                script = bytes.fromhex(script)
            except ValueError:
                raise GraphDataError(f"{where}: script {script[:40]!r} is not hex") from None
        if not isinstance(script, bytes):
            raise GraphDataError(f"{where}: script {script!r} is neither hex nor bytes")
        if (txid, vout) in seen:
            raise GraphDataError(f"{where}: outpoint {txid}:{vout} appears a second time; "
                                 f"expected each outpoint once")
        seen.add((txid, vout))
        columns["txid"][row], columns["script"][row] = txid, script
    try:
        return pa.table({**columns, "script_id": script_ids_of(columns["script"])[0]}
                        ).select(SCHEMAS["utxo_set"].names).cast(SCHEMAS["utxo_set"])
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise GraphDataError(f"{source}: height / coinbase columns are not integers / booleans "
                             f"({exc})") from None


def prevout_utxos(blocks: Iterable[dict[str, Any]], source: str = "JSON blocks") -> pa.Table:
    """The outputs that Core JSON verbosity-3 inputs spend (``prevout``), as a UTXO table."""
    columns: dict[str, list] = {"txid": [], "vout": [], "script": [], "value": [], "height": [],
                                "coinbase": []}
    for block in blocks:
        for tx in block["tx"]:
            for txin in tx.get("vin", []):
                prevout = txin.get("prevout")
                if "coinbase" in txin or prevout is None:
                    continue
                try:
                    script = bytes.fromhex(prevout["scriptPubKey"]["hex"])
                    value = int(Decimal(str(prevout["value"])) * 100_000_000)
                    height = prevout.get("height")
                    height = None if height is None else int(height)
                    columns["txid"].append(str(txin["txid"]))
                    columns["vout"].append(int(txin["vout"]))
                except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                    raise GraphDataError(f"{source}: transaction {tx.get('txid', '?')}: "
                                         f"malformed input prevout ({type(exc).__name__}: "
                                         f"{exc}); expected txid, vout and "
                                         f"prevout.scriptPubKey.hex/value as in getblock "
                                         f"verbosity 3") from None
                columns["script"].append(script)
                columns["value"].append(value)
                columns["height"].append(height)
                generated = prevout.get("generated")
                columns["coinbase"].append(None if generated is None else bool(generated))
    columns["script_id"] = script_ids_of(columns["script"])[0]
    return pa.table(columns).select(SCHEMAS["utxo_set"].names).cast(SCHEMAS["utxo_set"])


def tables_from_json(blocks: list[dict[str, Any]], source: str) -> tuple[BlockTables, pa.Table]:
    """Block tables (heights from the JSON) and the UTXO table of their inputs' prevouts, the
    blocks checked by the consensus parser (:func:`libraries.bitcoin_wire.core_json.block_from_json`)."""
    if not blocks:
        raise GraphDataError(f"{source}: no blocks")
    parsed = [block_from_json(b, f"{source} (block {b.get('height', i)})")
              for i, b in enumerate(blocks)]
    try:
        first_height = int(blocks[0]["height"])
    except (KeyError, TypeError, ValueError):
        raise GraphDataError(f"{source}: the first block has no integer 'height'; expected "
                             f"getblock JSON, which carries each block's height") from None
    return to_tables(parsed, first_height=first_height), prevout_utxos(blocks, source)
