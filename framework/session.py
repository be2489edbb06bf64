"""What one ChainSleuth command shares between its jobs, owned in one place.

A command opens a :class:`Session` and hands it down: the CLI to Hydra's task function, the task
function to the runner, the runner to the dataset cache. Nothing the jobs share lives in a module
global, so two sessions in one process (two tests, a notebook running two sweeps) never see each
other's plugins, datasets or failures.

Two boundaries need a word:

* **Hydra builds its callbacks itself** (from ``hydra.callbacks`` in the config), so the sweep
  callback cannot be handed the session. The CLI makes its session *current* for the duration of
  the Hydra call (:meth:`Session.current_for`), and the callback asks :func:`current_session`.
  Outside such a block it gets a fresh session, so a callback never reaches a stale one.
* **Parallel launchers pickle the task function** to worker processes. A session does not travel:
  each worker process opens its own once (:func:`worker_session`) and keeps it for the jobs it
  runs, so a sweep over models still loads its dataset once per worker.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from framework.data import AccountData
from framework.plugin_manager import PluginManager
from framework.registry import Registry


@dataclass
class JobOutcomes:
    """How the jobs of a command ended, for its exit status and its closing line."""

    ok: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, status: str) -> None:
        """Count one job by the status its result record holds."""
        if status not in ("ok", "failed", "skipped"):
            raise ValueError(f"unknown job status {status!r}")
        setattr(self, status, getattr(self, status) + 1)

    def set_from_statuses(self, statuses: list[str]) -> None:
        """Replace the counts with a sweep's statuses as read back from its result files:
        parallel workers counted in their own processes, so only the files know them all."""
        self.ok, self.failed, self.skipped = (statuses.count(s) for s in ("ok", "failed", "skipped"))


class DatasetCache:
    """Datasets already loaded by this session, keyed by everything their content depends on.

    A sweep over models reads the same dataset for every job; loading ``ethereum_txs`` costs
    about a minute, so the session keeps the last few. Every job gets its *own view*: arrays
    are read-only (a plugin that writes into shared data fails loudly instead of changing the
    next job's input) and tables are shallow copies (pandas copy-on-write keeps an in-place
    change inside the job that made it).
    """

    def __init__(self, size: int = 4) -> None:
        if size < 1:
            raise ValueError("a dataset cache holds at least one dataset")
        self.size = size
        self._entries: OrderedDict[str, AccountData] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, load: Callable[[], AccountData]) -> AccountData:
        """The dataset under ``key``, loading it with ``load()`` on a miss; a per-job view."""
        if key in self._entries:
            self._entries.move_to_end(key)
        else:
            self._entries[key] = _frozen(load())
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return _job_view(self._entries[key])


@dataclass
class Session:
    """The plugin manager, its registry, the dataset cache and the outcome of the jobs run."""

    plugins: PluginManager = field(default_factory=PluginManager)
    datasets: DatasetCache = field(default_factory=DatasetCache)
    outcomes: JobOutcomes = field(default_factory=JobOutcomes)

    @property
    def registry(self) -> Registry:
        return self.plugins.registry

    @contextmanager
    def current_for(self) -> Iterator[Session]:
        """Make this the session that Hydra-built objects (the sweep callback) find."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)


_CURRENT: ContextVar[Session | None] = ContextVar("chainsleuth_session", default=None)


def current_session() -> Session:
    """The session of the running command, or a fresh one where none is current."""
    return _CURRENT.get() or Session()


@lru_cache(maxsize=1)
def worker_session() -> Session:
    """The session of a launcher's worker process, opened by its first job, kept for the rest."""
    return Session()


def _frozen(data: AccountData) -> AccountData:
    """Make every array the dataset holds read-only, in place (the cache owns it now)."""
    for value in _values(data):
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            _frozen(value)
    return data


def _job_view(value: Any) -> Any:
    """A copy of the container tree whose tables are shallow copies and arrays shared."""
    if isinstance(value, dict):
        return {key: _job_view(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _job_view(getattr(value, f.name))
                   for f in dataclasses.fields(value) if f.init}
        return _rebuilt(value, changes)
    copy = getattr(value, "copy", None)
    if callable(copy) and type(value).__module__.startswith("pandas"):
        return copy(deep=False)
    return value


def _rebuilt(value: Any, changes: dict[str, Any]) -> Any:
    """``value`` with ``changes``, without re-running its validation (the cache validated it)."""
    clone = object.__new__(type(value))
    for name, item in vars(value).items():
        object.__setattr__(clone, name, changes.get(name, item))
    return clone


def _values(value: Any) -> Iterator[Any]:
    for item in vars(value).values():
        if isinstance(item, dict):
            yield from item.values()
        else:
            yield item
