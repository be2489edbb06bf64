"""The EBA v1 graph of a batch of blocks computed in memory with numpy and compiled loops.

Same model, same result as the SQL stages of :mod:`.graph` (a test compares them table for
table on real and simulated blocks), without a SQL engine: DuckDB's fixed cost of about 2 ms
per statement, ten statements per batch, was most of the time a one-block batch took, and on
strings (addresses, txids) every join and group hashed text. Here scripts become integer codes
once, in the sort order of their addresses, so every group-by is a sort of integers and every
table comes out in the order :func:`.graph.build_graph` returns.

Arithmetic follows the SQL exactly: a pair's share is computed in IEEE double in the same
order of operations and rounded half away from zero (DuckDB's ``round``); sums of satoshi are
exact 64-bit integers (DuckDB sums rounded doubles, which agrees while a sum stays below 2^53
satoshi, 90 million BTC).

Inputs resolve against the batch's own outputs first, then the UTXO table, by outpoint; an
outpoint is expected once in each (the store and the UTXO readers refuse duplicates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pyarrow as pa

from libraries.graph_etl import strings
from libraries.graph_etl.errors import GraphDataError
from libraries.graph_etl.tables import BlockTables


def _round_half_away(x: float) -> float:
    """C's ``round``: DuckDB rounds a double half away from zero (numpy rounds half to even)."""
    r = np.trunc(x)
    return r + np.copysign(1.0, x) if abs(x - r) >= 0.5 else r


_round_half_away_jit = numba.njit(inline="always")(_round_half_away)


@numba.njit(cache=True)
def _transfer_pairs(in_start, in_code, in_value, out_start, out_code, out_value, fee, total_in,
                    total_out, height, eligible):
    """Every (input script, output script) pair of every eligible transaction with the value
    the input script sent to the output script after paying its share of the fee."""
    count = 0
    for t in range(eligible.shape[0]):
        if eligible[t]:
            count += (in_start[t + 1] - in_start[t]) * (out_start[t + 1] - out_start[t])
    src = np.empty(count, np.int64)
    dst = np.empty(count, np.int64)
    heights = np.empty(count, np.int64)
    values = np.empty(count, np.int64)
    row = 0
    for t in range(eligible.shape[0]):
        if not eligible[t]:
            continue
        fee_t, in_t, out_t = float(fee[t]), float(total_in[t]), float(total_out[t])
        for i in range(in_start[t], in_start[t + 1]):
            spent = float(in_value[i])
            kept = spent - fee_t * spent / in_t
            for o in range(out_start[t], out_start[t + 1]):
                src[row], dst[row], heights[row] = in_code[i], out_code[o], height[t]
                values[row] = np.int64(_round_half_away_jit(float(out_value[o]) * kept / out_t))
                row += 1
    return src, dst, heights, values


@numba.njit(cache=True)
def _fee_pairs(in_start, in_code, in_value, fee, total_in, height, eligible, miner_start,
               miner_code, miner_value, coinbase_total):
    """Every (paying script, miner script) pair: the script's share of its transaction's fee
    split over the miner's coinbase output scripts. ``miner_start`` is indexed by height -
    the batch's lowest height."""
    count = 0
    for t in range(eligible.shape[0]):
        if eligible[t]:
            h = height[t]
            count += (in_start[t + 1] - in_start[t]) * (miner_start[h + 1] - miner_start[h])
    src = np.empty(count, np.int64)
    dst = np.empty(count, np.int64)
    heights = np.empty(count, np.int64)
    values = np.empty(count, np.int64)
    row = 0
    for t in range(eligible.shape[0]):
        if not eligible[t]:
            continue
        h = height[t]
        fee_t, in_t = float(fee[t]), float(total_in[t])
        for i in range(in_start[t], in_start[t + 1]):
            share = fee_t * float(in_value[i]) / in_t
            for m in range(miner_start[h], miner_start[h + 1]):
                src[row], dst[row], heights[row] = in_code[i], miner_code[m], h
                values[row] = np.int64(_round_half_away_jit(
                    share * float(miner_value[m]) / float(coinbase_total[h])))
                row += 1
    return src, dst, heights, values


_DIGIT_BITS = 11


