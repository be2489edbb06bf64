"""Every registered plugin passes every check of its kind (framework.contracts).

Parametrised over the live registry and the checks of each kind, so a failure names the plugin
and the rule, and a plugin installed later is checked without editing this file. A check that
the plugin's tags exclude is reported as skipped, with the reason. Datasets that read files
load from the shared data (CHAINSLEUTH_DATA_DIR, as the rest of the suite).
"""

from functools import cache

import pytest
from helpers import DATA_DIR

from framework import contracts
from framework.plugin_manager import PluginManager
from framework.registry import KINDS

REGISTRY = PluginManager().registry


def pairs():
    return [pytest.param(entry, check.__name__, id=f"{kind}-{entry.name}-{check.__name__}")
            for kind in KINDS for entry in REGISTRY.entries(kind)
            for check in contracts.CHECKS[kind]]


@cache
def checks(kind, name):
    """The checks of one plugin, built once so that they share its fits and loads."""
    injected = None
    if kind == "model":
        encoder = REGISTRY.create("encoder", {"name": REGISTRY.names("encoder")[0]})
        injected = {"seed": 0, "trainer": contracts.SMALL_TRAINER, "encoder": encoder}
    return dict(contracts.checks_for(REGISTRY.get(kind, name), injected=injected,
                                     data_dir=DATA_DIR))


@pytest.mark.parametrize("entry, check", pairs())
def test_plugin_contract(entry, check):
    try:
        checks(entry.kind, entry.name)[check]()
    except contracts.NotApplicable as reason:
        pytest.skip(str(reason))


def test_every_kind_has_a_built_in_plugin_and_checks():
    for kind in KINDS:
        assert REGISTRY.names(kind) and contracts.CHECKS[kind], kind
