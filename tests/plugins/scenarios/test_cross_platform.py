"""cross_platform: target test rows never leak into training or pre-training; k target labels."""

import numpy as np
import pytest

from framework.contracts import toy_data
from framework.domains import SOURCE, TARGET, pair
from framework.errors import ConfigError
from plugins.scenarios.cross_platform import CrossPlatform


def data():
    return pair(toy_data(n=300, seed=0), toy_data(n=200, seed=1))


def test_pair_binarises_and_marks_domains():
    paired = data()
    assert paired.class_names == ["benign", "malicious"]
    assert (paired.groups[:300] == SOURCE).all() and (paired.groups[300:] == TARGET).all()
    assert paired.ids[0].startswith("source:") and paired.ids[-1].startswith("target:")


@pytest.mark.parametrize("k", [0, 10, 50])
def test_target_labels_and_no_leakage(k):
    paired = data()
    task = CrossPlatform(target_labels=k).split(paired, seed=0)
    assert (paired.groups[task.test] == TARGET).all()
    assert (paired.groups[task.train] == TARGET).sum() == k
    assert np.intersect1d(task.unlabeled, task.test).size == 0
    assert np.intersect1d(task.train, task.test).size == 0
    assert (paired.groups[task.validation] == SOURCE).all()


def test_needs_a_pair_and_a_shared_feature_space():
    with pytest.raises(ConfigError, match="source/target pair"):
        CrossPlatform().split(toy_data(), seed=0)
    with pytest.raises(ConfigError, match="do not share a feature space"):
        pair(toy_data(n_features=8), toy_data(n_features=6))
