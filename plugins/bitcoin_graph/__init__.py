"""The temporal heterogeneous Bitcoin graph (work in progress; see issue 6).

Done so far: consensus parsing of blocks (segwit included) with txid / merkle verification,
readers for ``blk*.dat`` (XOR key), framed and raw blocks, btcd UTXO entries, output-script
addresses, columnar block tables, and the EBA v1 graph (nodes and edges) built in DuckDB with
input resolution by join (:mod:`.graph`). ``chainsleuth graph verify FILE...`` parses blocks and
checks their merkle roots. Not yet: Core JSON / RPC readers, TSV / ladybug / HeteroData
exports, incremental updates, Forest Fire sampling, stats, the dataset plugin, Spark.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from framework.errors import DataError
from framework.hookspecs import hookimpl
from framework.interfaces import Command
from plugins.bitcoin_graph.consensus import coinbase_height
from plugins.bitcoin_graph.readers import read_blocks


def _configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="graph_action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="parse blocks and check their merkle roots")
    verify.add_argument("files", nargs="+", type=Path,
                        help="blk*.dat, framed (.bz2) or raw block files")


def _run(args: argparse.Namespace) -> int:
    bad = 0
    for path in args.files:
        try:
            for block in read_blocks(path):
                witness = sum(t.has_witness for t in block.transactions)
                print(f"{path}: block {block.hash} height {coinbase_height(block)} "
                      f"{len(block.transactions)} txs ({witness} segwit) merkle root ok")
        except DataError as exc:
            bad += 1
            print(f"rejected: {exc}")
    return 1 if bad else 0


@hookimpl
def register_commands() -> dict[str, Command]:
    return {"graph": Command(help="Bitcoin graph ETL tools (verify blocks)", configure=_configure,
                             run=_run)}
