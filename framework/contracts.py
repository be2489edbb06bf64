"""The contract every plugin of a kind must honour, as small named checks.

Like scikit-learn's ``check_estimator(generate_only=True)``: :func:`checks_for` yields one
``(name, check)`` pair per rule of the plugin's kind (:data:`CHECKS`), so ``tests/contracts``
runs every pair for every registered plugin (a plugin added later is checked automatically) and
a failure names both the plugin and the rule; :func:`check_plugin` runs them all, for a plugin
author's own tests. A check raises ``AssertionError`` naming the plugin on a breach, and
:class:`NotApplicable` when the plugin's capability tags (:mod:`framework.capabilities`) say
the rule does not apply to it (an unsupervised model is not expected to beat chance on labels;
a model that declares ``deterministic=False`` is not held to determinism), the reason being its
message.

The checks of one plugin share its expensive work: a model is fitted once per problem, a
representation once, a dataset loaded once, so splitting the contract into small checks costs
no more time than one big check did.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property, lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from framework.capabilities import Tags, tags_of
from framework.data import AccountData, Provenance
from framework.interfaces import DataContext, UnlabeledPool
from framework.registry import Entry
from framework.seeding import seed_everything
from framework.task import Task

SMALL_TRAINER = {"accelerator": "cpu", "devices": 1, "max_epochs": 10,
                 "enable_progress_bar": False, "deterministic": True}
TRAIN, TEST = np.arange(0, 180), np.arange(180, 240)
ROWS = np.arange(0, 50)  # the rows an augmentation check augments
LIFECYCLE_HOOKS = ("on_run_started", "on_run_finished", "on_run_failed", "on_sweep_finished")


class NotApplicable(Exception):
    """The plugin's tags exclude it from this check; the message says why."""


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


@lru_cache(maxsize=None)
def _blobs(n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Toy features as the runner hands them to models (no NaN, standardised), and labels."""
    data = toy_data(n_classes=n_classes)
    X = np.nan_to_num(data.X)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    X.flags.writeable = False
    return X, data.y


def _fit(model: Any, n_classes: int, *, optional: bool = True) -> Any:
    """Fit on the training blobs, with a validation set and an augmenting unlabelled pool
    unless ``optional`` is False; returns what ``fit`` returned."""
    X, y = _blobs(n_classes)
    if not optional:
        return model.fit(X[TRAIN], y[TRAIN])
    pool = UnlabeledPool(X=X[TRAIN], augment=lambda pos, rng: X[TRAIN][pos] + rng.normal(
        0, 0.1, size=(len(pos), X.shape[1])).astype(np.float32))
    return model.fit(X[TRAIN], y[TRAIN], validation=(X[TEST[:20]], y[TEST[:20]]), unlabeled=pool)


class _UnderTest:
    """One plugin under check: its entry and tags, shared by the checks of its kind."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry

    @property
    def name(self) -> str:
        return f"{self.entry.kind} '{self.entry.name}'"

    @cached_property
    def tags(self) -> Tags:
        return tags_of(self.entry.factory)


class ModelUnderTest(_UnderTest):
    """A model built as the runner builds it (every generator seeded with the job seed, the
    injected arguments it accepts), fitted once per problem.

    The two-class problem is fitted the way a job with pre-training calls ``fit`` (a validation
    set and an augmenting unlabelled pool), the three-class one the plain way (neither), so both
    calls are covered without fitting a problem twice.
    """

    def __init__(self, entry: Entry, injected: Mapping[str, Any]) -> None:
        super().__init__(entry)
        self.injected = dict(injected)
        self._fitted: dict[int, tuple[Any, Any, np.ndarray, np.ndarray]] = {}

    def arguments(self) -> dict[str, Any]:
        return {k: v for k, v in self.injected.items() if self.entry.accepts(k)}

    def build(self) -> Any:
        factory, arguments = self.entry.factory, self.arguments()  # imported before seeding
        seed_everything(int(self.injected.get("seed", 0)))
        return factory(**arguments)

    @property
    def class_counts(self) -> tuple[int, ...]:
        return (2,) if self.tags.binary_only else (2, 3)

    def fitted(self, n_classes: int) -> tuple[Any, Any, np.ndarray, np.ndarray]:
        """(model, what fit returned, predict_proba, predict) on the test blobs."""
        if n_classes not in self._fitted:
            model = self.build()
            returned = _fit(model, n_classes, optional=n_classes == 2)
            X, _ = _blobs(n_classes)
            self._fitted[n_classes] = (model, returned, np.asarray(model.predict_proba(X[TEST])),
                                       np.asarray(model.predict(X[TEST])))
        return self._fitted[n_classes]


def check_tags(subject: _UnderTest) -> None:
    """The plugin's declared tags read as Tags (a typo in a channel name fails here)."""
    assert isinstance(subject.tags, Tags), f"{subject.name}: tags are not Tags"


def check_init_does_no_work(subject: ModelUnderTest | DatasetUnderTest) -> None:
    tick = time.perf_counter()
    subject.entry.factory(**subject.arguments())
    assert time.perf_counter() - tick < 1.0, f"{subject.name}: __init__ does work"


def check_fit_returns_self(model: ModelUnderTest) -> None:
    for n_classes in model.class_counts:
        fitted, returned, _, _ = model.fitted(n_classes)
        assert returned is fitted, f"{model.name}: fit must return self"


def check_predict_proba_shape(model: ModelUnderTest) -> None:
    for n_classes in model.class_counts:
        proba = model.fitted(n_classes)[2]
        assert proba.shape == (len(TEST), n_classes), (
            f"{model.name}: predict_proba shape {proba.shape}, expected "
            f"({len(TEST)}, {n_classes})")


def check_probabilities_sum_to_one(model: ModelUnderTest) -> None:
    for n_classes in model.class_counts:
        proba = model.fitted(n_classes)[2]
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-4), (
            f"{model.name}: probabilities do not sum to 1")


