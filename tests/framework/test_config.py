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


def plugin_nodes_are_valid(cfg, registry) -> list[str]:
    """Every plugin a composed config names exists, and each of its parameters is accepted."""
    import inspect

    problems = []
    for kind in KINDS:
        node = cfg.get(kind)
        if node is None or node.get("name") is None:
            continue
        entry = registry.get(kind, node.name)
        parameters = inspect.signature(entry.factory).parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in parameters):
            continue
        problems += [f"{kind} '{node.name}' does not accept '{key}'" for key in node
                     if key != "name" and not entry.accepts(key)]
    return problems


@pytest.mark.parametrize("group", ["method", "experiment"])
def test_every_method_and_experiment_file_composes_into_valid_plugin_nodes(manager, tmp_path,
                                                                           group):
    from framework.paths import config_dir

    files = sorted((config_dir() / group).glob("*.yaml"))
    assert files
    for path in files:
        cfg = make_config([f"{group}={path.stem}"], tmp_path)
        assert plugin_nodes_are_valid(cfg, manager.registry) == [], path.name


def test_the_plugin_node_check_names_an_unknown_parameter(manager, tmp_path):
    cfg = make_config(["method=lr", "+model.depht=3"], tmp_path)
    assert plugin_nodes_are_valid(cfg, manager.registry) == ["model 'lr' does not accept 'depht'"]


def test_every_value_an_experiment_sweeps_composes_into_valid_plugin_nodes(manager, tmp_path):
    """The default job of an experiment is not enough: a typo in its sweep grid
    (``model: lr,rff``) would only fail when the sweep reached it."""
    from framework.paths import config_dir

    checked = 0
    for path in sorted((config_dir() / "experiment").glob("*.yaml")):
        params = make_config([f"experiment={path.stem}"], tmp_path,
                             with_hydra=True).hydra.sweeper.get("params") or {}
        for key, values in params.items():
            for value in str(values).split(","):
                cfg = make_config([f"experiment={path.stem}", f"{key}={value.strip()}"], tmp_path)
                assert plugin_nodes_are_valid(cfg, manager.registry) == [], (path.name, key, value)
                checked += 1
    assert checked >= 7  # the quickstart alone sweeps four models and three seeds
