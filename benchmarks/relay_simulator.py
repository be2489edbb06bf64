"""Relay simulator speed and memory: the two engines side by side, then a mainnet-sized run.

    python benchmarks/relay_simulator.py [--nodes 10000] [--transactions 100000] [--json]

1. **Side by side** (``--peer-size``, default 200x2000): the event simulator
   (:class:`libraries.simulation.relay.RelaySimulator`, every message of every link) and the
   first-arrival engine (:mod:`libraries.simulation.first_arrival`) relay the same transactions
   over the very same network; wall seconds of each and their ratio, and the target's mean
   first-arrival delay from each (they simulate the same process: the delays agree up to
   sampling noise; ``tests/libraries/simulation/test_first_arrival.py`` tests it).
2. **The requested size** with the first-arrival engine (``--engine event`` runs the event
   simulator instead): topology built, every transaction relayed, the target's event log made.
   Printed: wall seconds (topology, relay, total), ``events_per_s`` (link announcements relaxed
   per second; the event simulator's events are messages, so the two rates are not the same
   unit), milliseconds per transaction, and the process's peak RSS.

Transactions have random origins (``--own`` of them the target's) and Poisson creation times
at ``--tx-rate`` per second (mainnet's order of magnitude). ``--threads`` numba threads relay
transactions in parallel (default: every core; results do not depend on it). ``--json`` adds
one line with ``wall_s``, ``events_per_s``, ``peak_rss_mb`` and the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from framework.memory import PeakMemorySampler
from libraries.simulation.first_arrival import FirstArrivalSimulator
from libraries.simulation.relay import RelayConfig, RelaySimulator


def workload(nodes: int, transactions: int, own: float, tx_rate: float,
             seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    origins = rng.integers(1, nodes, transactions)
    origins[rng.random(transactions) < own] = 0
    times = np.cumsum(rng.exponential(1 / tx_rate, transactions))
    return origins, times, [f"{i:064x}" for i in range(transactions)]


def side_by_side(nodes: int, transactions: int, args: argparse.Namespace) -> dict:
    config = RelayConfig(nodes=nodes, probes=args.probes, seed=args.seed)
    origins, times, txids = workload(nodes, transactions, args.own, args.tx_rate, args.seed)
    event = RelaySimulator(config)
    started = time.perf_counter()
    expected = event.run(origins, times, txids)
    event_wall = time.perf_counter() - started
    engine = FirstArrivalSimulator(config, topology=event.topology(), threads=args.threads)
    engine.run(origins[:50], times[:50], txids[:50])  # loads the compiled kernels
    started = time.perf_counter()
    got = engine.run(origins, times, txids)
    wall = time.perf_counter() - started
    others = origins != 0
    return {"nodes": nodes, "transactions": transactions, "event_wall_s": round(event_wall, 3),
            "first_arrival_wall_s": round(wall, 3), "speedup": round(event_wall / wall, 1),
            "event_mean_delay_s": round(float((expected.first_seen - times)[others].mean()), 3),
            "first_arrival_mean_delay_s": round(float((got.first_seen - times)[others].mean()), 3),
            "event_log_rows": len(expected.events), "first_arrival_log_rows": len(got.events)}


def full_size(args: argparse.Namespace) -> dict:
    config = RelayConfig(nodes=args.nodes, probes=args.probes, seed=args.seed,
                         target_inbound=args.target_inbound,
                         listening_share=args.listening_share,
                         validation_delay=args.validation_delay)
    origins, times, txids = workload(args.nodes, args.transactions, args.own, args.tx_rate,
                                     args.seed)
    with PeakMemorySampler() as memory:
        started = time.perf_counter()
        if args.engine == "event":
            simulator = RelaySimulator(config)
        else:
            simulator = FirstArrivalSimulator(config, threads=args.threads)
        built = time.perf_counter()
        run = simulator.run(origins, times, txids)
        finished = time.perf_counter()
    wall = finished - started
    return {"engine": args.engine, "nodes": args.nodes, "transactions": args.transactions,
            "threads": args.threads, "target_links": int(run.events["peer"].nunique()),
            "topology_s": round(built - started, 2), "relay_s": round(finished - built, 2),
            "wall_s": round(wall, 2), "events": run.event_count,
            "events_per_s": round(run.event_count / wall), "ms_per_tx": round(
                1000 * wall / args.transactions, 3), "log_rows": len(run.events),
            "peak_rss_mb": round(memory.peak_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--engine", choices=["first_arrival", "event"], default="first_arrival")
    parser.add_argument("--peer-size", default="200x2000",
                        help="NODESxTRANSACTIONS run by both engines side by side ('' skips)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--probes", type=int, default=4)
    parser.add_argument("--target-inbound", type=int, default=None)
    parser.add_argument("--listening-share", type=float, default=1.0)
    parser.add_argument("--validation-delay", type=float, default=0.0)
    parser.add_argument("--own", type=float, default=0.01, help="share of the target's txs")
    parser.add_argument("--tx-rate", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict = {}
    if args.peer_size:
        nodes, transactions = map(int, args.peer_size.split("x"))
        peer = side_by_side(nodes, transactions, args)
        result["side_by_side"] = peer
        print(f"side by side, {nodes} nodes x {transactions} transactions, same network: event "
              f"simulator {peer['event_wall_s']:.2f} s, first-arrival "
              f"{peer['first_arrival_wall_s']:.3f} s ({peer['speedup']:.0f}x); target's mean "
              f"first-arrival delay {peer['event_mean_delay_s']:.3f} s vs "
              f"{peer['first_arrival_mean_delay_s']:.3f} s; log rows "
              f"{peer['event_log_rows']:,} vs {peer['first_arrival_log_rows']:,}")
    run = full_size(args)
    result.update(run)
    print(f"{run['engine']}: {run['nodes']:,} nodes x {run['transactions']:,} transactions, "
          f"{run['threads']} threads, target with {run['target_links']} links: "
          f"{run['wall_s']:.1f} s wall (topology {run['topology_s']:.2f} s, relay "
          f"{run['relay_s']:.1f} s), {run['events_per_s']:,} events/s, "
          f"{run['ms_per_tx']:.2f} ms/tx, {run['log_rows']:,} log rows, peak RSS "
          f"{run['peak_rss_mb']:,} MB")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
