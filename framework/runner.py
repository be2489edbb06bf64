"""Run one job: dataset -> scenario -> preprocessing -> model -> metrics -> result record.

The runner is the only place where plugins meet; plugins never import each other. Whatever
happens, a job ends with a ``result.json`` (status ``ok`` or ``failed`` with the error) and with
its logger told, so a failed cell never aborts a sweep.
"""

from __future__ import annotations

import inspect
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from framework.data import AccountData
from framework.domains import pair
from framework import capabilities, threads
from framework.errors import ChainSleuthError, ConfigError, PluginError
from framework.interfaces import DataContext, RunInfo, UnlabeledPool
from framework.memory import PeakMemorySampler
from framework.metrics import classification_metrics, slice_metrics
from framework.plugin_manager import PluginManager
from framework.preprocessing import Preprocessor
from framework.provenance import code_version, environment
from framework.record import Cell, ResultRecord, config_fingerprint
from framework.registry import Entry
from framework.references import reference_results
from framework.results import is_complete, write_result
from framework.runs import CommittedRuns
from framework.seeding import seed_everything
from framework.session import Session
from framework.task import Task


@dataclass
class JobInfo:
    """Where a job writes and how it was asked for (from Hydra, or given by a caller)."""

    output_dir: Path
    name: str = "job"
    num: int | None = None
    overrides: list[str] = field(default_factory=list)
    sweep_dir: Path | None = None


def validate_plugin_names(cfg: DictConfig, manager: PluginManager) -> None:
    """Fail before any work when the config names a plugin that is not installed."""
    target = cfg.get("target_dataset")
    if target is not None and target.get("name") is not None:
        manager.registry.get("dataset", target.name)
    for kind in ("dataset", "scenario", "model"):
        node = cfg.get(kind)
        if node is None or node.get("name") is None:
            raise ConfigError(f"no {kind} selected; choose one of: "
                              f"{', '.join(manager.registry.names(kind))} (e.g. {kind}=<name>)")
        manager.registry.get(kind, node.name)
    for kind in ("representation", "encoder", "augmentation", "logger"):
        node = cfg.get(kind)
        if node is not None and node.get("name") is not None:
            manager.registry.get(kind, node.name)


def run_job(cfg: DictConfig, job: JobInfo, session: Session | None = None,
            parallel_jobs: int = 1) -> dict[str, Any]:
    """Run one job and return its result record (also written to ``job.output_dir``).

    The job's status is decided and written before any logger hears of it: a logger that
    raises adds a warning to the record, it never turns a good job into a failed one. Jobs of
    one ``session`` share its plugins and dataset cache (a fresh session when none is given).
    The job runs with the threads of :func:`framework.threads.for_job` (``parallel_jobs`` jobs
    share the cores) and records them.
    """
    session = session or Session()
    manager = session.plugins
    try:  # a job refused before it starts still leaves a failed record (and counts as failed)
        cfg = apply_tuned_parameters(cfg)
        container = OmegaConf.to_container(cfg, resolve=True)
        validate_plugin_names(cfg, manager)
        plugins = _plugin_identities(cfg, manager)
        skipped = _already_done(cfg, job, container, plugins)
        if skipped is not None:
            session.outcomes.add("skipped")
            return skipped
        record = _base_record(cfg, container, job, plugins, int(cfg.seed))
    except ChainSleuthError as exc:
        return _refused(cfg, job, exc, session)
    seed = int(cfg.seed)
    run = RunInfo(job_name=job.name, output_dir=Path(job.output_dir),
                  sweep_name=cfg.get("study") or (job.sweep_dir.name if job.sweep_dir else None),
                  config=container, dataset=cfg.dataset.name, scenario=cfg.scenario.name,
                  model=cfg.model.name, seed=seed, overrides=list(job.overrides))
    logger = _attach_logger(cfg, manager, record)
    started, cpu_started = time.perf_counter(), time.process_time()
    error: Exception | None = None
    try:
        _tell_loggers(record, "on_run_started", manager.hook.on_run_started, run=run)
        setting = cfg.get("threads", 1)
        budget = threads.for_job(setting, parallel_jobs)
        record.environment = {**record.environment, "threads": budget,
                              "threads_setting": setting, "parallel_jobs": parallel_jobs}
        torch_before = "torch" in sys.modules  # after the loggers started: what seeding sees
        with threads.limited(budget) as applied, PeakMemorySampler() as memory:
            record.environment["torch_threads"] = applied
            body = _execute(cfg, session, seed)
        if not torch_before and "torch" in sys.modules:
            message = ("torch was first imported during the job, after seeding, so its random "
                       "numbers did not follow the seed and its threads were not limited; a "
                       "plugin that uses torch should import it at module level")
            record.warnings.append(message)
            print(f"[chainsleuth] warning: {message}")
        if cfg.get("tune") is not None and cfg.tune.get("enabled"):
            record.purpose = "tuning"
        for key, value in body.items():
            setattr(record, key, value)
        record.cell = Cell.of_job(container, list(job.overrides),
                                  dataset_name=record.dataset["name"])
        record.peak_memory_mb = round(memory.peak_mb, 1)
        record.status = "ok"
    except Exception as exc:  # a failed job is recorded, never fatal to the sweep
        error = exc
        record.status = "failed"
        record.error = {"type": type(exc).__name__, "message": str(exc),
                        "user_error": isinstance(exc, ChainSleuthError),
                        "traceback": traceback.format_exc()}
    record.timings["total_s"] = time.perf_counter() - started
    record.timings["cpu_s"] = time.process_time() - cpu_started
    record.finished_at = _now()
    write_result(job.output_dir, record.to_dict())
    try:
        if error is None:
            _tell_loggers(record, "on_run_finished", manager.hook.on_run_finished, run=run,
                          result=record.to_dict())
        else:
            _tell_loggers(record, "on_run_failed", manager.hook.on_run_failed, run=run,
                          result=record.to_dict(), error=error)
        if record.warnings:
            write_result(job.output_dir, record.to_dict())
    finally:
        if logger is not None:
            manager.detach(logger)
    session.outcomes.add(record.status)
    return record.to_dict()


