"""EBA's file layout for its current model (:mod:`.eba_v2`): gzip TSV for
``neo4j-admin database import full``, written as EBA names them without its timestamp prefix.

Per node or edge type a header file ``header_<stem>.csv.gz`` (one line of typed column names)
and a header-less data file ``<stem>.csv.gz``; ``Coinbase.csv.gz`` holds the one Coinbase node
with its header; ``schema.cypher`` the constraints, the Credits index and the query that
creates the Block-Follows-Block edges (which therefore have a header and no data file). Lines
end in CRLF and values print as EBA's .NET code prints them (doubles as the shortest
round-trip string, ``E+18`` from 1e15 up, ``NaN``; booleans ``True`` / ``False``; an absent
value empty), so the files equal EBA's golden files byte for byte once decompressed. The gzip
streams carry no file name or time, so equal graphs give equal files.
"""

from __future__ import annotations

import gzip
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

from libraries.files import atomic_output, write_atomic
from libraries.graph_etl.eba_v2 import (EDGE_KINDS, PERCENTILES, SCRIPT_TYPES, STATISTICS,
                                        EbaGraph)

_BLOCK_FIELDS = ("Height:long", "Hash:string", "Confirmations:int", "Version:long",
                 "VersionHex:string", "Merkleroot:string", "Time:int", "MedianTime:int",
                 "Nonce:long", "Bits:string", "Difficulty:double", "Chainwork:string",
                 "TransactionsCount:int", "PreviousBlockHash:string", "NextBlockHash:string",
                 "StrippedSize:int", "Size:int", "Weight:int", "CoinbaseOutputsCount:int",
                 "MintedBitcoins:long")
_STAT_FIELDS = ("Sum", "Count", "Min", "Max", "Mean", "Variance", "Skewness", "Kurtosis",
                *(f"Percentiles.{name}" for name, _ in PERCENTILES))
_MARKET_FIELDS = ("TotalSupply:long", "TotalSupplyNominal:long", "RealizedCap:double",
                  "UnrealizedLoss:double", "UnrealizedProfit:double", "MarketCap:double",
                  "NUPL:double", "NUL:double", "NUP:double", "OHLCV.Open:double",
                  "OHLCV.High:double", "OHLCV.Low:double", "OHLCV.Close:double",
                  "OHLCV.Volume:long", "OHLCV.VWAP:double", "OHLCV.OHLC4:double")


def _block_header() -> list[str]:
    columns = [":ID(Block)", *_BLOCK_FIELDS]
    columns += [f"{stat}.{name}:double" for stat in STATISTICS for name in _STAT_FIELDS]
    for prefix in ("InputsCount", "OutputsCount", "InputsValue", "OutputsValue"):
        columns += [f"{prefix}.ScriptType.{kind}:long" for kind in SCRIPT_TYPES]
    columns += [f"TripletTypeCount.{kind}:int" for kind in EDGE_KINDS]
    columns += [f"TripletTypeValueSum.{kind}:long" for kind in EDGE_KINDS]
    return [*columns, *_MARKET_FIELDS, ":LABEL"]


# File stem -> (header columns, label or type written in the last column).
LAYOUT: dict[str, tuple[list[str], str]] = {
    "nodes_Block": (_block_header(), "Block"),
    "nodes_Script": (["SHA256Hash:ID(Script)", "Address:string", "ScriptType:string",
                      "HexBase64:string", ":LABEL"], "Script"),
    "nodes_Tx": (["Txid:ID(Tx)", "Version:long", "Size:int", "VSize:int", "Weight:int",
                  "LockTime:long", ":LABEL"], "Tx"),
    "edges_Block_Confirms_Tx": ([":START_ID(Block)", ":END_ID(Tx)", "Value:long", "Height:long",
                                 ":TYPE"], "Confirms"),
    "edges_Block_Follows_Block": ([":START_ID(Block)", ":END_ID(Block)", ":TYPE"], "Follows"),
    "edges_Coinbase_Mints_Tx": ([":START_ID(Coinbase)", ":END_ID(Tx)", "Value:long",
                                 "Height:long", ":TYPE"], "Mints"),
    "edges_Script_Redeems_Tx": ([":START_ID(Script)", ":END_ID(Tx)", "Value:long",
                                 "SpentHeight:long", "Txid:string", "Vout:int",
                                 "Generated:boolean", "CreationHeight:long", ":TYPE"], "Redeems"),
    "edges_Tx_Credits_Script": ([":START_ID(Tx)", ":END_ID(Script)", "Value:long", "Vout:int",
                                 "CreationHeight:long", "SpentHeight:long", ":TYPE"], "Credits"),
    "edges_Tx_Fee_Tx": ([":START_ID(Tx)", ":END_ID(Tx)", "Value:long", "Height:long", ":TYPE"],
                        "Fee"),
    "edges_Tx_Transfers_Tx": ([":START_ID(Tx)", ":END_ID(Tx)", "Value:long", "Height:long",
                               ":TYPE"], "Transfers"),
}
# Created by schema.cypher after the import, so EBA writes their header only.
HEADER_ONLY = ("edges_Block_Follows_Block",)
COINBASE_FILE = "Coinbase.csv.gz"
_COINBASE = [["Coinbase:ID(Coinbase)", ":LABEL"], ["Coinbase", "Coinbase"]]
_RULE = "// " + "-" * 53


