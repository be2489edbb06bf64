"""``elliptic``: the Elliptic Bitcoin transaction dataset, from a local folder.

Layout (Kaggle ``elliptic_bitcoin_dataset``, the raw files of PyG's
``EllipticBitcoinDataset``):

* ``elliptic_txs_features.csv``: no header; ``txId``, time step (1..49), then 165 anonymised
  features (93 local, 72 aggregated);
* ``elliptic_txs_classes.csv``: header ``txId,class``; class ``1`` illicit, ``2`` licit,
  ``unknown`` unlabelled;
* ``elliptic_txs_edgelist.csv``: header ``txId1,txId2``; directed payment flows.

Rows are transactions, ``groups`` their time step (use ``scenario=temporal``, e.g.
``scenario.train_until=34``). Unknown rows stay in the data as unlabelled (label -1): they are in
the graph and may be used for pre-training, never for supervised training or testing. The
features are anonymised, so ``features=schema`` has every account-schema attribute masked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from framework.account_schema import ATTRIBUTE_NAMES
from framework.capabilities import Tags
from framework.data import AccountData, Provenance
from framework.errors import DataError
from framework.hookspecs import hookimpl
from framework.interfaces import DataContext
from framework.safe_files import first_line, regular_file

RELATIVE_PATH = "elliptic_bitcoin_dataset"
FEATURES_FILE, CLASSES_FILE, EDGES_FILE = ("elliptic_txs_features.csv", "elliptic_txs_classes.csv",
                                           "elliptic_txs_edgelist.csv")
N_FEATURES = 165
FEATURE_NAMES = [f"local_{i}" for i in range(93)] + [f"aggregated_{i}" for i in range(72)]
CLASS_CODES = {"2": 0, "1": 1, "unknown": -1}


def _read(path: Path, names: list[str], types: dict[str, pa.DataType],
          header: tuple[str, ...] | None) -> pd.DataFrame:
    """One of the three CSV files, typed; only a regular UTF-8 file is read (a pipe would block
    the load; a stray byte is reported with its offset)."""
    if not path.exists() and not path.is_symlink():
        raise DataError(f"{path} is missing; expected the three Elliptic CSV files "
                        f"({FEATURES_FILE}, {CLASSES_FILE}, {EDGES_FILE}) in one folder")
    regular_file(path, "Elliptic CSV file")
    if header is not None:
        found = tuple(first_line(path, "Elliptic CSV header").strip().split(","))
        if found != header:
            raise DataError(f"{path}: header {found} is not the expected {header}")
    try:
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(
            column_names=names, skip_rows=1 if header else 0),
            convert_options=pacsv.ConvertOptions(column_types=types))
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: {exc} (expected {len(names)} comma-separated fields per row, "
                        f"UTF-8 text)") from exc
    if table.num_rows == 0:
        raise DataError(f"{path}: no rows")
    return table.to_pandas()


def _unique(frame: pd.DataFrame, column: str, path: Path, first_row_line: int) -> None:
    """Each transaction once: a repeated txId would make its row (or its class) ambiguous."""
    repeated = frame[column].duplicated().to_numpy()
    if repeated.any():
        second = int(np.flatnonzero(repeated)[0])
        txid = frame[column].iloc[second]
        first = int(np.flatnonzero((frame[column] == txid).to_numpy())[0])
        raise DataError(f"{path}, lines {first + first_row_line} and {second + first_row_line}: "
                        f"txId {txid} appears more than once ({int(repeated.sum())} repeated "
                        f"rows); expected one row per transaction")


class EllipticDataset:
    # Not in the shared data (a Kaggle download of 200k transactions): the factory is checked.
    chainsleuth_tags = Tags(provides=frozenset({"edge_index", "groups", "feature_space"}),
                            needs_data_dir=True, example_params=None)

    def __init__(self, path: str | None = None, features: str = "native") -> None:
        if features not in ("native", "schema"):
            raise DataError(f"dataset 'elliptic': features must be native or schema, got "
                            f"{features!r}")
        self.path, self.features = path, features

    def load(self, context: DataContext) -> AccountData:
        root = context.locate("elliptic", RELATIVE_PATH, self.path)
        names = ["txId", "time_step", *FEATURE_NAMES]
        features = _read(root / FEATURES_FILE, names,
                         {"txId": pa.string(), "time_step": pa.int64(),
                          **{n: pa.float64() for n in FEATURE_NAMES}}, None)
        classes = _read(root / CLASSES_FILE, ["txId", "class"],
                        {"txId": pa.string(), "class": pa.string()}, ("txId", "class"))
        edges = _read(root / EDGES_FILE, ["txId1", "txId2"],
                      {"txId1": pa.string(), "txId2": pa.string()}, ("txId1", "txId2"))
        _unique(features, "txId", root / FEATURES_FILE, 1)
        _unique(classes, "txId", root / CLASSES_FILE, 2)
        unknown = sorted(set(classes["class"]) - set(CLASS_CODES))
        if unknown:
            raise DataError(f"{root / CLASSES_FILE}, column 'class': values {unknown[:5]} are not "
                            f"1 (illicit), 2 (licit) or unknown")
        label = dict(zip(classes["txId"], classes["class"].map(CLASS_CODES)))
        missing = [t for t in features["txId"] if t not in label]
        if missing:
            raise DataError(f"{root / CLASSES_FILE}: no class for {len(missing)} transactions "
                            f"of {FEATURES_FILE} (first: {missing[0]})")
        ids = features["txId"].to_numpy()
        position = pd.Index(ids)
        source, target = position.get_indexer(edges["txId1"]), position.get_indexer(edges["txId2"])
        if (source < 0).any() or (target < 0).any():
            bad = edges[(source < 0) | (target < 0)].iloc[0]
            raise DataError(f"{root / EDGES_FILE}: edge {bad['txId1']} -> {bad['txId2']} names a "
                            f"transaction absent from {FEATURES_FILE}")
        if self.features == "schema":
            X = np.full((len(ids), len(ATTRIBUTE_NAMES)), np.nan)
            feature_names = list(ATTRIBUTE_NAMES)
        else:
            X, feature_names = features[FEATURE_NAMES].to_numpy(), FEATURE_NAMES
        return AccountData(
            name="elliptic", ids=ids, X=X, feature_names=feature_names,
            y=np.array([label[t] for t in ids]), class_names=["licit", "illicit"],
            benign_classes=["licit"],
            provenance=Provenance(origin="real", source=str(root),
                                  description="Elliptic Bitcoin transaction dataset",
                                  details={"features": self.features, "edges": int(len(edges))}),
            edge_index=np.vstack([source, target]).astype(np.int64),
            groups=features["time_step"].to_numpy(),
            feature_space=self.features)


@hookimpl
def register_datasets() -> dict[str, Callable[..., EllipticDataset]]:
    return {"elliptic": EllipticDataset}
