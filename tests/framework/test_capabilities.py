"""Capability tags and side channels: what plugins declare, and jobs refused before loading."""

from __future__ import annotations

import pytest
from helpers import make_config

from framework.capabilities import (Selection, Tags, check_job, check_loaded, check_requirements,
                                    provided_channels, select, tags_of)
from framework.contracts import toy_data
from framework.errors import ConfigError, DataError, PluginError
from framework.registry import Entry, Provider, Registry
from framework.runner import JobInfo, run_job

PROVIDER = Provider("p", "dist", "0")


class Plain:
    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha


class NeedsTransactions(Plain):
    chainsleuth_tags = Tags(requires=frozenset({"transactions"}))


def _switching_tags(params):
    return Tags(requires=frozenset({"history"} if params["histories"] else ()))


class Switching:
    chainsleuth_tags = staticmethod(_switching_tags)

    def __init__(self, histories: bool = False) -> None:
        self.histories = histories


class Toy:
    chainsleuth_tags = Tags(provides=frozenset({"groups"}))

    def load(self, context):
        return toy_data()


class Traffic:
    chainsleuth_tags = Tags(provides=frozenset({"relay_traffic", "transactions"}))


class Histories:
    chainsleuth_tags = Tags(provides=frozenset({"history", "graph", "edge_index"}))


def registry() -> Registry:
    found = Registry()
    for name, factory in (("toy", Toy), ("traffic", Traffic), ("histories", Histories)):
        found.add("dataset", name, factory, PROVIDER)
    for name, factory in (("plain", Plain), ("needs_tx", NeedsTransactions),
                          ("switching", Switching)):
        found.add("model", name, factory, PROVIDER)
    return found


def test_a_plugin_without_tags_gets_the_defaults():
    tags = tags_of(Plain)
    assert tags == Tags() and tags.learns_from_labels and tags.deterministic
    assert not tags.binary_only and tags.requires == tags.provides == frozenset()


def test_tags_may_depend_on_the_parameters_with_the_defaults_filled_in():
    assert tags_of(Switching).requires == frozenset()
    assert tags_of(Switching, {"histories": True}).requires == {"history"}


def test_an_unknown_side_channel_is_refused_with_the_known_ones():
    with pytest.raises(PluginError, match=r"unknown side channel\(s\) \['event'\].*history"):
        Tags(requires=frozenset({"event"}))


def test_tags_that_are_not_tags_name_the_factory():
    class Wrong:
        chainsleuth_tags = staticmethod(lambda params: {"binary_only": True})

    with pytest.raises(PluginError, match="Wrong: chainsleuth_tags must be a Tags"):
        tags_of(Wrong)


def test_a_missing_channel_names_plugin_channel_and_providers_before_loading():
    nodes = {"dataset": {"name": "toy"}, "model": {"name": "needs_tx", "alpha": 1.0}}
    with pytest.raises(ConfigError) as error:
        check_job(registry(), nodes)
    message = str(error.value)
    assert "model 'needs_tx' requires the side channel 'transactions'" in message
    assert "dataset 'toy' does not provide" in message
    assert "datasets that provide it: traffic" in message


def test_the_parameters_that_made_the_requirement_are_named():
    nodes = {"dataset": {"name": "traffic"}, "model": {"name": "switching", "histories": True}}
    with pytest.raises(ConfigError, match=r"model 'switching' \(histories=True\) requires the "
                                          r"side channel 'history'.*provide it: histories"):
        check_job(registry(), nodes)
    nodes["model"]["histories"] = False
    assert check_job(registry(), nodes) == {"relay_traffic", "transactions"}


def test_a_pair_carries_domains_and_what_both_sides_carry():
    found = registry()
    toy, histories = (Selection(found.get("dataset", n)) for n in ("toy", "histories"))
    assert provided_channels(histories, histories) == {"domains", "groups", "feature_space",
                                                        "history", "graph", "edge_index"}
    assert provided_channels(toy, histories) == {"domains", "groups", "feature_space"}


def test_a_channel_no_dataset_has_says_so():
    cross = Entry("scenario", "cross", type("Cross", (), {
        "chainsleuth_tags": Tags(requires=frozenset({"domains"}))}), PROVIDER)
    with pytest.raises(ConfigError, match="'domains'.*dataset@target_dataset.*no dataset "
                                          "provides it on its own"):
        check_requirements(frozenset({"groups"}), "dataset 'toy'", [Selection(cross)], registry())
    check_requirements(frozenset({"domains"}), "dataset 'toy' paired with target 'toy'",
                       [Selection(cross)], registry())


def test_a_dataset_that_leaves_a_declared_channel_empty_is_named():
    found = registry()
    with pytest.raises(DataError, match=r"dataset 'histories' declares the side channel\(s\) "
                                        r"\['edge_index', 'graph', 'history'\].*leaves them empty"):
        check_loaded(toy_data(), select(found, "dataset", {"name": "histories"}))
    check_loaded(toy_data(), select(found, "dataset", {"name": "toy"}))


def test_a_job_whose_model_needs_a_channel_its_dataset_lacks_fails_naming_both(tmp_path):
    """Needs the runner wiring: prepare() calls check_job before loading the dataset (whose
    files do not exist here, so loading first would fail with another error)."""
    cfg = make_config(["dataset=ethereum_txs", f"dataset.path={tmp_path / 'absent'}",
                       "model=ntssl", "model.cross_layer=true"], tmp_path)
    record = run_job(cfg, JobInfo(output_dir=tmp_path / "job"))
    assert record["status"] == "failed" and record["error"]["type"] == "ConfigError"
    message = record["error"]["message"]
    assert "model 'ntssl' (cross_layer=True) requires the side channel 'transactions'" in message
    assert "dataset 'ethereum_txs' does not provide;" in message
    assert "datasets that provide it: p2p_capture, relay_sim" in message
