"""standard split: disjoint sets, stratification, binary labels, unlabelled rows only in the pool."""

import numpy as np

from framework.contracts import toy_data
from plugins.scenarios.standard import StandardSplit


def test_sets_are_disjoint_and_cover_labelled_rows():
    data = toy_data(n=300)
    task = StandardSplit(test_size=0.2, val_size=0.1).split(data, seed=0)
    together = np.concatenate([task.train, task.validation, task.test])
    assert len(np.unique(together)) == len(together) == 300
    assert len(task.test) == 60 and len(task.validation) == 30
    assert set(np.unique(data.ids[task.test])).isdisjoint(data.ids[task.train])


def test_stratified_proportions():
    data = toy_data(n=300, n_classes=3)
    task = StandardSplit().split(data, seed=3)
    assert np.bincount(task.y[task.test]).tolist() == [20, 20, 20]


def test_binary_marks_malicious_positive():
    data = toy_data(n=300, n_classes=3)
    task = StandardSplit(binary=True).split(data, seed=0)
    assert task.class_names == ["benign", "malicious"] and task.positive_class == 1
    assert (task.y == (data.y != 0)).all()


def test_unlabelled_rows_only_enter_the_pretraining_pool():
    data = toy_data(n=300)
    data.y[:50] = -1
    task = StandardSplit().split(data, seed=0)
    labelled_sets = np.concatenate([task.train, task.validation, task.test])
    assert not np.isin(np.arange(50), labelled_sets).any()
    assert np.isin(np.arange(50), task.unlabeled).all()
    assert np.intersect1d(task.unlabeled, task.test).size == 0