def _already_done(cfg: DictConfig, job: JobInfo, container: dict[str, Any],
                  plugins: dict[str, dict[str, str]]) -> dict[str, Any] | None:
    """The skip record of a job that ``resume`` or ``resume_from`` finds done, else None."""
    if cfg.get("resume") and is_complete(job.output_dir, job.overrides, container, plugins):
        print(f"[chainsleuth] resume: {job.output_dir} already has a complete result; skipped")
        return {"status": "skipped", "output_dir": str(job.output_dir)}
    if cfg.get("resume_from"):
        committed = CommittedRuns.load(Path(cfg.resume_from))
        if committed.holds(job.overrides, container):
            print(f"[chainsleuth] resume-from: {cfg.resume_from} already holds this job "
                  f"({' '.join(job.overrides)}); skipped")
            return {"status": "skipped", "output_dir": str(job.output_dir),
                    "resumed_from": str(cfg.resume_from)}
    return None


def _refused(cfg: DictConfig, job: JobInfo, exc: ChainSleuthError,
             session: Session) -> dict[str, Any]:
    """The failed record of a job its config or plugins stopped before it started: written
    like any result, so a parallel sweep's leaderboard counts it and the exit status is 1."""
    record = _base_record(cfg, OmegaConf.to_container(cfg, resolve=False), job, {},
                          int(cfg.get("seed", 0)))
    record.status, record.finished_at = "failed", _now()
    record.error = {"type": type(exc).__name__, "message": str(exc), "user_error": True,
                    "traceback": traceback.format_exc()}
    write_result(job.output_dir, record.to_dict())
    session.outcomes.add("failed")
    return record.to_dict()


def apply_tuned_parameters(cfg: DictConfig) -> DictConfig:
    """A copy of ``cfg`` with the parameters a tuning search chose for this job's seed
    (``tune.best_by_seed``) set, so the result records the values that actually ran."""
    tune = cfg.get("tune")
    raw = tune.get("best_by_seed") if tune is not None else None
    if not raw:
        return cfg
    import json

    try:
        chosen = json.loads(raw) if isinstance(raw, str) else OmegaConf.to_container(raw)
        parameters = chosen[str(cfg.seed)]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"tune.best_by_seed must map this job's seed ({cfg.seed}) to "
                          f"{{key: value}}, got {raw!r} ({exc})") from None
    tuned = OmegaConf.create(OmegaConf.to_container(cfg))
    for key, value in parameters.items():
        OmegaConf.update(tuned, key, value, merge=False)
    return tuned


def _tell_loggers(record: ResultRecord, hook_name: str, hook: Any, **kwargs: Any) -> None:
    """Call a lifecycle hook; a logger's exception becomes a warning on the record."""
    try:
        hook(**kwargs)
    except Exception as exc:
        message = f"a logger failed in {hook_name}: {exc!r}; the job's status is unaffected"
        record.warnings.append(message)
        print(f"[chainsleuth] warning: {message}")


