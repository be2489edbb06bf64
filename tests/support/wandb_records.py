"""Read back what an offline W&B run logged, from its ``run-<id>.wandb`` file.

W&B 0.31 writes no summary JSON offline; the ``.wandb`` file is a LevelDB-style log: a 7-byte
file header, then 32 KiB blocks of records framed by crc32 (4 bytes), length (2) and type
(1 full, 2 first, 3 middle, 4 last), whose payloads are ``wandb_internal_pb2.Record`` messages.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path
from typing import Any

BLOCK = 32 * 1024
HEADER = 7


def payloads(path: Path) -> list[bytes]:
    data = Path(path).read_bytes()
    out, pending, offset = [], b"", HEADER
    while offset + 7 <= len(data):
        block_left = BLOCK - (offset % BLOCK)
        if block_left < 7:
            offset += block_left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[offset:offset + 7])
        chunk = data[offset + 7:offset + 7 + length]
        offset += 7 + length
        if kind == 0 and length == 0:
            offset += BLOCK - (offset % BLOCK) if offset % BLOCK else 0
            continue
        if kind == 1:
            out.append(chunk)
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            out.append(pending + chunk)
            pending = b""
    return out


def read_run(path: Path) -> dict[str, Any]:
    """group, job_type, tags, config keys, summary, history keys and the last value logged
    under each (``history``; a Table appears as ``<key>/path`` ..., see :func:`read_table`)
    of one offline run."""
    from wandb.proto import wandb_internal_pb2

    info: dict[str, Any] = {"summary": {}, "history_keys": set(), "history": {}, "config": {},
                            "exit_code": None}
    for payload in payloads(path):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            info.update(group=record.run.run_group, job_type=record.run.job_type,
                        tags=list(record.run.tags))
            for item in record.run.config.update:
                info["config"][item.key] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                info["config"][item.key] = json.loads(item.value_json)
        elif kind == "summary":
            for item in record.summary.update:
                key = item.key or "/".join(item.nested_key)
                info["summary"][key] = json.loads(item.value_json)
        elif kind == "history":
            for item in record.history.item:
                key = item.key or "/".join(item.nested_key)
                info["history_keys"].add(key)
                info["history"][key] = json.loads(item.value_json)
        elif kind == "exit":
            info["exit_code"] = record.exit.exit_code
    return info


def finished_run(path: Path, timeout_s: float = 30.0) -> dict[str, Any]:
    """:func:`read_run` once the run's exit record is on disk: ``run.finish()`` returns before
    W&B's service process has written the whole log (seen: a 7-byte file right after it)."""
    deadline = time.monotonic() + timeout_s
    while (info := read_run(path))["exit_code"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return info


def read_table(path: Path, key: str) -> list[dict[str, Any]]:
    """The rows of the W&B Table an offline run (``run-<id>.wandb`` at ``path``) logged under
    ``key``, as column -> value dicts, exactly as W&B stored them (a JSON file beside the log,
    which the history names under ``<key>/path``)."""
    stored_at = finished_run(path)["history"][f"{key}/path"]
    stored = json.loads((Path(path).parent / "files" / stored_at).read_text())
    return [dict(zip(stored["columns"], row)) for row in stored["data"]]
