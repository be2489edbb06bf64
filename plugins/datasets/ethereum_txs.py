"""``ethereum_txs``: raw Ethereum transaction lists of labelled ("centre") accounts.

Layout (the FDGNN crawl in the shared data): one folder per label, one ``<address>.csv`` per
centre account holding its first-order transactions. Two header variants exist and both are
accepted exactly:

* phishing / normal: ``,TxHash,BlockHeight,TimeStamp,From,To,Value,ContractAddress,Input,isError``
* hack / ponzi: ``, TxHash, BlockHeight, TimesStamp, From, To, Value`` (leading spaces,
  ``TimesStamp``; ``TxHash`` and ``BlockHeight`` are 0)

Policies (recorded in every result's provenance):

* **Shared transactions.** A transaction between two centres is listed in both files. Rows are
  deduplicated on ``TxHash`` where the crawl has real hashes, and on (timestamp, from, to,
  value) where it has not; the number removed is recorded.
* **Two crawls.** Phishing/normal and hack/ponzi come from different crawls with different
  columns and periods; a model can learn the crawl instead of the behaviour.
  ``shared_columns=true`` (default) uses only the columns both crawls have (timestamp, from,
  to, value); ``false`` also drops failed transactions (``isError=1``, which only the
  phishing/normal crawl records). ``shared_period=true`` keeps only transactions inside the
  period both crawls cover (2015-08 .. 2019-10); it is off by default because it leaves 10 of
  the 826 hack accounts with any transaction. The account schema holds no absolute time, so
  the period difference reaches models only through behaviour (e.g. activity levels).
* **Contract creation** rows with an empty ``To`` (one per Ponzi file) are the creation of the
  centre contract: an incoming event of the centre from its creator.
* The null address ``0x000...0`` of the normal set is not an account anyone controls (its
  history is burns); ``drop_null_address=true`` (default) removes it as a centre.
* **Harmonised by default** (``harmonise=true``): zero-value transfers (present only in the
  hack/ponzi crawl; their share named the crawl for 99.8 % of accounts) and failed transactions
  (marked only by the phishing/normal crawl) are dropped from both crawls before any attribute
  is computed. ``harmonise=false`` keeps the data as published. Harmonising does not make the
  crawls alike: they cover different years (hack/ponzi mostly 2020-2021, phishing/normal up to
  2019-10), and time-dependent behaviour still tells them apart (``chainsleuth audit``).
* ``classes`` chooses which labels to load (e.g. ``[phishing, normal]`` to stay within one crawl).
* Each account's crawl is declared as its **source** (``AccountData.sources``), so
  ``chainsleuth audit`` can show which attributes name the crawl.

Features are the 43 account-schema attributes of each centre, computed from its deduplicated
history. With ``counterparties=true`` (default) every account a centre dealt with is an
**unlabelled row** too (y = -1, source ``counterparties (partial histories)``; 133k accounts),
its attributes computed from the part of its history the crawl saw (its dealings with centres;
75 % of them have a single transfer). They are the pre-training pool the paper pre-trains on
(an unlabelled crawl) and give the interaction graph's counterparty nodes their attributes; no
scenario ever trains or tests on them. ``counterparties=false`` keeps only the centres.
Histories stay available (``AccountData.history``) so augmentations can act on transactions;
``graph`` is the account interaction graph (all centres and their counterparties; edges =
transfers aggregated per ordered pair, with count, total value and first time), and
``edge_index`` its restriction to centre rows.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from framework.account_schema import (ATTRIBUTE_NAMES, account_tables_from_transfers,
                                      compute_attributes)
from framework.capabilities import Tags
from framework.data import AccountData, InteractionGraph, Provenance, TransactionHistory
from framework.errors import DataError
from framework.hookspecs import hookimpl
from framework.interfaces import DataContext
from framework.results import atomic_output, write_atomic
from framework.safe_files import read_bytes, first_line, regular_file

RELATIVE_PATH = "ethereum_txs_fdgnn"
FOLDERS = {"phishing": "Phishing first-order nodes", "normal": "Normal first-order nodes",
           "hack": "Hack first-order nodes", "ponzi": "Ponzi first-order nodes"}
CLASSES = ("normal", "phishing", "hack", "ponzi")
# Each label was collected by one of two crawls (different columns, periods and filters).
CRAWL_OF = {"phishing": "phishing_normal_crawl", "normal": "phishing_normal_crawl",
            "hack": "hack_ponzi_crawl", "ponzi": "hack_ponzi_crawl"}
CRAWLS = ["phishing_normal_crawl", "hack_ponzi_crawl"]
# Unlabelled rows: accounts the centres dealt with, each seen only through those dealings.
COUNTERPARTY_SOURCE = "counterparties (partial histories)"
FULL_HEADER = ",TxHash,BlockHeight,TimeStamp,From,To,Value,ContractAddress,Input,isError"
SHORT_HEADER = ", TxHash, BlockHeight, TimesStamp, From, To, Value"
NULL_ADDRESS = "0x" + "0" * 40
TABLE_VERSION = "1"


def _read_file(path: Path, label: str) -> pa.Table:
    """One centre's rows as strings (typed later, with line numbers). Only a regular UTF-8 file
    is read; a header-only file is a centre with no transactions (zero rows, typed like the
    others so the files still concatenate)."""
    header = first_line(path, "account transaction CSV")
    if header not in (FULL_HEADER, SHORT_HEADER):
        raise DataError(f"{path}: header {header!r} is neither of the two known layouts: "
                        f"{FULL_HEADER!r} or {SHORT_HEADER!r}")
    names = ["row", "tx_hash", "block", "timestamp", "from", "to", "value"]
    if header == FULL_HEADER:
        names += ["contract", "input", "is_error"]
    try:
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=names,
                                                                    skip_rows=1),
                               parse_options=pacsv.ParseOptions(),
                               convert_options=pacsv.ConvertOptions(
                                   column_types={n: pa.string() for n in names},
                                   strings_can_be_null=False))
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: malformed CSV ({exc}); expected {len(names)} fields per row "
                        f"as in its header, UTF-8 text") from exc
    centre = path.stem.lower()
    columns = {n: pc_strip(table[n]) for n in ("tx_hash", "timestamp", "from", "to", "value")}
    is_error = pc_strip(table["is_error"]) if "is_error" in names else pa.array(
        ["0"] * table.num_rows, pa.string())
    return pa.table({**columns, "is_error": is_error,
                     "centre": pa.array([centre] * table.num_rows, pa.string()),
                     "label": pa.array([label] * table.num_rows, pa.string()),
                     "line": pa.array(np.arange(2, table.num_rows + 2), pa.int64()),
                     "file": pa.array([str(path)] * table.num_rows, pa.string())})


def pc_strip(column: pa.ChunkedArray) -> pa.ChunkedArray:
    import pyarrow.compute as pc

    return pc.utf8_lower(pc.utf8_trim_whitespace(column))


_INT64 = 2**63


def _to_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Type the numeric columns; a value that is not a (finite; for counts, whole and 64-bit)
    number names its file, line and column."""
    for column, kind in (("timestamp", "int64"), ("value", "float64"), ("is_error", "int64")):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.astype("float64"))
        if kind == "int64":
            bad |= ~bad & ((values.astype("float64") % 1 != 0)
                           | (values.astype("float64").abs() >= _INT64))
        if bad.any():
            row = frame[bad].iloc[0]
            expected = "a whole number" if kind == "int64" else "a finite number"
            raise DataError(f"{row['file']}, line {row['line']}, column {column!r}: "
                            f"{row[column]!r} is not {expected}")
        frame[column] = values.astype(kind)
    return frame


