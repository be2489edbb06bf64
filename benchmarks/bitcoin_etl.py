"""Bitcoin graph ETL throughput on a real block, side by side with python-bitcoinlib.

    python benchmarks/bitcoin_etl.py [--rounds 15] [--processes 3] [--blocks 100] [--json]

The block: the real 2019 fixture (3,315 transactions, 1,341 segwit). Its inputs spend outputs
of earlier blocks that the fixture does not hold, so the benchmark gives it **realistic
prevouts**: every spent output gets its own script (P2PKH, P2SH and P2WPKH in the proportions of
the block's own outputs, one in seven drawn from a pool of 300 reused addresses, as exchanges'
are) and a value such that each transaction pays a fee in proportion to its size and the fees
add up to what the coinbase claims above the subsidy, so Mints carry exactly the subsidy and
every edge value is of the size real ones have.

**In-process, per block** (``paired_ratio``): rounds that each run python-bitcoinlib's
``CBlock.deserialize`` (the peer: deserialisation only) and every stage of ours once, in CPU
seconds of this process (one core: every stage runs on one thread, so other work on the
machine moves the times little); the ratio is the median over rounds of the peer's time over
the whole ETL's in the same round (paired), the ratio of the medians printed beside it. Stages:
our consensus parse (txids, merkle check), parse -> tables (addresses, txid columns), and the
whole ETL parse -> resolve -> edges with the default in-memory engine. The DuckDB engine (the
same model as SQL; spills to disk) is timed beside them for reference.

**Whole process, start-up included** (``whole_process_ratio``): a fresh interpreter that
imports python-bitcoinlib and deserialises the block ``--blocks`` times, against a fresh
interpreter that imports our libraries and runs the whole ETL on it ``--blocks`` times; CPU
seconds (user + system) of each child, ``--processes`` pairs, median of the per-pair ratios.

``--json`` adds one line for machines: ``paired_ratio``, ``whole_process_ratio``,
``blocks_per_s``, ``tx_per_s`` (the whole ETL in-process), ``peak_rss_mb`` and the per-stage
CPU seconds.

What this does not measure: the inputs resolve against a table of exactly the block's spent
outputs. In a chain build they resolve against the whole UTXO set, scanned once per append
(about 0.9 us per row of the set per append), and block ranges are not independent (each
needs the set the previous one left): ``benchmarks/chain_scale.py`` measures that, and its
extrapolation to mainnet is the one to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from framework.memory import PeakMemorySampler
from libraries.bitcoin_wire.addresses import script_ids_of
from libraries.bitcoin_wire.consensus import block_subsidy, coinbase_height, parse_block
from libraries.graph_etl.graph import DuckDBEngine, build_graph
from libraries.graph_etl.tables import BlockTables, to_tables

BLOCK = ("bitcoin_blocks/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2"
         ".blk")
PEER = "python-bitcoinlib CBlock.deserialize (peer)"
WHOLE = "parse -> resolve -> edges (whole ETL)"
ROOT = Path(__file__).resolve().parents[1]


def realistic_prevouts(tables: BlockTables, height: int, seed: int = 0) -> pa.Table:
    """The outputs the block's inputs spend from earlier blocks, invented as the module
    docstring says. Inputs that spend the block's own outputs keep those outputs' values."""
    rng = np.random.default_rng(seed)
    inputs, outputs, txs = tables.inputs, tables.outputs, tables.transactions
    n_tx = txs.num_rows
    own_txids = set(txs["txid"].to_pylist())
    outside = np.array([t not in own_txids for t in inputs["prev_txid"].to_pylist()])
    value_of = {(t, v): value for t, v, value in zip(outputs["txid"].to_pylist(),
                                                     outputs["vout"].to_pylist(),
                                                     outputs["value"].to_pylist())}
    internal = np.zeros(n_tx, np.int64)
    for tx, txid, vout in zip(inputs["tx"].to_numpy()[~outside],
                              inputs["prev_txid"].filter(pa.array(~outside)).to_pylist(),
                              inputs["prev_vout"].to_numpy()[~outside]):
        internal[tx] += value_of[(txid, int(vout))]
    tx_of_input = inputs["tx"].to_numpy()[outside]
    n_inputs = len(tx_of_input)
    coinbase = txs["coinbase"].to_numpy(zero_copy_only=False)
    paid = np.bincount(outputs["tx"].to_numpy(), weights=outputs["value"].to_numpy(),
                       minlength=n_tx).astype(np.int64)
    spenders = np.bincount(tx_of_input, minlength=n_tx)
    # transactions spending only the block's outputs pay the fee they really paid
    fixed = ~coinbase & (spenders == 0)
    sizes = (spenders * 148 + 34 * txs["n_out"].to_numpy()) * (spenders > 0)
    fees_total = (int(paid[coinbase].sum()) - block_subsidy(height)
                  - int((internal - paid)[fixed].sum()))
    fees = np.floor(fees_total * sizes / sizes.sum()).astype(np.int64)
    fees[np.argmax(sizes)] += fees_total - int(fees.sum())
    need = paid + fees - internal
    weights = rng.gamma(1.0, size=n_inputs)
    share = weights / np.bincount(tx_of_input, weights=weights, minlength=n_tx)[tx_of_input]
    values = np.floor(need[tx_of_input] * share).astype(np.int64)
    first = np.r_[True, tx_of_input[1:] != tx_of_input[:-1]]
    short = need - np.bincount(tx_of_input, weights=values, minlength=n_tx).astype(np.int64)
    values[first] += short[tx_of_input[first]]

    kinds = rng.choice(3, n_inputs, p=_script_mix(outputs))
    pool = rng.integers(0, 256, (300, 20), dtype=np.uint8)
    reused = rng.random(n_inputs) < 1 / 7
    hashes = rng.integers(0, 256, (n_inputs, 20), dtype=np.uint8)
    hashes[reused] = pool[rng.integers(0, 300, int(reused.sum()))]
    templates = ((b"\x76\xa9\x14", b"\x88\xac"), (b"\xa9\x14", b"\x87"), (b"\x00\x14", b""))
    scripts = [templates[k][0] + h.tobytes() + templates[k][1] for k, h in zip(kinds, hashes)]
    script_id, _ = script_ids_of(scripts)
    keep = pa.array(outside)
    return pa.table({"txid": inputs["prev_txid"].filter(keep),
                     "vout": inputs["prev_vout"].filter(keep),
                     "script_id": script_id, "value": pa.array(values, pa.int64())})


def _script_mix(outputs: pa.Table) -> list[float]:
    types = outputs["script_type"].to_pylist()
    counts = np.array([types.count(t) for t in ("pubkeyhash", "scripthash",
                                                 "witness_v0_keyhash")], float)
    return list(counts / counts.sum())


def _inputs(data_dir: Path) -> tuple[bytes, pa.Table]:
    raw = (data_dir / BLOCK).read_bytes()
    block = parse_block(raw)
    return raw, realistic_prevouts(to_tables([block]), coinbase_height(block))


def _interleaved(stages: dict, rounds: int) -> dict[str, tuple[float, float, float]]:
    """Per stage: median CPU seconds per call, median wall seconds, and the median over rounds
    of the peer's CPU time divided by the stage's in the same round. One warm-up round first
    (numba loads its kernels from the cache)."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in stages}
    for round_ in range(rounds + 1):
        for name, function in stages.items():
            cpu, wall = time.process_time(), time.perf_counter()
            function()
            if round_:
                samples[name].append((time.process_time() - cpu, time.perf_counter() - wall))
    peer = [c for c, _ in samples[PEER]]
    return {name: (statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs),
                   statistics.median(p / c for p, (c, _) in zip(peer, runs)))
            for name, runs in samples.items()}