@dataclass
class PreparedJob:
    """Everything a model needs, built from a config: the shared front half of every job.

    Commands that need a model's inputs outside a run (e.g. an embeddings plot) use
    :func:`prepare` too, so they see exactly what a job's model sees.
    """

    data: AccountData
    task: Task
    X: np.ndarray
    pool: UnlabeledPool | None
    preprocess: Preprocessor
    representation: Any
    augmentation: Any
    model: Any
    encoder: Any
    timings: dict[str, float]
    raw_features: np.ndarray
    pool_info: dict[str, Any] = field(default_factory=dict)


def pretraining_rows(unlabeled: np.ndarray, settings: Any, seed: int) -> np.ndarray:
    """The unlabelled rows models may pre-train on: all of them, or a seeded sample of
    ``pretraining.max_rows``. The sample depends on the seed only, so every method of a seed
    pre-trains on the same rows (an equal budget, and paired comparisons stay paired)."""
    cap = (settings or {}).get("max_rows")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise ConfigError(f"pretraining.max_rows must be a positive whole number of rows or "
                          f"null (all), got {cap!r}")
    if cap is None or len(unlabeled) <= cap:
        return unlabeled
    rng = np.random.default_rng([seed, 0x9E7])
    return np.sort(rng.choice(unlabeled, cap, replace=False))