def _section(title: str, statement: str) -> str:
    return f"{_RULE}\n// Schema for {title}\n{_RULE}\n\n{statement}\n\n\n"


SCHEMA_CYPHER = "// EBA Bitcoin Graph Schema\n\n" + "".join([
    _section("Block nodes", "CREATE CONSTRAINT Block_Height_Unique IF NOT EXISTS FOR (n:Block) "
                            "REQUIRE n.Height IS UNIQUE;"),
    _section("Script nodes", "CREATE CONSTRAINT Script_SHA256Hash_Unique IF NOT EXISTS FOR "
                             "(n:Script) REQUIRE n.SHA256Hash IS UNIQUE;"),
    _section("Tx nodes", "CREATE CONSTRAINT Tx_Txid_Unique IF NOT EXISTS FOR (n:Tx) REQUIRE "
                         "n.Txid IS UNIQUE;"),
    _section("Tx-Credits-Script edges", "CREATE INDEX utxo_spending_idx IF NOT EXISTS \n"
                                        "FOR ()-[r:Credits]-() \n"
                                        "ON (r.CreationHeight, r.SpentHeight);"),
]) + (f"{_RULE}\n// Schema for Block-Follows-Block edges\n{_RULE}\n\n"
           "MATCH (target:Block), (source:Block) \nWHERE target.Height + 1 = source.Height \n"
           "MERGE (target)-[:Follows]->(source);\n\n")


def dotnet_double(value: float) -> str:
    """``value`` as .NET (Core 3.0+) prints a double: the shortest string that round-trips,
    in fixed notation for decimal exponents -5 < e < 15 and as ``d.dddE+XX`` otherwise."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    number = Decimal(repr(abs(value))).normalize()  # repr is the shortest round-trip string
    sign = "-" if value < 0 else ""
    digits = "".join(map(str, number.as_tuple().digits))
    exponent = number.adjusted()
    if -5 < exponent < 15:
        return sign + format(number, "f")
    mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
    return f"{sign}{mantissa}E{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"


def format_value(value: Any) -> str:
    """One value as EBA writes it (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return dotnet_double(value)
    return str(value)


def _gzip_lines(path: Path, rows: list[list[str]]) -> None:
    text = "".join("\t".join(row) + "\r\n" for row in rows).encode()
    with atomic_output(path) as tmp:
        tmp.write_bytes(gzip.compress(text, mtime=0))


def write_eba_files(graph: EbaGraph, out: Path) -> list[Path]:
    """Write every EBA file of ``graph`` into ``out``; return the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, (header, label) in LAYOUT.items():
        _gzip_lines(out / f"header_{stem}.csv.gz", [header])
        written.append(out / f"header_{stem}.csv.gz")
        if stem in HEADER_ONLY:
            continue
        rows = [[format_value(v) for v in row] + [label] for row in graph.rows.get(stem, [])]
        _gzip_lines(out / f"{stem}.csv.gz", rows)
        written.append(out / f"{stem}.csv.gz")
    _gzip_lines(out / COINBASE_FILE, _COINBASE)
    write_atomic(out / "schema.cypher", SCHEMA_CYPHER)
    return [*written, out / COINBASE_FILE, out / "schema.cypher"]


def import_command(database: str = "bitcoin") -> str:
    """The ``neo4j-admin`` command that imports the files (run in their folder), followed by
    ``schema.cypher`` in ``cypher-shell``."""
    nodes = " ".join(f"--nodes={label}=header_{stem}.csv.gz,{stem}.csv.gz"
                     for stem, (_, label) in LAYOUT.items() if stem.startswith("nodes_"))
    edges = " ".join(f"--relationships={label}=header_{stem}.csv.gz,{stem}.csv.gz"
                     for stem, (_, label) in LAYOUT.items()
                     if stem.startswith("edges_") and stem not in HEADER_ONLY)
    return ("neo4j-admin database import full --delimiter=TAB --array-delimiter=';' "
            f"--skip-duplicate-nodes=true --nodes=Coinbase={COINBASE_FILE} {nodes} {edges} "
            f"{database} && cypher-shell -d {database} -f schema.cypher")
