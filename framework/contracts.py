"""The contract every plugin of a kind must honour, as runnable checks.

Like scikit-learn's ``check_estimator``: ``tests/contracts`` runs these over every registered
plugin (so a plugin added later is checked automatically), and a plugin author can call them
in their own tests. Each check raises ``AssertionError`` with the plugin's name on a breach.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from framework.data import AccountData, Provenance
from framework.interfaces import UnlabeledPool
from framework.registry import Entry
from framework.task import Task

SMALL_TRAINER = {"accelerator": "cpu", "devices": 1, "max_epochs": 10,
                 "enable_progress_bar": False, "deterministic": True}


def toy_data(n: int = 240, n_features: int = 8, n_classes: int = 3, seed: int = 0) -> AccountData:
    """A small learnable problem (Gaussian blobs with some NaN cells) for contract checks."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    centres = rng.normal(0, 2.0, size=(n_classes, n_features))
    X = centres[y] + rng.normal(size=(n, n_features))
    X[rng.random(X.shape) < 0.02] = np.nan
    names = [f"class_{c}" for c in range(n_classes)]
    return AccountData(name="toy", ids=[f"a{i}" for i in range(n)], X=X,
                       feature_names=[f"f{j}" for j in range(n_features)], y=y,
                       class_names=names, benign_classes=[names[0]],
                       groups=np.arange(n) * 10 // n + 1,
                       provenance=Provenance("synthetic", "framework.contracts.toy_data",
                                             "SYNTHETIC contract-check data"))


def _prepared(data: AccountData) -> np.ndarray:
    X = np.nan_to_num(data.X)
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32)


def check_model(entry: Entry, injected: dict[str, Any]) -> None:
    """fit / predict / predict_proba on binary and multiclass data, cheap construction, determinism.

    A model class may declare ``binary_only = True`` (checked on two classes only) and
    ``learns_from_labels = False`` (an unsupervised detector: no accuracy check against labels).
    """
    binary_only = getattr(entry.factory, "binary_only", False)
    supervised = getattr(entry.factory, "learns_from_labels", True)
    for n_classes in (2,) if binary_only else (2, 3):
        data = toy_data(n_classes=n_classes)
        X = _prepared(data)
        train, test = np.arange(0, 180), np.arange(180, 240)
        tick = time.perf_counter()
        model = entry.factory(**{k: v for k, v in injected.items() if entry.accepts(k)})
        assert time.perf_counter() - tick < 1.0, f"model '{entry.name}': __init__ does work"
        pool = UnlabeledPool(X=X[train], augment=lambda pos, rng: X[train][pos] + rng.normal(
            0, 0.1, size=(len(pos), X.shape[1])).astype(np.float32))
        returned = model.fit(X[train], data.y[train], validation=(X[test[:20]], data.y[test[:20]]),
                             unlabeled=pool)
        assert returned is model, f"model '{entry.name}': fit must return self"
        proba = np.asarray(model.predict_proba(X[test]))
        assert proba.shape == (len(test), n_classes), (
            f"model '{entry.name}': predict_proba shape {proba.shape}, expected "
            f"({len(test)}, {n_classes})")
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-4), (
            f"model '{entry.name}': probabilities do not sum to 1")
        pred = np.asarray(model.predict(X[test]))
        assert pred.shape == (len(test),), f"model '{entry.name}': predict shape {pred.shape}"
        assert set(np.unique(pred)) <= set(range(n_classes)), (
            f"model '{entry.name}': predicted labels outside the training classes")
        accuracy = float((pred == data.y[test]).mean())
        assert not supervised or accuracy > 1.0 / n_classes + 0.1, (
            f"model '{entry.name}': accuracy {accuracy:.2f} on separable blobs is near chance")
        model.fit(X[train], data.y[train])  # validation and unlabeled are optional