@numba.njit(cache=True)
def _radix_sum(packed, values, bits):
    """Distinct keys of ``packed`` (0 <= key < 2**bits) ascending, the first row holding each,
    and the exact sum of ``values`` per key: an LSD radix sort, 11 bits a pass, which on a
    block's few thousand rows is several times faster than a comparison sort."""
    n = packed.shape[0]
    order = np.arange(n)
    spare = np.empty(n, np.int64)
    counts = np.empty((1 << _DIGIT_BITS) + 1, np.int64)
    shift = 0
    while shift < bits:
        counts[:] = 0
        for i in range(n):
            counts[((packed[order[i]] >> shift) & ((1 << _DIGIT_BITS) - 1)) + 1] += 1
        for d in range(1 << _DIGIT_BITS):
            counts[d + 1] += counts[d]
        for i in range(n):
            digit = (packed[order[i]] >> shift) & ((1 << _DIGIT_BITS) - 1)
            spare[counts[digit]] = order[i]
            counts[digit] += 1
        order, spare = spare, order
        shift += _DIGIT_BITS
    first = np.empty(n, np.int64)
    sums = np.empty(n, np.int64)
    groups = -1
    for i in range(n):
        row = order[i]
        if groups < 0 or packed[row] != packed[first[groups]]:
            groups += 1
            first[groups] = row
            sums[groups] = 0
        sums[groups] += values[row]
    return first[:groups + 1], sums[:groups + 1]


