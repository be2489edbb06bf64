"""``bitcoin_graph``: labelled addresses described from the temporal Bitcoin graph.

Source blocks: the chain simulator's Core JSON blocks (the embedded default, labelled by its
ground truth), or ``blocks`` files (``blk*.dat``, framed, raw, or Core JSON) labelled by a
``labels`` CSV (``address,label``; ``benign`` names the benign labels). The blocks go through
the same ETL as ``chainsleuth graph build`` (:mod:`libraries.graph_etl`); inputs that spend outputs older
than the loaded range need verbosity-3 JSON (prevouts) or ``utxos`` (a btcd UTXO file).

Rows: every labelled address that appears in the graph, plus (as unlabelled rows, y = -1) the
Script nodes within ``hops`` Transfers hops of them: each address's k-hop interaction subgraph,
which pre-training and graph representations may use. ``edge_index``: the Transfers edges
between rows. Features: the 43 account-schema attributes (:mod:`framework.account_schema`)
computed from the graph's edges: ``in`` events from Credits and Mints, ``out`` events from
Redeems, timestamped with their block's time; counterparties from Transfers. The graph stamps
edges per block, so an address's events are per block (two receipts in one block are one event,
and ``tx_count`` counts blocks). Addresses labelled but absent from the graph are counted in the
provenance, never silently dropped without a trace.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from framework.account_schema import ATTRIBUTE_NAMES, compute_attributes
from framework.capabilities import Tags
from framework.data import AccountData, Provenance, TransactionHistory
from framework.errors import DataError
from framework.interfaces import DataContext
from framework.safe_files import read_text, regular_file
from libraries.graph_etl.errors import MissingHeight
from libraries.graph_etl.tables import tables_from_json, to_tables, utxo_table
from libraries.simulation import BENIGN, SimulationConfig, simulate
from plugins.bitcoin_graph.core_json import read_json_blocks
from plugins.bitcoin_graph.library import framework_errors, require_graph_extra
from plugins.bitcoin_graph.readers import read_blocks, read_btcd_utxos

if TYPE_CHECKING:
    from libraries.graph_etl.graph import BitcoinGraph

SATOSHI = 100_000_000


def graph_events(graph: BitcoinGraph) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Account-schema ``events`` and ``links`` of every Script, from the graph's edges."""
    time = dict(zip(graph.nodes["Block"]["id"].to_pylist(), graph.nodes["Block"]["time"].to_pylist()))

    def frame(table: pa.Table, account: str, direction: str) -> pd.DataFrame:
        data = table.to_pandas()
        return pd.DataFrame({"account": data[account].astype(str),
                             "txid": "block:" + data["height"].astype(str),
                             "timestamp": data["height"].map(time).astype(np.float64),
                             "direction": direction, "value": data["value"] / SATOSHI})

    events = pd.concat([frame(graph.edges["Credits"], "dst", "in"),
                        frame(graph.edges["Mints"], "dst", "in"),
                        frame(graph.edges["Redeems"], "src", "out")], ignore_index=True)
    events = events.groupby(["account", "txid", "timestamp", "direction"], as_index=False)[
        "value"].sum()
    transfers = graph.edges["Transfers"].to_pandas()
    transfers = transfers[transfers["src"] != transfers["dst"]]
    links = pd.concat([
        pd.DataFrame({"account": transfers["dst"], "direction": "in",
                      "counterparty": transfers["src"]}),
        pd.DataFrame({"account": transfers["src"], "direction": "out",
                      "counterparty": transfers["dst"]}),
    ], ignore_index=True)
    return events, links


def read_labels(path: Path) -> dict[str, str]:
    """``address,label`` rows (a header row is allowed); a malformed row names its line. The
    file is refused unless it is a regular UTF-8 file, so a pipe cannot block the load and a
    stray byte is reported with its line and offset."""
    text = read_text(path, "labels file (dataset.labels)")
    labels = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            number = reader.line_num
            if not row or row[0].startswith("#") or (number == 1 and row[:2] == ["address",
                                                                                 "label"]):
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise DataError(f"{path} line {number}: expected 'address,label', got {row}")
            labels[row[0].strip()] = row[1].strip()
    except csv.Error as exc:
        raise DataError(f"{path} line {reader.line_num}: {exc}; expected 'address,label' "
                        f"rows") from exc
    if not labels:
        raise DataError(f"{path}: no labelled addresses")
    return labels


def _tags(params: Mapping[str, Any]) -> Tags:
    """Blocks are files under the data root; without them the chain is simulated."""
    return Tags(provides=frozenset({"edge_index", "history", "feature_space"}),
                needs_data_dir=bool(params["blocks"]),
                example_params={"days": 2, "individual_wallet": 40})


