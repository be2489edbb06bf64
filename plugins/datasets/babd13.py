"""``babd13``: the Bitcoin Address Behavior Dataset (BABD-13), one row per address, 148 features.

The released CSV (Kaggle ``lemonx/babd13``, ``BABD-13.csv``) has the columns ``account``,
``SW`` (strong/weak label flag), the 148 features of the official ``csv_format.yml`` in that
order, and ``label`` (0..12). The header is checked against that list (whitespace around names
is ignored) and any difference is reported by name.

``variant=shadoweyes`` builds the ShadowEyes paper's Bitcoin set (its Table IV, 232,050 rows):
Centralized Exchange (3) and Tumbler (11) are removed, P2P Financial Infrastructure Service (4)
and P2P Financial Service (5) merge into Digital Financial Service, and the other classes take
the paper's names.

Mapping onto the account schema (``features=schema``) is our reading of the BABD appendix: an
address's "input" is what it receives (in-degree, ``PDIa1-1``) and its "output" what it sends.
The appendix states no units, so amounts are multiplied by ``amount_to_coin`` (default 1e-8:
satoshi to BTC) and times by ``time_to_seconds`` (default 1); both are assumptions recorded in
the provenance. Schema attributes without a BABD counterpart are NaN (masked).
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
from framework.safe_files import first_line

RELATIVE_PATH = "babd13/BABD-13.csv"
FEATURES: tuple[str, ...] = tuple(['PAIa11-1', 'PAIa11-2', 'PAIa12', 'PAIa13', 'PAIa14-1', 'PAIa14-2', 'PAIa14-3', 'PAIa14-4', 'PAIa14-R1', 'PAIa14-R2', 'PAIa14-R3', 'PAIa14-R4', 'PAIa15-1', 'PAIa15-2', 'PAIa15-R1', 'PAIa15-R2', 'PAIa16-1', 'PAIa16-2', 'PAIa16-R1', 'PAIa16-R2', 'PAIa17-1', 'PAIa17-2', 'PAIa17-3', 'PAIa17-R1', 'PAIa17-R2', 'PAIa17-R3', 'PAIa21-1', 'PAIa21-2', 'PAIa21-3', 'PAIa21-4', 'PAIa21-R1', 'PAIa21-R2', 'PAIa21-R3', 'PAIa21-R4', 'PAIa22-1', 'PAIa22-2', 'PAIa22-R1', 'PAIa22-R2', 'PDIa1-1', 'PDIa1-2', 'PDIa1-3', 'PDIa1-R1', 'PDIa1-R2', 'PDIa1-R3', 'PDIa11-1', 'PDIa11-2', 'PDIa11-R1', 'PDIa11-R2', 'PDIa12', 'PDIa12-R', 'PDIa13', 'PDIa13-R', 'PTIa1', 'PTIa2', 'PTIa21', 'PTIa31-1', 'PTIa31-2', 'PTIa31-3', 'PTIa32', 'PTIa33', 'PTIa41-1', 'PTIa41-2', 'PTIa41-3', 'PTIa42', 'PTIa43', 'CI1a1-1', 'CI1a1-2', 'CI1a2', 'CI2a11-1', 'CI2a11-2', 'CI2a12-1', 'CI2a12-2', 'CI2a12-3', 'CI2a12-4', 'CI2a21-1', 'CI2a21-2', 'CI2a22-1', 'CI2a22-2', 'CI2a22-3', 'CI2a22-4', 'CI2a23-1', 'CI2a23-2', 'CI2a31-1', 'CI2a31-2', 'CI2a32-1', 'CI2a32-2', 'CI2a32-3', 'CI2a32-4', 'CI2a33-1', 'CI2a33-2', 'CI3a11-1', 'CI3a11-2', 'CI3a12-1', 'CI3a12-2', 'CI3a12-3', 'CI3a12-4', 'CI3a21-1', 'CI3a21-2', 'CI3a21-3', 'CI3a22-1', 'CI3a22-2', 'CI3a22-3', 'CI3a22-4', 'CI3a22-5', 'CI3a22-6', 'CI3a23-1', 'CI3a23-2', 'CI3a23-3', 'CI3a31-1', 'CI3a31-2', 'CI3a32-1', 'CI3a32-2', 'CI3a32-3', 'CI3a32-4', 'CI3a33-1', 'CI3a33-2', 'CI4a11', 'CI4a12-1', 'CI4a12-2', 'CI4a13', 'CI4a21', 'CI4a22-1', 'CI4a22-2', 'CI4a23', 'CI4a31', 'CI4a32-1', 'CI4a32-2', 'CI4a33', 'CI4a41', 'CI4a42-1', 'CI4a42-2', 'CI4a43', 'S1-1', 'S1-2', 'S1-3', 'S1-4', 'S1-5', 'S1-6', 'S2-1', 'S2-2', 'S2-3', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8', 'S9'])
HEADER = ("account", "SW", *FEATURES, "label")
LABELS = ("Blackmail", "Cyber-Security Service", "Darknet Market", "Centralized Exchange",
          "P2P Financial Infrastructure Service", "P2P Financial Service", "Gambling",
          "Government Criminal Blacklist", "Money Laundering", "Ponzi Scheme", "Mining Pool",
          "Tumbler", "Individual Wallet")
BENIGN = ("Cyber-Security Service", "Centralized Exchange", "P2P Financial Infrastructure Service",
          "P2P Financial Service", "Mining Pool", "Individual Wallet")
# ShadowEyes Table IV: label id -> class name (None = removed).
SHADOWEYES = {0: "Phishing", 1: "Network Service", 2: "Darknet Transaction", 3: None,
              4: "Digital Financial Service", 5: "Digital Financial Service", 6: "Gambling",
              7: "Criminal Blacklist", 8: "Money Laundering", 9: "Ponzi Scheme",
              10: "Mining Pool", 11: None, 12: "Personal Wallet"}
SHADOWEYES_CLASSES = ("Personal Wallet", "Mining Pool", "Network Service",
                      "Digital Financial Service", "Phishing", "Gambling", "Ponzi Scheme",
                      "Money Laundering", "Criminal Blacklist", "Darknet Transaction")
SHADOWEYES_BENIGN = ("Personal Wallet", "Mining Pool", "Network Service",
                     "Digital Financial Service")


def _schema(frame: pd.DataFrame, coin: float, seconds: float) -> pd.DataFrame:
    f = frame
    received, sent = f["PAIa11-1"] * coin, f["PAIa11-2"] * coin
    hours, days = seconds / 3600, seconds / 86400
    mapped = {
        "lifetime_days": f["PTIa1"] * days, "active_days": f["PTIa2"],
        "interval_max_h": f["PTIa41-1"] * hours, "interval_min_h": f["PTIa41-2"] * hours,
        "interval_mean_h": f["PTIa41-3"] * hours, "interval_std_h": f["PTIa43"] * hours,
        "max_events_per_day": f["PTIa31-1"], "events_per_active_day": f["PTIa31-3"],
        "in_total": received, "out_total": sent, "out_minus_in": sent - received,
        "in_min": f["PAIa14-1"] * coin, "in_max": f["PAIa14-2"] * coin,
        "out_min": f["PAIa14-3"] * coin, "out_max": f["PAIa14-4"] * coin,
        "in_std": f["PAIa17-1"] * coin, "out_std": f["PAIa17-2"] * coin,
        "value_std": f["PAIa17-3"] * coin,
        "out_in_ratio": (sent / received).where(received > 0),
        "max_in_share": f["PAIa21-2"], "max_out_share": f["PAIa21-4"],
        "in_degree": f["PDIa1-1"], "out_degree": f["PDIa1-2"], "degree_diff": f["PDIa13"],
    }
    return pd.DataFrame({a: mapped.get(a, np.nan) for a in ATTRIBUTE_NAMES})


def read_table(path: str | Path) -> pd.DataFrame:
    """The released CSV, checked: header by name, numeric features, label ids 0..12. Only a
    regular UTF-8 file is read (a pipe would block; a stray byte is reported with its offset)."""
    first = first_line(path, "BABD-13 CSV")
    if not first.strip():
        raise DataError(f"{path}: file is empty; expected the BABD-13 header and rows")
    header = tuple(name.strip() for name in first.split(","))
    if header != HEADER:
        missing = [c for c in HEADER if c not in header]
        extra = [c for c in header if c not in HEADER]
        detail = f"missing {missing[:6]}, unexpected {extra[:6]}" if missing or extra else (
            "same names in a different order")
        raise DataError(f"{path}: header does not match the official BABD-13 layout (account, "
                        f"SW, the 148 features of csv_format.yml, label; {len(HEADER)} columns, "
                        f"found {len(header)}): {detail}")
    types = {"account": pa.string(), "SW": pa.string(),
             **{n: pa.float64() for n in FEATURES}, "label": pa.string()}
    try:
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=list(HEADER),
                                                                    skip_rows=1),
                               convert_options=pacsv.ConvertOptions(column_types=types))
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: {exc} (expected {len(HEADER)} fields per row, numeric "
                        f"features, UTF-8 text)") from exc
    frame = table.to_pandas()
    if frame.empty:
        raise DataError(f"{path}: header only, no rows")
    labels = pd.to_numeric(frame["label"], errors="coerce")
    bad = labels.isna() | ~labels.isin(range(len(LABELS)))
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise DataError(f"{path}, line {line}, column 'label': {frame['label'].iloc[line - 2]!r} "
                        f"is not a BABD-13 label id (0..12)")
    frame["label"] = labels.astype(int)
    return frame


class BABD13Dataset:
    # Not in the shared data (a Kaggle download of 545k addresses): the factory is checked.
    chainsleuth_tags = Tags(provides=frozenset({"label_strength", "feature_space"}),
                            needs_data_dir=True, example_params=None)

    def __init__(self, path: str | None = None, variant: str = "babd13",
                 features: str = "native", amount_to_coin: float = 1e-8,
                 time_to_seconds: float = 1.0) -> None:
        if variant not in ("babd13", "shadoweyes"):
            raise DataError(f"dataset 'babd13': variant must be babd13 or shadoweyes, got "
                            f"{variant!r}")
        if features not in ("native", "schema"):
            raise DataError(f"dataset 'babd13': features must be native or schema, got "
                            f"{features!r}")
        self.path, self.variant, self.features = path, variant, features
        self.amount_to_coin, self.time_to_seconds = amount_to_coin, time_to_seconds

    def load(self, context: DataContext) -> AccountData:
        path = context.locate("babd13", RELATIVE_PATH, self.path)
        frame = read_table(path)
        if self.variant == "shadoweyes":
            names = frame["label"].map(SHADOWEYES)
            frame = frame[names.notna()].reset_index(drop=True)
            classes, benign = list(SHADOWEYES_CLASSES), list(SHADOWEYES_BENIGN)
            y = frame["label"].map(SHADOWEYES).map(classes.index).to_numpy()
        else:
            classes, benign = list(LABELS), list(BENIGN)
            y = frame["label"].to_numpy()
        if self.features == "schema":
            X = _schema(frame, self.amount_to_coin, self.time_to_seconds).to_numpy()
            names = list(ATTRIBUTE_NAMES)
        else:
            X, names = frame[list(FEATURES)].to_numpy(dtype=np.float64), list(FEATURES)
        return AccountData(
            name="babd13", ids=frame["account"].to_numpy(), X=X, feature_names=names, y=y,
            class_names=classes, benign_classes=benign,
            provenance=Provenance(origin="real", source=str(path),
                                  description="BABD-13 (Kaggle lemonx/babd13)",
                                  details={"variant": self.variant, "features": self.features,
                                           "amount_to_coin (assumed)": self.amount_to_coin,
                                           "time_to_seconds (assumed)": self.time_to_seconds,
                                           "rows": int(len(frame))}),
            label_strength=frame["SW"].to_numpy(), feature_space=self.features)


@hookimpl
def register_datasets() -> dict[str, Callable[..., BABD13Dataset]]:
    return {"babd13": BABD13Dataset}
