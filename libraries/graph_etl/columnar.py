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

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
        order = np.argsort(packed, kind="stable")  # rows arrive nearly sorted: timsort runs
        packed = packed[order]
        starts = np.flatnonzero(np.r_[True, packed[1:] != packed[:-1]])
        return [k[order[starts]] for k in keys], np.add.reduceat(values[order], starts)
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
        encoded = pa.chunked_array([c for column in columns for c in (
            column.chunks if isinstance(column, pa.ChunkedArray) else [column])],
            type=pa.string()).combine_chunks().dictionary_encode()
        order = pc.sort_indices(encoded.dictionary).to_numpy()
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        self.ids = encoded.dictionary.take(pa.array(order))
        self.codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]

    def text(self, codes: np.ndarray) -> pa.Array:
        return self.ids.take(pa.array(codes))


def _resolve(tables: BlockTables, utxos: pa.Table | None) -> tuple[np.ndarray, np.ndarray, pa.Table]:
    """For each input, the row of the batch's outputs it spends (or -1) and the row of the
    returned UTXO rows (or -1); the UTXO rows returned are only those the batch spends."""
    inputs, outputs, txs = tables.inputs, tables.outputs, tables.transactions
    n = inputs.num_rows
    from_outputs = np.full(n, -1, np.int64)
    if n and outputs.num_rows:
        found = pc.index_in(inputs["prev_txid"], value_set=txs["txid"])
        hit = ~np.asarray(pc.is_null(found))
        spent_tx = txs["tx"].to_numpy()[found.to_numpy(zero_copy_only=False)[hit].astype(np.int64)]
        # outputs are in (tx, vout) order: one sorted key finds each outpoint
        key = outputs["tx"].to_numpy() * (1 << 32) + outputs["vout"].to_numpy()
        wanted = spent_tx * (1 << 32) + inputs["prev_vout"].to_numpy()[hit]
        at = np.minimum(np.searchsorted(key, wanted), len(key) - 1)
        rows = np.flatnonzero(hit)
        match = key[at] == wanted
        from_outputs[rows[match]] = at[match]
    from_utxos = np.full(n, -1, np.int64)
    open_rows = np.flatnonzero(from_outputs < 0)
    if utxos is None or not len(open_rows):
        return from_outputs, from_utxos, (utxos.slice(0, 0) if utxos is not None else None)
    needed = pc.unique(inputs["prev_txid"].take(pa.array(open_rows)))
    spent = utxos.filter(pc.is_in(utxos["txid"], value_set=needed))
    code = pc.index_in(spent["txid"], value_set=needed).to_numpy(zero_copy_only=False)
    key = code.astype(np.int64) * (1 << 32) + spent["vout"].to_numpy()
    order = np.argsort(key, kind="stable")
    key = key[order]
    wanted = (pc.index_in(inputs["prev_txid"].take(pa.array(open_rows)), value_set=needed)
              .to_numpy(zero_copy_only=False).astype(np.int64) * (1 << 32)
              + inputs["prev_vout"].to_numpy()[open_rows])
    if len(key):
        at = np.minimum(np.searchsorted(key, wanted), len(key) - 1)
        match = key[at] == wanted
        from_utxos[open_rows[match]] = order[at[match]]
    return from_outputs, from_utxos, spent


def build_columnar(tables: BlockTables, utxos: pa.Table | None, max_inputs: int,
                   max_outputs: int) -> tuple[dict[str, pa.Table], pa.Table]:
    """Mints, Transfers, Fee, Redeems and Credits edges and the Script nodes of a batch, each
    sorted as :func:`.graph.build_graph` returns them."""
    inputs, outputs, txs = tables.inputs, tables.outputs, tables.transactions
    from_outputs, from_utxos, spent = _resolve(tables, utxos)
    unresolved = np.flatnonzero((from_outputs < 0) & (from_utxos < 0))
    if len(unresolved):
        first = inputs.slice(int(unresolved[0]), 1).to_pylist()[0]
        raise GraphDataError(f"{len(unresolved)} inputs do not resolve, e.g. input "
                             f"{first['n']} of tx {first['txid']} spends {first['prev_txid']}:"
                             f"{first['prev_vout']}, which is neither an output of the loaded "
                             f"blocks nor in the UTXO table")
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
    (src, dst, height), value = _group_sum([pairs[0], pairs[1], pairs[2] + low], pairs[3])
    edges["Fee"] = _edge_table(scripts.text(src), scripts.text(dst), height, value)

    (code, height), value = _group_sum([tin_code, tx_height[tin_tx]], tin_value)
    edges["Redeems"] = _edge_table(scripts.text(code), pa.array(height), height, value)
    (height, code), value = _group_sum([tx_height[pay_tx], pay_code], pay_value)
    edges["Credits"] = _edge_table(pa.array(height), scripts.text(code), height, value)

    node_code = np.concatenate([out_codes, tin_code])
    node_height = np.concatenate([outputs["height"].to_numpy(), tx_height[tin_tx]])
    first_height = np.full(len(scripts.ids), np.iinfo(np.int64).max)
    np.minimum.at(first_height, node_code, node_height)
    present = np.flatnonzero(first_height < np.iinfo(np.int64).max)
    script_nodes = pa.table({"id": scripts.text(present), "first_height": first_height[present]})
    return edges, script_nodes


def _edge_table(src: pa.Array, dst: pa.Array, height: np.ndarray, value: np.ndarray) -> pa.Table:
    return pa.table({"src": src, "dst": dst, "height": pa.array(height, pa.int64()),
                     "value": pa.array(value, pa.int64())})
