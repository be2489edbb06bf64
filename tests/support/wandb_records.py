"""Read back what an offline W&B run logged, from its ``run-<id>.wandb`` file.

W&B 0.31 writes no summary JSON offline; the ``.wandb`` file is a LevelDB-style log: a 7-byte
file header, then 32 KiB blocks of records framed by crc32 (4 bytes), length (2) and type
(1 full, 2 first, 3 middle, 4 last), whose payloads are ``wandb_internal_pb2.Record`` messages.
"""

from __future__ import annotations

import json
import struct
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
    """group, job_type, tags, config keys, summary and history keys of one offline run."""
    from wandb.proto import wandb_internal_pb2

    info: dict[str, Any] = {"summary": {}, "history_keys": set(), "config": {}, "exit_code": None}
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
                info["history_keys"].add(item.key or "/".join(item.nested_key))
        elif kind == "exit":
            info["exit_code"] = record.exit.exit_code
    return info