def read_transactions(root: Path, classes: Sequence[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every row of every centre file of the chosen classes, typed and validated."""
    tables, centres = [], {}
    for label in classes:
        folder = root / FOLDERS[label]
        if not folder.is_dir():
            raise DataError(f"dataset 'ethereum_txs': folder {folder} is missing; expected the "
                            f"four label folders of {RELATIVE_PATH} ({', '.join(FOLDERS.values())})")
        files = sorted(regular_file(p, "account transaction CSV") for p in folder.glob("*.csv"))
        if not files:
            raise DataError(f"{folder}: no <address>.csv files")
        for path in files:
            centre = path.stem.lower()
            if centre in centres:
                raise DataError(f"{path}: centre {centre} is also labelled {centres[centre]}; "
                                f"an account needs one label")
            centres[centre] = label
            tables.append(_read_file(path, label))
    frame = _to_numbers(pa.concat_tables(tables).to_pandas())
    outsider = (frame["from"] != frame["centre"]) & (frame["to"] != frame["centre"]) & (
        frame["to"] != "")
    if outsider.any():
        row = frame[outsider].iloc[0]
        raise DataError(f"{row['file']}, line {row['line']}: the transaction involves neither "
                        f"the file's centre account {row['centre']} as From nor as To")
    return frame, {"files": len(centres), "rows": len(frame), "centres": centres}


def deduplicate(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Keep one copy of each transaction (see module docs); return the counts removed.

    With hashes: one row per hash, which removes the copy in the second centre file and the
    second listing of a self-transfer (Etherscan lists those twice). Without hashes (hack /
    ponzi crawl): a row identical to one in another centre's file is that file's copy, and an
    identical self-transfer row in the same file its second listing; other identical rows in
    one file are kept, as distinct transactions that happen to look alike.
    """
    hashed = frame["tx_hash"].str.startswith("0x")
    with_hash, without = frame[hashed], frame[~hashed]
    files_per_hash = with_hash.groupby("tx_hash")["centre"].nunique()
    self_listed = with_hash.duplicated(["tx_hash", "centre"]) & (
        with_hash["from"] == with_hash["to"])
    key = ["timestamp", "from", "to", "value"]
    first_file = without.groupby(key)["centre"].transform("min")
    cross_copy = without["centre"] != first_file
    self_copy = without.duplicated([*key, "centre"]) & (without["from"] == without["to"])
    kept = pd.concat([with_hash[~with_hash.duplicated("tx_hash")],
                      without[~cross_copy & ~self_copy]]).sort_index()
    return kept, {"hashes_in_two_centre_files": int((files_per_hash >= 2).sum()),
                  "hashed_rows_removed": int(with_hash.duplicated("tx_hash").sum()),
                  "self_transfer_second_listings": int(self_listed.sum() + self_copy.sum()),
                  "unhashed_cross_file_copies_removed": int(cross_copy.sum())}


class EthereumTxsDataset:
    # Loading computes the attributes of 137k accounts (minutes): too slow for the contract suite.
    chainsleuth_tags = Tags(provides=frozenset({"edge_index", "graph", "sources", "time",
                                                "history", "feature_space"}),
                            needs_data_dir=True, example_params=None)

    def __init__(self, path: str | None = None, classes: Sequence[str] = CLASSES,
                 shared_columns: bool = True, shared_period: bool = False,
                 drop_null_address: bool = True, harmonise: bool = True,
                 counterparties: bool = True) -> None:
        unknown = sorted(set(classes) - set(CLASSES))
        if unknown or len(set(classes)) < 2:
            raise DataError(f"dataset 'ethereum_txs': classes must be at least two of "
                            f"{list(CLASSES)}, got {list(classes)}")
        self.path = path
        self.classes = [c for c in CLASSES if c in set(classes)]
        self.shared_columns = shared_columns
        self.shared_period = shared_period
        self.drop_null_address = drop_null_address
        self.harmonise = harmonise
        self.counterparties = counterparties

    def load(self, context: DataContext) -> AccountData:
        root = context.locate("ethereum_txs", RELATIVE_PATH, self.path)
        frame, stats = self._cached_table(root, context.cache_dir)
        centres = pd.Series(stats.pop("centres")).sort_index()
        if self.drop_null_address:
            centres = centres.drop(NULL_ADDRESS, errors="ignore")
        frame = frame.copy()
        frame.loc[frame["to"] == "", "to"] = frame.loc[frame["to"] == "", "centre"]
        if self.shared_period:
            bounds = frame.groupby(frame["label"].isin(["hack", "ponzi"]))["timestamp"].agg(
                ["min", "max"])
            if len(bounds) == 2:
                start, end = bounds["min"].max(), bounds["max"].min()
                frame = frame[(frame["timestamp"] >= start) & (frame["timestamp"] <= end)]
                stats["period"] = [int(start), int(end)]
        if not self.shared_columns:
            stats["failed_dropped"] = int((frame["is_error"] == 1).sum())
            frame = frame[frame["is_error"] == 0]
        if self.harmonise:
            # The phishing/normal crawl holds no zero-value transfer at all (0 of ~221k rows);
            # the hack/ponzi crawl 28 % / 13 %. Drop them from both, before any attribute.
            zero = frame["value"] == 0
            stats["harmonised_zero_value_dropped"] = int(zero.sum())
            # Failed transactions are marked only by the phishing/normal crawl (0.6 % of its
            # rows); the other cannot tell them apart, so keep only what both can call valid.
            failed = ~zero & (frame["is_error"] == 1)
            stats["harmonised_failed_dropped"] = int(failed.sum())
            frame = frame[~zero & ~failed]
        txid = np.where(frame["tx_hash"].str.startswith("0x"), frame["tx_hash"],
                        "row:" + frame.index.astype(str))
        events, links = account_tables_from_transfers(frame.assign(txid=txid))
        active = set(events["account"])
        silent = [c for c in centres.index if c not in active]
        # A centre without a single transaction left (e.g. all outside the shared period) has
        # nothing to learn from, and its all-missing row would only reveal its crawl.
        centres = centres.drop(silent)
        stats["centres_without_transactions_dropped"] = len(silent)
        labels = centres.to_numpy()
        ids = centres.index.to_numpy()
        if self.counterparties:
            # Sorted like np.setdiff1d, but hashed: setdiff1d on 140k address strings sorts
            # object arrays and cost 12 s of a 30 s load.
            seen = pd.unique(events["account"])
            others = np.sort(seen[~pd.Index(seen).isin(ids)])
            ids = np.concatenate([ids, others[others != NULL_ADDRESS] if self.drop_null_address
                                  else others])
            stats["counterparty_rows"] = len(ids) - len(labels)
        rows = set(ids)
        events, links = events[events["account"].isin(rows)], links[links["account"].isin(rows)]
        attributes = compute_attributes(events, links, ids)
        y = np.concatenate([[self.classes.index(label) for label in labels],
                            np.full(len(ids) - len(labels), -1)]).astype(np.int64)
        sources = np.concatenate([[CRAWLS.index(CRAWL_OF[label]) for label in labels],
                                  np.full(len(ids) - len(labels), len(CRAWLS))]).astype(np.int64)
        graph = _interaction_graph(frame, ids)
        first_seen = events.groupby("account")["timestamp"].min().reindex(ids).to_numpy()
        return AccountData(
            name="ethereum_txs", ids=ids, X=attributes.to_numpy(),
            feature_names=list(ATTRIBUTE_NAMES), y=y, class_names=list(self.classes),
            benign_classes=["normal"] if "normal" in self.classes else [],
            provenance=Provenance(
                origin="real", source=str(root),
                description="FDGNN crawl: raw Etherscan transactions of labelled accounts",
                details={**stats, "classes": self.classes, "shared_columns": self.shared_columns,
                         "shared_period": self.shared_period,
                         "drop_null_address": self.drop_null_address,
                         "harmonise": self.harmonise, "counterparties": self.counterparties,
                         "transactions": int(len(frame))}),
            edge_index=graph.between_rows(), graph=graph,
            sources=sources, source_names=[*CRAWLS, COUNTERPARTY_SOURCE], time=first_seen,
            history=TransactionHistory(events.reset_index(drop=True),
                                       links.reset_index(drop=True)),
            feature_space="account_schema")

    def _cached_table(self, root: Path, cache_dir: Path) -> tuple[pd.DataFrame, dict]:
        """Parse once, then reuse a Parquet copy keyed by the files' *content* and the data
        root (an edit that keeps size and time still changes the key). A damaged cache entry is
        rebuilt; an unwritable cache folder only costs the reuse, with a warning."""
        content = hashlib.sha256(str(root.resolve()).encode())
        for label in self.classes:
            for path in sorted((root / FOLDERS[label]).glob("*.csv")):
                content.update(f"{label}/{path.name}:".encode())
                content.update(hashlib.sha256(read_bytes(path, "an ethereum_txs account file")).digest())
        key = content.hexdigest()[:24]
        cache = Path(cache_dir) / "ethereum_txs" / f"{TABLE_VERSION}-{'-'.join(self.classes)}-{key}"
        table_path, stats_path = cache / "transactions.parquet", cache / "stats.json"
        if table_path.is_file() and stats_path.is_file():
            try:
                return pq.read_table(table_path).to_pandas(), json.loads(stats_path.read_text())
            except (OSError, ValueError, pa.ArrowException) as exc:
                warnings.warn(f"dataset 'ethereum_txs': cache entry {cache} is damaged ({exc}); "
                              f"rebuilding it from {root}", stacklevel=2)
        frame, stats = read_transactions(root, self.classes)
        frame, dedup = deduplicate(frame)
        stats.update(dedup)
        frame = frame.drop(columns=["file", "line"]).reset_index(drop=True)
        try:
            with atomic_output(table_path) as tmp:
                pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
            write_atomic(stats_path, json.dumps(stats))
        except OSError as exc:
            warnings.warn(f"dataset 'ethereum_txs': cannot write the cache {cache} ({exc}); "
                          f"continuing without it (set paths.cache_dir to a writable folder)",
                          stacklevel=2)
        return frame, stats


def _interaction_graph(frame: pd.DataFrame, centres: np.ndarray) -> InteractionGraph:
    """Centres first (node i = row i), then every counterparty; one edge per ordered pair of
    accounts that transferred, with the number of transfers, their total value and the time
    of the first one."""
    pairs = frame.groupby(["from", "to"]).agg(count=("value", "size"), total=("value", "sum"),
                                              first=("timestamp", "min")).reset_index()
    nodes = pd.Index(pd.unique(np.concatenate([centres, pairs["from"], pairs["to"]])))
    return InteractionGraph(
        node_ids=nodes.to_numpy(), row_nodes=np.arange(len(centres)),
        edge_index=np.vstack([nodes.get_indexer(pairs["from"]), nodes.get_indexer(pairs["to"])]),
        edge_attr=pairs[["count", "total", "first"]].to_numpy(dtype=np.float64),
        edge_attr_names=("count", "value", "first_timestamp"), kind="transfers")


@hookimpl
def register_datasets() -> dict[str, Callable[..., EthereumTxsDataset]]:
    return {"ethereum_txs": EthereumTxsDataset}
