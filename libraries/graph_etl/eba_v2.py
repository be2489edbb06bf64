"""EBA's current graph model ("eba-v2"), built from Bitcoin Core's JSON blocks.

The published EBA dataset (arXiv 2510.20028) uses the v1 model of :mod:`.graph`; EBA's current
code (B1AAB/EBA) writes a different, transaction-centred model, and users of EBA today get that
one. This module reproduces it, checked row for row against EBA's own golden test
(``eba_golden_71036``, ``tests/libraries/graph_etl/test_eba_v2.py``):

* nodes: ``Block`` (header fields and block statistics), ``Tx`` (version, sizes, lock time;
  transactions that only appear as the source of a spent output carry no properties),
  ``Script`` (id = Base58 of the SHA-256 of the script, Core's address, EBA's script type, and
  for non-standard / null-data scripts the Base58 of the script itself, the column EBA calls
  ``HexBase64``) and the one ``Coinbase`` node;
* edges: ``Tx-Transfers-Tx`` (spent transaction -> spending transaction, the sum of the spent
  outputs), ``Script-Redeems-Tx`` (one per spent output: value, spending height, the output's
  txid and vout, whether a coinbase created it, its creation height), ``Tx-Credits-Script``
  (one per output: value, vout, creation height, and spent height ``long.MaxValue``, as EBA
  knows no spending when it writes the output), ``Tx-Fee-Tx`` (every non-coinbase transaction ->
  the coinbase transaction, its fee, zero included), ``Coinbase-Mints-Tx`` (the coinbase's
  outputs less the block's fees) and ``Block-Confirms-Tx`` (a transaction's input total; the
  coinbase's minted value). ``Block-Follows-Block`` has a header and no rows: EBA's
  ``schema.cypher`` creates those edges after the import.

EBA needs what only Core's JSON carries: every spent output's value, script, creation height
and coinbase flag (``getblock <hash> 3``'s ``prevout``), and block fields a raw block lacks
(confirmations, median time, chain work, the next block's hash). So this model is built from
Core JSON (files or RPC), not from raw blocks; see :func:`eba_graph`.

Where EBA's choices are quirks they are kept, because parity is the point: the Block node's
``TripletTypeCount`` / ``TripletTypeValueSum`` count Redeems and Credits as 0 (EBA adds those
edges through a merge path that does not count them); the output statistics include the
coinbase's outputs while the input and output *count* statistics and the fee statistics cover
the non-coinbase transactions only. The market columns of the Block node (total supply,
realized cap, NUPL, OHLCV, ...) are empty, as in EBA's traversal output: EBA fills them in a
later pass from price data (and the chain's whole history) that a block does not carry.

Values are satoshi. Statistics are EBA's: sum, count, min, max, mean, sample variance
(n - 1), adjusted skewness and excess kurtosis, and percentiles 1/5/25/50/75/95/99 by linear
interpolation between order statistics (Hyndman-Fan type 7).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from libraries.bitcoin_wire.addresses import script_address
from libraries.bitcoin_wire.core_json import block_from_json
from libraries.bitcoin_wire.errors import MalformedData
from libraries.graph_etl.errors import GraphDataError

# EBA's script types, in its column order; Core's ``type`` maps onto them case-insensitively and
# anything else (e.g. Core's ``anchor``) is ``Unknown``.
SCRIPT_TYPES = ("PubKey", "PubKeyHash", "ScriptHash", "witness_v0_keyhash",
                "witness_v0_scripthash", "witness_v1_taproot", "witness_unknown", "multisig",
                "nonstandard", "NullData", "Unknown")
_SCRIPT_TYPE_OF = {name.lower(): name for name in SCRIPT_TYPES}
# EBA's edge kinds, in its column order (the Block node's TripletType columns).
EDGE_KINDS = ("Block_Confirms_Tx", "Coinbase_Mints_Tx", "Script_Redeems_Tx",
              "Tx_Credits_Script", "Tx_Transfers_Tx", "Tx_Fee_Tx")
STATISTICS = ("InputCountsStats", "OutputCountsStats", "InputValuesStats", "OutputValuesStats",
              "SpentOutputAgeStats", "FeesStats")
PERCENTILES = (("P01", 0.01), ("P05", 0.05), ("P25", 0.25), ("P50", 0.50), ("P75", 0.75),
               ("P95", 0.95), ("P99", 0.99))
# The Block node's market columns that EBA fills later from price data (always empty here).
MARKET_COLUMNS = 16
UNSPENT_HEIGHT = 2**63 - 1  # EBA's long.MaxValue: spent height of an output not yet spent
COIN = 100_000_000
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

Row = tuple[Any, ...]


@dataclass
class EbaGraph:
    """The rows of every EBA node and edge file, keyed by EBA's file stem (``nodes_Tx``,
    ``edges_Tx_Transfers_Tx``, ...). Values are typed (int, float, str, bool; None = empty);
    :mod:`.eba_v2_files` prints them as EBA does. Nodes are unique by id across the blocks."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    heights: tuple[int, int] = (0, -1)


