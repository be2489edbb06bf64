"""elliptic with generated files in the exact raw layout; temporal splits on it."""

import numpy as np
import pytest

from framework.errors import DataError
from framework.interfaces import DataContext
from plugins.datasets.elliptic import (CLASSES_FILE, EDGES_FILE, FEATURES_FILE, N_FEATURES,
                                       EllipticDataset)
from plugins.scenarios.temporal import TemporalSplit


def write_elliptic(root, n=300, steps=10, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    ids = [str(230000000 + i) for i in range(n)]
    step = np.sort(rng.integers(1, steps + 1, size=n))
    with open(root / FEATURES_FILE, "w") as handle:
        for tx, s in zip(ids, step):
            handle.write(",".join([tx, str(s), *map(str, rng.normal(size=N_FEATURES).round(5))])
                         + "\n")
    classes = rng.choice(["1", "2", "unknown"], size=n, p=[0.1, 0.3, 0.6])
    (root / CLASSES_FILE).write_text("txId,class\n" + "".join(
        f"{tx},{c}\n" for tx, c in zip(ids, classes)))
    pairs = rng.integers(0, n, size=(2 * n, 2))
    (root / EDGES_FILE).write_text("txId1,txId2\n" + "".join(
        f"{ids[a]},{ids[b]}\n" for a, b in pairs))
    return root, classes


def test_load_keeps_unknown_rows_unlabelled(tmp_path):
    root, classes = write_elliptic(tmp_path / "elliptic_bitcoin_dataset")
    data = EllipticDataset().load(DataContext(tmp_path, tmp_path, 0))
    assert data.X.shape == (300, 165) and data.edge_index.shape == (2, 600)
    assert (data.y == -1).sum() == (classes == "unknown").sum()
    assert (data.y == 1).sum() == (classes == "1").sum()  # illicit
    assert data.summary()["unlabelled"] == (classes == "unknown").sum()


def test_temporal_split_never_trains_on_the_future(tmp_path):
    root, _ = write_elliptic(tmp_path / "elliptic_bitcoin_dataset")
    data = EllipticDataset().load(DataContext(tmp_path, tmp_path, 0))
    task = TemporalSplit(train_until=7).split(data, seed=0)
    assert data.groups[task.train].max() <= 7 and data.groups[task.test].min() > 7
    assert data.groups[task.unlabeled].max() <= 7
    assert (data.y[task.test] >= 0).all() and (data.y[task.train] >= 0).all()
    assert np.intersect1d(task.unlabeled, task.test).size == 0


@pytest.mark.parametrize("damage, message", [
    (lambda r: (r / CLASSES_FILE).write_text("txId,label\n1,2\n"), "header"),
    (lambda r: (r / CLASSES_FILE).write_text(
        (r / CLASSES_FILE).read_text().replace(",2\n", ",3\n", 1)), "values \\['3'\\]"),
    (lambda r: (r / EDGES_FILE).write_text("txId1,txId2\n1,2\n"), "absent from"),
    (lambda r: (r / FEATURES_FILE).unlink(), "is missing"),
    (lambda r: (r / FEATURES_FILE).write_text("1,2,3\n"), "expected 167"),
])
def test_bad_files_are_named(tmp_path, damage, message):
    root, _ = write_elliptic(tmp_path / "elliptic_bitcoin_dataset")
    damage(root)
    with pytest.raises(DataError, match=message):
        EllipticDataset().load(DataContext(tmp_path, tmp_path, 0))
