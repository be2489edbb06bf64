"""Load every ChainSleuth plugin, built-in or third-party, through one door.

Built-in plugins are declared as entry points of the group ``chainsleuth`` in ChainSleuth's own
``pyproject.toml``, exactly like a third-party package would declare them; the core never
imports a plugin by name.

A distribution may also publish a **manifest**: entry points of the group
``chainsleuth.provides``, one per plugin, named ``<kind>.<name>`` (``model.xgboost``,
``command.graph``) with the plugin module as value. Names and kinds then come from package
metadata alone, and a module is imported only when one of its plugins is needed: ``chainsleuth
--help`` and ``chainsleuth plugins`` import no plugin's dependencies (torch, XGBoost, numba),
and ``chainsleuth run`` imports the modules of the plugins it runs. A plugin module without a
manifest entry is imported at start-up, as before. When a declared module is loaded, its
registration hooks must return what the manifest says, or loading fails naming both.

``CHAINSLEUTH_PLUGINS`` restricts which *external* distributions load (comma-separated
distribution or entry-point names; empty means built-ins only), so that a sweep is reproducible
on a machine with extra packages installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from framework import hookspecs
from framework.errors import PluginError
from framework.registry import KINDS, Provider, Registry

if TYPE_CHECKING:
    from framework.interfaces import Command

ENTRY_POINT_GROUP = "chainsleuth"
MANIFEST_GROUP = "chainsleuth.provides"
RESTRICT_ENV = "CHAINSLEUTH_PLUGINS"
BUILTIN_DISTRIBUTION = "chainsleuth"

# The registration hook of each kind (a command is a kind of its own, outside the registry).
MANIFEST_KINDS = (*KINDS, "command")
_REGISTRATION_HOOKS = {kind: f"register_{kind}s" for kind in MANIFEST_KINDS}


class PluginManager:
    """A pluggy manager plus the registry of every plugin, declared or loaded."""

    def __init__(self, extra_plugins: Iterable[tuple[str, object]] = ()) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._providers: dict[str, Provider] = {}
        self._declared: dict[str, _DeclaredModule] = {}
        self._registered: dict[tuple[str, str], dict] = {}
        self.registry = Registry()
        self._commands: dict[str, tuple[Provider, Callable[[], Command]]] = {}
        self._command_conflicts: dict[str, list[Provider]] = {}
        self._discover()
        for name, plugin in extra_plugins:
            self._register_loaded(plugin, Provider(name, "(registered in code)", "-"))

    @property
    def hook(self) -> pluggy.HookRelay:
        return self.pm.hook

    def attach(self, plugin: object, name: str) -> None:
        """Register a per-job object (a logger) so that it receives lifecycle hooks; one with a
        misspelt hook is refused and left unregistered."""
        self.pm.register(plugin, name=name)
        try:
            self._check_hook_names(name)
        except PluginError:
            self.pm.unregister(plugin)
            raise

    def detach(self, plugin: object) -> None:
        self.pm.unregister(plugin)

    def command_names(self) -> list[str]:
        return sorted(self._commands)

    def command_providers(self) -> dict[str, Provider]:
        """Who provides each plugin command, known without importing any of them."""
        return {name: self._commands[name][0] for name in self.command_names()}

    def command(self, name: str) -> tuple[Command, Provider]:
        """A plugin command, importing its module if it was only declared; a name two
        distributions registered fails here, naming both."""
        if name in self._command_conflicts:
            raise PluginError(f"command '{name}' is registered twice: by "
                              f"{' and by '.join(map(str, self._command_conflicts[name]))}; "
                              f"uninstall one or restrict plugins with {RESTRICT_ENV}")
        provider, load = self._commands[name]
        return load(), provider

    def command_conflicts(self) -> dict[str, list[Provider]]:
        """Command names registered by more than one distribution, with every provider."""
        return {name: list(providers) for name, providers in self._command_conflicts.items()}

    def load_all(self) -> None:
        """Import every declared module and check it against its manifest, and refuse names
        registered twice (tests, contracts: there, everything must be usable)."""
        conflicts = {**{f"{kind} '{name}'": providers
                        for (kind, name), providers in self.registry.conflicts().items()},
                     **{f"command '{name}'": providers
                        for name, providers in self._command_conflicts.items()}}
        for what, providers in conflicts.items():
            raise PluginError(f"{what} is registered twice: by "
                              f"{' and by '.join(map(str, providers))}")
        for plugin_name, declared in self._declared.items():
            self._load_module(plugin_name)
            for kind, hook_name in _REGISTRATION_HOOKS.items():
                names = declared.names.get(kind, set())
                registered = set(self._hook_result(plugin_name, hook_name))
                if registered != names:
                    raise PluginError(
                        f"plugin {declared.provider}: its manifest ({MANIFEST_GROUP}) declares "
                        f"{kind}s {sorted(names)} for module {declared.module}, whose "
                        f"{hook_name}() returns {sorted(registered)}")

    def _discover(self) -> None:
        allowed = _allowed_external()
        manifests = _manifests()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist_name = ep.dist.name if ep.dist is not None else "(unknown distribution)"
            dist_version = ep.dist.version if ep.dist is not None else "?"
            builtin = _normalise(dist_name) == BUILTIN_DISTRIBUTION
            if not builtin and allowed is not None and not (
                    {_normalise(dist_name), _normalise(ep.name)} & allowed):
                continue
            plugin_name = ep.name if builtin else f"{dist_name}:{ep.name}"
            if plugin_name in self._providers:
                continue
            provider = Provider(plugin_name, dist_name, dist_version)
            names = manifests.get((_normalise(dist_name), ep.value))
            if names is None:
                self._register_loaded(_load(ep, dist_name, dist_version), provider)
                continue
            self._providers[plugin_name] = provider
            self._declared[plugin_name] = _DeclaredModule(ep, provider, names)
            for kind, kind_names in names.items():
                for name in sorted(kind_names):
                    if kind == "command":
                        self._add_command(name, provider, partial(
                            self._declared_factory, plugin_name, kind, name))
                    else:
                        self.registry.declare(kind, name, partial(
                            self._declared_factory, plugin_name, kind, name), provider)

    def _register_loaded(self, plugin: object, provider: Provider) -> None:
        """Register an imported plugin and everything its registration hooks return."""
        self.pm.register(plugin, name=provider.plugin)
        self._providers[provider.plugin] = provider
        self._check_hook_names(provider.plugin)
        for kind in KINDS:
            for name, factory in self._hook_result(provider.plugin,
                                                   _REGISTRATION_HOOKS[kind]).items():
                self.registry.add(kind, name, factory, provider)
        for name, command in self._hook_result(provider.plugin, "register_commands").items():
            self._add_command(name, provider, lambda command=command: command)

    def _add_command(self, name: str, provider: Provider,
                     load: Callable[[], Command]) -> None:
        if name in self._commands:  # only running this command fails (see command)
            self._command_conflicts.setdefault(name, [self._commands[name][0]]).append(provider)
            return
        self._commands[name] = (provider, load)

    def _load_module(self, plugin_name: str) -> None:
        declared = self._declared[plugin_name]
        if not self.pm.has_plugin(plugin_name):
            module = _load(declared.entry_point, declared.provider.distribution,
                           declared.provider.version)
            self.pm.register(module, name=plugin_name)
            self._check_hook_names(plugin_name)

    def _declared_factory(self, plugin_name: str, kind: str, name: str) -> Callable[..., Any]:
        self._load_module(plugin_name)
        factories = self._hook_result(plugin_name, _REGISTRATION_HOOKS[kind])
        if name not in factories:
            declared = self._declared[plugin_name]
            raise PluginError(
                f"plugin {declared.provider}: its manifest ({MANIFEST_GROUP}) declares {kind} "
                f"'{name}' in module {declared.module}, but its {_REGISTRATION_HOOKS[kind]}() "
                f"returns {sorted(factories) or 'nothing'}")
        return factories[name]

    def _hook_result(self, plugin_name: str, hook_name: str) -> dict:
        """What one plugin's registration hook returns (called once, then remembered)."""
        key = (plugin_name, hook_name)
        if key not in self._registered:
            impls = [impl for impl in getattr(self.pm.hook, hook_name).get_hookimpls()
                     if impl.plugin_name == plugin_name]
            result: dict = {}
            for impl in impls:
                result.update(_call(impl, self._providers.get(plugin_name, plugin_name),
                                    hook_name))
            self._registered[key] = result
        return self._registered[key]

    def _check_hook_names(self, plugin_name: str) -> None:
        """A hook implementation whose name matches no hook (``register_model`` for
        ``register_models``) would register nothing, silently: refuse it when its plugin
        registers."""
        callers = vars(self.pm.hook)
        known = sorted(name for name, caller in callers.items() if caller.has_spec())
        for name, caller in callers.items():
            if caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin_name != plugin_name:
                    continue
                provider = self._providers.get(impl.plugin_name, impl.plugin_name)
                close = [k for k in known if k.rstrip("s") == name.rstrip("s")]
                hint = f"; did you mean '{close[0]}'?" if close else "."
                raise PluginError(f"plugin {provider} implements '{name}', which is not a "
                                  f"ChainSleuth hook{hint} Known hooks: {', '.join(known)}")


