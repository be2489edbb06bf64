"""What a plugin can do and what it needs: capability tags, and whether a job's plugins fit.

scikit-learn's estimator tags, for ChainSleuth. A plugin's factory may declare
``chainsleuth_tags``: a :class:`Tags`, or, when a parameter changes what the plugin needs (NTSSL
needs transactions only with ``cross_layer=true``), a function of the plugin's parameters (its
keyword defaults overridden by the config) that returns one. :func:`tags_of` reads them and
gives the defaults to a plugin that declares none, so only the exceptions declare anything.

Side channels are the optional fields of :class:`~framework.data.AccountData`
(:data:`~framework.data.SIDE_CHANNELS`). Datasets declare the ones they fill (``provides``);
scenarios, representations, augmentations and models the ones they cannot work without
(``requires``). Comparing the two needs no data, so a job whose model needs a channel its
dataset lacks fails before anything is loaded (:func:`check_job`), with an error naming the
plugin, the channel and the datasets that have it; and a dataset that declared a channel but
left it empty fails as soon as it is loaded (:func:`check_loaded`), naming the dataset.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from framework.data import SIDE_CHANNELS, AccountData
from framework.domains import pair_channels
from framework.errors import ConfigError, DataError, PluginError
from framework.registry import Entry, Registry


@dataclass(frozen=True)
class Tags:
    """What a plugin declares about itself. Every field has the default that fits most plugins.

    Attributes:
        binary_only: (model) fits two classes only (the contract suite checks it on two).
        learns_from_labels: (model) False for an unsupervised detector that ignores ``y``: the
            contract suite then does not expect it to beat chance on labelled blobs.
        deterministic: (model) two models built with the same seed and fitted on the same data
            give the same ``predict_proba``; a model that cannot promise it says False, and the
            contract suite reports the determinism check as not applicable.
        requires: (scenario, representation, augmentation, model) side channels the plugin
            cannot work without.
        provides: (dataset) side channels its ``load`` fills.
        example_data: (scenario) builds small data of the kind the scenario needs, when the
            contract suite's toy data does not do (a relay world, a declared split, a pair).
        needs_data_dir: (dataset) ``load`` reads files under the data root.
        example_params: (dataset) parameters with which ``load`` takes seconds, for the
            contract suite; None when none do (a large real dataset, files not in the shared
            data, or a file only its user has): the suite then checks the factory alone.
    """

    binary_only: bool = False
    learns_from_labels: bool = True
    deterministic: bool = True
    requires: frozenset[str] = frozenset()
    provides: frozenset[str] = frozenset()
    example_data: Callable[[], AccountData] | None = None
    needs_data_dir: bool = False
    example_params: Mapping[str, Any] | None = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("requires", "provides"):
            channels = frozenset(getattr(self, name))
            object.__setattr__(self, name, channels)
            unknown = sorted(channels - set(SIDE_CHANNELS))
            if unknown:
                raise PluginError(f"tags: {name} names unknown side channel(s) {unknown}; known "
                                  f"channels: {', '.join(SIDE_CHANNELS)}")


def tags_of(factory: Callable[..., Any], params: Mapping[str, Any] | None = None) -> Tags:
    """The tags a plugin factory declares for these parameters, or the defaults.

    ``params`` are the plugin's configured parameters; the factory's keyword defaults fill the
    rest before a tags function sees them.
    """
    declared = getattr(factory, "chainsleuth_tags", None)
    if declared is None:
        return Tags()
    tags = (declared({**_keyword_defaults(factory), **(params or {})}) if callable(declared)
            else declared)
    if not isinstance(tags, Tags):
        raise PluginError(f"{getattr(factory, '__qualname__', factory)}: chainsleuth_tags must be "
                          f"a Tags or a function of the parameters returning one, got {tags!r}")
    return tags


def _keyword_defaults(factory: Callable[..., Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


@dataclass(frozen=True)
class Selection:
    """A plugin a job selected: its registry entry and the parameters its config gives it."""

    entry: Entry
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tags(self) -> Tags:
        return tags_of(self.entry.factory, self.params)

    def __str__(self) -> str:
        """``kind 'name'``, with the parameters that differ from the defaults (they may be why
        the plugin needs a channel)."""
        defaults = {k: list(v) if isinstance(v, tuple) else v  # a config holds lists
                    for k, v in _keyword_defaults(self.entry.factory).items()}
        changed = [f"{k}={v}" for k, v in self.params.items() if defaults.get(k, v) != v]
        return f"{self.entry.kind} '{self.entry.name}'" + (f" ({', '.join(changed)})"
                                                         if changed else "")


def select(registry: Registry, kind: str, node: Mapping[str, Any]) -> Selection:
    """The selection a config node (``{name: ..., <param>: ...}``) makes."""
    return Selection(registry.get(kind, str(node["name"])),
                     {k: v for k, v in node.items() if k != "name"})


def provided_channels(dataset: Selection, target: Selection | None = None) -> frozenset[str]:
    """The channels a job's data will carry: the dataset's, or its pair's with ``target``."""
    own = dataset.tags.provides
    return own if target is None else pair_channels(own, target.tags.provides)


