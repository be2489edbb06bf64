"""Exports of a stored graph: TSV files for ``neo4j-admin database import full``, stats, and
the UTXO set as Bitcoin Core's snapshot (:func:`utxo_snapshot`).

TSV layout (as the published graph's tooling uses): one header file and one header-less data
file per node and edge type, tab-delimited, ids typed per label (``:ID(Script)``,
``:START_ID(Script)``, ``:END_ID(Block)``), ``Value:long`` / ``Height:long`` properties. The
printed import command loads them with ``--skip-duplicate-nodes``.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from libraries.files import atomic_output, write_atomic
from libraries.graph_etl.errors import GraphDataError
from libraries.graph_etl.graph import BitcoinGraph

NODE_HEADERS = {
    "Coinbase": (["id"], "id:ID(Coinbase)\t:LABEL"),
    "Script": (["id", "first_height"], "id:ID(Script)\tFirstHeight:long\t:LABEL"),
    "Tx": (["id", "height"], "id:ID(Tx)\tHeight:long\t:LABEL"),
    "Block": (["id", "hash", "time"], "id:ID(Block)\tHash\tTime:long\t:LABEL"),
}
EDGE_HEADERS = {
    "Mints": ("Coinbase", "Script", True), "Transfers": ("Script", "Script", True),
    "Fee": ("Script", "Script", True), "Redeems": ("Script", "Block", True),
    "Credits": ("Block", "Script", True), "Confirms": ("Block", "Tx", False),
}


def _write_tsv(table: pa.Table, path: Path) -> None:
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(
        include_header=False, delimiter="\t", quoting_style="none"))
    with atomic_output(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def export_tsv(graph: BitcoinGraph, out: Path) -> str:
    """Write every type's header and data file into ``out``; return the import command."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    arguments = []
    for name, (columns, header) in NODE_HEADERS.items():
        table = graph.nodes[name].select(columns)
        table = table.append_column(":LABEL", pa.array([name] * table.num_rows, pa.string()))
        write_atomic(out / f"{name}.header.tsv", header + "\n")
        _write_tsv(table, out / f"{name}.tsv")
        arguments.append(f"--nodes={name}={name}.header.tsv,{name}.tsv")
    for name, (start, end, valued) in EDGE_HEADERS.items():
        columns = ["src", "dst", "value", "height"] if valued else ["src", "dst"]
        header = f":START_ID({start})\t:END_ID({end})" + (
            "\tValue:long\tHeight:long" if valued else "") + "\t:TYPE"
        table = graph.edges[name].select(columns)
        table = table.append_column(":TYPE", pa.array([name] * table.num_rows, pa.string()))
        write_atomic(out / f"{name}.header.tsv", header + "\n")
        _write_tsv(table, out / f"{name}.tsv")
        arguments.append(f"--relationships={name}={name}.header.tsv,{name}.tsv")
    return ("neo4j-admin database import full --delimiter=TAB --array-delimiter=';' "
            "--skip-duplicate-nodes=true " + " ".join(arguments) + " bitcoin")


def degree_distributions(graph: BitcoinGraph) -> dict[str, dict[int, int]]:
    """Script in- and out-degree histograms over Transfers (degree -> number of scripts)."""
    transfers = graph.edges["Transfers"]
    out_degree = Counter(transfers["src"].to_pylist())
    in_degree = Counter(transfers["dst"].to_pylist())
    return {"out": dict(Counter(out_degree.values())), "in": dict(Counter(in_degree.values()))}


def degree_plot(distributions: dict[str, dict[int, int]]) -> bytes:
    from matplotlib.figure import Figure  # no pyplot: the caller's backend stays as it was

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for name, histogram in distributions.items():
        if histogram:
            degrees = sorted(histogram)
            ax.loglog(degrees, [histogram[d] for d in degrees], "o", ms=3, label=f"{name}-degree")
    ax.set_xlabel("degree (Transfers)")
    ax.set_ylabel("scripts")
    ax.legend()
    fig.set_layout_engine("constrained")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def utxo_snapshot(utxos: pa.Table, base_hash: str) -> bytes:
    """The store's UTXO set as Bitcoin Core's ``dumptxoutset`` file at block ``base_hash``
    (mainnet), so Core (``loadtxoutset``) or another build can start where this store ends.

    Core's UTXO set never holds unspendable outputs (OP_RETURN, scripts over 10,000 bytes), so
    they are left out here too. Every other output needs its script, height and coinbase flag;
    outputs that lack them (a store written before the UTXO set kept them, a UTXO table without
    heights) are a :class:`GraphDataError` naming the first, not a snapshot with made-up data."""
    from libraries.bitcoin_wire.compression import MAX_SCRIPT_SIZE
    from libraries.bitcoin_wire.utxo_snapshot import write_snapshot

    coins = []
    for row in utxos.to_pylist():
        script = row["script"]
        if script is not None and (script[:1] == b"\x6a" or len(script) > MAX_SCRIPT_SIZE):
            continue
        if script is None or row["height"] is None or row["coinbase"] is None:
            lacking = "script" if script is None else "creation height / coinbase flag"
            raise GraphDataError(f"unspent output {row['txid']}:{row['vout']} has no "
                                 f"{lacking} in the store (written before the UTXO set kept them, or "
                                 f"loaded from a source without them); a Core snapshot needs "
                                 f"both: rebuild the store from a source that has them")
        coins.append((row["txid"], row["vout"],
                       (row["value"], script, row["height"], row["coinbase"])))
    return write_snapshot(coins, base_hash)
