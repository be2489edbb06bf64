"""Load every ChainSleuth plugin, built-in or third-party, through one door.

Built-in plugins are declared as entry points of the group ``chainsleuth`` in ChainSleuth's own
``pyproject.toml``, exactly like a third-party package would declare them; the core never
imports a plugin by name.

``CHAINSLEUTH_PLUGINS`` restricts which *external* distributions load (comma-separated
distribution or entry-point names; empty means built-ins only), so that a sweep is reproducible
on a machine with extra packages installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

import pluggy

from framework import hookspecs
from framework.errors import PluginError
from framework.registry import KINDS, Provider, Registry

ENTRY_POINT_GROUP = "chainsleuth"
RESTRICT_ENV = "CHAINSLEUTH_PLUGINS"
BUILTIN_DISTRIBUTION = "chainsleuth"

_REGISTRATION_HOOKS = {kind: f"register_{kind}s" for kind in KINDS}


class PluginManager:
    """A pluggy manager plus the registry built from its registration hooks."""

    def __init__(self, extra_plugins: Iterable[tuple[str, object]] = ()) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._providers: dict[str, Provider] = {}
        self._load_entry_points()
        for name, plugin in extra_plugins:
            self.register(plugin, Provider(name, "(registered in code)", "-"))
        self._check_hook_names()
        self.registry = self._build_registry()
        self.commands = self._collect_commands()

    @property
    def hook(self) -> pluggy.HookRelay:
        return self.pm.hook

    def register(self, plugin: object, provider: Provider) -> None:
        self.pm.register(plugin, name=provider.plugin)
        self._providers[provider.plugin] = provider

    def attach(self, plugin: object, name: str) -> None:
        """Register a per-job object (a logger) so that it receives lifecycle hooks."""
        self.pm.register(plugin, name=name)

    def detach(self, plugin: object) -> None:
        self.pm.unregister(plugin)

    def _load_entry_points(self) -> None:
        allowed = _allowed_external()
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist_name = ep.dist.name if ep.dist is not None else "(unknown distribution)"
            dist_version = ep.dist.version if ep.dist is not None else "?"
            builtin = _normalise(dist_name) == BUILTIN_DISTRIBUTION
            if not builtin and allowed is not None and not (
                    {_normalise(dist_name), _normalise(ep.name)} & allowed):
                continue
            plugin_name = ep.name if builtin else f"{dist_name}:{ep.name}"
            if self.pm.has_plugin(plugin_name):
                continue
            self.register(_load(ep, dist_name, dist_version),
                          Provider(plugin_name, dist_name, dist_version))

    def _check_hook_names(self) -> None:
        """A hook implementation whose name matches no hook (``register_model`` for
        ``register_models``) would register nothing, silently: refuse it at start-up."""
        callers = vars(self.pm.hook)
        known = sorted(name for name, caller in callers.items() if caller.has_spec())
        for name, caller in callers.items():
            if caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                provider = self._providers.get(impl.plugin_name, impl.plugin_name)
                close = [k for k in known if k.rstrip("s") == name.rstrip("s")]
                hint = f"; did you mean '{close[0]}'?" if close else "."
                raise PluginError(f"plugin {provider} implements '{name}', which is not a "
                                  f"ChainSleuth hook{hint} Known hooks: {', '.join(known)}")

    def _build_registry(self) -> Registry:
        registry = Registry()
        for kind, hook_name in _REGISTRATION_HOOKS.items():
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                provider = self._providers[impl.plugin_name]
                factories = _call(impl, provider, hook_name)
                for name, factory in factories.items():
                    registry.add(kind, name, factory, provider)
        return registry

    def _collect_commands(self) -> dict[str, tuple[object, Provider]]:
        commands: dict[str, tuple[object, Provider]] = {}
        for impl in self.pm.hook.register_commands.get_hookimpls():
            provider = self._providers[impl.plugin_name]
            for name, command in _call(impl, provider, "register_commands").items():
                if name in commands:
                    raise PluginError(f"command '{name}' is registered twice: by "
                                      f"{commands[name][1]} and by {provider}")
                commands[name] = (command, provider)
        return commands


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
    except Exception as exc:
        raise PluginError(
            f"the ChainSleuth plugin '{ep.name}' = '{ep.value}' of distribution {dist_name} "
            f"{dist_version} failed to import: {exc!r}. Fix or uninstall {dist_name}, or exclude it "
            f"with {RESTRICT_ENV}") from exc


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(".", "-")


def _allowed_external() -> set[str] | None:
    raw = os.environ.get(RESTRICT_ENV)
    if raw is None:
        return None
    return {_normalise(part) for part in raw.split(",") if part.strip()}


@lru_cache(maxsize=1)
def _cached(restriction: str | None) -> PluginManager:
    return PluginManager()


def get_plugin_manager() -> PluginManager:
    """The process-wide manager (cached per value of ``CHAINSLEUTH_PLUGINS``)."""
    return _cached(os.environ.get(RESTRICT_ENV))
