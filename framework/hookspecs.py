"""Every hook of ChainSleuth, project name ``chainsleuth``. Each docstring is the contract.

Registration hooks return a mapping ``name -> factory``. A factory is a callable whose keyword
arguments (with their defaults) are the plugin's hyper-parameters: they become the plugin's
Hydra config node, so ``model=my_model model.depth=3`` works without any YAML file. Names must
be unique per kind across all installed plugins.

Lifecycle hooks are called on every registered plugin that implements them, plus the logger
objects selected by the ``logger`` config group, which the runner registers for the duration of
one job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pluggy

from framework.interfaces import Command, RunInfo

PROJECT = "chainsleuth"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_datasets() -> Mapping[str, Callable[..., Any]]:
    """Return dataset factories by name.

    ``factory(**params)`` returns an object with ``load(context: DataContext) -> AccountData``.
    Loading raises :class:`framework.errors.DataError` naming the file, row/column and the
    expectation when input is bad; synthetic generators set ``Provenance.origin="synthetic"``.
    """


@hookspec
def register_scenarios() -> Mapping[str, Callable[..., Any]]:
    """Return scenario factories by name.

    ``factory(**params)`` returns an object with ``split(data, seed) -> Task``. The task's
    index sets must not leak (``Task`` checks disjointness) and the same seed must give the
    same split.
    """


@hookspec
def register_representations() -> Mapping[str, Callable[..., Any]]:
    """Return representation factories by name.

    ``factory(**params)`` returns an object with ``fit(data, rows)``, ``transform(data, X=None)``
    and ``describe()`` (see :class:`framework.interfaces.Representation`). The runner fits it on
    the non-test rows of a dataset whose labels are hidden, and every model then sees the
    transformed features; ``representation=none`` keeps the dataset's own features.
    """


@hookspec
def register_models() -> Mapping[str, Callable[..., Any]]:
    """Return model factories by name.

    ``factory(**params)`` returns an object with ``fit(X, y, *, validation, unlabeled)``,
    ``predict(X)`` and ``predict_proba(X)`` (columns = classes ``0..k-1`` seen in ``fit``).
    Construction does no work. See :class:`framework.interfaces.Model` for the arguments the
    runner injects (``encoder``, ``trainer``, ``seed``).
    """


@hookspec
def register_encoders() -> Mapping[str, Callable[..., Any]]:
    """Return encoder factories by name.

    ``factory(**params)`` returns an object with ``output_dim`` and ``build(input_dim)`` giving a
    ``torch.nn.Module`` from (batch, input_dim) to (batch, output_dim). Neural models that accept
    an ``encoder`` argument use the configured one as their backbone.
    """


@hookspec
def register_augmentations() -> Mapping[str, Callable[..., Any]]:
    """Return augmentation factories by name.

    ``factory(**params)`` returns an object with ``augment(data, rows, rng) -> ndarray`` and
    ``describe() -> dict``; see :class:`framework.interfaces.Augmentation`.
    """


@hookspec
def register_loggers() -> Mapping[str, Callable[..., Any]]:
    """Return logger factories by name.

    ``factory(**params)`` returns an object implementing any of the lifecycle hooks below
    (decorated with ``hookimpl``). The runner registers it for one job and always unregisters it,
    so a logger must release its resources in ``on_run_finished`` / ``on_run_failed``.
    """


@hookspec
def register_commands() -> Mapping[str, Command]:
    """Return CLI subcommands by name, e.g. ``{"graph": Command(...)}`` for ``chainsleuth graph``.

    Names may not shadow the core commands (``run``, ``plugins``, ``leaderboard``).
    """


@hookspec
def on_run_started(run: RunInfo) -> None:
    """Called once per job after the config is validated and before any data is loaded."""


@hookspec
def on_run_finished(run: RunInfo, result: dict[str, Any]) -> None:
    """Called once per successful job with the result record just written to disk."""


@hookspec
def on_run_failed(run: RunInfo, result: dict[str, Any], error: BaseException) -> None:
    """Called once per failed job with the failure record just written; must not raise."""


@hookspec
def on_sweep_finished(sweep_dir: Path, leaderboard: Any, config: dict[str, Any]) -> None:
    """Called once after a multirun with its aggregated :class:`framework.leaderboard.Leaderboard`."""
