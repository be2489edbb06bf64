"""The temporal heterogeneous Bitcoin graph (work in progress; see issue 6): the plugin part.

The work is done by two libraries below the plugins: :mod:`libraries.bitcoin_wire` (consensus
parsing of blocks, segwit included, with txid / merkle verification; ``blk*.dat`` framing and
XOR; btcd UTXO entries; Core JSON; output-script addresses) and :mod:`libraries.graph_etl`
(columnar block tables; the EBA v1 graph built by SQL stages on DuckDB or Spark; the incremental
store; TSV and ladybug exports; Forest Fire sampling). This plugin reads the files
(:mod:`.readers`, :mod:`.core_json`, also over JSON-RPC), registers the command and the dataset,
and turns the libraries' errors into the framework's (:mod:`.library`).

``chainsleuth graph verify FILE...`` parses blocks and checks their merkle roots, or a bare
transaction (raw or hex) and prints its ids and weight; ``graph
build`` appends blocks to an incremental store (a branch forking below the tip rolls it back
to the fork point first, within ``--undo-depth`` blocks, and says which blocks it orphaned),
``graph stats`` prints counts and degree
distributions, ``graph export-tsv`` writes neo4j-admin import files, ``graph export-db``
bulk-loads ladybug, ``graph sample`` writes a Forest Fire sample as TSV, ``graph export-utxo``
writes the store's UTXO set as Bitcoin Core's snapshot; ``graph build --utxo FILE`` starts
from spent outputs (a Core snapshot, btcd records or a Parquet / CSV table); ``--schema eba-v2``
builds and exports EBA's current model instead (:func:`_run_eba`, one-shot from Core JSON). Dataset
``bitcoin_graph`` (:mod:`.dataset`): labelled addresses described from the graph. Everything but
``verify`` needs the ``graph`` extra (duckdb; ladybug for ``export-db``). Not yet: the ETL is
below the 3x benchmark target (see benchmarks/).

The command's work imports the parser (numba) and the ETL when it runs, not when the plugin is
listed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.errors import DataError
from framework.hookspecs import hookimpl
from framework.interfaces import Command

if TYPE_CHECKING:
    from libraries.bitcoin_wire import BareTransaction
    from libraries.graph_etl.store import GraphStore


SCHEMAS = ("v1", "eba-v2")
_SCHEMA_HELP = ("graph model: v1 (the published EBA dataset's, default; an incremental store) "
                "or eba-v2 (EBA's current model and file layout; one-shot, from Core JSON)")
EBA_MARKER = "eba-v2.json"


def _configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="graph_action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="parse blocks and check their merkle roots, or "
                                               "parse one bare transaction")
    verify.add_argument("files", nargs="+", type=Path,
                        help="blk*.dat, framed (.bz2) or raw block files, or files of one "
                             "transaction (raw bytes or getrawtransaction's hex)")
    build = actions.add_parser("build", help="append blocks to a graph store (incremental)")
    build.add_argument("store", type=Path, help="graph directory (created if missing)")
    build.add_argument("files", nargs="*", type=Path,
                       help="block files in chain order: blk*.dat, framed (.bz2), raw, or Core "
                            "JSON (getblock verbosity 3; .json / .jsonl)")
    build.add_argument("--rpc", default=None, metavar="URL",
                       help="read blocks from a node over JSON-RPC (password in "
                            "$BITCOIN_RPC_PASSWORD or --rpc-cookie)")
    build.add_argument("--rpc-user", default=None)
    build.add_argument("--rpc-cookie", type=Path, default=None, help="Core's .cookie file")
    build.add_argument("--heights", default=None, metavar="FIRST:LAST",
                       help="block heights to fetch over RPC")
    build.add_argument("--first-height", type=int, default=None,
                       help="height of the first block when coinbases predate BIP 34")
    build.add_argument("--max-inputs", type=int, default=20)
    build.add_argument("--max-outputs", type=int, default=20)
    build.add_argument("--engine", choices=("memory", "duckdb", "spark"), default="memory",
                       help="memory: compiled, in memory (fastest, the default); duckdb: SQL "
                            "that spills to disk; spark: the same SQL on pyspark, local[*] or "
                            "a cluster. All three give identical graphs")
    build.add_argument("--spark-master", default="local[*]", help="Spark master URL")
    build.add_argument("--schema", choices=SCHEMAS, default="v1", help=_SCHEMA_HELP)
    build.add_argument("--undo-depth", type=int, default=100, metavar="BLOCKS",
                       help="keep the outputs spent by the last BLOCKS blocks, so that a block "
                            "forking up to that deep below the tip rolls the store back to the "
                            "fork and applies the branch given (a re-org); default 100")
    build.add_argument("--utxo", type=Path, default=None, metavar="FILE",
                       help="outputs the blocks spend that the store lacks (a snapshot at height "
                            "H builds from H+1): Core's dumptxoutset file, a Parquet / CSV table "
                            "(txid, vout, value, script[, height, coinbase]) or btcd "
                            "utxostore records (.utxostore); .bz2 allowed")
    stats = actions.add_parser("stats", help="counts per node/edge type, degree distributions")
    stats.add_argument("store", type=Path)
    stats.add_argument("--plot", type=Path, default=None, help="degree distribution PNG")
    tsv = actions.add_parser("export-tsv", help="TSV files for neo4j-admin database import")
    tsv.add_argument("store", type=Path)
    tsv.add_argument("out", type=Path)
    tsv.add_argument("--schema", choices=SCHEMAS, default="v1", help=_SCHEMA_HELP)
    db = actions.add_parser("export-db", help="bulk-load the graph into a ladybug database")
    db.add_argument("store", type=Path)
    db.add_argument("database", type=Path, help="new database path")
    utxo = actions.add_parser("export-utxo", help="the store's UTXO set as a Core snapshot "
                                                  "(dumptxoutset format, at the store's tip)")
    utxo.add_argument("store", type=Path)
    utxo.add_argument("out", type=Path, help="snapshot file to write")
    sample = actions.add_parser("sample", help="Forest Fire sample of the graph, as TSV")
    sample.add_argument("store", type=Path)
    sample.add_argument("out", type=Path)
    sample.add_argument("--size", type=int, required=True, help="nodes to burn")
    sample.add_argument("--forward", type=float, default=0.7, help="forward burning probability")
    sample.add_argument("--backward-ratio", type=float, default=0.3)
    sample.add_argument("--seed", type=int, default=0)


def _run(args: argparse.Namespace) -> int:
    from plugins.bitcoin_graph.library import framework_errors, require_graph_extra

    if args.graph_action == "verify":
        return _verify(args)
    if getattr(args, "schema", "v1") == "eba-v2":
        with framework_errors():
            return _run_eba(args)
    require_graph_extra(f"graph {args.graph_action}", ("duckdb", "ladybug")
                        if args.graph_action == "export-db" else ("duckdb",))
    with framework_errors():
        return _run_etl(args)


def _run_etl(args: argparse.Namespace) -> int:
    from libraries.graph_etl.errors import HeightMismatch
    from libraries.graph_etl.export import degree_distributions, degree_plot, export_tsv
    from libraries.graph_etl.store import GraphStore

    if (args.store / EBA_MARKER).exists():
        raise DataError(f"{args.store} holds an eba-v2 graph (one-shot, not a v1 store): "
                        f"pass --schema eba-v2 to export it, or build v1 into another directory")
    store = GraphStore(args.store, **({"undo_depth": args.undo_depth}
                                      if args.graph_action == "build" else {}))
    if args.graph_action == "build":
        tables, prevouts, counted = _build_input(args, store)
        engine = None
        if args.engine == "duckdb":
            from libraries.graph_etl.graph import DuckDBEngine

            engine = DuckDBEngine()
        elif args.engine == "spark":
            from libraries.graph_etl.spark_engine import SparkEngine

            engine = SparkEngine(args.spark_master)
        base = None
        if args.utxo is not None:
            prevouts, base = _with_utxo_file(args.utxo, prevouts)
        try:
            added = store.append(tables, prevouts, utxo_base=base, engine=engine,
                                 max_inputs=args.max_inputs, max_outputs=args.max_outputs)
        except HeightMismatch as exc:
            if not counted:
                raise
            raise DataError(f"{exc}. The blocks in {_names(args.files)} state no height, so "
                            f"--first-height {args.first_height} numbered them: pass "
                            f"--first-height {args.first_height + exc.implied - exc.given}"
                            ) from exc
        finally:
            if engine is not None:
                engine.close()
        rolled_back = added.pop("rolled_back", [])
        if rolled_back:
            print(f"{args.store}: re-org at height {rolled_back[0][0] - 1}: rolled back "
                  f"{len(rolled_back)} block(s), " + ", ".join(
                      f"{block_hash} (height {height})" for height, block_hash in rolled_back))
        print(f"{args.store}: {added} (tip {store.state()['tip_height']})")
        return 0
    if args.graph_action == "export-utxo":
        return _export_utxo(store, args.out)
    graph = store.read()
    if args.graph_action == "stats":
        for name, count in graph.counts().items():
            print(f"{name:10s} {count:>12,d}")
        distributions = degree_distributions(graph)
        for side, histogram in distributions.items():
            top = sorted(histogram.items())[:10]
            print(f"Transfers {side}-degree (degree: scripts): {top}")
        if args.plot:
            args.plot.write_bytes(degree_plot(distributions))
            print(f"wrote {args.plot}")
        return 0
    if args.graph_action == "export-db":
        from libraries.graph_etl.graph_database import LadybugGraphDatabase

        counts = LadybugGraphDatabase.create(graph, args.database).counts()
        print(f"{args.database}: {counts}")
        return 0
    if args.graph_action == "sample":
        from libraries.graph_etl.sampling import GraphIndex, forest_fire, subgraph

        index = GraphIndex(graph)
        nodes = forest_fire(index, args.size, args.forward, args.backward_ratio, args.seed)
        graph = subgraph(index, nodes)
    print(export_tsv(graph, args.out))
    return 0


def _run_eba(args: argparse.Namespace) -> int:
    """``--schema eba-v2``: EBA's current model (:mod:`libraries.graph_etl.eba_v2`). ``build``
    writes EBA's files into a new directory in one go (no incremental store yet: EBA's Block
    statistics and Tx nodes are per build); ``export-tsv`` copies such a build's files to
    ``out``. The model needs Core JSON (verbosity 3), which carries the spent outputs'
    creation heights and the block fields that raw blocks lack."""
    import json
    import shutil

    from framework.safe_files import read_text
    from libraries.files import write_atomic
    from libraries.graph_etl.eba_v2 import eba_graph
    from libraries.graph_etl.eba_v2_files import import_command, write_eba_files
    from plugins.bitcoin_graph.core_json import CoreRpcClient, read_json_blocks

    marker = args.store / EBA_MARKER
    if args.graph_action == "export-tsv":
        if not marker.exists():
            raise DataError(f"{args.store} holds no eba-v2 graph ({EBA_MARKER} missing): build "
                            f"one with graph build DIR FILES.json --schema eba-v2 (a v1 store "
                            f"lacks what EBA's model needs, e.g. each spent output's height)")
        try:
            files = [str(name) for name in json.loads(read_text(marker, "eba-v2 marker"))["files"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{marker}: not an eba-v2 build marker ({exc}); rebuild the "
                            f"directory with graph build --schema eba-v2") from None
        args.out.mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copyfile(args.store / name, args.out / name)
        print(f"{args.out}: {len(files)} files\n{import_command()}")
        return 0
    if args.store.exists() and any(args.store.iterdir()):
        raise DataError(f"graph build --schema eba-v2: {args.store} is not empty; eba-v2 builds "
                        f"are one-shot (no appending yet): give all blocks in one call, into a "
                        f"new directory")
    if args.utxo is not None:
        raise DataError("graph build --schema eba-v2 reads each spent output from Core JSON "
                        "(verbosity 3); --utxo applies to v1 only")
    if args.engine != "memory":
        raise DataError("graph build --schema eba-v2 is built in Python from Core JSON; "
                        "--engine does not apply")
    if args.rpc:
        if not args.heights or ":" not in args.heights:
            raise DataError("graph build --rpc needs --heights FIRST:LAST")
        first, last = (int(h) for h in args.heights.split(":"))
        client = CoreRpcClient(args.rpc, user=args.rpc_user, cookie=args.rpc_cookie)
        blocks, source = list(client.blocks(first, last)), args.rpc
    else:
        raw = [p for p in args.files if p.suffix not in (".json", ".jsonl")]
        if raw or not args.files:
            raise DataError(f"graph build --schema eba-v2 needs Core JSON blocks (getblock "
                            f"verbosity 3, .json / .jsonl) or --rpc: EBA's model needs every "
                            f"spent output's creation height and coinbase flag and block "
                            f"fields (confirmations, median time, chain work) that raw blocks "
                            f"do not carry{'; got ' + _names(raw) if raw else ''}")
        blocks = [b for path in args.files for b in read_json_blocks(path)]
        source = _names(args.files)
    graph = eba_graph(blocks, source)
    written = write_eba_files(graph, args.store)
    write_atomic(marker, json.dumps({"schema": "eba-v2", "heights": list(graph.heights),
                                     "files": [p.name for p in written]}, indent=1) + "\n")
    counts = {stem: len(rows) for stem, rows in sorted(graph.rows.items())}
    print(f"{args.store}: eba-v2, blocks {graph.heights[0]}-{graph.heights[1]}: {counts}")
    return 0


def _with_utxo_file(path: Path, prevouts: Any) -> tuple[Any, str | None]:
    """The ``--utxo`` file's outputs (after any Core JSON prevouts) and the block a snapshot
    is at. Read in full before the store is touched, so a bad file leaves it unchanged."""
    import pyarrow as pa

    from plugins.bitcoin_graph.readers import read_utxo_file

    table, base, kind = read_utxo_file(path)
    print(f"{path}: {kind}, {table.num_rows} unspent outputs"
          f"{f' at block {base}' if base else ''}")
    if prevouts is None:
        return table, base
    return pa.concat_tables([prevouts.select(table.column_names).cast(table.schema), table]), base


def _export_utxo(store: GraphStore, out: Path) -> int:
    """``graph export-utxo``: Core's snapshot of the store's UTXO set, written atomically."""
    import os

    from libraries.files import atomic_output
    from libraries.graph_etl.export import utxo_snapshot

    state, utxos = store.state(), store.utxos()
    if state["tip_hash"] is None or utxos is None:
        raise DataError(f"{store.root}: no blocks stored yet, so no UTXO set to export")
    data = utxo_snapshot(utxos, state["tip_hash"])
    with atomic_output(out) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    coins = int.from_bytes(data[43:51], "little")
    print(f"{out}: Core UTXO snapshot at block {state['tip_hash']} (height "
          f"{state['tip_height']}), {coins} coins, {len(data)} bytes")
    return 0


def _names(paths: list[Path]) -> str:
    return ", ".join(map(str, paths))


def _build_input(args: argparse.Namespace, store: GraphStore) -> tuple[Any, Any, bool]:
    """Block tables (and Core JSON prevouts) from files or RPC, checked like raw blocks, and
    whether ``--first-height`` numbered them (so that a height the store refuses can be blamed
    on that option). Blocks before BIP 34 state no height: without ``--first-height`` that is
    a :class:`DataError` naming the option, and the height the ``store`` holds their parent
    at, when it does."""
    from libraries.bitcoin_wire import coinbase_height
    from libraries.graph_etl.errors import MissingHeight
    from libraries.graph_etl.tables import tables_from_json, to_tables
    from plugins.bitcoin_graph.core_json import CoreRpcClient, read_json_blocks
    from plugins.bitcoin_graph.readers import read_blocks

    if args.rpc:
        if not args.heights or ":" not in args.heights:
            raise DataError("graph build --rpc needs --heights FIRST:LAST")
        first, last = (int(h) for h in args.heights.split(":"))
        client = CoreRpcClient(args.rpc, user=args.rpc_user, cookie=args.rpc_cookie)
        return (*tables_from_json(list(client.blocks(first, last)), args.rpc), False)
    if not args.files:
        raise DataError("graph build needs block files or --rpc URL --heights FIRST:LAST")
    json_files = [p for p in args.files if p.suffix in (".json", ".jsonl")]
    if json_files:
        if len(json_files) != len(args.files):
            raise DataError("graph build: give either Core JSON files or raw block files, not both")
        blocks = [b for path in json_files for b in read_json_blocks(path)]
        return (*tables_from_json(blocks, _names(json_files)), False)
    blocks = [b for path in args.files for b in read_blocks(path)]
    try:
        tables = to_tables(blocks, args.first_height)
    except MissingHeight as exc:
        stored = {h: int(height) for height, h in store.state()["hashes"].items()}
        parent = blocks[0].previous
        hint = (f"; the store holds its parent {parent} at height {stored[parent]}, so pass "
                f"--first-height {stored[parent] + 1}" if parent in stored else "")
        raise DataError(f"graph build: {_names(args.files)}: {exc}: pass --first-height N, "
                        f"the height of the first block in the files{hint}") from exc
    counted = (args.first_height is not None
               and all(coinbase_height(block) is None for block in blocks))
    return tables, None, counted


def _verify(args: argparse.Namespace) -> int:
    """Check every file and report each bad one, so one corrupt file among many neither hides
    the others' verdicts nor stops the run; the exit status is 1 when any file was rejected.
    The readers raise DataError (naming the file and where) for every malformed input; a bare
    transaction is reported with what a block's merkle check cannot say about it (ids, sizes,
    the value it pays out)."""
    from libraries.bitcoin_wire import BareTransaction, coinbase_height
    from plugins.bitcoin_graph.readers import read_blocks_or_transaction

    bad = 0
    for path in args.files:
        try:
            for block in read_blocks_or_transaction(path):
                if isinstance(block, BareTransaction):
                    print(_describe_transaction(path, block))
                    continue
                witness = sum(t.has_witness for t in block.transactions)
                print(f"{path}: block {block.hash} height {coinbase_height(block)} "
                      f"{len(block.transactions)} txs ({witness} segwit) merkle root ok")
        except DataError as exc:
            bad += 1
            print(f"rejected: {exc}")
    if bad:
        print(f"{bad} of {len(args.files)} files rejected")
    return 1 if bad else 0


def _describe_transaction(path: Path, bare: BareTransaction) -> str:
    """One line: the ids, sizes (vsize and weight as BIP 141 and fee rates count them) and
    the counts and output total of a bare transaction."""
    tx = bare.transaction
    kind = ("segwit" if tx.has_witness else "legacy") + (", coinbase" if tx.is_coinbase else "")
    return (f"{path}: transaction {tx.txid} ({kind}) wtxid {tx.wtxid} size {bare.size} vsize "
            f"{bare.vsize} weight {bare.weight} inputs {len(tx.inputs)} outputs "
            f"{len(tx.outputs)} total out {sum(o.value for o in tx.outputs)} sat")


@hookimpl
def register_datasets() -> dict[str, Any]:
    from plugins.bitcoin_graph.dataset import BitcoinGraphDataset

    return {"bitcoin_graph": BitcoinGraphDataset}


@hookimpl
def register_commands() -> dict[str, Command]:
    return {"graph": Command(help="Bitcoin graph ETL: verify, build, stats, export-tsv",
                             configure=_configure, run=_run)}
