"""``ethereum_fraud``: the Kaggle "Ethereum Fraud Detection Dataset" (tabular, one row per account).

Layout is checked against the original file exactly: an unnamed first column, ``Index``,
``Address``, ``FLAG`` and 47 more (45 numeric), several with leading or trailing spaces, a duplicated
``' ERC20 uniq sent addr.1'`` and two string token-type columns (not used as features).

Policies (recorded in the provenance of every result):

* Duplicate addresses: rows of one address with the same FLAG keep the first row; an address
  whose rows disagree on FLAG is dropped entirely (its label is unknowable).
* Missing cells (many ERC20 fields are empty) stay NaN: the shared preprocessing imputes the
  training median. ``nan_policy=zero`` reproduces the common "NaN -> 0" practice instead.
* ``features=native`` uses the 45 numeric columns; ``features=schema`` maps them onto the
  account schema, with the attributes this table cannot provide left NaN and listed in
  ``AccountData.schema_missing``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from framework.account_schema import ATTRIBUTE_NAMES
from framework.capabilities import Tags
from framework.data import AccountData, Provenance
from framework.errors import DataError
from framework.hookspecs import hookimpl
from framework.interfaces import DataContext

RELATIVE_PATH = "ethereum_fraud_kaggle/transaction_dataset.csv"
ID_COLUMNS = ("", "Index", "Address", "FLAG")
TEXT_COLUMNS = (" ERC20 most sent token type", " ERC20_most_rec_token_type")
NUMERIC_COLUMNS = (
    "Avg min between sent tnx", "Avg min between received tnx",
    "Time Diff between first and last (Mins)", "Sent tnx", "Received Tnx",
    "Number of Created Contracts", "Unique Received From Addresses", "Unique Sent To Addresses",
    "min value received", "max value received ", "avg val received", "min val sent",
    "max val sent", "avg val sent", "min value sent to contract", "max val sent to contract",
    "avg value sent to contract", "total transactions (including tnx to create contract",
    "total Ether sent", "total ether received", "total ether sent contracts",
    "total ether balance", " Total ERC20 tnxs", " ERC20 total Ether received",
    " ERC20 total ether sent", " ERC20 total Ether sent contract", " ERC20 uniq sent addr",
    " ERC20 uniq rec addr", " ERC20 uniq sent addr.1", " ERC20 uniq rec contract addr",
    " ERC20 avg time between sent tnx", " ERC20 avg time between rec tnx",
    " ERC20 avg time between rec 2 tnx", " ERC20 avg time between contract tnx",
    " ERC20 min val rec", " ERC20 max val rec", " ERC20 avg val rec", " ERC20 min val sent",
    " ERC20 max val sent", " ERC20 avg val sent", " ERC20 min val sent contract",
    " ERC20 max val sent contract", " ERC20 avg val sent contract",
    " ERC20 uniq sent token name", " ERC20 uniq rec token name",
)
EXPECTED_HEADER = (*ID_COLUMNS, *NUMERIC_COLUMNS, *TEXT_COLUMNS)
CLASSES = ("normal", "fraud")

# account-schema attribute <- expression over native columns (minutes -> hours/days).
SCHEMA_MAPPING: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "lifetime_days": lambda f: f["Time Diff between first and last (Mins)"] / 1440,
    "in_interval_mean_h": lambda f: f["Avg min between received tnx"] / 60,
    "out_interval_mean_h": lambda f: f["Avg min between sent tnx"] / 60,
    "in_total": lambda f: f["total ether received"],
    "out_total": lambda f: f["total Ether sent"],
    "out_minus_in": lambda f: f["total Ether sent"] - f["total ether received"],
    "in_mean": lambda f: f["avg val received"],
    "in_min": lambda f: f["min value received"],
    "in_max": lambda f: f["max value received "],
    "out_mean": lambda f: f["avg val sent"],
    "out_min": lambda f: f["min val sent"],
    "out_max": lambda f: f["max val sent"],
    "out_in_ratio": lambda f: (f["total Ether sent"] / f["total ether received"]).where(
        f["total ether received"] > 0),
    "max_in_share": lambda f: (f["max value received "] / f["total ether received"]).where(
        f["total ether received"] > 0),
    "max_out_share": lambda f: (f["max val sent"] / f["total Ether sent"]).where(
        f["total Ether sent"] > 0),
    "in_degree": lambda f: f["Received Tnx"],
    "out_degree": lambda f: f["Sent tnx"],
    "degree_diff": lambda f: f["Received Tnx"] - f["Sent tnx"],
    "uniq_in_counterparties": lambda f: f["Unique Received From Addresses"],
    "uniq_out_counterparties": lambda f: f["Unique Sent To Addresses"],
    "tx_count": lambda f: f["total transactions (including tnx to create contract"],
}


def _few(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown}{f', ... ({len(names)} in all)' if len(names) > limit else ''}]"


def read_table(path) -> pd.DataFrame:
    """Read the CSV strictly: exact header, one field per column on every row, numeric cells."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    if not rows:
        raise DataError(f"{path}: file is empty; expected the Kaggle header and rows")
    header = tuple(rows[0])
    if header != EXPECTED_HEADER:
        missing = [c for c in EXPECTED_HEADER if c not in header]
        extra = [c for c in header if c not in EXPECTED_HEADER]
        raise DataError(f"{path}: header does not match the Kaggle layout ({len(header)} columns, "
                        f"expected {len(EXPECTED_HEADER)}); missing {_few(missing)}, "
                        f"unexpected {_few(extra)}")
    if len(rows) == 1:
        raise DataError(f"{path}: header only, no data rows")
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path}, line {line}: {len(row)} fields, expected {len(header)} "
                            f"(truncated or malformed row)")
    frame = pd.DataFrame(rows[1:], columns=list(header))
    for column in NUMERIC_COLUMNS:
        values = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
        bad = values.isna() & frame[column].ne("") & frame[column].str.lower().ne("nan")
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise DataError(f"{path}, line {line}, column {column!r}: "
                            f"{frame[column].iloc[line - 2]!r} is not a number")
        frame[column] = values
    labels = frame["FLAG"]
    bad = ~labels.isin(["0", "1"])
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise DataError(f"{path}, line {line}, column 'FLAG': label {labels.iloc[line - 2]!r} "
                        f"is unknown; expected 0 (normal) or 1 (fraud)")
    frame["FLAG"] = labels.astype(int)
    return frame