def _child_cpu(argv: list[str]) -> float:
    """CPU seconds (user + system) a child process takes from start to exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _whole_process(data_dir: Path, blocks: int, processes: int) -> tuple[float, float, float]:
    """(median ratio, median peer CPU s, median ours CPU s) over ``processes`` pairs."""
    peer_code = ("import sys; from bitcoin.core import CBlock; raw = open(sys.argv[1], 'rb')"
                 ".read(); [CBlock.deserialize(raw) for _ in range(int(sys.argv[2]))]")
    pairs = []
    for _ in range(processes):
        peer = _child_cpu([sys.executable, "-c", peer_code, str(data_dir / BLOCK), str(blocks)])
        ours = _child_cpu([sys.executable, __file__, "--worker", str(blocks),
                           "--data-dir", str(data_dir)])
        pairs.append((peer, ours))
    return (statistics.median(p / o for p, o in pairs), statistics.median(p for p, _ in pairs),
            statistics.median(o for _, o in pairs))


def _worker(data_dir: Path, blocks: int) -> None:
    """The whole ETL on the block ``blocks`` times, as a user's process would run it."""
    raw, prior = _inputs(data_dir)
    for _ in range(blocks):
        build_graph(to_tables([parse_block(raw)]), prior)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--processes", type=int, default=3,
                        help="whole-process pairs (0 skips them)")
    parser.add_argument("--blocks", type=int, default=100, help="blocks per whole process")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("CHAINSLEUTH_DATA_DIR", "../shared/data")))
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        _worker(args.data_dir, args.worker)
        return
    try:
        from bitcoin.core import CBlock
    except ImportError as exc:
        raise SystemExit("the peer needs python-bitcoinlib: pip install python-bitcoinlib") from exc

    raw, prior = _inputs(args.data_dir)
    tables = to_tables([parse_block(raw)])
    graph = build_graph(tables, prior)
    assert sum(graph.edges["Mints"]["value"].to_pylist()) == block_subsidy(
        int(tables.blocks["height"][0].as_py())), "prevouts are not realistic: Mints != subsidy"
    edges = sum(t.num_rows for t in graph.edges.values())
    n_tx = tables.transactions.num_rows
    duckdb_engine = DuckDBEngine(threads=1)
    with PeakMemorySampler() as memory:
        stages = _interleaved({
            PEER: lambda: CBlock.deserialize(raw),
            "parse (txids, merkle check)": lambda: parse_block(raw),
            "parse -> tables (addresses)": lambda: to_tables([parse_block(raw)]),
            WHOLE: lambda: build_graph(to_tables([parse_block(raw)]), prior),
        }, args.rounds)
        # the SQL engine on its own rounds: interleaved, its allocations would slow the others
        reference = "whole ETL, DuckDB engine (reference)"
        stages[reference] = _interleaved({
            PEER: lambda: CBlock.deserialize(raw),
            reference: lambda: build_graph(to_tables([parse_block(raw)]), prior,
                                           engine=duckdb_engine),
        }, max(args.rounds // 3, 1))[reference]
    print(f"block: {n_tx:,} transactions, {tables.inputs.num_rows:,} inputs, {edges:,} edges; "
          f"one core; peak RSS {memory.peak_mb:.0f} MB")
    peer = stages[PEER][0]
    print(f"{'stage':45s} {'cpu s/block':>11s} {'blocks/s':>9s} {'edges/s':>10s} "
          f"{'vs peer':>8s} {'(medians)':>9s} {'wall s/block':>12s}")
    for name, (seconds, wall, ratio) in stages.items():
        edge_rate = f"{edges / seconds:,.0f}" if "edges" in name or "ETL" in name else "-"
        print(f"{name:45s} {seconds:11.4f} {1 / seconds:9.2f} {edge_rate:>10s} "
              f"{ratio:7.2f}x {peer / seconds:8.2f}x {wall:12.4f}")
    whole = stages[WHOLE][0]
    result = {"paired_ratio": round(stages[WHOLE][2], 2), "blocks_per_s": round(1 / whole, 2),
              "tx_per_s": round(n_tx / whole), "peak_rss_mb": round(memory.peak_mb),
              "stages_cpu_s": {name: round(values[0], 5) for name, values in stages.items()}}
    if args.processes:
        ratio, peer_cpu, ours_cpu = _whole_process(args.data_dir, args.blocks, args.processes)
        print(f"\nwhole process, {args.blocks} blocks, start-up included (CPU s, median of "
              f"{args.processes}): peer {peer_cpu:.2f}, ours {ours_cpu:.2f}: {ratio:.2f}x")
        result.update(whole_process_ratio=round(ratio, 2), whole_process_blocks=args.blocks,
                      whole_process_cpu_s={"peer": round(peer_cpu, 2), "ours": round(ours_cpu, 2)})
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