def check_scenario(entry: Entry) -> None:
    scenario = entry.factory()
    data = toy_data(n=300)
    if callable(getattr(scenario, "example_data", None)):  # needs data of its own kind
        data = scenario.example_data()
    elif getattr(scenario, "requires", None) == "domains":
        from framework.domains import pair

        data = pair(data, toy_data(n=300, seed=1))
    first, again, other = scenario.split(data, 0), scenario.split(data, 0), scenario.split(data, 1)
    assert isinstance(first, Task), f"scenario '{entry.name}': split must return a Task"
    for name in ("train", "validation", "test", "unlabeled"):
        assert np.array_equal(getattr(first, name), getattr(again, name)), (
            f"scenario '{entry.name}': same seed gave a different {name} set")
    assert any(not np.array_equal(getattr(first, name), getattr(other, name))
               for name in ("train", "validation", "test")), (
        f"scenario '{entry.name}': different seeds gave the same split")
    assert not np.intersect1d(first.unlabeled, first.test).size, (
        f"scenario '{entry.name}': test rows in the pre-training pool")


def check_augmentation(entry: Entry) -> None:
    data = toy_data()
    before = data.X.copy()
    augmentation = entry.factory()
    rows = np.arange(0, 50)
    out = augmentation.augment(data, rows, np.random.default_rng(0))
    assert np.asarray(out).shape == (50, data.X.shape[1]), (
        f"augmentation '{entry.name}': output shape {np.asarray(out).shape}")
    assert np.array_equal(before, data.X, equal_nan=True), (
        f"augmentation '{entry.name}': mutated the dataset in place")
    again = augmentation.augment(data, rows, np.random.default_rng(0))
    assert np.array_equal(out, again, equal_nan=True), (
        f"augmentation '{entry.name}': not reproducible with the same generator")
    description = augmentation.describe()
    assert description.get("mode") in ("transactions", "feature-space"), (
        f"augmentation '{entry.name}': describe() must state its mode")


def check_encoder(entry: Entry) -> None:
    import torch

    encoder = entry.factory()
    module = encoder.build(12)
    assert isinstance(module, torch.nn.Module), f"encoder '{entry.name}': build must give a Module"
    module.eval()
    out = module(torch.randn(5, 12))
    assert tuple(out.shape) == (5, encoder.output_dim), (
        f"encoder '{entry.name}': output shape {tuple(out.shape)}, expected (5, {encoder.output_dim})")


def check_logger(entry: Entry) -> None:
    logger = entry.factory()
    hooks = ("on_run_started", "on_run_finished", "on_run_failed", "on_sweep_finished")
    assert any(callable(getattr(logger, h, None)) for h in hooks), (
        f"logger '{entry.name}': implements none of the lifecycle hooks {hooks}")


def check_representation(entry: Entry) -> None:
    data = toy_data()
    data.y[:] = -1  # the runner hides labels; a representation must not need them
    rows = np.arange(0, 180)
    representation = entry.factory().fit(data, rows)
    out = np.asarray(representation.transform(data))
    assert out.shape[0] == len(data.ids) and out.ndim == 2, (
        f"representation '{entry.name}': transform gave shape {out.shape}")
    assert np.isfinite(out[:, data.X.shape[1]:]).all(), (
        f"representation '{entry.name}': non-finite learned features")
    moved = data.X.copy()
    moved[rows[:10]] += 1.0
    changed = np.asarray(representation.transform(data, X=moved))
    assert changed.shape == out.shape, f"representation '{entry.name}': X= changed the shape"
    description = representation.describe()
    assert isinstance(description, dict) and description.get("name"), (
        f"representation '{entry.name}': describe() must name it")


def check_dataset_factory(entry: Entry) -> None:
    tick = time.perf_counter()
    source = entry.factory()
    assert time.perf_counter() - tick < 1.0, f"dataset '{entry.name}': __init__ does work"
    assert callable(getattr(source, "load", None)), f"dataset '{entry.name}': no load(context)"
