"""The contract checks themselves can fail: a broken plugin is caught, with its name."""

import numpy as np
import pytest

from framework import contracts
from framework.registry import Entry, Provider

PROVIDER = Provider("p", "dist", "0")


class WrongShape:
    def fit(self, X, y, *, validation=None, unlabeled=None):
        return self

    def predict_proba(self, X):
        return np.ones((len(X), 1))

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


class Chance(WrongShape):
    def fit(self, X, y, *, validation=None, unlabeled=None):
        self.k = len(np.unique(y))
        return self

    def predict_proba(self, X):
        return np.full((len(X), self.k), 1.0 / self.k)


class Mutating:
    def augment(self, data, rows, rng):
        data.X[rows] = 0.0
        return data.X[rows]

    def describe(self):
        return {"mode": "feature-space"}




@pytest.mark.parametrize("model, message", [(WrongShape, "predict_proba shape"),
                                            (Chance, "near chance")])
def test_broken_models_fail_the_contract(model, message):
    with pytest.raises(AssertionError, match=f"model 'broken': .*{message}"):
        contracts.check_plugin(Entry("model", "broken", model, PROVIDER), injected={})


def test_mutating_augmentation_fails_the_contract():
    with pytest.raises(AssertionError, match="mutated the dataset"):
        contracts.check_plugin(Entry("augmentation", "bad", Mutating, PROVIDER))


def test_seed_ignoring_scenario_fails_the_contract():
    class SameEverySeed:
        def split(self, data, seed):
            from plugins.scenarios.standard import StandardSplit

            return StandardSplit().split(data, 0)

    with pytest.raises(AssertionError, match="different seeds gave the same split"):
        contracts.check_plugin(Entry("scenario", "fixed", SameEverySeed, PROVIDER))
