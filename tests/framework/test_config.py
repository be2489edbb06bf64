"""Config composition: groups per plugin kind, generated nodes for YAML-less plugins, errors."""

import pytest
from helpers import make_config
from hydra.errors import ConfigCompositionException

from framework.registry import KINDS


def test_default_config_composes_one_node_per_kind(tmp_path):
    cfg = make_config([], tmp_path, with_hydra=True)
    assert cfg.dataset.name == "chain_sim" and cfg.scenario.name == "standard"
    assert cfg.model.name == "xgboost" and cfg.logger.name is None
    assert set(KINDS) <= set(cfg.keys())
    assert cfg.hydra.run.dir.startswith("outputs/runs/")
    assert cfg.hydra.sweep.dir.startswith("outputs/multiruns/")


def test_every_registered_plugin_is_selectable_by_name(manager, tmp_path):
    for kind in KINDS:
        for name in manager.registry.names(kind):
            assert make_config([f"{kind}={name}"], tmp_path)[kind].name == name


def test_unknown_plugin_lists_valid_options(tmp_path):
    with pytest.raises(ConfigCompositionException, match="Available options"):
        make_config(["model=nonexistent"], tmp_path)


def test_quickstart_experiment_is_a_multirun(tmp_path):
    cfg = make_config(["experiment=quickstart"], tmp_path, with_hydra=True)
    assert cfg.study == "quickstart"
    assert cfg.hydra.mode.name == "MULTIRUN"
    assert "model" in cfg.hydra.sweeper.params and "seed" in cfg.hydra.sweeper.params


@pytest.mark.parametrize("setting, classes", [("ethereum_txs_phishing_crawl", ["normal", "phishing"]),
                                              ("ethereum_txs_hack_ponzi_crawl", ["hack", "ponzi"])])
def test_within_crawl_settings_are_ethereum_txs_on_one_crawls_classes(tmp_path, setting, classes):
    base = make_config(["dataset=ethereum_txs"], tmp_path).dataset
    cfg = make_config([f"dataset={setting}"], tmp_path).dataset
    assert cfg.name == "ethereum_txs" and list(cfg.classes) == classes
    # Everything else (harmonise, counterparties, ...) is the default variant's.
    assert {k: v for k, v in cfg.items() if k != "classes"} == {
        k: v for k, v in base.items() if k != "classes"}