def providers(registry: Registry, channel: str) -> list[str]:
    """Datasets that declare ``channel`` with their default parameters (a dataset that fails to
    load its module is left out: this only serves an error message)."""
    found = []
    for entry in registry.entries("dataset"):
        try:
            if channel in tags_of(entry.factory).provides:
                found.append(entry.name)
        except PluginError:
            continue
    return found


def check_requirements(provided: frozenset[str], dataset: str, plugins: Iterable[Selection],
                       registry: Registry) -> None:
    """Raise a ConfigError unless the data carries every channel the plugins require.

    ``dataset`` names the data for the message (``dataset 'chain_sim'``). The error names each
    plugin, each channel it lacks, what the channel holds and the datasets that provide it.
    """
    problems = []
    for plugin in plugins:
        for channel in sorted(plugin.tags.requires - provided):
            having = providers(registry, channel)
            problems.append(
                f"{plugin} requires the side channel '{channel}' ({SIDE_CHANNELS[channel]}), "
                f"which {dataset} does not provide; "
                + (f"datasets that provide it: {', '.join(having)}" if having
                   else "no dataset provides it on its own"))
    if problems:
        raise ConfigError("; ".join(problems))


JOB_KINDS: tuple[str, ...] = ("scenario", "representation", "augmentation", "model")
"""The kinds of plugin that see a job's data and may require side channels."""


def check_job(registry: Registry, nodes: Mapping[str, Mapping[str, Any] | None]) -> frozenset[str]:
    """Before loading: do the job's plugins fit its dataset? Returns the channels it will carry.

    ``nodes`` maps ``dataset``, optionally ``target_dataset``, and any of :data:`JOB_KINDS` to
    the config node of the selected plugin (None or absent when none is selected).
    """
    dataset = select(registry, "dataset", nodes["dataset"])
    target_node = nodes.get("target_dataset")
    target = (select(registry, "dataset", target_node)
              if target_node and target_node.get("name") is not None else None)
    label = f"dataset '{dataset.entry.name}'" + (
        f" paired with target '{target.entry.name}'" if target is not None else "")
    provided = provided_channels(dataset, target)
    selected = [select(registry, kind, node) for kind in JOB_KINDS
                if (node := nodes.get(kind)) and node.get("name") is not None]
    check_requirements(provided, label, selected, registry)
    return provided


def check_loaded(data: AccountData, dataset: Selection) -> None:
    """After loading: raise a DataError naming the dataset if it left a declared channel empty."""
    empty = sorted(dataset.tags.provides - data.channels)
    if empty:
        raise DataError(f"dataset '{dataset.entry.name}' declares the side channel(s) {empty} in "
                        f"its tags but its data leaves them empty (None); fill them in load(), or "
                        f"drop them from the provides of its chainsleuth_tags")