def check_predict_gives_training_classes(model: ModelUnderTest) -> None:
    for n_classes in model.class_counts:
        pred = model.fitted(n_classes)[3]
        assert pred.shape == (len(TEST),), f"{model.name}: predict shape {pred.shape}"
        assert set(np.unique(pred)) <= set(range(n_classes)), (
            f"{model.name}: predicted labels outside the training classes")


def check_learns_separable_blobs(model: ModelUnderTest) -> None:
    if not model.tags.learns_from_labels:
        raise NotApplicable(f"{model.name} declares learns_from_labels=False (it ignores labels)")
    for n_classes in model.class_counts:
        accuracy = float((model.fitted(n_classes)[3] == _blobs(n_classes)[1][TEST]).mean())
        assert accuracy > 1.0 / n_classes + 0.1, (
            f"{model.name}: accuracy {accuracy:.2f} on separable blobs is near chance")


def check_fit_without_optional_arguments(model: ModelUnderTest) -> None:
    """``validation`` and ``unlabeled`` are optional: the runner passes them only when it has
    them (the three-class problem is fitted without them; a binary-only model is fitted so)."""
    if 3 in model.class_counts:
        model.fitted(3)
    else:
        _fit(model.build(), 2, optional=False)


def check_deterministic_with_seed(model: ModelUnderTest) -> None:
    """Two models built with the same seed and fitted on the same data predict the same
    probabilities (within 1e-6): the same command gives the same result."""
    if not model.tags.deterministic:
        raise NotApplicable(f"{model.name} declares deterministic=False: two fits with one seed "
                            f"may differ, so its results vary beyond the seed")
    first = model.fitted(2)[2]
    again = model.build()
    _fit(again, 2)
    second = np.asarray(again.predict_proba(_blobs(2)[0][TEST]))
    difference = float(np.max(np.abs(first - second))) if first.shape == second.shape else np.inf
    assert difference <= 1e-6, (
        f"{model.name}: two fits with seed {model.injected.get('seed', 0)} on the same data "
        f"differ (max |difference| of predict_proba {difference:.3g}); seed every generator "
        f"from the seed, or declare deterministic=False in its tags")


class ScenarioUnderTest(_UnderTest):
    """A scenario on its example data (the toy data unless its tags give an example)."""

    def __init__(self, entry: Entry) -> None:
        super().__init__(entry)
        self._splits: dict[int, Task] = {}

    @cached_property
    def scenario(self) -> Any:
        return self.entry.factory()

    @cached_property
    def data(self) -> AccountData:
        example = self.tags.example_data
        return example() if example is not None else toy_data(n=300)

    def split(self, seed: int) -> Task:
        """The scenario's task for ``seed``, split once."""
        if seed not in self._splits:
            self._splits[seed] = self.scenario.split(self.data, seed)
        return self._splits[seed]


def check_example_data_meets_requirements(scenario: ScenarioUnderTest) -> None:
    missing = sorted(scenario.tags.requires - scenario.data.channels)
    assert not missing, (f"{scenario.name} requires side channel(s) {missing} that its example "
                         f"data lacks; give an example_data that has them in its tags")


def check_split_returns_task(scenario: ScenarioUnderTest) -> None:
    assert isinstance(scenario.split(0), Task), f"{scenario.name}: split must return a Task"


def check_same_seed_same_split(scenario: ScenarioUnderTest) -> None:
    first, again = scenario.split(0), scenario.scenario.split(scenario.data, 0)
    for name in ("train", "validation", "test", "unlabeled"):
        assert np.array_equal(getattr(first, name), getattr(again, name)), (
            f"{scenario.name}: same seed gave a different {name} set")


