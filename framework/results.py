"""The per-job result record: schema, atomic writing, reading back, redaction.

One ``result.json`` per job, written to a temporary name and renamed, so a reader never sees
half a file and ``resume`` can trust any file it finds. ``SCHEMA_VERSION`` changes whenever a
field changes meaning; readers reject versions they do not know.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from framework.errors import DataError
from framework.record import READABLE_SCHEMAS, SCHEMA_VERSION, config_fingerprint, identity_overrides
from framework.redaction import REDACTED, is_secret_override, redact  # noqa: F401 (re-export)
from libraries.files import atomic_output, write_atomic  # noqa: F401 (re-export)

RESULT_FILE = "result.json"
REQUIRED_FIELDS = ("schema_version", "status", "job", "config", "seed", "plugins", "code_version")

def json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return json_safe(value.item())
    return value


def write_result(output_dir: Path, record: dict[str, Any]) -> Path:
    path = Path(output_dir) / RESULT_FILE
    write_atomic(path, json.dumps(json_safe(redact(record)), indent=2, sort_keys=True) + "\n")
    return path


def read_result(path: Path) -> dict[str, Any]:
    """Read and validate one result file; raise :class:`DataError` naming it if it is not one."""
    if not Path(path).is_file():
        raise DataError(f"{path}: not a regular file (a result record is a JSON file)")
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not a readable result file ({exc})") from exc
    if not isinstance(record, dict):
        raise DataError(f"{path}: expected a JSON object")
    missing = [f for f in REQUIRED_FIELDS if f not in record]
    if missing:
        raise DataError(f"{path}: result record lacks {missing}")
    if record["schema_version"] not in READABLE_SCHEMAS:
        raise DataError(f"{path}: result schema version {record['schema_version']} is not "
                        f"supported (this ChainSleuth reads versions "
                        f"{', '.join(map(str, READABLE_SCHEMAS))})")
    return record


def find_results(paths: Iterable[Path]) -> Iterator[Path]:
    """Every ``result.json`` under the given files or directories, in a stable order."""
    for root in paths:
        root = Path(root)
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from sorted(root.rglob(RESULT_FILE))
        else:
            raise DataError(f"{root}: no such file or directory")


def is_complete(output_dir: Path, overrides: list[str],
                config: dict[str, Any] | None = None,
                plugins: dict[str, dict[str, str]] | None = None) -> bool:
    """True when ``output_dir`` holds a successful result of the very same job (for resume):
    same overrides and, when ``config`` is given, the same resolved config (a changed default
    in a YAML file makes the old result stale); when ``plugins`` is given (kind -> the record's
    plugin entry), each plugin's distribution version and source hash must match too (a
    plugin whose code changed since makes the old result stale)."""
    path = Path(output_dir) / RESULT_FILE
    if not path.is_file():
        return False
    try:
        record = read_result(path)
    except DataError:
        return False
    recorded = identity_overrides(record["job"].get("overrides", []))
    if record["status"] != "ok" or recorded != identity_overrides(overrides):
        return False
    recorded_plugins = record.get("plugins") or {}
    for kind, current in (plugins or {}).items():
        before = recorded_plugins.get(kind) or {}
        if any(before.get(key) != current.get(key)
               for key in ("name", "distribution", "version", "source_sha256")):
            return False
    if config is None:
        return True
    theirs = record.get("config_hash") or config_fingerprint(record["config"])
    return config_fingerprint(config) == theirs