def base58(data: bytes) -> str:
    """Plain Base58 (no checksum), as EBA encodes script hashes and non-standard scripts."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_B58[rest])
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + "".join(reversed(digits))


@dataclass(frozen=True)
class _Script:
    id: str
    address: str
    type: str
    base58_script: str


def _script(script_pub_key: dict[str, Any], where: str) -> _Script:
    """EBA's Script node of a JSON ``scriptPubKey``: Core's type and address; P2PK gets the
    P2PKH address of its key (as EBA's NBitcoin derives it); non-standard and multisig none."""
    try:
        script = bytes.fromhex(script_pub_key["hex"])
        core_type = str(script_pub_key.get("type", ""))
    except (KeyError, TypeError, ValueError) as exc:
        raise GraphDataError(f"{where}: scriptPubKey without a valid 'hex' ({exc})") from None
    kind = _SCRIPT_TYPE_OF.get(core_type.lower(), "Unknown")
    address = str(script_pub_key.get("address", ""))
    if not address and kind not in ("nonstandard", "multisig", "NullData"):
        derived, _ = script_address(script)
        address = "" if derived.startswith("script:") else derived
    raw = base58(script) if kind in ("nonstandard", "NullData") else ""
    return _Script(base58(hashlib.sha256(script).digest()), address, kind, raw)


def _satoshi(value: Any, where: str) -> int:
    """Satoshi of a JSON BTC amount, exactly (a fraction of a satoshi is an error)."""
    try:
        amount = Decimal(str(value)) * COIN
    except (InvalidOperation, ValueError, TypeError):
        raise GraphDataError(f"{where}: value {value!r} is not a BTC amount") from None
    if amount != amount.to_integral_value():
        raise GraphDataError(f"{where}: value {value!r} is not a whole number of satoshi")
    return int(amount)


def describe(values: Sequence[float]) -> list[float]:
    """EBA's 15 statistics of ``values``: sum, count, min, max, mean, variance, skewness,
    kurtosis, then the 7 percentiles. Undefined moments (too few values, zero variance) are
    NaN, as EBA prints them."""
    n = len(values)
    data = [float(v) for v in values]  # EBA's order (the block's), as the sums round in it
    ordered = sorted(data)
    nan = math.nan
    if n == 0:
        return [0.0, 0.0] + [nan] * (6 + len(PERCENTILES))
    mean = sum(data) / n
    deviations = [v - mean for v in data]
    s2 = sum(d * d for d in deviations)
    variance = s2 / (n - 1) if n > 1 else nan
    skewness = kurtosis = nan
    if n > 1 and variance != 0:
        sd = math.sqrt(variance)
        s3 = sum(d * d * d for d in deviations)
        s4 = sum(d * d * d * d for d in deviations)
        if n > 2:
            skewness = n / ((n - 1) * (n - 2)) * s3 / sd**3
        if n > 3:
            kurtosis = (n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * s4 / variance**2
                        - 3 * (n - 1) ** 2 / ((n - 2) * (n - 3)))
    return [sum(data), float(n), ordered[0], ordered[-1], mean, variance, skewness, kurtosis,
            *(_percentile(ordered, p) for _, p in PERCENTILES)]


def _percentile(ordered: list[float], p: float) -> float:
    """Linear interpolation between order statistics (type 7), EBA's percentiles."""
    h = (len(ordered) - 1) * p + 1
    low = math.floor(h)
    if low >= len(ordered):
        return ordered[-1]
    return ordered[low - 1] + (h - low) * (ordered[low] - ordered[low - 1])


class _BlockBuilder:
    """One block's EBA rows and statistics, from its JSON."""

    def __init__(self, block: dict[str, Any], where: str) -> None:
        self.block, self.where = block, where
        self.height = int(block["height"])
        self.rows: dict[str, list[Row]] = {}
        self.scripts: dict[str, _Script] = {}
        self.txs: dict[str, Row] = {}
        self.source_txs: set[str] = set()
        self.input_counts: list[int] = []
        self.output_counts: list[int] = []
        self.input_values: list[int] = []
        self.output_values: list[int] = []
        self.ages: list[int] = []
        self.fees: list[int] = []
        self.in_type = {t: [0, 0] for t in SCRIPT_TYPES}
        self.out_type = {t: [0, 0] for t in SCRIPT_TYPES}
        self.triplets = {k: [0, 0] for k in EDGE_KINDS}

    def edge(self, kind: str, row: Row, value: int, counted: bool = True) -> None:
        self.rows.setdefault(f"edges_{kind}", []).append(row)
        if counted:
            self.triplets[kind][0] += 1
            self.triplets[kind][1] += value

    def outputs(self, tx: dict[str, Any], txid: str) -> int:
        total = 0
        for number, out in enumerate(tx.get("vout", [])):
            where = f"{self.where}: transaction {txid} output {number}"
            script = _script(out.get("scriptPubKey", {}), where)
            value = _satoshi(out.get("value"), where)
            self.scripts[script.id] = script
            self.edge("Tx_Credits_Script", (txid, script.id, value, int(out.get("n", number)),
                                            self.height, UNSPENT_HEIGHT), value, counted=False)
            self.output_values.append(value)
            self.out_type[script.type][0] += 1
            self.out_type[script.type][1] += value
            total += value
        return total

    def inputs(self, tx: dict[str, Any], txid: str) -> int:
        total = 0
        per_source: dict[str, int] = {}
        for number, txin in enumerate(tx.get("vin", [])):
            where = f"{self.where}: transaction {txid} input {number}"
            prevout = txin.get("prevout")
            if prevout is None or "txid" not in txin:
                raise GraphDataError(f"{where}: no 'prevout'; the eba-v2 schema needs getblock "
                                     f"verbosity 3 (every input's spent output)")
            try:
                source, vout = str(txin["txid"]), int(txin["vout"])
                created, generated = int(prevout["height"]), bool(prevout["generated"])
            except (KeyError, TypeError, ValueError) as exc:
                raise GraphDataError(f"{where}: malformed prevout ({type(exc).__name__}: {exc}); "
                                     f"expected txid, vout and prevout.height/generated as in "
                                     f"getblock verbosity 3") from None
            script = _script(prevout.get("scriptPubKey", {}), where)
            value = _satoshi(prevout.get("value"), where)
            self.scripts[script.id] = script
            self.source_txs.add(source)
            self.edge("Script_Redeems_Tx", (script.id, txid, value, self.height, source, vout,
                                            generated, created), value, counted=False)
            per_source[source] = per_source.get(source, 0) + value
            self.input_values.append(value)
            self.ages.append(self.height - created)
            self.in_type[script.type][0] += 1
            self.in_type[script.type][1] += value
            total += value
        for source, value in per_source.items():
            self.edge("Tx_Transfers_Tx", (source, txid, value, self.height), value)
        self.input_counts.append(len(tx.get("vin", [])))
        return total

    def build(self) -> None:
        txs = self.block.get("tx")
        if not isinstance(txs, list) or not txs or not isinstance(txs[0], dict):
            raise GraphDataError(f"{self.where}: no transactions; expected getblock verbosity 3")
        for tx in txs:
            txid = str(tx.get("txid"))
            try:
                self.txs[txid] = (txid, int(tx["version"]), int(tx["size"]), int(tx["vsize"]),
                                  int(tx["weight"]), int(tx["locktime"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise GraphDataError(f"{self.where}: transaction {txid}: field {exc} missing or "
                                     f"not an integer; expected getblock verbosity 3") from None
        coinbase = str(txs[0]["txid"])
        # The coinbase's outputs come first in the output statistics: their variance rounds
        # as EBA's only in that order (checked on the golden block).
        reward = self.outputs(txs[0], coinbase)
        for tx in txs[1:]:
            txid = str(tx["txid"])
            inputs = self.inputs(tx, txid)
            outputs = self.outputs(tx, txid)
            self.output_counts.append(len(tx.get("vout", [])))
            fee = inputs - outputs
            self.fees.append(fee)
            self.edge("Tx_Fee_Tx", (txid, coinbase, fee, self.height), fee)
            self.edge("Block_Confirms_Tx", (self.height, txid, inputs, self.height), inputs)
        minted = reward - sum(self.fees)
        self.edge("Coinbase_Mints_Tx", ("Coinbase", coinbase, minted, self.height), minted)
        self.edge("Block_Confirms_Tx", (self.height, coinbase, minted, self.height), minted)
        self.rows["nodes_Block"] = [self.block_row(len(txs[0].get("vout", [])), minted)]

    def block_row(self, coinbase_outputs: int, minted: int) -> Row:
        b = self.block
        try:
            header = (self.height, self.height, str(b["hash"]), int(b["confirmations"]),
                      int(b["version"]), str(b["versionHex"]), str(b["merkleroot"]),
                      int(b["time"]), int(b["mediantime"]), int(b["nonce"]), str(b["bits"]),
                      float(b["difficulty"]), str(b["chainwork"]), int(b["nTx"]),
                      b.get("previousblockhash"), b.get("nextblockhash"),
                      int(b["strippedsize"]), int(b["size"]), int(b["weight"]),
                      coinbase_outputs, minted)
        except (KeyError, TypeError, ValueError) as exc:
            raise GraphDataError(f"{self.where}: block field {exc} missing or malformed; the "
                                 f"eba-v2 schema needs getblock verbosity 3 JSON") from None
        statistics = [value for values in (self.input_counts, self.output_counts,
                                           self.input_values, self.output_values, self.ages,
                                           self.fees) for value in describe(values)]
        by_type = [self.in_type[t][0] for t in SCRIPT_TYPES] + [
            self.out_type[t][0] for t in SCRIPT_TYPES] + [
            self.in_type[t][1] for t in SCRIPT_TYPES] + [self.out_type[t][1] for t in SCRIPT_TYPES]
        triplets = [self.triplets[k][0] for k in EDGE_KINDS] + [
            self.triplets[k][1] for k in EDGE_KINDS]
        return (*header, *statistics, *by_type, *triplets, *([None] * MARKET_COLUMNS))


def eba_graph(blocks: Iterable[dict[str, Any]], source: str = "JSON blocks") -> EbaGraph:
    """EBA's graph of Core JSON blocks (``getblock <hash> 3``), each block checked by the
    consensus parser first (txids, merkle root, block hash). Nodes shared by several blocks (a
    script, a transaction whose outputs a later block spends) appear once; a transaction keeps
    its properties where one of the blocks contains it."""
    graph = EbaGraph()
    scripts: dict[str, _Script] = {}
    txs: dict[str, Row] = {}
    sources: set[str] = set()
    heights: list[int] = []
    for number, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise GraphDataError(f"{source}: block {number} is a JSON {type(block).__name__}; "
                                 f"expected getblock verbosity 3")
        where = f"{source} (block {block.get('height', number)})"
        if "height" not in block:
            raise GraphDataError(f"{where}: no 'height'; expected getblock verbosity 3 JSON")
        try:
            block_from_json(block, where)
        except MalformedData as exc:
            raise GraphDataError(str(exc)) from None
        builder = _BlockBuilder(block, where)
        builder.build()
        for stem, rows in builder.rows.items():
            graph.rows.setdefault(stem, []).extend(rows)
        scripts.update(builder.scripts)
        txs.update(builder.txs)
        sources |= builder.source_txs
        heights.append(builder.height)
    if not heights:
        raise GraphDataError(f"{source}: no blocks")
    graph.rows["nodes_Script"] = [(s.id, s.address, s.type, s.base58_script)
                                  for s in scripts.values()]
    graph.rows["nodes_Tx"] = list(txs.values()) + [
        (txid, None, None, None, None, None) for txid in sorted(sources - txs.keys())]
    graph.heights = (min(heights), max(heights))
    return graph
