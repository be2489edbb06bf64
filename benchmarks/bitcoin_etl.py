"""Bitcoin graph ETL throughput on a real block, side by side with python-bitcoinlib.

    python benchmarks/bitcoin_etl.py [--repeat 5] [--data-dir ../shared/data]

On the real 2019 fixture block (3,315 transactions, 1,341 segwit) it times, on one core:
python-bitcoinlib's ``CBlock.deserialize`` (the peer: deserialisation only), our consensus
parse (txids, merkle check), parse -> columnar tables (addresses), and the whole ETL parse ->
resolve -> edges (DuckDB). The block's inputs spend outputs of earlier blocks that the fixture
does not hold, so the benchmark resolves them against a UTXO table made from its own inputs
(one row per spent outpoint, so the join does the real work). Ratios are against the peer, run
in the same process, so a busy machine moves both; peak RSS is reported. The last lines
extrapolate to Bitcoin's ~1.1 billion transactions up to block 863,000 on 16 cores, assuming
throughput per transaction like this block's and one independent block range per core.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pyarrow as pa

from framework.memory import PeakMemorySampler
from plugins.bitcoin_graph.consensus import parse_block
from plugins.bitcoin_graph.graph import build_graph
from plugins.bitcoin_graph.tables import to_tables

BLOCK = ("bitcoin_blocks/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2"
         ".blk")
CHAIN_TRANSACTIONS = 1.1e9  # mainnet transactions up to block ~863,000


def _per_call(function, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
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
    graph = build_graph(tables, prior)
    edges = sum(t.num_rows for t in graph.edges.values())
    n_tx = tables.transactions.num_rows

    with PeakMemorySampler() as memory:
        stages = {
            "python-bitcoinlib CBlock.deserialize (peer)": _per_call(
                lambda: CBlock.deserialize(raw), args.repeat),
            "parse (txids, merkle check)": _per_call(lambda: parse_block(raw), args.repeat),
            "parse -> tables (addresses)": _per_call(
                lambda: to_tables([parse_block(raw)]), args.repeat),
            "parse -> resolve -> edges (whole ETL)": _per_call(
                lambda: build_graph(to_tables([parse_block(raw)]), prior), args.repeat),
        }
    peer = stages["python-bitcoinlib CBlock.deserialize (peer)"]
    print(f"block: {n_tx:,} transactions, {inputs.num_rows:,} inputs, {edges:,} edges; "
          f"one core; peak RSS {memory.peak_mb:.0f} MB")
    print(f"{'stage':45s} {'s/block':>8s} {'blocks/s':>9s} {'edges/s':>10s} {'vs peer':>8s}")
    for name, seconds in stages.items():
        edge_rate = f"{edges / seconds:,.0f}" if "edges" in name else "-"
        print(f"{name:45s} {seconds:8.3f} {1 / seconds:9.2f} {edge_rate:>10s} "
              f"{peer / seconds:7.2f}x")
    whole = stages["parse -> resolve -> edges (whole ETL)"]
    per_tx = whole / n_tx
    days = CHAIN_TRANSACTIONS * per_tx / 16 / 86400
    print(f"\nextrapolation: {per_tx * 1e6:.0f} us per transaction -> ~{days:.1f} days for "
          f"{CHAIN_TRANSACTIONS:.1e} transactions on 16 cores (the published build: 2-3 days of "
          f"traversal plus 2-3 weeks of database import)")


if __name__ == "__main__":
    main()
