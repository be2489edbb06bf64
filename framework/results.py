"""The per-job result record: schema, atomic writing, reading back, redaction.

One ``result.json`` per job, written to a temporary name and renamed, so a reader never sees
half a file and ``resume`` can trust any file it finds. ``SCHEMA_VERSION`` changes whenever a
field changes meaning; readers reject versions they do not know.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from framework.errors import DataError
from framework.redaction import REDACTED, is_secret_override, redact  # noqa: F401 (re-export)
from framework.record import READABLE_SCHEMAS, SCHEMA_VERSION, config_fingerprint, identity_overrides

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


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A unique temporary path beside ``path``, renamed onto it when the block succeeds and
    removed when it fails. Unique, so parallel sweep jobs that fill the same cache entry never
    rename each other's half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would hide results from colleagues
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask (read from /proc where possible: setting it to read it back is
    not thread-safe)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory, then rename."""
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


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
                config: dict[str, Any] | None = None) -> bool:
    """True when ``output_dir`` holds a successful result of the very same job (for resume):
    same overrides and, when ``config`` is given, the same resolved config (a changed default
    in a YAML file makes the old result stale)."""
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
    if config is None:
        return True
    theirs = record.get("config_hash") or config_fingerprint(record["config"])
    return config_fingerprint(config) == theirs