def prepare(cfg: DictConfig, session: Session | None = None) -> PreparedJob:
    """Seed, load, split, represent, preprocess and build the model (unfitted) of a config."""
    session = session or Session()
    manager = session.plugins
    validate_plugin_names(cfg, manager)
    registry = manager.registry
    seed = int(cfg.seed)
    timings: dict[str, float] = {}
    _load_selected(cfg, manager)  # their imports (torch or not) decide what gets seeded
    seed_everything(seed)

    # The plugins must fit the data before an expensive load: a model that needs transaction
    # clusters fails here, naming the datasets that have them.
    capabilities.check_job(registry, {kind: _node(cfg.get(kind)) if cfg.get(kind) is not None
                                      else None
                                      for kind in ("dataset", "target_dataset",
                                                   *capabilities.JOB_KINDS)})
    tick = time.perf_counter()
    data = _load_dataset(cfg, session, seed)
    timings["load_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    scenario = registry.create("scenario", _node(cfg.scenario))
    task: Task = scenario.split(data, seed).without_test_neighbours(data.graph, data.y < 0)
    tune = cfg.get("tune")
    if tune is not None and tune.get("enabled"):
        task = task.inner_split(float(tune.inner_validation), seed).without_test_neighbours(
            data.graph, data.y < 0)
    timings["split_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    if task.features is not None:  # what is observable depends on the scenario's setting
        data = replace(data, X=task.features, feature_names=list(task.feature_names))
    # The job's seed reaches the representation as it reaches the model: a graph autoencoder
    # initialised alike in every seed would make seeds vary the split only.
    representation = _optional_plugin(cfg, manager, "representation", seed=seed)
    features = data.X
    if representation is not None:
        fit_rows = np.unique(np.concatenate([task.train, task.validation, task.unlabeled]))
        representation.fit(replace(data, y=np.full(len(data.y), -1)), fit_rows)
        features = np.asarray(representation.transform(data), dtype=np.float64)
    timings["representation_s"] = time.perf_counter() - tick

    preprocess = Preprocessor(**_node(cfg.preprocess)).fit(features[task.train])
    X = preprocess.transform(features)

    augmentation = _optional_plugin(cfg, manager, "augmentation")
    pool, pool_rows = None, pretraining_rows(task.unlabeled, cfg.get("pretraining"), seed)
    pool_info = {"available": int(len(task.unlabeled)), "used": int(len(pool_rows)),
                 "max_rows": (cfg.get("pretraining") or {}).get("max_rows")}
    if len(pool_rows):
        augment = None
        if augmentation is not None:

            def augment(positions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
                rows = pool_rows[positions]
                raw = augmentation.augment(data, rows, rng)
                if representation is not None:
                    full = data.X.copy()
                    full[rows] = raw
                    raw = representation.transform(data, X=full, rows=rows)
                return preprocess.transform(raw)
        pool = UnlabeledPool(X=X[pool_rows], augment=augment)

    model_entry = registry.get("model", cfg.model.name)
    injected: dict[str, Any] = {"seed": seed, "trainer": _node(cfg.trainer)}
    if model_entry.accepts("data"):  # side information, never labels
        injected["data"] = replace(data, y=np.full(len(data.y), -1))
    encoder = None
    if model_entry.accepts("encoder"):
        encoder = _optional_plugin(cfg, manager, "encoder")
        injected["encoder"] = encoder
    model = registry.create("model", _node(cfg.model), **injected)
    return PreparedJob(data=data, task=task, X=X, pool=pool, preprocess=preprocess,
                       representation=representation, augmentation=augmentation, model=model,
                       encoder=encoder, timings=timings, raw_features=data.X,
                       pool_info=pool_info)


def _execute(cfg: DictConfig, session: Session, seed: int) -> dict[str, Any]:
    job = prepare(cfg, session)
    data, task, X, model, timings = job.data, job.task, job.X, job.model, job.timings
    augmentation, representation, pool = job.augmentation, job.representation, job.pool

    validation = (X[task.validation], task.y[task.validation]) if len(task.validation) else None
    tick = time.perf_counter()
    model.fit(X[task.train], task.y[task.train], validation=validation, unlabeled=pool,
              **_rows_if_asked(model.fit, task.train))
    timings["fit_s"] = time.perf_counter() - tick

    tick = time.perf_counter()
    X_test = X[task.test]
    proba = _align_columns(model, np.asarray(model.predict_proba(
        X_test, **_rows_if_asked(model.predict_proba, task.test)), dtype=np.float64),
        len(task.class_names))
    pred = np.asarray(model.predict(X_test, **_rows_if_asked(model.predict, task.test)))
    timings["predict_s"] = time.perf_counter() - tick
    timings["predict_samples_per_s"] = len(task.test) / max(timings["predict_s"], 1e-9)
    _check_predictions(cfg.model.name, proba, pred, len(task.test), len(task.class_names))

    raw = job.raw_features
    references = reference_results(
        raw, list(data.feature_names), task.y, task.train, task.test, task.class_names,
        task.positive_class, seed,
        slices={name: _positions(task.test, rows) for name, rows in task.slices.items()},
        time=data.time, sources=data.sources)
    return {
        "dataset": data.summary(),
        "task": {**task.summary(), "pretraining_pool": job.pool_info},
        "references": references,
        "model": {"name": cfg.model.name, "params": _node(cfg.model),
                  "encoder": cfg.encoder.name if job.encoder is not None else None,
                  "augmentation": augmentation.describe() if augmentation is not None else None,
                  "representation": (representation.describe() if representation is not None
                                     else None),
                  "details": model.describe() if callable(getattr(model, "describe", None))
                  else None},
        "preprocessing": job.preprocess.describe(),
        "metrics": {
            **classification_metrics(task.y[task.test], pred, proba, task.class_names,
                                     task.positive_class),
            "slices": {name: slice_metrics(task.y[task.test], pred, _positions(task.test, rows),
                                           task.positive_class)
                       for name, rows in task.slices.items()}},
        "timings": timings,
    }


def load_dataset(cfg: DictConfig, session: Session | None = None) -> AccountData:
    """The data a job of this config would see (for commands such as ``audit``)."""
    session = session or Session()
    validate_plugin_names(cfg, session.plugins)
    return _load_dataset(cfg, session, int(cfg.seed))


def _load_dataset(cfg: DictConfig, session: Session, seed: int) -> AccountData:
    """The job's data: its dataset, or a source/target pair when a target dataset is set."""
    data = _load_one(cfg, cfg.dataset, session, seed)
    target = cfg.get("target_dataset")
    if target is not None and target.get("name") is not None:
        data = pair(data, _load_one(cfg, target, session, seed))
    return data


def _load_one(cfg: DictConfig, dataset: DictConfig, session: Session, seed: int) -> AccountData:
    """Load a dataset, or take it from the session's cache: sweeps over models load it once."""
    node = _node(dataset)
    data_dir = cfg.paths.get("data_dir")
    registry = session.registry
    seeded = registry.get("dataset", node["name"]).accepts("seed")
    key = repr((sorted(node.items()), data_dir, seed if seeded else None))

    def load() -> AccountData:
        source = registry.create("dataset", node, seed=seed)
        context = DataContext(data_dir=Path(data_dir).expanduser() if data_dir else None,
                              cache_dir=Path(cfg.paths.cache_dir).expanduser(), seed=seed)
        data = source.load(context)
        if not isinstance(data, AccountData):
            raise PluginError(f"dataset '{node['name']}' returned {type(data).__name__}, "
                              f"expected framework.data.AccountData")
        capabilities.check_loaded(data, capabilities.select(registry, "dataset", node))
        return data

    return session.datasets.get(key, load)


def _rows_if_asked(method: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
    """``rows=`` (dataset row positions) for a model method that declares it.

    Transductive models (e.g. a majority vote over transaction clusters) need to know which
    dataset rows they are given, to look up side information in the label-free ``data`` the
    runner injects into their constructor.
    """
    try:
        accepted = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return {}
    return {"rows": rows} if "rows" in accepted else {}


def _positions(within: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions of ``rows`` inside the (not necessarily sorted) array ``within``."""
    order = np.argsort(within)
    return order[np.searchsorted(within, rows, sorter=order)]


def _align_columns(model: Any, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Place predict_proba columns under their classes when training lacked some classes."""
    classes = getattr(model, "classes_", None)
    if proba.ndim != 2 or proba.shape[1] == n_classes or classes is None:
        return proba
    classes = np.asarray(classes)
    if len(classes) != proba.shape[1] or classes.max() >= n_classes:
        return proba
    full = np.zeros((len(proba), n_classes))
    full[:, classes] = proba
    return full


def _check_predictions(model: str, proba: np.ndarray, pred: np.ndarray, n: int, k: int) -> None:
    """A model that breaks its output contract is a plugin's fault, not the user's config."""
    if proba.shape != (n, k):
        raise PluginError(f"model '{model}': predict_proba returned shape {proba.shape}, expected "
                          f"({n}, {k}) (one column per task class)")
    if pred.shape != (n,):
        raise PluginError(f"model '{model}': predict returned shape {pred.shape}, expected ({n},)")
    if not np.isfinite(proba).all():
        raise PluginError(f"model '{model}': predict_proba returned non-finite values")


def _optional_plugin(cfg: DictConfig, manager: PluginManager, kind: str,
                     **injected: Any) -> Any:
    node = cfg.get(kind)
    if node is None or node.get("name") is None:
        return None
    return manager.registry.create(kind, _node(node), **injected)


def _attach_logger(cfg: DictConfig, manager: PluginManager, record: ResultRecord) -> Any:
    """The job's logger, attached to the hooks; one that cannot start is a warning."""
    try:
        logger = _optional_plugin(cfg, manager, "logger")
    except Exception as exc:
        message = f"logger '{cfg.logger.name}' could not start: {exc!r}; the job runs without it"
        record.warnings.append(message)
        print(f"[chainsleuth] warning: {message}")
        return None
    if logger is not None:
        manager.attach(logger, f"logger:{cfg.logger.name}:{id(logger)}")
    return logger


def _selected_entries(cfg: DictConfig, manager: PluginManager) -> dict[str, Entry]:
    """The plugins a job runs: those its config names, less an encoder its model never takes
    (the config always names one; an lr job neither runs nor depends on it)."""
    entries = {}
    for key in ("dataset", "target_dataset", "scenario", "representation", "model", "encoder",
                "augmentation", "logger"):
        node = cfg.get(key)
        if node is not None and node.get("name") is not None:
            kind = "dataset" if key == "target_dataset" else key
            entries[key] = manager.registry.get(kind, node.name)
    if "encoder" in entries and not ("model" in entries and entries["model"].accepts("encoder")):
        del entries["encoder"]
    return entries


def _load_selected(cfg: DictConfig, manager: PluginManager) -> None:
    """Import the chosen plugins' modules (declared plugins load on first use)."""
    for entry in _selected_entries(cfg, manager).values():
        entry.factory  # noqa: B018 - the attribute access is the import


def _plugin_identities(cfg: DictConfig, manager: PluginManager) -> dict[str, dict[str, str]]:
    """Which code each chosen plugin is: name, distribution, version and source hash (which
    imports each chosen plugin's module)."""
    return {kind: {**entry.describe(), "source_sha256": entry.source_sha256()}
            for kind, entry in _selected_entries(cfg, manager).items()}


def _base_record(cfg: DictConfig, container: dict[str, Any], job: JobInfo,
                 plugins: dict[str, dict[str, str]], seed: int) -> ResultRecord:
    return ResultRecord(
        job={"name": job.name, "num": job.num, "overrides": list(job.overrides),
             "output_dir": str(job.output_dir),
             "sweep_dir": str(job.sweep_dir) if job.sweep_dir else None},
        cell=Cell.of_job(container, list(job.overrides)),
        config=container,
        config_hash=config_fingerprint(container),
        seed=seed,
        plugins=plugins,
        code_version=code_version(),
        environment=environment(),
        started_at=_now(),
        study=cfg.get("study"),
    )


def _node(node: Any) -> dict[str, Any]:
    return OmegaConf.to_container(node, resolve=True) if node is not None else {}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
