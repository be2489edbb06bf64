"""Forest Fire sampling throughput on a large simulated Bitcoin graph, and how cost scales.

    python benchmarks/forest_fire.py [--days 200] [--wallets 9000] [--sizes 1000,10000,100000]

Builds the EBA graph of a chain simulator economy (SYNTHETIC; ``--days`` x ``--wallets`` sets its
size; the defaults give 10.5 million edges, 8.2 GB peak RSS, about 9 minutes) through the real
ETL (Core JSON -> tables -> DuckDB), indexes it once
(:class:`libraries.graph_etl.sampling.GraphIndex`), and burns
samples of each size, reporting sampled nodes and induced edges per second. The peer run is the
same sampler on the graph of the first tenth of the blocks: if the cost grows with the sample
and not with the graph, equal sample sizes take about equal time on both (the ratio column).
Graph build time and peak RSS are printed too.
"""

from __future__ import annotations

import argparse
import time

from framework.memory import PeakMemorySampler
from libraries.graph_etl.graph import build_graph
from libraries.graph_etl.sampling import GraphIndex, forest_fire, subgraph
from libraries.graph_etl.tables import tables_from_json
from libraries.simulation.chain import ChainSimulator, SimulationConfig


def _graph(blocks: list[dict]) -> tuple[GraphIndex, float, int]:
    started = time.perf_counter()
    tables, prevouts = tables_from_json(blocks, "chain_sim blocks")
    graph = build_graph(tables, prevouts)
    built = time.perf_counter() - started
    return GraphIndex(graph), built, sum(t.num_rows for t in graph.edges.values())


def _sample(index: GraphIndex, size: int, seed: int = 0) -> tuple[float, int]:
    started = time.perf_counter()
    sample = subgraph(index, forest_fire(index, size, seed=seed))
    return time.perf_counter() - started, sum(t.num_rows for t in sample.edges.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--wallets", type=int, default=9000)
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    with PeakMemorySampler() as memory:
        started = time.perf_counter()
        blocks = ChainSimulator(SimulationConfig(days=args.days,
                                                 individual_wallet=args.wallets)).run()[1:]
        simulated = time.perf_counter() - started
        full, built, edges = _graph(blocks)
        small, _, small_edges = _graph(blocks[:max(2, len(blocks) // 10)])
        del blocks
        sizes = [int(s) for s in args.sizes.split(",")]
        rows = [(size, _sample(full, size), _sample(small, size) if size <= small.size else None)
                for size in sizes]
    print(f"graph: {full.size:,} nodes, {edges:,} edges (simulated {simulated:.0f} s, ETL "
          f"{built:.0f} s, {edges / built:,.0f} edges/s); peer graph: {small.size:,} nodes, "
          f"{small_edges:,} edges; peak RSS {memory.peak_mb:,.0f} MB")
    print(f"{'sample':>8} {'s':>7} {'edges':>10} {'edges/s':>10} {'nodes/s':>10} "
          f"{'s on 1/10 graph':>16} {'time ratio':>11}")
    for size, (seconds, sampled), peer in rows:
        peer_text = (f"{peer[0]:>16.2f} {seconds / peer[0]:>11.2f}" if peer
                     else f"{'(graph smaller)':>16} {'-':>11}")
        print(f"{size:>8,} {seconds:>7.2f} {sampled:>10,} {sampled / seconds:>10,.0f} "
              f"{size / seconds:>10,.0f} {peer_text}")


if __name__ == "__main__":
    main()
