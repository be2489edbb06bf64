"""The small interfaces that plugin objects implement.

These are :class:`typing.Protocol` classes: a plugin never subclasses anything from the core,
it only has to provide these methods. What a plugin can do beyond them, and what it needs from
the data, it declares in capability tags (``chainsleuth_tags``, :mod:`framework.capabilities`).
:mod:`framework.contracts` checks both for every registered plugin.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from framework.data import AccountData
from framework.task import Task


@dataclass(frozen=True)
class DataContext:
    """What the runner tells a dataset when it loads.

    ``data_dir`` is the data root (``paths.data_dir``); a real-data plugin looks for its folder
    under it unless its own ``path`` parameter overrides it. ``cache_dir`` is a directory the
    plugin may use for derived files keyed by its parameters.
    """

    data_dir: Path | None
    cache_dir: Path
    seed: int

    def locate(self, plugin: str, relative: str, override: str | None) -> Path:
        """Resolve a real-data plugin's file or folder, or say exactly what to set.

        ``override`` (the plugin's ``path`` parameter) wins; otherwise ``relative`` is looked up
        under the data root, using the folder names of the shared data layout.
        """
        from framework.errors import DataError

        if override:
            path = Path(override).expanduser()
            hint = f"dataset.path={override}"
        elif self.data_dir is not None:
            path = self.data_dir / relative
            hint = f"paths.data_dir={self.data_dir} (or CHAINSLEUTH_DATA_DIR)"
        else:
            raise DataError(f"dataset '{plugin}' needs its data ({relative}): set the data root "
                            f"with CHAINSLEUTH_DATA_DIR=/path/to/data or paths.data_dir=..., or "
                            f"point dataset.path at the file")
        if not path.exists():
            raise DataError(f"dataset '{plugin}': {path} does not exist (from {hint}); expected "
                            f"{relative} under the data root, or set dataset.path")
        return path


@runtime_checkable
class DatasetSource(Protocol):
    def load(self, context: DataContext) -> AccountData:
        """Read or generate the data. Raise :class:`framework.errors.DataError` on bad input."""


@runtime_checkable
class Scenario(Protocol):
    """Turns a dataset into a task. A scenario that needs a side channel (a source/target pair's
    ``domains``, a ``given_split`` ...) declares it in its tags' ``requires``, and one that needs
    data of its own kind gives the contract suite an ``example_data`` there."""

    def split(self, data: AccountData, seed: int) -> Task:
        """Derive one task from the data; the same seed must give the same task."""


@runtime_checkable
class Representation(Protocol):
    """Unsupervised features computed from the whole dataset (e.g. graph embeddings).

    ``fit`` learns from the given rows only (never test rows) of a dataset whose labels are all
    hidden (-1). ``transform`` returns new features for ``rows`` (every row by default), using
    ``X`` in place of ``data.X`` when given (augmented views); NaN in ``data.X`` must be handled.
    It must be inductive: a fit row's features may not depend on any row outside the fit rows.
    """

    def fit(self, data: AccountData, rows: np.ndarray) -> Representation: ...

    def transform(self, data: AccountData, X: np.ndarray | None = None,
                  rows: np.ndarray | None = None) -> np.ndarray: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass
class UnlabeledPool:
    """Rows a model may pre-train on without their labels.

    ``augment(positions, rng)`` returns one augmented view of the pool rows at ``positions``,
    already preprocessed like ``X``; it is None when no augmentation is configured.
    """

    X: np.ndarray
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None


@runtime_checkable
class Model(Protocol):
    """scikit-learn-like classifier; neural models hide a Lightning module behind it.

    Constructor: hyper-parameters only, no work. A constructor argument named ``encoder``
    receives an encoder factory, one named ``augmentation`` is not passed (augmentations reach
    the model through ``UnlabeledPool.augment``), one named ``trainer`` receives the trainer
    settings (accelerator, devices, max_epochs cap, progress bar), one named ``seed`` the job seed,
    one named ``data`` the job's dataset with every label hidden (-1): side channels such as
    ``transactions`` for transductive models (declared in its tags' ``requires`` when it cannot
    work without them). A model whose ``fit``, ``predict`` or ``predict_proba``
    declares a ``rows`` keyword receives the dataset row positions of the rows it is given.
    """

    def fit(self, X: np.ndarray, y: np.ndarray, *,
            validation: tuple[np.ndarray, np.ndarray] | None = None,
            unlabeled: UnlabeledPool | None = None) -> Model: ...

    def predict(self, X: np.ndarray) -> np.ndarray: ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Augmentation(Protocol):
    def augment(self, data: AccountData, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return an augmented copy of ``data.X[rows]`` (raw features, before preprocessing).

        Augmentations that imitate evasion act on transaction histories when ``data.history``
        holds them and recompute the features; otherwise they act in feature space and must say
        so in their ``describe()``.
        """

    def describe(self) -> dict[str, Any]:
        """Parameters and mode (``transactions`` or ``feature-space``) for the result record."""


@runtime_checkable
class EncoderFactory(Protocol):
    """Builds a ``torch.nn.Module`` mapping (batch, input_dim) to (batch, output_dim)."""

    output_dim: int

    def build(self, input_dim: int) -> Any: ...


@dataclass
class RunInfo:
    """What lifecycle hooks receive about a job."""

    job_name: str
    output_dir: Path
    sweep_name: str | None
    config: dict[str, Any]
    dataset: str
    scenario: str
    model: str
    seed: int
    overrides: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Command:
    """A ``chainsleuth <name>`` subcommand contributed by a plugin."""

    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
