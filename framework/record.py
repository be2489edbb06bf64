"""The result record of one job, defined once: its fields, its cell, its config fingerprint.

A record is written as ``result.json`` (see :mod:`framework.results`) and read by the
leaderboard, the study reports and ``runs.csv``. Schema 2 stores the job's **cell** (dataset,
scenario, setting, method, variant), decided when the job runs, so nobody downstream re-derives
it from override strings; schema-1 records (written before cells were stored) are still read,
their cell derived the old way by :meth:`Cell.of_legacy`.

The **config fingerprint** (SHA-256 of the redacted, resolved config without paths and resume
switches) identifies "the same job" across machines: ``resume`` and ``--resume-from`` skip a job
only when overrides and fingerprint both match, so a changed default in a YAML file reruns it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
# Config keys that say where files are or how a sweep restarts, not what is computed.
_NOT_SCIENCE = ("paths", "resume", "resume_from", "threads")
# Overrides that never change which job this is.
_NON_IDENTITY_OVERRIDES = ("resume", "resume_from")

# Overrides that pick a cell's coordinates (or change nothing scientific) are not a variant.
# Scenario parameters form the ``setting`` column and dataset parameters the ``dataset`` label.
_COORDINATE_KEYS = frozenset({"seed", "dataset", "model", "scenario", "logger", "resume",
                              "resume_from", "study", "experiment", "method"})
_NON_VARIANT_PREFIXES = ("hydra.", "paths.", "logger.", "scenario.", "dataset.",
                         "target_dataset.", "dataset@target_dataset", "tune.",
                         # where a job runs, not what it computes
                         "trainer.accelerator", "trainer.devices",
                         "trainer.enable_progress_bar")


def variant_of(overrides: Iterable[str]) -> str:
    """Every override that is not a coordinate: ``model.max_depth=3`` makes its own row, and
    so does ``trainer.max_epochs=2`` (it changes what is computed). Parameters chosen by a
    tuning search (``tune.best_by_seed``) differ per seed by design, so they mark the row ``tuned``
    instead of splitting it."""
    kept, tuned = [], False
    for override in overrides:
        key = override.lstrip("+~").split("=", 1)[0]
        tuned = tuned or key == "tune.best_by_seed"
        if key in _COORDINATE_KEYS or key.startswith(_NON_VARIANT_PREFIXES):
            continue
        kept.append(override)
    return " ".join(["tuned"] * tuned + sorted(kept)) or "-"


def dataset_label(name: str | None, overrides: Iterable[str]) -> str | None:
    """The dataset name, plus its overridden parameters: different data never share a cell."""
    params = sorted(o.lstrip("+~") for o in overrides
                    if o.lstrip("+~").startswith(("dataset.", "target_dataset.")))
    params = [p[len("dataset."):] if p.startswith("dataset.") else p for p in params]
    return f"{name}[{','.join(params)}]" if params else name


def setting_label(scenario: Mapping[str, Any]) -> str:
    """The scenario's parameters, from the config, so failed jobs land in their cell too."""
    return ",".join(f"{k}={v}" for k, v in sorted(scenario.items()) if k != "name") or "-"


def identity_overrides(overrides: Iterable[str]) -> list[str]:
    """The overrides that say which job this is (sorted, credentials redacted as on disk;
    resume switches dropped)."""
    from framework.redaction import redact

    return sorted(redact(o) for o in overrides
                  if o.lstrip("+~").split("=", 1)[0] not in _NON_IDENTITY_OVERRIDES)


def config_fingerprint(config: Mapping[str, Any]) -> str:
    """SHA-256 of the scientific part of a resolved config (credentials already redacted)."""
    from framework.results import json_safe, redact

    kept = {k: v for k, v in config.items() if k not in _NOT_SCIENCE}
    text = json.dumps(json_safe(redact(kept)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Cell:
    """The comparable unit of a leaderboard: seeds of one cell are samples of one number."""

    dataset: str
    scenario: str
    setting: str
    method: str
    variant: str

    @classmethod
    def of_job(cls, config: Mapping[str, Any], overrides: list[str],
               dataset_name: str | None = None) -> Cell:
        """The cell of a job, from its resolved config and command-line overrides (credentials
        redacted: cells reach leaderboards, ``runs.csv`` and W&B)."""
        from framework.redaction import redact

        overrides = redact(list(overrides))
        if dataset_name is None:
            source = (config.get("dataset") or {}).get("name")
            target = (config.get("target_dataset") or {}).get("name")
            dataset_name = f"{source}->{target}" if target else source
        return cls(dataset=str(dataset_label(dataset_name, overrides)),
                   scenario=str((config.get("scenario") or {}).get("name")),
                   setting=setting_label(config.get("scenario") or {}),
                   method=str(config.get("method_name") or (config.get("model") or {}).get("name")),
                   variant=variant_of(overrides))

    @classmethod
    def of_legacy(cls, record: Mapping[str, Any]) -> Cell:
        """A schema-1 record's cell, derived as the leaderboard used to."""
        config = record.get("config") or {}
        overrides = (record.get("job") or {}).get("overrides") or []
        name = (record.get("dataset") or {}).get("name")
        cell = cls.of_job(config, overrides, dataset_name=name)
        scenario = (record.get("task") or {}).get("name")
        return cls(**{**asdict(cell), "scenario": str(scenario or cell.scenario)})

    @classmethod
    def of_record(cls, record: Mapping[str, Any]) -> Cell:
        stored = record.get("cell")
        if isinstance(stored, Mapping) and set(stored) >= {f.name for f in fields(cls)}:
            return cls(**{f.name: str(stored[f.name]) for f in fields(cls)})
        return cls.of_legacy(record)


@dataclass
class ResultRecord:
    """Everything one job leaves behind; ``to_dict`` is the ``result.json`` layout.

    ``references`` holds the reference classifiers' metrics on the job's own test split
    (majority class, stratified random, best single-feature probe; see
    :mod:`framework.references`), so every leaderboard can show them beside the methods.
    ``purpose`` is ``"tuning"`` for a trial of a hyper-parameter search (scored on a validation
    split of the training rows; leaderboards leave it out) and ``"evaluation"`` otherwise.
    ``warnings`` collects what went wrong around the job without changing its status (e.g. a
    logger that failed).
    """

    job: dict[str, Any]
    cell: Cell
    config: dict[str, Any]
    config_hash: str
    seed: int
    plugins: dict[str, Any]
    code_version: dict[str, Any]
    environment: dict[str, Any]
    started_at: str
    study: str | None = None
    purpose: str = "evaluation"
    status: str = "running"
    error: dict[str, Any] | None = None
    finished_at: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    dataset: dict[str, Any] | None = None
    task: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    preprocessing: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    references: dict[str, Any] = field(default_factory=dict)
    peak_memory_mb: float | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["cell"] = asdict(self.cell)
        out["schema_version"] = SCHEMA_VERSION
        return out