@dataclass(frozen=True)
class _DeclaredModule:
    """A plugin module known from its distribution's manifest, not yet (or already) imported."""

    entry_point: EntryPoint
    provider: Provider
    names: dict[str, set[str]]

    @property
    def module(self) -> str:
        return self.entry_point.value


def _manifests() -> dict[tuple[str, str], dict[str, set[str]]]:
    """(distribution, module) -> kind -> names, from every ``chainsleuth.provides`` entry."""
    found: dict[tuple[str, str], dict[str, set[str]]] = {}
    for ep in entry_points(group=MANIFEST_GROUP):
        dist_name = ep.dist.name if ep.dist is not None else "(unknown distribution)"
        kind, dot, name = ep.name.partition(".")
        if not dot or kind not in MANIFEST_KINDS or not name:
            raise PluginError(f"distribution {dist_name}: manifest entry '{ep.name}' in "
                              f"{MANIFEST_GROUP} must be named <kind>.<name> with kind one of "
                              f"{', '.join(MANIFEST_KINDS)}")
        found.setdefault((_normalise(dist_name), ep.value), {}).setdefault(kind, set()).add(name)
    return found


def _call(impl: pluggy.HookImpl, provider: Provider, hook_name: str) -> dict:
    try:
        result = impl.function()
    except Exception as exc:
        raise PluginError(f"plugin {provider} failed in {hook_name}(): {exc!r}") from exc
    if not isinstance(result, dict):
        raise PluginError(f"plugin {provider}: {hook_name}() must return a dict of name -> "
                          f"factory, got {type(result).__name__}")
    return result