def _group_sum(keys: list[np.ndarray], values: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Rows with equal keys merged, values added exactly; result sorted by the keys, the first
    key most significant."""
    if len(values) == 0:
        return [k[:0] for k in keys], values[:0]
    packed, bound = np.zeros(len(values), np.int64), 1
    for key in keys:  # one int64 key when the ranges allow (keys are >= 0): one sort
        low, high = int(key.min()), int(key.max())
        bound *= high - low + 1
        packed = packed * (high - low + 1) + (key - low)
    if bound < 2**62:
        first, sums = _radix_sum(packed, values.astype(np.int64), max(int(bound - 1).bit_length(), 1))
        return [k[first] for k in keys], sums
    order = np.lexsort(keys[::-1])
    sorted_keys = [k[order] for k in keys]
    change = np.zeros(len(values), bool)
    change[0] = True
    for key in sorted_keys:
        change[1:] |= key[1:] != key[:-1]
    starts = np.flatnonzero(change)
    return [k[starts] for k in sorted_keys], np.add.reduceat(values[order], starts)


def _csr(groups: np.ndarray, n: int) -> np.ndarray:
    """Start offsets of each group 0..n-1 in rows sorted by group."""
    return np.searchsorted(groups, np.arange(n + 1)).astype(np.int64)


class _Scripts:
    """Script ids as integer codes numbered in the sort order of the ids."""

    def __init__(self, *columns: pa.ChunkedArray | pa.Array) -> None:
        chunks = [c for column in columns for c in (
            column.chunks if isinstance(column, pa.ChunkedArray) else [column])]
        self.codes, ids = strings.encode_sorted(strings.concatenate(chunks), "script ids")
        self.ids = ids.cast(pa.string())  # the distinct ids of one batch: far below 2^31 bytes
        self.count = len(self.ids)

    def text(self, codes: np.ndarray) -> pa.Array:
        """The ids of ``codes`` as a string column."""
        return self.ids.take(pa.array(codes))


@numba.njit(inline="always")
def _outpoint_hash(data, start, end, vout):
    """FNV-1a over a txid's first 16 characters (64 random bits: a txid's hex is a hash) and
    its length, mixed with the output index; equality is checked in full."""
    h = np.uint64(14695981039346656037) ^ np.uint64(end - start)
    for i in range(start, min(start + 16, end)):
        h = (h ^ np.uint64(data[i])) * np.uint64(1099511628211)
    return h ^ (np.uint64(vout) * np.uint64(0x9E3779B97F4A7C15))


@numba.njit(cache=True)
def _txid_lookup(key_offsets, key_data, query_offsets, query_data):
    """For each query txid, the first key row with that txid, else -1: a hash table over the
    keys (a batch's transactions, distinct txids) probed by the queries (inputs, many of which
    spend the same transaction)."""
    n = key_offsets.shape[0] - 1
    size = strings.table_size(n)
    mask = np.uint64(size - 1)
    slots = np.full(size, -1, np.int64)
    for row in range(n):
        j = _outpoint_hash(key_data, key_offsets[row], key_offsets[row + 1], 0) & mask
        while slots[j] >= 0:
            j = (j + np.uint64(1)) & mask
        slots[j] = row
    found = np.full(query_offsets.shape[0] - 1, -1, np.int64)
    for i in range(found.shape[0]):
        start, end = query_offsets[i], query_offsets[i + 1]
        j = _outpoint_hash(query_data, start, end, 0) & mask
        while slots[j] >= 0:
            row = slots[j]
            if strings.same_text(key_data, key_offsets[row], key_offsets[row + 1], query_data,
                                 start, end):
                found[i] = row
                break
            j = (j + np.uint64(1)) & mask
    return found


@numba.njit(cache=True)
def _outpoint_join(want_offsets, want_data, want_vout, skip, have_offsets, have_data, have_vout):
    """For each wanted outpoint (txid text, vout) not skipped, the first row of the ``have``
    outpoints equal to it, else -1: a hash table over the wanted side (a batch's inputs, the
    small side) probed by one scan of the other (possibly a whole UTXO set)."""
    n = want_vout.shape[0]
    found = np.full(n, -1, np.int64)
    size = strings.table_size(n)
    mask = np.uint64(size - 1)
    slots = np.full(size, -1, np.int64)
    for i in range(n):
        if skip[i]:
            continue
        j = _outpoint_hash(want_data, want_offsets[i], want_offsets[i + 1], want_vout[i]) & mask
        while slots[j] >= 0:
            j = (j + np.uint64(1)) & mask
        slots[j] = i
    for row in range(have_vout.shape[0]):
        start, end = have_offsets[row], have_offsets[row + 1]
        j = _outpoint_hash(have_data, start, end, have_vout[row]) & mask
        while slots[j] >= 0:
            i = slots[j]
            if found[i] < 0 and want_vout[i] == have_vout[row] and strings.same_text(
                    want_data, want_offsets[i], want_offsets[i + 1], have_data, start, end):
                found[i] = row
            j = (j + np.uint64(1)) & mask
    return found


def find_outpoints(want: pa.Table, have: pa.Table) -> np.ndarray:
    """For each (txid, vout) row of ``want``, the first row of ``have`` with the same outpoint,
    else -1 (both tables have ``txid`` and ``vout`` columns)."""
    return _outpoint_join(*strings.buffers(want["txid"], "txid"), want["vout"].to_numpy(),
                          np.zeros(want.num_rows, bool), *strings.buffers(have["txid"], "txid"),
                          have["vout"].to_numpy())


@dataclass(frozen=True)
class Resolution:
    """Where each input of a batch finds the output it spends: a row of the batch's outputs,
    else a row of the UTXO table, else -1 in both (unresolved)."""

    from_outputs: np.ndarray
    from_utxos: np.ndarray

    @property
    def unresolved(self) -> np.ndarray:
        return np.flatnonzero((self.from_outputs < 0) & (self.from_utxos < 0))


def resolve(tables: BlockTables, utxos: pa.Table | None) -> Resolution:
    """Every input's spent output (an outpoint in both resolves to the batch's output). The
    UTXO table is scanned once against a hash table of the inputs, so a whole UTXO set costs
    one pass and no sort."""
    inputs, outputs, txs = tables.inputs, tables.outputs, tables.transactions
    wanted = (*strings.buffers(inputs["prev_txid"], "inputs: prev_txid"),
              inputs["prev_vout"].to_numpy())
    # the batch's own outputs: the spent txid among the batch's transactions (a third as many
    # strings as outputs), then (tx, vout) among the outputs' sorted keys
    spent_tx = _txid_lookup(*strings.buffers(txs["txid"], "transactions: txid"),
                            wanted[0], wanted[1])
    from_outputs = np.full(inputs.num_rows, -1, np.int64)
    inside = np.flatnonzero(spent_tx >= 0)
    if len(inside):
        key = outputs["tx"].to_numpy() * (1 << 32) + outputs["vout"].to_numpy()
        order = np.arange(len(key)) if np.all(key[1:] > key[:-1]) else np.argsort(key)
        want = txs["tx"].to_numpy()[spent_tx[inside]] * (1 << 32) + wanted[2][inside]
        at = np.minimum(np.searchsorted(key[order], want), len(key) - 1)
        match = key[order][at] == want
        from_outputs[inside[match]] = order[at[match]]
    open_rows = from_outputs < 0
    if utxos is None or not utxos.num_rows or not open_rows.any():
        return Resolution(from_outputs, np.full(inputs.num_rows, -1, np.int64))
    return Resolution(from_outputs, _outpoint_join(
        *wanted, ~open_rows, *strings.buffers(utxos["txid"], "UTXO table: txid"),
        utxos["vout"].to_numpy()))


def build_columnar(tables: BlockTables, utxos: pa.Table | None, max_inputs: int,
                   max_outputs: int, resolution: Resolution | None = None
                   ) -> tuple[dict[str, pa.Table], pa.Table]:
    """Mints, Transfers, Fee, Redeems and Credits edges and the Script nodes of a batch, each
    sorted as :func:`.graph.build_graph` returns them. ``resolution``: :func:`resolve` of the
    same tables and UTXO table, when the caller has it already (the store needs it too)."""
    inputs, outputs, txs = tables.inputs, tables.outputs, tables.transactions
    resolution = resolution or resolve(tables, utxos)
    unresolved = resolution.unresolved
    if len(unresolved):
        first = inputs.slice(int(unresolved[0]), 1).to_pylist()[0]
        raise GraphDataError(f"{len(unresolved)} inputs do not resolve, e.g. input "
                             f"{first['n']} of tx {first['txid']} spends {first['prev_txid']}:"
                             f"{first['prev_vout']}, which is neither an output of the loaded "
                             f"blocks nor in the UTXO table")
    from_outputs = resolution.from_outputs
    hit = resolution.from_utxos >= 0
    from_utxos = np.full(inputs.num_rows, -1, np.int64)
    from_utxos[hit] = np.arange(int(hit.sum()))
    spent = (utxos.select(["script_id", "value"]).take(pa.array(resolution.from_utxos[hit]))
             if utxos is not None else None)
    spent_ids = spent["script_id"] if spent is not None else pa.array([], pa.string())
    scripts = _Scripts(outputs["script_id"], spent_ids)
    out_codes = scripts.codes[:outputs.num_rows]
    spent_codes = scripts.codes[outputs.num_rows:]
    own = from_outputs >= 0
    in_code = np.where(own, out_codes[np.maximum(from_outputs, 0)],
                       spent_codes[np.maximum(from_utxos, 0)] if len(spent_codes) else 0)
    out_value = outputs["value"].to_numpy()
    spent_value = spent["value"].to_numpy() if spent is not None else np.zeros(0, np.int64)
    in_value = np.where(own, out_value[np.maximum(from_outputs, 0)],
                        spent_value[np.maximum(from_utxos, 0)] if len(spent_value) else 0)

    # transactions renumbered 0..n-1 in batch order; height per transaction
    tx_numbers = txs["tx"].to_numpy()
    n_tx = len(tx_numbers)
    tx_index = np.searchsorted(tx_numbers, inputs["tx"].to_numpy())
    tx_height = txs["height"].to_numpy()
    coinbase_tx = txs["coinbase"].to_numpy(zero_copy_only=False)
    out_tx = np.searchsorted(tx_numbers, outputs["tx"].to_numpy())

    # tx_in: inputs grouped by (transaction, script); tx_out: outputs likewise
    (tin_tx, tin_code), tin_value = _group_sum([tx_index, in_code], in_value)
    (tout_tx, tout_code), tout_value = _group_sum([out_tx, out_codes], out_value)
    tout_coinbase = coinbase_tx[tout_tx]
    in_start = _csr(tin_tx, n_tx)
    paid = ~tout_coinbase
    pay_tx, pay_code, pay_value = tout_tx[paid], tout_code[paid], tout_value[paid]
    pay_start = _csr(pay_tx, n_tx)

    total_in = np.add.reduceat(np.append(tin_value, 0), in_start[:-1]) * (np.diff(in_start) > 0)
    total_out = np.add.reduceat(np.append(pay_value, 0), pay_start[:-1]) * (np.diff(pay_start) > 0)
    fee = total_in - total_out
    in_scripts, out_scripts = np.diff(in_start), np.diff(pay_start)
    in_fees = ~coinbase_tx & ((in_scripts > 0) | (out_scripts > 0))
    excluded = (in_scripts > max_inputs) & (out_scripts > max_outputs)
    negative = np.flatnonzero(in_fees & (fee < 0))
    if len(negative):
        raise GraphDataError(f"tx {txs['txid'][int(negative[0])].as_py()} spends less than it "
                             f"pays out (negative fee)")

    # miners: coinbase output scripts per height, and the block's coinbase total
    low = int(tx_height.min()) if n_tx else 0
    span = int(tx_height.max()) - low + 1 if n_tx else 0
    mine = np.flatnonzero(tout_coinbase)
    miner_height = tx_height[tout_tx[mine]] - low
    order = np.lexsort((tout_code[mine], miner_height))
    mine, miner_height = mine[order], miner_height[order]
    miner_code, miner_value = tout_code[mine], tout_value[mine]
    miner_start = _csr(miner_height, span)
    coinbase_total = np.zeros(span, np.int64)
    np.add.at(coinbase_total, miner_height, miner_value)
    block_fees = np.zeros(span, np.int64)
    np.add.at(block_fees, tx_height[in_fees] - low, fee[in_fees])

    edges: dict[str, pa.Table] = {}
    minting = np.flatnonzero(coinbase_total[miner_height] > 0)
    minted = np.array([_round_half_away(float(coinbase_total[h] - block_fees[h]) * float(v)
                                        / float(coinbase_total[h]))
                       for h, v in zip(miner_height[minting].tolist(),
                                       miner_value[minting].tolist())], np.float64)
    mint_code, mint_height = miner_code[minting], miner_height[minting] + low
    order = np.lexsort((mint_height, mint_code))
    edges["Mints"] = _edge_table(pa.array(["coinbase"] * len(order), pa.string()),
                                 scripts.text(mint_code[order]), mint_height[order],
                                 minted[order].astype(np.int64))

    transferring = ~coinbase_tx & ~excluded & (total_out > 0) & (total_in > 0)
    pairs = _transfer_pairs(in_start, tin_code, tin_value, pay_start, pay_code, pay_value, fee,
                            total_in, total_out, tx_height, transferring)
    (src, dst, height), value = _group_sum(list(pairs[:3]), pairs[3])
    edges["Transfers"] = _edge_table(scripts.text(src), scripts.text(dst), height, value)

    paying = ~coinbase_tx & ~excluded & (fee > 0)
    paying[paying] &= coinbase_total[tx_height[paying] - low] > 0
    pairs = _fee_pairs(in_start, tin_code, tin_value, fee, total_in, tx_height - low, paying,
                       miner_start, miner_code, miner_value, coinbase_total)
    # miners are a few scripts per block: grouping on their rank keeps the sort key narrow
    miners = np.unique(miner_code)
    (src, miner, height), value = _group_sum(
        [pairs[0], np.searchsorted(miners, pairs[1]), pairs[2] + low], pairs[3])
    edges["Fee"] = _edge_table(scripts.text(src), scripts.text(miners[miner]), height, value)

    (code, height), value = _group_sum([tin_code, tx_height[tin_tx]], tin_value)
    edges["Redeems"] = _edge_table(scripts.text(code), pa.array(height), height, value)
    (height, code), value = _group_sum([tx_height[pay_tx], pay_code], pay_value)
    edges["Credits"] = _edge_table(pa.array(height), scripts.text(code), height, value)

    node_code = np.concatenate([out_codes, tin_code])
    node_height = np.concatenate([outputs["height"].to_numpy(), tx_height[tin_tx]])
    first_height = np.full(scripts.count, np.iinfo(np.int64).max)
    np.minimum.at(first_height, node_code, node_height)
    present = np.flatnonzero(first_height < np.iinfo(np.int64).max)
    script_nodes = pa.table({"id": scripts.text(present), "first_height": first_height[present]})
    return edges, script_nodes


def _edge_table(src: pa.Array, dst: pa.Array, height: np.ndarray, value: np.ndarray) -> pa.Table:
    return pa.table({"src": src, "dst": dst, "height": pa.array(height, pa.int64()),
                     "value": pa.array(value, pa.int64())})
