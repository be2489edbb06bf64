import pytest

from framework.errors import ConfigError, PluginError
from framework.registry import Provider, Registry

A = Provider("a", "dist-a", "1.0")
B = Provider("b", "dist-b", "2.0")


def factory(depth: int = 3, rate: float = 0.1, seed: int = 0, encoder=None):
    return {"depth": depth, "rate": rate, "seed": seed, "encoder": encoder}


def test_a_duplicate_name_fails_where_used_naming_both_providers():
    registry = Registry()
    registry.add("model", "m", factory, A)
    registry.add("model", "m", factory, B)  # registering does not fail: other names work
    registry.add("model", "other", factory, B)
    assert registry.get("model", "other").provider == B
    with pytest.raises(PluginError) as error:
        registry.get("model", "m")
    assert "dist-a" in str(error.value) and "dist-b" in str(error.value)
    with pytest.raises(PluginError, match="registered twice"):
        registry.create("model", {"name": "m"})
    assert list(registry.conflicts()) == [("model", "m")]


def test_unknown_name_lists_valid_names():
    registry = Registry()
    registry.add("model", "alpha", factory, A)
    registry.add("model", "beta", factory, A)
    with pytest.raises(ConfigError, match="valid model names: alpha, beta"):
        registry.get("model", "gamma")


def test_defaults_exclude_injected_arguments():
    registry = Registry()
    registry.add("model", "m", factory, A)
    assert registry.get("model", "m").defaults() == {"depth": 3, "rate": 0.1}


def test_create_passes_params_and_only_accepted_injections():
    registry = Registry()
    registry.add("model", "m", factory, A)
    made = registry.create("model", {"name": "m", "depth": 7}, seed=5, trainer={"x": 1})
    assert made == {"depth": 7, "rate": 0.1, "seed": 5, "encoder": None}


def test_unknown_parameter_is_a_clear_error():
    registry = Registry()
    registry.add("model", "m", factory, A)
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['dpeth'\]"):
        registry.create("model", {"name": "m", "dpeth": 2})


def test_names_must_be_identifiers():
    with pytest.raises(PluginError, match="identifier"):
        Registry().add("model", "has space", factory, A)


def test_a_misspelt_hook_fails_start_up_naming_plugin_and_hook():
    from framework.errors import PluginError
    from framework.hookspecs import hookimpl
    from framework.plugin_manager import PluginManager

    class Typo:
        @hookimpl
        def register_model(self):  # the hook is register_models
            return {"mine": object}

    with pytest.raises(PluginError, match="'typo'.* implements 'register_model', which is "
                                          "not a ChainSleuth hook; did you mean "
                                          "'register_models'"):
        PluginManager(extra_plugins=[("typo", Typo())])