def _load(ep: EntryPoint, dist_name: str, dist_version: str) -> object:
    try:
        return ep.load()
    except ModuleNotFoundError as exc:
        extra = _extra_providing(dist_name, exc.name or "")
        if extra is None:
            raise _import_failed(ep, dist_name, dist_version, exc) from exc
        raise PluginError(
            f"the ChainSleuth plugin '{ep.name}' = '{ep.value}' of distribution {dist_name} "
            f"{dist_version} needs {exc.name.split('.')[0]}, which its extra '{extra}' installs: "
            f'pip install "{dist_name}[{extra}]"') from exc
    except Exception as exc:
        raise _import_failed(ep, dist_name, dist_version, exc) from exc


def _import_failed(ep: EntryPoint, dist_name: str, dist_version: str,
                   exc: Exception) -> PluginError:
    return PluginError(
        f"the ChainSleuth plugin '{ep.name}' = '{ep.value}' of distribution {dist_name} "
        f"{dist_version} failed to import: {exc!r}. Fix or uninstall {dist_name}, or exclude it "
        f"with {RESTRICT_ENV}")


def _extra_providing(dist_name: str, module: str) -> str | None:
    """The optional extra of ``dist_name`` that requires the (missing) top-level ``module``,
    read from the distribution's own metadata (``torch-geometric`` provides
    ``torch_geometric``)."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import InvalidRequirement, Requirement

    top = _normalise(module.split(".")[0])
    try:
        requirements = requires(dist_name) or []
    except PackageNotFoundError:
        return None
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        marker = str(requirement.marker or "")
        if _normalise(requirement.name) == top and "extra ==" in marker:
            return marker.split("extra ==", 1)[1].strip().strip("'\"")
    return None


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def _allowed_external() -> set[str] | None:
    raw = os.environ.get(RESTRICT_ENV)
    if raw is None:
        return None
    return {_normalise(part) for part in raw.split(",") if part.strip()}
