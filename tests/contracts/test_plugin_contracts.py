"""Every registered plugin of every kind passes its kind's contract (framework.contracts).

Parametrised over the live registry: a plugin installed later is checked without editing
this file.
"""

import pytest

from framework import contracts
from framework.plugin_manager import get_plugin_manager
from framework.registry import KINDS

REGISTRY = get_plugin_manager().registry


def entries(kind):
    return [pytest.param(e, id=e.name) for e in REGISTRY.entries(kind)]


def encoder_for_models():
    return REGISTRY.create("encoder", {"name": REGISTRY.names("encoder")[0]})


@pytest.mark.parametrize("entry", entries("model"))
def test_model_contract(entry):
    contracts.check_model(entry, {"seed": 0, "trainer": contracts.SMALL_TRAINER,
                                  "encoder": encoder_for_models()})


@pytest.mark.parametrize("entry", entries("scenario"))
def test_scenario_contract(entry):
    contracts.check_scenario(entry)


@pytest.mark.parametrize("entry", entries("augmentation"))
def test_augmentation_contract(entry):
    contracts.check_augmentation(entry)


@pytest.mark.parametrize("entry", entries("encoder"))
def test_encoder_contract(entry):
    contracts.check_encoder(entry)


@pytest.mark.parametrize("entry", entries("representation"))
def test_representation_contract(entry):
    contracts.check_representation(entry)


@pytest.mark.parametrize("entry", entries("logger"))
def test_logger_contract(entry):
    contracts.check_logger(entry)


@pytest.mark.parametrize("entry", entries("dataset"))
def test_dataset_factory_contract(entry):
    contracts.check_dataset_factory(entry)


def test_every_kind_has_a_built_in_plugin():
    for kind in KINDS:
        assert REGISTRY.names(kind), kind
