"""The contract checks themselves: each catches its breach, tags exclude checks with a reason,
and the checks of one plugin share its fits."""

from __future__ import annotations

import numpy as np
import pytest

from framework import contracts
from framework.capabilities import Tags
from framework.registry import Entry, Provider

PROVIDER = Provider("p", "dist", "0")


class Centroids:
    """A deterministic nearest-centroid model that counts its fits."""

    fits = 0

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X, y, *, validation=None, unlabeled=None):
        type(self).fits += 1
        self.classes_ = np.unique(y)
        self.centres_ = np.stack([X[y == c].mean(0) for c in self.classes_])
        return self

    def predict_proba(self, X):
        scores = -((X[:, None, :] - self.centres_[None]) ** 2).sum(-1)
        scores = np.exp(scores - scores.max(1, keepdims=True))
        return scores / scores.sum(1, keepdims=True)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]


class Noisy(Centroids):
    """Draws from an unseeded generator: two fits with one seed differ."""

    def predict_proba(self, X):
        proba = super().predict_proba(X) + np.random.default_rng().uniform(0, 0.01, (len(X), 1))
        return proba / proba.sum(1, keepdims=True)


class DeclaredNoisy(Noisy):
    chainsleuth_tags = Tags(deterministic=False)


def run(factory, check, kind="model", **options):
    checks = dict(contracts.checks_for(Entry(kind, "x", factory, PROVIDER), **options))
    return checks[check]()


def test_checks_for_yields_every_check_of_the_kind_in_order():
    entry = Entry("model", "x", Centroids, PROVIDER)
    names = [name for name, _ in contracts.checks_for(entry)]
    assert names == [check.__name__ for check in contracts.CHECKS["model"]]
    assert {"check_fit_returns_self", "check_predict_proba_shape", "check_deterministic_with_seed",
            "check_probabilities_sum_to_one"} <= set(names)


def test_the_checks_of_a_model_share_three_fits():
    Centroids.fits = 0
    assert contracts.check_plugin(Entry("model", "x", Centroids, PROVIDER)) == []
    assert Centroids.fits == 3  # two problems, and the second fit the determinism check needs


def test_a_model_that_is_not_deterministic_fails_the_determinism_check():
    with pytest.raises(AssertionError, match="model 'x': two fits with seed 0 on the same data "
                                             "differ .*declare deterministic=False"):
        run(Noisy, "check_deterministic_with_seed")


def test_a_model_that_declares_it_is_told_the_check_does_not_apply():
    with pytest.raises(contracts.NotApplicable, match="declares deterministic=False"):
        run(DeclaredNoisy, "check_deterministic_with_seed")
    left_out = contracts.check_plugin(Entry("model", "x", DeclaredNoisy, PROVIDER))
    assert [line.split(":")[0] for line in left_out] == ["check_deterministic_with_seed"]


def test_an_unsupervised_model_is_not_held_to_accuracy():
    class Unsupervised(Centroids):
        chainsleuth_tags = Tags(learns_from_labels=False)

    with pytest.raises(contracts.NotApplicable, match="learns_from_labels=False"):
        run(Unsupervised, "check_learns_separable_blobs")


def test_a_binary_only_model_is_fitted_on_two_classes_only():
    class Binary(Centroids):
        chainsleuth_tags = Tags(binary_only=True)

        def fit(self, X, y, **kwargs):
            assert len(np.unique(y)) == 2, "fitted on more than two classes"
            return super().fit(X, y, **kwargs)

    contracts.check_plugin(Entry("model", "x", Binary, PROVIDER))


def test_a_scenario_without_an_example_of_its_requirement_fails():
    class NeedsTraffic:
        chainsleuth_tags = Tags(requires=frozenset({"relay_traffic"}))

        def split(self, data, seed):
            raise AssertionError("not reached")

    with pytest.raises(AssertionError, match=r"scenario 'x' requires side channel\(s\) "
                                             r"\['relay_traffic'\] that its example data lacks"):
        run(NeedsTraffic, "check_example_data_meets_requirements", kind="scenario")


class ToySource:
    chainsleuth_tags = Tags(provides=frozenset({"groups"}))

    def load(self, context):
        data = contracts.toy_data()
        data.name = "x"
        return data


def test_a_dataset_fills_exactly_what_it_declares():
    run(ToySource, "check_load_fills_declared_channels", kind="dataset")

    class Overclaims(ToySource):
        chainsleuth_tags = Tags(provides=frozenset({"groups", "history"}))

    class Underclaims(ToySource):
        chainsleuth_tags = Tags()

    with pytest.raises(AssertionError, match=r"declared, empty: \['history'\]; filled, "
                                             r"undeclared: \[\]"):
        run(Overclaims, "check_load_fills_declared_channels", kind="dataset")
    with pytest.raises(AssertionError, match=r"filled, undeclared: \['groups'\]"):
        run(Underclaims, "check_load_fills_declared_channels", kind="dataset")


def test_a_dataset_is_loaded_only_where_its_tags_allow():
    class Slow(ToySource):
        chainsleuth_tags = Tags(provides=frozenset({"groups"}), example_params=None)

    class Files(ToySource):
        chainsleuth_tags = Tags(provides=frozenset({"groups"}), needs_data_dir=True)

    with pytest.raises(contracts.NotApplicable, match="example_params=None"):
        run(Slow, "check_load_gives_account_data", kind="dataset")
    with pytest.raises(contracts.NotApplicable, match="set CHAINSLEUTH_DATA_DIR"):
        run(Files, "check_load_gives_account_data", kind="dataset")
    run(Files, "check_load_gives_account_data", kind="dataset", data_dir="/nowhere")
