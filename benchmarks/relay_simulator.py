"""Relay simulator throughput, peak memory, and the largest load that fits a time budget.

    python benchmarks/relay_simulator.py [--sizes 200x1000,1000x2000] [--budget 600]

For each ``NODESxTRANSACTIONS`` size: the network is built, every transaction is relayed to
every node (node 0 logged), and we report simulator events per second, events per transaction
and per node-transaction, and the process's peak RSS. The work per transaction grows with the
number of links (each link carries about one announcement per transaction), so the last size's
events per node-transaction extrapolate to the largest network x transaction load simulated in
``--budget`` seconds, printed for the issue's target (10,000 nodes, 100,000 transactions). The
ratio column compares each size with the first (the peer run), so contention on the machine
shows up as a drift of events/s rather than as a wrong absolute number.
Transactions have synthetic origins and times here: this measures the relay engine, not the
chain simulator.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from framework.memory import PeakMemorySampler
from libraries.simulation.relay import RelayConfig, RelaySimulator


def measure(nodes: int, transactions: int, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    origins = rng.integers(0, nodes, transactions)
    times = np.cumsum(rng.exponential(1 / 5.0, transactions))  # 5 tx/s, about mainnet's rate
    txids = [f"{i:064x}" for i in range(transactions)]
    with PeakMemorySampler() as memory:
        started = time.perf_counter()
        run = RelaySimulator(RelayConfig(nodes=nodes, seed=seed)).run(origins, times, txids)
        wall = time.perf_counter() - started
    return {"nodes": nodes, "transactions": transactions, "wall_s": wall,
            "events": run.event_count, "events_per_s": run.event_count / wall,
            "events_per_node_tx": run.event_count / (nodes * transactions),
            "peak_mb": memory.peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200x1000,1000x2000")
    parser.add_argument("--budget", type=float, default=600.0)
    args = parser.parse_args()
    rows = [measure(*map(int, size.split("x"))) for size in args.sizes.split(",")]
    print(f"{'nodes':>6} {'txs':>7} {'wall s':>8} {'events':>11} {'events/s':>10} "
          f"{'ev/(node*tx)':>12} {'peak MB':>8} {'events/s vs first':>18}")
    for row in rows:
        print(f"{row['nodes']:>6} {row['transactions']:>7} {row['wall_s']:>8.1f} "
              f"{row['events']:>11,} {row['events_per_s']:>10,.0f} "
              f"{row['events_per_node_tx']:>12.1f} {row['peak_mb']:>8.0f} "
              f"{row['events_per_s'] / rows[0]['events_per_s']:>18.2f}")
    last = rows[-1]
    capacity = args.budget * last["events_per_s"] / last["events_per_node_tx"]
    print(f"\nin {args.budget:.0f} s: about {capacity:,.0f} node-transactions "
          f"(e.g. {capacity / 10_000:,.0f} transactions on 10,000 nodes, or "
          f"{capacity / 1_000:,.0f} on 1,000); the target 10,000 x 100,000 = 1e9 needs "
          f"{1e9 / capacity:.0f}x this budget")


if __name__ == "__main__":
    main()
