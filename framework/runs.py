"""``runs.csv``: one row per job (and per reference classifier and seed), the per-seed record.

Means hide what a reviewer needs: which seeds, which split, which failures. Every sweep and
study writes ``runs.csv`` beside its leaderboard, with each job's cell, seed, status, every
metric, its overrides and its config fingerprint, so that

* paired statistics can match methods seed by seed (the same seed gives the same split);
* a study can be finished over several sittings: a committed ``runs.csv`` passed as
  ``resume_from`` skips every job it already holds with the same overrides and config.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from framework.errors import DataError
from framework.record import config_fingerprint, identity_overrides

RUNS_FILE = "runs.csv"
CELL_KEYS = ["dataset", "scenario", "setting", "method", "variant"]
# Reference classifiers' rows are named ``ref:<name>`` (kind ``reference``).
REFERENCE_PREFIX = "ref:"
# Columns without which a runs.csv cannot be resumed from or compared.
REQUIRED_COLUMNS = [*CELL_KEYS, "seed", "kind", "status", "study", "overrides", "config_hash"]


def read_runs(path: Path) -> pd.DataFrame:
    """Read a ``runs.csv``; a missing file or lost columns is a :class:`DataError` naming them."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such runs file (expected a runs.csv written by a sweep or "
                        f"study)")
    try:
        runs = pd.read_csv(path, dtype={"setting": str, "variant": str, "overrides": str,
                                        "config_hash": str, "study": str},
                           keep_default_na=False, na_values=[""])
    except (OSError, UnicodeDecodeError, pd.errors.ParserError,
            pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: not a readable runs.csv ({exc})") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in runs.columns]
    if missing:
        raise DataError(f"{path}: runs.csv lacks the columns {missing}; it cannot be resumed "
                        f"from or compared (was it edited or cut?)")
    return runs


def overrides_cell(overrides: list[str]) -> str:
    return json.dumps(identity_overrides(overrides))


@dataclass
class CommittedRuns:
    """The successful jobs of a committed ``runs.csv``, keyed by overrides and fingerprint."""

    path: Path
    runs: pd.DataFrame

    @classmethod
    def load(cls, path: Path) -> CommittedRuns:
        return cls(path=Path(path), runs=read_runs(path))

    def jobs(self) -> pd.DataFrame:
        return self.runs[self.runs["kind"] == "method"]

    def holds(self, overrides: list[str], config: dict[str, Any]) -> bool:
        """True when a successful row has the same identity overrides and config fingerprint."""
        return self.match(overrides, config) == "same"

    def match(self, overrides: list[str], config: dict[str, Any]) -> str:
        """``same``, ``other-config`` (same overrides, different fingerprint) or ``absent``."""
        jobs = self.jobs()
        rows = jobs[jobs["overrides"] == overrides_cell(overrides)]
        if rows.empty:
            return "absent"
        wanted = config_fingerprint(config)
        same = rows[(rows["config_hash"] == wanted) & (rows["status"] == "ok")]
        if len(same):
            return "same"
        return "other-config" if (rows["config_hash"] != wanted).all() else "absent"

    def studies(self) -> set[str]:
        return {s for s in self.runs["study"].dropna().astype(str)}
