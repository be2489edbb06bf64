"""The v1 graph of a long chain built through the store: cost per transaction and memory as it grows.

    python benchmarks/chain_scale.py [--transactions 10000000] [--blocks-per-append 100]
                                     [--checkpoints 1000000,3000000,10000000] [--json]

A synthetic chain (:mod:`libraries.simulation.bulk_chain`: real consensus bytes, 2,000
transactions a block, random spends of earlier outputs, a UTXO set that grows as mainnet's does)
is appended to a :class:`libraries.graph_etl.store.GraphStore` in a temporary directory, as
``chainsleuth graph build`` appends block files: parse -> tables -> ``append`` (inputs resolved
against the stored UTXO set, edges, Parquet parts, the new UTXO set and undo data written and
fsynced, one atomic generation per append). Generating the blocks is not counted.

One process appends batch after batch, so the store object keeps the UTXO set it has just
written in memory; a ``chainsleuth graph build`` per file reads it back from Parquet first
(about 0.9 us per row of the set, not counted here). CPU seconds are the measure; wall time,
printed beside them, adds the fsyncs and the disk.

At each checkpoint the table gives the cost per transaction of the appends since the previous
checkpoint (CPU seconds of this process, which runs every stage on one core; wall beside it),
split into parse + tables (independent per block range, so parallel) and the append (the UTXO
join and write: sequential along the chain), the UTXO set's size, the store's size on disk and
the process's peak RSS so far.

The extrapolation to Bitcoin's ~1.1 billion transactions on 16 cores: parse + tables run on 16
cores; appends run one after another (each extends the UTXO set the previous one left), and an
append costs a part per transaction plus a pass over the UTXO set (resolution scan, the new set
written): ``append_us_per_tx = alpha + beta * utxo_rows / transactions_per_append``, fitted to
the first and last checkpoint. Mainnet's UTXO set grew to about 180 million outputs, so the
pass, negligible here, dominates there unless appends grow with it: the last lines give the
hours for this run's append size and for appends of 1,000 and 10,000 blocks (these need a batch
of 2 and 20 million transactions in memory, about 9 and 90 GB, and the set itself about 30 GB
at mainnet's size: time if memory allowed, not a run this machine can do).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from framework.memory import PeakMemorySampler
from libraries.bitcoin_wire.consensus import parse_block
from libraries.graph_etl.store import GraphStore
from libraries.graph_etl.tables import to_tables
from libraries.simulation.bulk_chain import BulkChain, BulkChainConfig

CHAIN_TRANSACTIONS = 1.1e9
MAINNET_UTXO_ROWS = 180e6  # about the largest the set has been; taken as growing linearly


def extrapolated_hours(rows: list[dict], transactions_per_append: float) -> dict[str, float] | None:
    """Hours for 1.1e9 transactions on 16 cores (see the module docstring), for appends of
    ``transactions_per_append`` and of 1,000 and 10,000 blocks of this chain's size; None when
    the run is too short for the fit (the first window's start-up outweighs the UTXO term)."""
    first, last = rows[0], rows[-1]
    ratio = lambda row: row["utxo_rows"] / transactions_per_append  # noqa: E731
    beta = (last["append_us_per_tx"] - first["append_us_per_tx"]) / max(
        ratio(last) - ratio(first), 1e-9)
    alpha = last["append_us_per_tx"] - beta * ratio(last)
    if beta <= 0 or alpha <= 0:
        return None
    mean_utxo = MAINNET_UTXO_ROWS / 2
    per_block = transactions_per_append / max(round(transactions_per_append / 2000), 1)
    hours = {}
    for label, size in (("this run", transactions_per_append), ("1000 blocks", 1000 * per_block),
                        ("10000 blocks", 10_000 * per_block)):
        us_per_tx = last["parse_us_per_tx"] / 16 + alpha + beta * mean_utxo / size
        hours[label] = CHAIN_TRANSACTIONS * us_per_tx / 1e6 / 3600
    return {"alpha_us_per_tx": alpha, "beta_us_per_utxo_row": beta, **hours}


def _size_mb(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--blocks-per-append", type=int, default=100)
    parser.add_argument("--transactions-per-block", type=int, default=2000)
    parser.add_argument("--checkpoints", default="1000000,3000000,10000000")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args()
    checkpoints = sorted(int(c) for c in args.checkpoints.split(","))
    chain = BulkChain(BulkChainConfig(transactions_per_block=args.transactions_per_block))
    root = Path(tempfile.mkdtemp(prefix="chain_scale_"))
    store = GraphStore(root / "store")
    rows, window = [], {"tx": 0, "parse_cpu": 0.0, "append_cpu": 0.0, "wall": 0.0}
    done, generation_cpu, appends = 0, 0.0, 0
    try:
        with PeakMemorySampler() as memory:
            while done < args.transactions:
                started = time.process_time()
                raw = list(chain.blocks(args.blocks_per_append))
                generation_cpu += time.process_time() - started
                cpu, wall = time.process_time(), time.perf_counter()
                tables = to_tables([parse_block(block) for block in raw])
                parsed = time.process_time()
                store.append(tables)
                appends += 1
                n_tx = tables.transactions.num_rows
                done += n_tx
                window["tx"] += n_tx
                window["parse_cpu"] += parsed - cpu
                window["append_cpu"] += time.process_time() - parsed
                window["wall"] += time.perf_counter() - wall
                if checkpoints and done >= checkpoints[0]:
                    utxo = store.utxos().num_rows
                    rows.append({
                        "transactions": done, "utxo_rows": utxo,
                        "us_per_tx_cpu": 1e6 * (window["parse_cpu"] + window["append_cpu"]) / window["tx"],
                        "parse_us_per_tx": 1e6 * window["parse_cpu"] / window["tx"],
                        "append_us_per_tx": 1e6 * window["append_cpu"] / window["tx"],
                        "us_per_tx_wall": 1e6 * window["wall"] / window["tx"],
                        "store_mb": _size_mb(root / "store"), "peak_rss_mb": memory.peak_mb})
                    print(f"{done:>11,} tx: {rows[-1]['us_per_tx_cpu']:6.1f} us/tx CPU "
                          f"(parse+tables {rows[-1]['parse_us_per_tx']:.1f}, append "
                          f"{rows[-1]['append_us_per_tx']:.1f}), {rows[-1]['us_per_tx_wall']:.1f} "
                          f"wall; UTXO set {utxo:,}; store {rows[-1]['store_mb']:,.0f} MB; "
                          f"peak RSS {memory.peak_mb:,.0f} MB", flush=True)
                    window = {"tx": 0, "parse_cpu": 0.0, "append_cpu": 0.0, "wall": 0.0}
                    while checkpoints and done >= checkpoints[0]:
                        checkpoints.pop(0)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    flat = max(r["us_per_tx_cpu"] for r in rows) / min(r["us_per_tx_cpu"] for r in rows)
    per_append = (rows[-1]["transactions"] / max(appends, 1))
    model = extrapolated_hours(rows, per_append)
    print(f"\ncost per transaction, highest / lowest checkpoint: {flat:.2f}x; generating the "
          f"blocks took {generation_cpu:.0f} CPU s (not counted)")
    if model is None:
        print("extrapolation: not fitted (the run is too short: the first window's start-up "
              "outweighs the UTXO term; use at least 1 M transactions)")
    else:
        print(f"append = {model['alpha_us_per_tx']:.1f} us/tx + "
              f"{model['beta_us_per_utxo_row']:.2f} us x UTXO rows / transactions per append")
        print("extrapolation, 1.1e9 transactions, UTXO set growing to 180 M, parse + tables on "
              "16 cores, appends in sequence: " + ", ".join(
                  f"{model[k]:,.0f} hours with appends of {k}"
                  for k in ("this run", "1000 blocks", "10000 blocks")))
    if args.json:
        print(json.dumps({"checkpoints": rows, "flatness": round(flat, 2),
                          "extrapolation": model and {k: round(v, 2) for k, v in model.items()},
                          "blocks_per_append": args.blocks_per_append}))


if __name__ == "__main__":
    main()
