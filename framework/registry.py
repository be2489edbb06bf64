"""Named plugin factories per kind, with who provided them.

The registry is built from the registration hooks (see :mod:`framework.plugin_manager`). It is
the only place that turns a config node (``{name: rf, n_estimators: 300}``) into an object, so
that unknown names and unknown parameters fail the same way everywhere.

An entry may be *declared* before its module is imported (a distribution's manifest names its
plugins): its factory is then loaded the first time something needs it, so listing plugins or
choosing one never imports the others (torch, XGBoost, numba, ...).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from framework.errors import ConfigError, PluginError

KINDS: tuple[str, ...] = ("dataset", "scenario", "representation", "model", "encoder",
                          "augmentation", "logger")

# Constructor arguments the runner supplies itself; they are not hyper-parameters.
INJECTED_ARGUMENTS = frozenset({"encoder", "trainer", "seed", "data"})


@dataclass(frozen=True)
class Provider:
    """The distribution that registered a plugin."""

    plugin: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"{self.distribution} {self.version} (plugin '{self.plugin}')"


@dataclass(frozen=True)
class Entry:
    """A plugin's factory, or (for a declared plugin) how to load it when first needed."""

    kind: str
    name: str
    loaded: Callable[..., Any] | None
    provider: Provider
    load: Callable[[], Callable[..., Any]] | None = field(default=None, compare=False)

    @cached_property
    def factory(self) -> Callable[..., Any]:
        """The factory, importing the plugin's module on first use if it was only declared."""
        if self.loaded is not None:
            return self.loaded
        if self.load is None:
            raise PluginError(f"plugin {self.provider}: {self.kind} '{self.name}' has neither "
                              f"a factory nor a loader")
        factory = self.load()
        if not callable(factory):
            raise PluginError(f"plugin {self.provider}: {self.kind} '{self.name}' is not callable")
        return factory

    def defaults(self) -> dict[str, Any]:
        """The factory's keyword defaults: its hyper-parameters as a config node."""
        params: dict[str, Any] = {}
        for param in _parameters(self.factory):
            if param.name in INJECTED_ARGUMENTS:
                continue
            default = param.default
            if default is inspect.Parameter.empty:
                params[param.name] = "???"
            elif default is None or isinstance(default, (bool, int, float, str)):
                params[param.name] = default
            elif isinstance(default, (list, tuple)):
                params[param.name] = list(default)
        return params

    def accepts(self, argument: str) -> bool:
        return any(p.name == argument for p in _parameters(self.factory))

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "distribution": self.provider.distribution,
                "version": self.provider.version, "plugin": self.provider.plugin}

    def source_sha256(self) -> str:
        """SHA-256 over the Python files of the package that defines the factory, and of every
        package of the ``libraries`` layer those files import (transitively).

        The package, not the one module: a plugin's code usually spans its folder (a model and
        its training loop), and a result reused after any of it changed would be stale. So
        editing one built-in model makes resume rerun the others of ``plugins/models`` too:
        the safe side. The libraries below the plugins (simulators, parsers, graph ETL) are
        plugin code moved down a layer: editing the chain simulator changes every ``chain_sim``
        result, so it must change this hash too. ``"unknown"`` when the factory has no source
        file.
        """
        try:
            source = inspect.getsourcefile(inspect.unwrap(self.factory))
        except TypeError:
            source = None
        if source is None:
            return "unknown"
        own = sorted(Path(source).parent.glob("*.py"))
        digest = hashlib.sha256()
        for path in own + sorted(_imported_library_files(own) - set(own)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()


LIBRARY_LAYER = "libraries"


def _imported_library_files(files: list[Path]) -> set[Path]:
    """The Python files of every ``libraries.<name>`` package that ``files`` import, following
    the libraries' own imports of each other."""
    found: set[Path] = set()
    pending, seen_packages = list(files), set()
    while pending:
        path = pending.pop()
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        for package in _library_packages(tree) - seen_packages:
            seen_packages.add(package)
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                continue
            for folder in spec.submodule_search_locations:
                new = set(Path(folder).rglob("*.py")) - found
                found |= new
                pending += sorted(new)
    return found


def _library_packages(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    parts = (name.split(".") for name in names)
    return {".".join(p[:2]) for p in parts if p[0] == LIBRARY_LAYER and len(p) >= 2}


def _parameters(factory: Callable[..., Any]) -> list[inspect.Parameter]:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return []
    return [p for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


class Registry:
    """Factories by kind and name."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        self._conflicts: dict[tuple[str, str], list[Provider]] = {}

    def add(self, kind: str, name: str, factory: Callable[..., Any], provider: Provider) -> None:
        if not callable(factory):
            raise PluginError(f"plugin {provider}: {kind} '{name}' is not callable")
        self._add(Entry(kind, name, factory, provider))

    def declare(self, kind: str, name: str, load: Callable[[], Callable[..., Any]],
                provider: Provider) -> None:
        """Add a plugin known by name only; ``load`` imports it when its factory is needed."""
        self._add(Entry(kind, name, None, provider, load))

    def _add(self, entry: Entry) -> None:
        kind, name, provider = entry.kind, entry.name, entry.provider
        if kind not in self._entries:
            raise PluginError(f"plugin {provider}: unknown plugin kind '{kind}'")
        if not isinstance(name, str) or not name.isidentifier():
            raise PluginError(f"plugin {provider}: {kind} name {name!r} must be an identifier")
        existing = self._entries[kind].get(name)
        if existing is not None:
            # Only what needs this name fails (see get): one bad package must not stop
            # every command, --help and the other plugins included.
            self._conflicts.setdefault((kind, name), [existing.provider]).append(provider)
            return
        self._entries[kind][name] = entry

    def conflicts(self) -> dict[tuple[str, str], list[Provider]]:
        """(kind, name) -> every provider that registered it, for names registered twice."""
        return {key: list(providers) for key, providers in self._conflicts.items()}

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[kind])

    def entries(self, kind: str) -> list[Entry]:
        return [self._entries[kind][n] for n in self.names(kind)]

    def get(self, kind: str, name: str) -> Entry:
        """The entry of ``name``; a name two distributions registered fails here, naming both."""
        providers = self._conflicts.get((kind, name))
        if providers:
            raise PluginError(f"{kind} '{name}' is registered twice: by "
                              f"{' and by '.join(map(str, providers))}; uninstall one or restrict "
                              f"plugins with CHAINSLEUTH_PLUGINS")
        try:
            return self._entries[kind][name]
        except KeyError:
            valid = ", ".join(self.names(kind)) or "(none installed)"
            raise ConfigError(f"unknown {kind} '{name}'; valid {kind} names: {valid}") from None

    def create(self, kind: str, node: Mapping[str, Any], **injected: Any) -> Any:
        """Instantiate the plugin a config node names; ``injected`` go only where accepted."""
        if "name" not in node:
            raise ConfigError(f"the {kind} config has no 'name' field; expected one of: "
                              f"{', '.join(self.names(kind))}")
        entry = self.get(kind, str(node["name"]))
        params = {k: v for k, v in node.items() if k != "name"}
        accepted = {p.name for p in _parameters(entry.factory)}
        takes_kwargs = _takes_var_keyword(entry.factory)
        unknown = sorted(k for k in params if k not in accepted and not takes_kwargs)
        if unknown:
            raise ConfigError(f"{kind} '{entry.name}' got unknown parameter(s) {unknown}; it accepts "
                              f"{sorted(accepted - INJECTED_ARGUMENTS)}")
        missing = [k for k, v in params.items() if v == "???"]
        if missing:
            raise ConfigError(f"{kind} '{entry.name}' needs a value for {missing} "
                              f"(e.g. {kind}.{missing[0]}=...)")
        params.update({k: v for k, v in injected.items() if k in accepted})
        return entry.factory(**params)


def _takes_var_keyword(factory: Callable[..., Any]) -> bool:
    try:
        return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return False
