"""One sweep per folder: a lock that a second sweep into a busy folder meets at start.

Two sweeps that write into one folder (started in the same second, so sharing the default
timestamped name, or given the same ``hydra.sweep.dir``) would overwrite each other's job
folders: both exit 0, and a job's ``.hydra/overrides.yaml`` and ``result.json`` can come from
different sweeps. The lock file ``.chainsleuth-sweep.lock`` is created exclusively when a
multirun starts and removed when it ends; a second sweep finds it held by a live process and
stops before any job runs. A lock left by a process that no longer exists (a killed sweep
being resumed) is taken over.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from framework.errors import ConfigError

LOCK_FILE = ".chainsleuth-sweep.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire(folder: Path) -> Path:
    """Create the folder's lock, or raise :class:`ConfigError` naming the sweep holding it."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    mine = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                       "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(lock.read_text())
                pid, host = int(holder["pid"]), str(holder["host"])
            except (OSError, ValueError, KeyError, TypeError):
                holder, pid, host = {}, -1, "?"
            if host == socket.gethostname() and pid > 0 and not _alive(pid):
                lock.unlink(missing_ok=True)  # a killed sweep's lock: resume may take over
                continue
            raise ConfigError(
                f"{folder} is in use by another sweep (pid {pid} on {host}, started "
                f"{holder.get('started', '?')}; lock {lock}). Two sweeps in one folder overwrite "
                f"each other's jobs: wait for it, or give this sweep its own "
                f"hydra.sweep.dir=...") from None
        with os.fdopen(fd, "w") as handle:
            handle.write(mine)
        return lock
    raise ConfigError(f"{lock}: could not take the sweep lock")


def release(folder: Path) -> None:
    lock = folder / LOCK_FILE
    try:
        if int(json.loads(lock.read_text())["pid"]) == os.getpid():
            lock.unlink()
    except (OSError, ValueError, KeyError, TypeError):
        pass


class SweepLock(Callback):
    """Hydra callback: hold the sweep folder's lock for the whole multirun.

    Hydra turns a callback's exception into a warning and carries on, so a refused lock ends
    the process here (before the sweeper exists, so no job has started) with exit status 2.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            acquire(Path(config.hydra.sweep.dir))
        except ConfigError as exc:
            print(f"chainsleuth: error: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        release(Path(config.hydra.sweep.dir))