def check_seeds_vary_the_split(scenario: ScenarioUnderTest) -> None:
    first, other = scenario.split(0), scenario.split(1)
    assert any(not np.array_equal(getattr(first, name), getattr(other, name))
               for name in ("train", "validation", "test")), (
        f"{scenario.name}: different seeds gave the same split")


def check_no_test_rows_in_pool(scenario: ScenarioUnderTest) -> None:
    task = scenario.split(0)
    assert not np.intersect1d(task.unlabeled, task.test).size, (
        f"{scenario.name}: test rows in the pre-training pool")


def check_augment_shape(augmentation: _UnderTest) -> None:
    data = toy_data()
    out = np.asarray(augmentation.entry.factory().augment(data, ROWS, np.random.default_rng(0)))
    assert out.shape == (len(ROWS), data.X.shape[1]), (
        f"{augmentation.name}: output shape {out.shape}")


def check_augment_does_not_mutate(augmentation: _UnderTest) -> None:
    data = toy_data()
    before = data.X.copy()
    augmentation.entry.factory().augment(data, ROWS, np.random.default_rng(0))
    assert np.array_equal(before, data.X, equal_nan=True), (
        f"{augmentation.name}: mutated the dataset in place")


def check_augment_reproducible(augmentation: _UnderTest) -> None:
    data, plugin = toy_data(), augmentation.entry.factory()
    out = plugin.augment(data, ROWS, np.random.default_rng(0))
    again = plugin.augment(data, ROWS, np.random.default_rng(0))
    assert np.array_equal(out, again, equal_nan=True), (
        f"{augmentation.name}: not reproducible with the same generator")


def check_describe_states_mode(augmentation: _UnderTest) -> None:
    plugin = augmentation.entry.factory()
    plugin.augment(toy_data(), ROWS, np.random.default_rng(0))
    assert plugin.describe().get("mode") in ("transactions", "feature-space"), (
        f"{augmentation.name}: describe() must state its mode")


def check_build_gives_module(encoder: _UnderTest) -> None:
    import torch

    module = encoder.entry.factory().build(12)
    assert isinstance(module, torch.nn.Module), f"{encoder.name}: build must give a Module"


def check_encoder_output_shape(encoder: _UnderTest) -> None:
    import torch

    factory = encoder.entry.factory()
    module = factory.build(12)
    module.eval()
    out = module(torch.randn(5, 12))
    assert tuple(out.shape) == (5, factory.output_dim), (
        f"{encoder.name}: output shape {tuple(out.shape)}, expected (5, {factory.output_dim})")


def check_implements_a_lifecycle_hook(logger: _UnderTest) -> None:
    plugin = logger.entry.factory()
    assert any(callable(getattr(plugin, h, None)) for h in LIFECYCLE_HOOKS), (
        f"{logger.name}: implements none of the lifecycle hooks {LIFECYCLE_HOOKS}")


class RepresentationUnderTest(_UnderTest):
    """A representation fitted once on the toy data with every label hidden, as the runner
    hides them."""

    @cached_property
    def data(self) -> AccountData:
        data = toy_data()
        data.y[:] = -1
        return data

    @cached_property
    def fitted(self) -> tuple[Any, np.ndarray]:
        """(representation, its transform of every row)."""
        representation = self.entry.factory().fit(self.data, TRAIN)
        return representation, np.asarray(representation.transform(self.data))


def check_transform_shape(representation: RepresentationUnderTest) -> None:
    out = representation.fitted[1]
    assert out.ndim == 2 and out.shape[0] == len(representation.data.ids), (
        f"{representation.name}: transform gave shape {out.shape}")


def check_learned_features_finite(representation: RepresentationUnderTest) -> None:
    out = representation.fitted[1]
    assert np.isfinite(out[:, representation.data.X.shape[1]:]).all(), (
        f"{representation.name}: non-finite learned features")


def check_transform_of_new_features(representation: RepresentationUnderTest) -> None:
    """``transform(data, X=...)`` embeds augmented views of the rows."""
    fitted, out = representation.fitted
    moved = representation.data.X.copy()
    moved[TRAIN[:10]] += 1.0
    changed = np.asarray(fitted.transform(representation.data, X=moved))
    assert changed.shape == out.shape, f"{representation.name}: X= changed the shape"


def check_describe_names_it(representation: RepresentationUnderTest) -> None:
    description = representation.fitted[0].describe()
    assert isinstance(description, dict) and description.get("name"), (
        f"{representation.name}: describe() must name it")


