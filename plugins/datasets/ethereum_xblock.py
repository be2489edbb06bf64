"""``ethereum_xblock``: the XBlock phishing K-order subgraph of T-EDGE, with its publisher's split.

Layout (``ethereum_xblock_tedge/`` in the shared data, from the DSC180B project that republished
it; see DATA.md):

* ``edges.csv``: ``,from,to,amount,n_transactions,timestamp``: one **aggregated** edge per
  ordered pair of nodes: ``amount`` is the ETH of the pair's ``n_transactions`` transfers
  summed, ``timestamp`` one Unix time per pair (which transfer it belongs to is not said).
* ``nodes_train_test_split.csv``: ``,id,label,has_label,is_train,is_test`` for every node
  (integer ids; addresses are not given): ``label`` 1 phishing, 0 normal, empty when
  unlabelled; ``is_train`` / ``is_test`` the publisher's split of the labelled nodes.

Rows are the labelled nodes (890: 445 phishing, 445 normal), in id order; ``given_split`` is the
publisher's split (train 623, test 267), used by ``scenario=given_split``. ``graph`` holds every
node (86,622; the unlabelled ones are counterparties reached by the K-order sampling) and every
aggregated edge, with ``edge_attr`` ``value`` (amount, ETH), ``count`` (n_transactions) and
``timestamp`` (the file's per-pair time); ``edge_index`` is its restriction to labelled rows.

**Features: the account schema, as far as aggregated edges determine it.** An aggregated edge
gives the sum and the number of a pair's transfers, not each transfer. So:

* exact for every row: ``in_total``, ``out_total``, ``out_minus_in``, ``in_degree`` and
  ``out_degree`` (sums of ``n_transactions``), ``degree_diff``, ``tx_count``,
  ``uniq_in_counterparties``, ``uniq_out_counterparties``, ``uniq_counterparties``,
  ``in_mean``, ``out_mean``, ``value_mean`` (totals over counts) and ``out_in_ratio``;
* the incoming value and timing statistics (``in_std``, ``in_min``, ``in_max``, ``in_median``,
  ``max_in_share``, ``in_interval_mean_h``, ``in_interval_std_h``) only where every incoming
  edge holds one transfer (the edge *is* the transfer, its timestamp the transfer's time);
  the outgoing ones (``out_*`` likewise, ``max_out_share``) only where every outgoing edge does;
* every other attribute (lifetime, active days, gaps, bursts, hour entropy, ``value_std``,
  ``zero_value_share``, ``first_in_to_first_out_h``) only where every edge of the node holds
  one transfer (16 % of the labelled rows: 18 % of normal, 13 % of phishing ones).

Elsewhere these are NaN: here NaN means "undefined" (as in the schema) *or* "not determined
by aggregated edges". ``provenance.details["transfer_level_rows"]`` counts the rows that have
them. ``time`` is the earliest per-pair timestamp of a node's edges (for the audit).

Reading is strict: a missing column, a value that is not a number, an edge naming an unknown
node, a pair listed twice, a labelled node in neither split, an unlabelled one in a split, or a
split without a labelled node in train or in test is a DataError naming file, line and column.
Parsing and attributes take about 2 s, so nothing is cached.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from framework.account_schema import (ATTRIBUTE_NAMES, account_tables_from_transfers,
                                      compute_attributes)
from framework.capabilities import Tags
from framework.data import AccountData, InteractionGraph, Provenance
from framework.errors import DataError
from framework.hookspecs import hookimpl
from framework.interfaces import DataContext
from framework.safe_files import first_line, regular_file

RELATIVE_PATH = "ethereum_xblock_tedge"
EDGES_FILE, NODES_FILE = "edges.csv", "nodes_train_test_split.csv"
EDGE_COLUMNS = ("from", "to", "amount", "n_transactions", "timestamp")
NODE_COLUMNS = ("id", "label", "has_label", "is_train", "is_test")
CLASSES = ["normal", "phishing"]  # label 0, 1

# Which account-schema attributes aggregated edges determine (see the module docstring).
EXACT = ("in_total", "out_total", "out_minus_in", "in_degree", "out_degree", "degree_diff",
         "tx_count", "uniq_in_counterparties", "uniq_out_counterparties", "uniq_counterparties",
         "in_mean", "out_mean", "value_mean", "out_in_ratio")
NEEDS_SINGLE_IN = ("in_std", "in_min", "in_max", "in_median", "max_in_share",
                   "in_interval_mean_h", "in_interval_std_h")
NEEDS_SINGLE_OUT = ("out_std", "out_min", "out_max", "out_median", "max_out_share",
                    "out_interval_mean_h", "out_interval_std_h")
NEEDS_SINGLE_ALL = tuple(a for a in ATTRIBUTE_NAMES
                         if a not in EXACT + NEEDS_SINGLE_IN + NEEDS_SINGLE_OUT)

_TRUE, _FALSE = {"true", "1"}, {"false", "0"}
_INT64 = 2**63


def _read_strings(path: Path, required: tuple[str, ...], what: str) -> pd.DataFrame:
    """The CSV as strings with a ``line`` column; its header must name every required column."""
    regular_file(path, what)
    header = first_line(path, f"{what} header").split(",")
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(f"{path}, line 1: header {header} lacks column(s) {missing}; expected "
                        f"the columns {list(required)}")
    if len(set(header)) != len(header):
        raise DataError(f"{path}, line 1: header {header} names a column twice")
    try:
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=header,
                                                                    skip_rows=1),
                               convert_options=pacsv.ConvertOptions(
                                   column_types={n: pa.string() for n in header},
                                   include_columns=list(required), strings_can_be_null=False))
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: malformed CSV ({exc}); expected {len(header)} comma-separated "
                        f"fields per row as in its header, UTF-8 text") from exc
    frame = table.to_pandas()
    frame["line"] = np.arange(2, len(frame) + 2)
    return frame


def _bad(path: Path, frame: pd.DataFrame, mask: np.ndarray, column: str, expected: str) -> None:
    if mask.any():
        first = int(np.flatnonzero(mask)[0])
        raise DataError(f"{path}, line {frame['line'].iloc[first]}, column {column!r}: "
                        f"{frame[column].iloc[first]!r} is not {expected} ({int(mask.sum())} "
                        f"such row(s))")


def _numbers(path: Path, frame: pd.DataFrame, column: str, whole: bool,
             minimum: float | None = None) -> np.ndarray:
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if whole:
        bad |= ~bad & ((np.nan_to_num(values) % 1 != 0) | (np.abs(np.nan_to_num(values)) >= _INT64))
    expected = "a whole number" if whole else "a finite number"
    if minimum is not None:
        bad |= ~bad & (np.nan_to_num(values) < minimum)
        expected += f" >= {minimum:g}"
    _bad(path, frame, bad, column, expected)
    return values.astype(np.int64) if whole else values


def _flags(path: Path, frame: pd.DataFrame, column: str) -> np.ndarray:
    text = frame[column].str.strip().str.lower()
    _bad(path, frame, ~text.isin(_TRUE | _FALSE).to_numpy(), column, "True or False")
    return text.isin(_TRUE).to_numpy()


def _repeated(path: Path, frame: pd.DataFrame, key: list[str], what: str) -> None:
    repeated = frame.duplicated(key, keep=False).to_numpy()
    if repeated.any():
        first = int(np.flatnonzero(repeated)[0])
        value = [frame[k].iloc[first].item() for k in key]
        same = np.flatnonzero((frame[key] == frame[key].iloc[first]).all(axis=1).to_numpy())
        raise DataError(f"{path}, lines {frame['line'].iloc[same[0]]} and "
                        f"{frame['line'].iloc[same[1]]}: {what} "
                        f"{value[0] if len(value) == 1 else tuple(value)} appears more than once "
                        f"({int(frame.duplicated(key).sum())} repeated rows); expected one row "
                        f"each")


def read_nodes(path: Path) -> pd.DataFrame:
    """Every node: ``id``, ``label`` (-1 unlabelled, 0 normal, 1 phishing), ``split``."""
    frame = _read_strings(path, NODE_COLUMNS, "XBlock node/split CSV")
    if frame.empty:
        raise DataError(f"{path}: no rows; expected one row per node")
    ids = _numbers(path, frame, "id", whole=True)
    frame["id"] = ids
    _repeated(path, frame, ["id"], "node id")
    text = frame["label"].str.strip()
    label = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
    _bad(path, frame, (text != "").to_numpy() & ~np.isin(label, [0.0, 1.0]), "label",
         "0, 1 or empty")
    has_label = _flags(path, frame, "has_label")
    _bad(path, frame, has_label != (text != "").to_numpy(), "has_label",
         "consistent with the label column (True exactly when a label is given)")
    train, test = _flags(path, frame, "is_train"), _flags(path, frame, "is_test")
    _bad(path, frame, train & test, "is_test", "False on a row whose is_train is True (a node "
         "is in one split)")
    _bad(path, frame, has_label & ~train & ~test, "is_train",
         "True (or is_test True) for a labelled node: every labelled node must be in the "
         "publisher's train or test split")
    _bad(path, frame, ~has_label & (train | test), "has_label",
         "False for a node in a split (the split holds labelled nodes only)")
    for name, side in (("train", train), ("test", test)):
        if not (has_label & side).any():
            raise DataError(f"{path}: no labelled node has is_{name}=True; the split needs "
                            f"labelled nodes in both train and test")
    return pd.DataFrame({"id": ids, "label": np.where(has_label, label, -1).astype(np.int64),
                         "split": np.where(train, "train", np.where(test, "test", "")),
                         "line": frame["line"].to_numpy()})


def read_edges(path: Path, known: pd.Index, nodes_path: Path) -> pd.DataFrame:
    """Every aggregated edge, typed; both ends must be nodes of the node file."""
    frame = _read_strings(path, EDGE_COLUMNS, "XBlock edge CSV")
    out = pd.DataFrame({"source": _numbers(path, frame, "from", whole=True),
                        "target": _numbers(path, frame, "to", whole=True),
                        "value": _numbers(path, frame, "amount", whole=False, minimum=0),
                        "count": _numbers(path, frame, "n_transactions", whole=True, minimum=1),
                        "timestamp": _numbers(path, frame, "timestamp", whole=True),
                        "line": frame["line"].to_numpy()})
    for column, end in (("from", "source"), ("to", "target")):
        unknown = known.get_indexer(out[end]) < 0
        if unknown.any():
            first = int(np.flatnonzero(unknown)[0])
            raise DataError(f"{path}, line {out['line'].iloc[first]}, column {column!r}: node "
                            f"{out[end].iloc[first]} is "
                            f"not in {nodes_path} ({int(unknown.sum())} edge(s) name unknown "
                            f"nodes); expected every edge end to be a listed node")
    _repeated(path, out.rename(columns={"source": "from", "target": "to"}), ["from", "to"],
              "the pair (from, to)")
    return out


def account_attributes(edges: pd.DataFrame, accounts: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """The 43 schema attributes of ``accounts`` from aggregated edges (see module docs)."""
    keep = set(accounts.tolist())
    mine = edges[edges["source"].isin(keep) | edges["target"].isin(keep)]
    # One pseudo-transfer per edge: sums, counterparties and, where an edge holds one transfer,
    # everything else are those of the real transfers.
    transfers = pd.DataFrame({"txid": "pair:" + mine.index.astype(str),
                              "timestamp": mine["timestamp"].to_numpy(),
                              "from": mine["source"].to_numpy(), "to": mine["target"].to_numpy(),
                              "value": mine["value"].to_numpy()})
    events, links = account_tables_from_transfers(transfers)
    attributes = compute_attributes(events[events["account"].isin(keep)],
                                    links[links["account"].isin(keep)], accounts)
    index = pd.Index(accounts)
    received = mine.groupby("target")["count"].sum().reindex(index, fill_value=0).astype(float)
    sent = mine.groupby("source")["count"].sum().reindex(index, fill_value=0).astype(float)
    loops = mine[mine["source"] == mine["target"]].groupby("source")["count"].sum().reindex(
        index, fill_value=0).astype(float)
    attributes["in_degree"], attributes["out_degree"] = received, sent
    attributes["degree_diff"] = received - sent
    attributes["tx_count"] = received + sent - loops  # a self-transfer is one transaction
    with np.errstate(divide="ignore", invalid="ignore"):
        attributes["in_mean"] = (attributes["in_total"] / received).where(received > 0)
        attributes["out_mean"] = (attributes["out_total"] / sent).where(sent > 0)
        attributes["value_mean"] = ((attributes["in_total"] + attributes["out_total"])
                                    / (received + sent)).where(received + sent > 0)
    multi = mine[mine["count"] > 1]
    multi_in, multi_out = index.isin(multi["target"]), index.isin(multi["source"])
    attributes.loc[multi_in, list(NEEDS_SINGLE_IN)] = np.nan
    attributes.loc[multi_out, list(NEEDS_SINGLE_OUT)] = np.nan
    attributes.loc[multi_in | multi_out, list(NEEDS_SINGLE_ALL)] = np.nan
    stats = {"transfer_level_rows": int((~multi_in & ~multi_out).sum()),
             "incoming_transfer_level_rows": int((~multi_in).sum()),
             "outgoing_transfer_level_rows": int((~multi_out).sum())}
    return attributes.loc[:, list(ATTRIBUTE_NAMES)], stats


class EthereumXBlockDataset:
    chainsleuth_tags = Tags(provides=frozenset({"edge_index", "graph", "time", "given_split",
                                                "feature_space"}), needs_data_dir=True)

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    def load(self, context: DataContext) -> AccountData:
        root = context.locate("ethereum_xblock", RELATIVE_PATH, self.path)
        nodes_path, edges_path = root / NODES_FILE, root / EDGES_FILE
        nodes = read_nodes(nodes_path).sort_values("id", ignore_index=True)
        known = pd.Index(nodes["id"])
        edges = read_edges(edges_path, known, nodes_path)
        rows = nodes[nodes["label"] >= 0].reset_index(drop=True)
        accounts = rows["id"].to_numpy()
        attributes, stats = account_attributes(edges, accounts)
        incident = pd.concat([edges[["source", "timestamp"]].rename(columns={"source": "node"}),
                              edges[["target", "timestamp"]].rename(columns={"target": "node"})])
        first_seen = incident.groupby("node")["timestamp"].min().reindex(accounts)
        graph = InteractionGraph(
            node_ids=known.astype(str).to_numpy(), row_nodes=known.get_indexer(accounts),
            edge_index=np.vstack([known.get_indexer(edges["source"]),
                                  known.get_indexer(edges["target"])]),
            edge_attr=edges[["value", "count", "timestamp"]].to_numpy(dtype=np.float64),
            edge_attr_names=("value", "count", "timestamp"), kind="transfers")
        split = rows["split"].to_numpy()
        return AccountData(
            name="ethereum_xblock", ids=accounts.astype(str), X=attributes.to_numpy(),
            feature_names=list(ATTRIBUTE_NAMES), y=rows["label"].to_numpy(),
            class_names=list(CLASSES), benign_classes=["normal"],
            provenance=Provenance(
                origin="real", source=str(root),
                description="XBlock phishing K-order subgraph (T-EDGE), aggregated edges, with "
                            "the DSC180B publisher's train/test split",
                details={**stats, "nodes": int(len(nodes)), "edges": int(len(edges)),
                         "labelled": int(len(rows)),
                         "split": {"train": int((split == "train").sum()),
                                   "test": int((split == "test").sum())},
                         "given_split": f"the publisher's is_train/is_test columns of "
                                        f"{NODES_FILE}",
                         "attributes_exact": list(EXACT),
                         "attributes_needing_single_transfer_edges": [
                             *NEEDS_SINGLE_IN, *NEEDS_SINGLE_OUT, *NEEDS_SINGLE_ALL]}),
            edge_index=graph.between_rows(), graph=graph, time=first_seen.to_numpy(np.float64),
            feature_space="account_schema", given_split=split)


@hookimpl
def register_datasets() -> dict[str, Callable[..., EthereumXBlockDataset]]:
    return {"ethereum_xblock": EthereumXBlockDataset}