class BitcoinGraphDataset:
    chainsleuth_tags = staticmethod(_tags)

    def __init__(self, blocks: list[str] | None = None, labels: str | None = None,
                 benign: list[str] | None = None, first_height: int | None = None,
                 utxos: str | None = None, hops: int = 1, hop_shrink: float = 0.5,
                 days: int = 8, individual_wallet: int = 250, world_seed: int = 0) -> None:
        if blocks and not labels:
            raise DataError("dataset 'bitcoin_graph' with dataset.blocks needs dataset.labels "
                            "(an address,label CSV)")
        self.blocks, self.labels, self.benign = list(blocks or []), labels, list(benign or [])
        self.first_height, self.utxos = first_height, utxos
        self.hops, self.hop_shrink = hops, hop_shrink
        self.days, self.individual_wallet, self.world_seed = days, individual_wallet, world_seed

    def _simulated(self) -> tuple[BitcoinGraph, dict[str, str], list[str], str]:
        from libraries.graph_etl.graph import build_graph

        config = SimulationConfig(days=self.days, individual_wallet=self.individual_wallet,
                                  seed=self.world_seed)
        blocks, truth = simulate(config)
        tables, prevouts = tables_from_json(blocks[1:], "chain_sim blocks")
        labels = {address: kind for address, kind, _, funding in truth if not funding}
        return build_graph(tables, prevouts), labels, list(BENIGN), "synthetic"

    def _from_files(self, context: DataContext) -> tuple[BitcoinGraph, dict[str, str], list[str],
                                                          str]:
        from libraries.graph_etl.graph import build_graph

        paths = [regular_file(self._locate(context, p), "block file (dataset.blocks)")
                 for p in self.blocks]
        if all(p.suffix in (".json", ".jsonl") for p in paths):
            tables, prior = tables_from_json([b for p in paths for b in read_json_blocks(p)],
                                             ", ".join(map(str, paths)))
        else:
            try:
                tables = to_tables([b for p in paths for b in read_blocks(p)], self.first_height)
            except MissingHeight as exc:
                raise DataError(f"dataset 'bitcoin_graph': {exc}: set dataset.first_height to "
                                f"the height of the first block in dataset.blocks") from exc
            prior = None
        if self.utxos:
            entries = read_btcd_utxos(self._locate(context, self.utxos))
            prior = utxo_table(entries)
        labels = read_labels(Path(self.labels).expanduser())
        return build_graph(tables, prior), labels, self.benign, "real"

    @staticmethod
    def _locate(context: DataContext, path: str) -> Path:
        """An absolute path as given; a relative one under the data root."""
        given = Path(path).expanduser()
        if given.is_absolute():
            return context.locate("bitcoin_graph", path, path)
        return context.locate("bitcoin_graph", path, None)

    def load(self, context: DataContext) -> AccountData:
        require_graph_extra("dataset 'bitcoin_graph'")
        with framework_errors():
            return self._load(context)

    def _load(self, context: DataContext) -> AccountData:
        from libraries.graph_etl.sampling import GraphIndex, rooted_sample

        graph, labels, benign, origin = (self._from_files(context) if self.blocks
                                         else self._simulated())
        index = GraphIndex(graph)
        scripts = index.ids["Script"]
        present = [a for a in labels if scripts.get_indexer([a])[0] >= 0]
        if not present:
            raise DataError(f"dataset 'bitcoin_graph': none of the {len(labels)} labelled "
                            f"addresses appears in the graph of the loaded blocks")
        roots = [index.node("Script", a) for a in present]
        sampled = rooted_sample(index, roots, max_hops=self.hops, shrink=self.hop_shrink,
                                seed=self.world_seed)
        start = index.offsets["Script"]
        in_scripts = sampled[(sampled >= start) & (sampled < start + len(scripts))] - start
        neighbours = sorted(set(scripts[in_scripts]) - set(present))
        ids = np.array(present + neighbours, dtype=object)
        class_names = sorted(set(labels.values()))
        unknown = set(benign) - set(class_names)
        if unknown:
            raise DataError(f"dataset 'bitcoin_graph': benign labels {sorted(unknown)} do not "
                            f"occur in the labels ({class_names})")
        y = np.array([class_names.index(labels[a]) for a in present] + [-1] * len(neighbours))
        events, links = graph_events(graph)
        chosen = set(ids.tolist())
        events, links = events[events["account"].isin(chosen)], links[links["account"].isin(chosen)]
        attributes = compute_attributes(events, links, ids)
        position = {a: i for i, a in enumerate(ids)}
        pairs = links[(links["direction"] == "out") & links["counterparty"].isin(chosen)]
        edge_index = np.array([pairs["account"].map(position).to_numpy(),
                               pairs["counterparty"].map(position).to_numpy()], dtype=np.int64)
        return AccountData(
            name="bitcoin_graph", ids=ids, X=attributes.to_numpy(),
            feature_names=list(ATTRIBUTE_NAMES), y=y, class_names=class_names,
            benign_classes=benign,
            provenance=Provenance(origin, ", ".join(self.blocks) or "chain_sim Core JSON blocks",
                                  "accounts described from the temporal Bitcoin graph"
                                  + (" (SYNTHETIC chain)" if origin == "synthetic" else ""),
                                  {"graph": graph.counts(), "labelled": len(labels),
                                   "labelled_in_graph": len(present), "hops": self.hops,
                                   "neighbours": len(neighbours)}),
            edge_index=edge_index,
            history=TransactionHistory(events.reset_index(drop=True),
                                       links.reset_index(drop=True)),
            feature_space="account_schema")
