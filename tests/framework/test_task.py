import numpy as np
import pytest

from framework.errors import ConfigError
from framework.task import Task


def make(**sets):
    base = dict(scenario="s", setting={}, y=np.zeros(10, dtype=int), class_names=["a", "b"],
                train=[0, 1, 2], test=[3, 4])
    base.update(sets)
    return Task(**base)


def test_overlapping_train_and_test_is_rejected():
    with pytest.raises(ConfigError, match="train and test"):
        make(train=[0, 1, 3], test=[3, 4])


def test_test_rows_in_pretraining_pool_are_rejected():
    with pytest.raises(ConfigError, match="unlabeled and test"):
        make(unlabeled=[0, 1, 4])


def test_validation_must_not_overlap_test():
    with pytest.raises(ConfigError, match="validation and test"):
        make(validation=[4])


def test_out_of_range_and_duplicates_are_rejected():
    with pytest.raises(ConfigError, match="out of range"):
        make(test=[3, 10])
    with pytest.raises(ConfigError, match="duplicate"):
        make(train=[0, 0, 1])


def test_setting_label_is_sorted_and_stable():
    assert make(setting={"b": 2, "a": 1}).setting_label() == "a=1,b=2"


def test_tuning_split_lies_inside_the_training_rows():
    y = np.array([0, 1] * 50)
    task = Task(scenario="s", setting={}, y=y, class_names=["a", "b"], train=np.arange(60),
                validation=np.arange(60, 70), test=np.arange(70, 100),
                unlabeled=np.arange(0, 70))
    inner = task.inner_split(0.25, seed=0)
    assert set(inner.train) | set(inner.test) == set(task.train)
    assert len(inner.test) == 15 and not set(inner.test) & set(inner.train)
    assert not set(inner.test) & set(inner.unlabeled)
    assert not (set(inner.train) | set(inner.test) | set(inner.unlabeled)
                | set(inner.validation)) & set(task.test)  # the real test rows are unused
    assert np.bincount(y[inner.test]).tolist() == [8, 7] or np.bincount(
        y[inner.test]).tolist() == [7, 8]
    with pytest.raises(ConfigError, match="inner_validation"):
        task.inner_split(1.5, seed=0)


def test_counterparties_of_test_rows_leave_the_pretraining_pool():
    """Rows 0-3 labelled, 4-7 unlabelled counterparties; 6 dealt with test row 3 only, 5 with
    train row 0 and test row 2, 4 and 7 with training rows only (7 via an edge into it)."""
    from framework.data import InteractionGraph

    graph = InteractionGraph(node_ids=[f"n{i}" for i in range(9)], row_nodes=np.arange(8),
                             edge_index=np.array([[0, 5, 2, 3, 1, 8], [4, 0, 5, 6, 7, 4]]),
                             edge_attr=np.ones((6, 1)), edge_attr_names=("count",))
    y = np.array([0, 1, 0, 1, -1, -1, -1, -1])
    task = Task(scenario="s", setting={}, y=y, class_names=["a", "b"], train=[0, 1], test=[2, 3],
                unlabeled=[0, 1, 4, 5, 6, 7])
    kept = task.without_test_neighbours(graph, y < 0)
    assert list(kept.unlabeled) == [0, 1, 4, 7]
    assert kept.notes["unlabelled_test_neighbours_dropped"] == 2
    assert list(kept.train) == [0, 1] and list(kept.test) == [2, 3]
    assert task.without_test_neighbours(None, y < 0) is task
