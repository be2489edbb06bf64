"""Zero-shot, imbalanced and few-shot protocols: no leakage, exact counts, stated ratios."""

import numpy as np
import pytest

from framework.data import AccountData, Provenance
from framework.errors import ConfigError
from plugins.scenarios.paper_settings import FewShot, Imbalanced, ZeroShot


def four_classes(n=1000, seed=0, unlabelled=50):
    rng = np.random.default_rng(seed)
    y = rng.choice(4, size=n, p=[0.55, 0.2, 0.15, 0.1])
    y[:unlabelled] = -1
    X = rng.normal(size=(n, 5)) + y[:, None]
    return AccountData(name="four", ids=[f"a{i}" for i in range(n)], X=X,
                       feature_names=list("abcde"), y=y,
                       class_names=["normal", "phishing", "hack", "ponzi"],
                       benign_classes=["normal"], provenance=Provenance("synthetic", "test"))


@pytest.mark.parametrize("unseen", ["phishing", "hack", "ponzi"])
def test_zero_shot_unseen_class_only_in_test(unseen):
    data = four_classes()
    task = ZeroShot(unseen_class=unseen).split(data, seed=1)
    code = data.class_names.index(unseen)
    for name in ("train", "validation", "unlabeled"):
        assert not (data.y[getattr(task, name)] == code).any(), name
    unseen_rows = np.flatnonzero(data.y == code)
    assert np.isin(unseen_rows, task.test).all()
    assert np.array_equal(np.sort(task.slices["unseen"]), unseen_rows)
    assert task.class_names == ["benign", "malicious"] and (task.y[unseen_rows] == 1).all()
    seen_malicious = [c for c in ("phishing", "hack", "ponzi") if c != unseen]
    train_classes = {data.class_names[c] for c in np.unique(data.y[task.train])}
    assert train_classes == {"normal", *seen_malicious}


def test_zero_shot_rejects_benign_or_unknown_class():
    with pytest.raises(ConfigError, match="must be one of the malicious classes"):
        ZeroShot(unseen_class="normal").split(four_classes(), seed=0)


@pytest.mark.parametrize("ratio", [5, 25, 50])
def test_imbalanced_train_ratio_is_exact(ratio):
    data = four_classes(n=6000)
    task = Imbalanced(ratio=ratio).split(data, seed=0)
    train = task.y[task.train]
    assert (train == 0).sum() == ratio * (train == 1).sum() > 0
    # test keeps its natural distribution by default
    natural = (data.y[data.y >= 0] > 0).mean()
    assert abs((task.y[task.test] == 1).mean() - natural) < 0.03
    assert np.intersect1d(task.train, task.test).size == 0


@pytest.mark.parametrize("ratio", [5, 25])
def test_imbalanced_validation_follows_the_training_ratio(ratio):
    """Validated on the natural ratio, a 1:100 task had 215 malicious validation labels beside
    12 training ones: early stopping learned from labels the protocol withholds."""
    data = four_classes(n=6000)
    task = Imbalanced(ratio=ratio).split(data, seed=0)
    validation = task.y[task.validation]
    assert (validation == 0).sum() == ratio * (validation == 1).sum() > 0
    assert (validation == 1).sum() <= (task.y[task.train] == 1).sum() / 5
    assert task.notes["validation"] == f"subsampled to 1:{ratio}, like training"
    natural = Imbalanced(ratio=ratio, validation="natural").split(data, seed=0)
    assert (natural.y[natural.validation] == 1).sum() > (validation == 1).sum()
    assert len(Imbalanced(ratio=ratio, validation="none").split(data, seed=0).validation) == 0
    assert np.intersect1d(task.validation, np.concatenate([task.train, task.test])).size == 0


def test_imbalanced_validation_too_small_for_the_ratio_is_left_empty():
    task = Imbalanced(ratio=50, val_size=0.02).split(four_classes(n=1000), seed=0)
    assert len(task.validation) == 0 and task.notes["validation"].startswith("none: too few")
    with pytest.raises(ConfigError, match="validation must be one of train_ratio, natural"):
        Imbalanced(validation="source")


def test_imbalanced_both_and_initial_setting():
    data = four_classes(n=6000)
    task = Imbalanced(ratio=25, apply_to="both").split(data, seed=0)
    test = task.y[task.test]
    assert (test == 0).sum() == 25 * (test == 1).sum()
    initial = Imbalanced(ratio=None).split(data, seed=0)
    assert initial.class_names == data.class_names and initial.positive_class is None


@pytest.mark.parametrize("n", [10, 20, 50, 100, 200, 500])
def test_few_shot_uses_exactly_n_labels(n):
    data = four_classes(n=3000)
    task = FewShot(n_labels=n).split(data, seed=0)
    assert len(task.train) == n and len(task.validation) == 0
    assert set(np.unique(task.y[task.train])) == {0, 1}  # stratified: both classes present
    assert np.intersect1d(task.unlabeled, task.test).size == 0
    assert np.isin(task.train, task.unlabeled).all()
    assert task.notes["unlabelled_training_rows"] + n == len(task.unlabeled) - 50


def test_few_shot_too_many_labels_is_a_clear_error():
    with pytest.raises(ConfigError, match="labels requested"):
        FewShot(n_labels=10_000).split(four_classes(), seed=0)