class DatasetUnderTest(_UnderTest):
    """A dataset loaded once with the example parameters its tags declare: offline, or from
    ``data_dir`` (the shared data) for one that reads files."""

    def __init__(self, entry: Entry, data_dir: Path | None) -> None:
        super().__init__(entry)
        self.data_dir = data_dir

    def arguments(self) -> dict[str, Any]:
        return dict(self.tags.example_params or {})

    @cached_property
    def data(self) -> AccountData:
        if self.tags.example_params is None:
            raise NotApplicable(f"{self.name} declares example_params=None (no parameters load "
                                f"it in seconds from the shared data): its factory is checked")
        if self.tags.needs_data_dir and self.data_dir is None:
            raise NotApplicable(f"{self.name} reads files under the data root; set "
                                f"CHAINSLEUTH_DATA_DIR to check its load")
        context = DataContext(data_dir=self.data_dir, seed=0,
                              cache_dir=Path(tempfile.gettempdir()) / "chainsleuth-contracts")
        return self.entry.factory(**self.arguments()).load(context)


def check_has_load(dataset: DatasetUnderTest) -> None:
    assert callable(getattr(dataset.entry.factory(), "load", None)), (
        f"{dataset.name}: no load(context)")


def check_load_gives_account_data(dataset: DatasetUnderTest) -> None:
    data = dataset.data
    assert isinstance(data, AccountData), (
        f"{dataset.name}: load returned {type(data).__name__}, expected AccountData")
    assert data.name == dataset.entry.name, (
        f"{dataset.name}: its data is named '{data.name}', expected '{dataset.entry.name}'")


def check_load_fills_declared_channels(dataset: DatasetUnderTest) -> None:
    """What a dataset declares is what it fills: jobs are accepted or refused before loading
    on the strength of the declaration."""
    declared, filled = dataset.tags.provides, dataset.data.channels
    assert declared == filled, (
        f"{dataset.name}: declares side channels {sorted(declared)} but fills "
        f"{sorted(filled)} (declared, empty: {sorted(declared - filled)}; filled, undeclared: "
        f"{sorted(filled - declared)})")


CHECKS: dict[str, tuple[Callable[[Any], None], ...]] = {
    "model": (check_tags, check_init_does_no_work, check_fit_returns_self,
              check_predict_proba_shape, check_probabilities_sum_to_one,
              check_predict_gives_training_classes, check_learns_separable_blobs,
              check_fit_without_optional_arguments, check_deterministic_with_seed),
    "scenario": (check_tags, check_example_data_meets_requirements, check_split_returns_task,
                 check_same_seed_same_split, check_seeds_vary_the_split,
                 check_no_test_rows_in_pool),
    "augmentation": (check_tags, check_augment_shape, check_augment_does_not_mutate,
                     check_augment_reproducible, check_describe_states_mode),
    "encoder": (check_tags, check_build_gives_module, check_encoder_output_shape),
    "logger": (check_tags, check_implements_a_lifecycle_hook),
    "representation": (check_tags, check_transform_shape, check_learned_features_finite,
                        check_transform_of_new_features, check_describe_names_it),
    "dataset": (check_tags, check_init_does_no_work, check_has_load,
                check_load_gives_account_data, check_load_fills_declared_channels),
}
"""Every check of each kind, in the order :func:`checks_for` yields them."""


def checks_for(entry: Entry, *, injected: Mapping[str, Any] | None = None,
               data_dir: Path | str | None = None) -> Iterator[tuple[str, Callable[[], None]]]:
    """``(name, check)`` for every check of the plugin's kind; each check takes no argument.

    ``injected`` are the arguments a model receives from the runner (``seed``, ``trainer``,
    ``encoder``; default: seed 0 and :data:`SMALL_TRAINER`); ``data_dir`` is the data root for
    datasets that read files. The checks share one subject, so each fit or load happens once.
    """
    subject: _UnderTest
    if entry.kind == "model":
        subject = ModelUnderTest(entry, injected if injected is not None
                                 else {"seed": 0, "trainer": SMALL_TRAINER})
    elif entry.kind == "scenario":
        subject = ScenarioUnderTest(entry)
    elif entry.kind == "representation":
        subject = RepresentationUnderTest(entry)
    elif entry.kind == "dataset":
        subject = DatasetUnderTest(entry, Path(data_dir) if data_dir is not None else None)
    else:
        subject = _UnderTest(entry)
    for check in CHECKS[entry.kind]:
        yield check.__name__, partial(check, subject)


def check_plugin(entry: Entry, *, injected: Mapping[str, Any] | None = None,
                 data_dir: Path | str | None = None) -> list[str]:
    """Run every check of the plugin's kind; raise on the first breach. Returns why the checks
    that do not apply were left out (``"name: reason"``)."""
    left_out = []
    for name, check in checks_for(entry, injected=injected, data_dir=data_dir):
        try:
            check()
        except NotApplicable as reason:
            left_out.append(f"{name}: {reason}")
    return left_out
