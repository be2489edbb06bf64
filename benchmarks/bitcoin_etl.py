"""Bitcoin graph ETL throughput on a real block, side by side with python-bitcoinlib.

    python benchmarks/bitcoin_etl.py [--rounds 15] [--data-dir ../shared/data]

On the real 2019 fixture block (3,315 transactions, 1,341 segwit) it times, on one core:
python-bitcoinlib's ``CBlock.deserialize`` (the peer: deserialisation only), our consensus
parse (txids, merkle check), parse -> columnar tables (addresses), and the whole ETL parse ->
resolve -> edges (DuckDB with one thread; one connection reused across calls, as a chain build
opens one for all its blocks). The block's inputs spend outputs of earlier blocks that the
fixture does not hold, so the benchmark resolves them against a UTXO table made from its own
inputs (one row per spent outpoint, so the join does the real work).

Times are this process's CPU seconds (every stage runs on one thread, so that is one core's
time, and other work on the machine moves it little): the median over rounds that each run
every stage once. Wall seconds are printed beside them. "vs peer" is the median over rounds of
the peer's time over the stage's in that round (a paired measure: same process, same round);
"(medians)" is the ratio of the two medians, which a machine whose speed swings within the run
pulls apart from it. Peak RSS is reported. The last lines extrapolate to
Bitcoin's ~1.1 billion transactions up to block 863,000 on 16 cores, assuming throughput per
transaction like this block's and one independent block range per core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import pyarrow as pa

from framework.memory import PeakMemorySampler
from libraries.bitcoin_wire.consensus import parse_block
from libraries.graph_etl.graph import DuckDBEngine, build_graph
from libraries.graph_etl.tables import to_tables

BLOCK = ("bitcoin_blocks/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2"
         ".blk")
CHAIN_TRANSACTIONS = 1.1e9  # mainnet transactions up to block ~863,000


PEER = "python-bitcoinlib CBlock.deserialize (peer)"


def _interleaved(stages: dict, rounds: int) -> dict[str, tuple[float, float, float]]:
    """Per stage: median CPU seconds per call, median wall seconds, and the median over rounds
    of the peer's CPU time divided by the stage's in the same round. Every round runs each stage
    once, so a machine whose speed drifts (other tenants, frequency) moves both sides of each
    ratio alike; one warm-up round first (numba loads its kernels)."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("CHAINSLEUTH_DATA_DIR", "../shared/data")))
    args = parser.parse_args()
    raw = (args.data_dir / BLOCK).read_bytes()
    try:
        from bitcoin.core import CBlock
    except ImportError as exc:
        raise SystemExit("the peer needs python-bitcoinlib: pip install python-bitcoinlib") from exc

    tables = to_tables([parse_block(raw)])
    inputs = tables.inputs
    prior = pa.table({"txid": inputs["prev_txid"], "vout": inputs["prev_vout"],
                      "script_id": pa.array(["bench:prevout"] * inputs.num_rows),
                      "value": pa.array([10**15] * inputs.num_rows, pa.int64())})
    engine = DuckDBEngine(threads=1)
    graph = build_graph(tables, prior, engine=engine)
    edges = sum(t.num_rows for t in graph.edges.values())
    n_tx = tables.transactions.num_rows

    with PeakMemorySampler() as memory:
        stages = _interleaved({
            PEER: lambda: CBlock.deserialize(raw),
            "parse (txids, merkle check)": lambda: parse_block(raw),
            "parse -> tables (addresses)": lambda: to_tables([parse_block(raw)]),
            "parse -> resolve -> edges (whole ETL)":
                lambda: build_graph(to_tables([parse_block(raw)]), prior, engine=engine),
        }, args.rounds)
    print(f"block: {n_tx:,} transactions, {inputs.num_rows:,} inputs, {edges:,} edges; "
          f"one core; peak RSS {memory.peak_mb:.0f} MB")
    peer = stages[PEER][0]
    print(f"{'stage':45s} {'cpu s/block':>11s} {'blocks/s':>9s} {'edges/s':>10s} "
          f"{'vs peer':>8s} {'(medians)':>9s} {'wall s/block':>12s}")
    for name, (seconds, wall, ratio) in stages.items():
        edge_rate = f"{edges / seconds:,.0f}" if "edges" in name else "-"
        print(f"{name:45s} {seconds:11.4f} {1 / seconds:9.2f} {edge_rate:>10s} "
              f"{ratio:7.2f}x {peer / seconds:8.2f}x {wall:12.4f}")
    whole = stages["parse -> resolve -> edges (whole ETL)"][0]
    per_tx = whole / n_tx
    hours = CHAIN_TRANSACTIONS * per_tx / 16 / 3600
    print(f"\nextrapolation: {per_tx * 1e6:.0f} us per transaction -> ~{hours:.1f} hours for "
          f"{CHAIN_TRANSACTIONS:.1e} transactions on 16 cores (the published build: 2-3 days of "
          f"traversal plus 2-3 weeks of database import)")


if __name__ == "__main__":
    main()