def deduplicate(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    flags = frame.groupby("Address")["FLAG"].nunique()
    conflicting = set(flags[flags > 1].index)
    kept = frame[~frame["Address"].isin(conflicting)].drop_duplicates("Address", keep="first")
    stats = {"rows": len(frame), "duplicate_rows_dropped": len(frame) - len(kept),
             "conflicting_addresses_dropped": len(conflicting)}
    return kept.reset_index(drop=True), stats


def _tags(params: Mapping[str, Any]) -> Tags:
    """The schema mapping's missing attributes exist only with ``features=schema``."""
    schema = params["features"] == "schema"
    provides = {"feature_space"} | ({"schema_missing"} if schema else set())
    return Tags(provides=frozenset(provides), needs_data_dir=True)


class EthereumFraudDataset:
    chainsleuth_tags = staticmethod(_tags)

    def __init__(self, path: str | None = None, features: str = "native",
                 nan_policy: str = "keep") -> None:
        if features not in ("native", "schema"):
            raise DataError(f"dataset 'ethereum_fraud': features must be native or schema, "
                            f"got {features!r}")
        if nan_policy not in ("keep", "zero"):
            raise DataError(f"dataset 'ethereum_fraud': nan_policy must be keep or zero, "
                            f"got {nan_policy!r}")
        self.path = path
        self.features = features
        self.nan_policy = nan_policy

    def load(self, context: DataContext) -> AccountData:
        path = context.locate("ethereum_fraud", RELATIVE_PATH, self.path)
        frame, stats = deduplicate(read_table(path))
        missing = None
        if self.features == "native":
            X = frame[list(NUMERIC_COLUMNS)].to_numpy(dtype=np.float64)
            names = [c.strip() for c in NUMERIC_COLUMNS]
        else:
            schema = pd.DataFrame({a: (SCHEMA_MAPPING[a](frame) if a in SCHEMA_MAPPING else np.nan)
                                   for a in ATTRIBUTE_NAMES})
            X, names = schema.to_numpy(dtype=np.float64), list(ATTRIBUTE_NAMES)
            missing = tuple(a for a in ATTRIBUTE_NAMES if a not in SCHEMA_MAPPING)
        if self.nan_policy == "zero":
            X = np.nan_to_num(X, nan=0.0)
        return AccountData(
            name="ethereum_fraud", ids=frame["Address"].to_numpy(), X=X, feature_names=names,
            y=frame["FLAG"].to_numpy(), class_names=list(CLASSES), benign_classes=["normal"],
            provenance=Provenance(origin="real", source=str(path),
                                  description="Kaggle Ethereum Fraud Detection Dataset",
                                  details={**stats, "features": self.features,
                                           "nan_policy": self.nan_policy}),
            schema_missing=missing, feature_space=self.features)


@hookimpl
def register_datasets() -> dict[str, Callable[..., EthereumFraudDataset]]:
    return {"ethereum_fraud": EthereumFraudDataset}
