"""The runner in-process: result records, determinism, failures, resume, leakage guard."""

import json

import numpy as np
import pytest
from helpers import FAST, TINY_SIM, make_config

from framework.errors import ConfigError
from framework.hookspecs import hookimpl
from framework.results import SCHEMA_VERSION
from framework.runner import JobInfo, run_job


def run(tmp_path, overrides, name="job", session=None):
    sim = [] if any(o.startswith("dataset=") for o in overrides) else TINY_SIM
    cfg = make_config([*sim, *FAST, *overrides], tmp_path)
    return run_job(cfg, JobInfo(output_dir=tmp_path / name, overrides=overrides), session)


def test_result_record_is_complete_and_traceable(tmp_path):
    record = run(tmp_path, ["model=xgboost", "seed=3"])
    on_disk = json.loads((tmp_path / "job" / "result.json").read_text())
    assert on_disk["status"] == "ok" and on_disk["schema_version"] == SCHEMA_VERSION
    assert on_disk["seed"] == 3 and on_disk["config"]["seed"] == 3
    assert on_disk["dataset"]["provenance"]["origin"] == "synthetic"
    assert len(on_disk["dataset"]["fingerprint"]) == 64
    model = dict(on_disk["plugins"]["model"])
    assert len(model.pop("source_sha256")) == 64
    assert model == {"name": "xgboost", "distribution": "chainsleuth",
                     "version": on_disk["code_version"]["chainsleuth"], "plugin": "xgboost"}
    assert on_disk["code_version"]["git_commit"]
    metrics = on_disk["metrics"]
    classes = on_disk["task"]["class_names"]
    assert set(metrics["per_class"]) == set(classes)
    matrix = np.array(metrics["confusion_matrix"]["matrix"])
    assert matrix.sum() == on_disk["task"]["sizes"]["test"]
    assert np.trace(matrix) / matrix.sum() == record["metrics"]["accuracy"]
    assert on_disk["peak_memory_mb"] > 0 and on_disk["timings"]["fit_s"] > 0


def test_binary_task_reports_roc_and_pr_auc(tmp_path):
    record = run(tmp_path, ["model=lr", "scenario.binary=true"])
    assert 0.5 < record["metrics"]["roc_auc"] <= 1.0
    assert 0 < record["metrics"]["pr_auc"] <= 1.0
    assert record["task"]["class_names"] == ["benign", "malicious"]


def test_same_seed_gives_identical_metrics(tmp_path):
    for model in ("mlp", "rf"):
        first = run(tmp_path, [f"model={model}", "seed=1"], "first")
        second = run(tmp_path, [f"model={model}", "seed=1"], "second")
        assert first["metrics"] == second["metrics"], model


def test_splits_never_share_rows(tmp_path):
    record = run(tmp_path, ["model=lr"])
    sizes = record["task"]["sizes"]
    assert sizes["train"] + sizes["validation"] + sizes["test"] <= record["dataset"]["n_samples"]


def test_failed_job_is_recorded_not_raised(tmp_path):
    record = run(tmp_path, ["dataset=ethereum_fraud", "dataset.path=/nonexistent/file.csv"])
    assert record["status"] == "failed"
    assert "/nonexistent/file.csv" in record["error"]["message"]
    on_disk = json.loads((tmp_path / "job" / "result.json").read_text())
    assert on_disk["status"] == "failed" and on_disk["error"]["user_error"] is True


def test_resume_skips_complete_jobs_only(tmp_path):
    overrides = ["model=lr", "resume=true"]
    first = run(tmp_path, overrides)
    assert first["status"] == "ok"
    assert run(tmp_path, overrides)["status"] == "skipped"
    (tmp_path / "job" / "result.json").write_text(
        (tmp_path / "job" / "result.json").read_text().replace('"status": "ok"',
                                                              '"status": "failed"'))
    assert run(tmp_path, overrides)["status"] == "ok"


def test_resume_reruns_when_the_config_changed(tmp_path):
    from framework.results import is_complete

    record = run(tmp_path, ["model=lr"])
    config = dict(record["config"])
    assert is_complete(tmp_path / "job", ["model=lr"], config)
    config["model"] = {**config["model"], "C": 0.5}
    assert not is_complete(tmp_path / "job", ["model=lr"], config)


def test_resume_reruns_when_a_plugins_code_or_version_changed(tmp_path, monkeypatch):
    from framework.registry import Entry

    overrides = ["model=lr", "resume=true"]
    assert run(tmp_path, overrides)["status"] == "ok"
    assert run(tmp_path, overrides)["status"] == "skipped"
    real = Entry.source_sha256
    monkeypatch.setattr(Entry, "source_sha256",
                        lambda self: "edited" if self.kind == "model" else real(self))
    assert run(tmp_path, overrides)["status"] == "ok"  # the model's source changed: rerun
    assert run(tmp_path, overrides)["status"] == "skipped"
    monkeypatch.setattr(Entry, "describe", lambda self: {"name": self.name, "version": "9.9"})
    assert run(tmp_path, overrides)["status"] == "ok"  # another version: rerun


def test_a_plugins_source_hash_follows_its_package_files(tmp_path, monkeypatch):
    import sys

    from framework.registry import Entry, Provider

    package = tmp_path / "demo_plugin_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text("class Demo:\n    pass\n")
    (package / "helper.py").write_text("STEP = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from demo_plugin_pkg.model import Demo

    entry = Entry("model", "demo", Demo, Provider("demo", "demo", "1"))
    before = entry.source_sha256()
    assert before == entry.source_sha256() and len(before) == 64
    (package / "helper.py").write_text("STEP = 2\n")  # a module the plugin may use
    assert entry.source_sha256() != before
    sys.modules.pop("demo_plugin_pkg.model", None)


def test_a_plugins_source_hash_follows_the_libraries_it_imports(tmp_path, monkeypatch):
    """A library below the plugins (a simulator) is plugin code one layer down: editing it
    changes the plugin's results, so resume must see it."""
    import sys

    from framework import registry
    from framework.registry import Entry, Provider

    monkeypatch.setattr(registry, "LIBRARY_LAYER", "demo_libs")
    for folder in ("demo_libs", "demo_libs/sim", "demo_libs/unused", "demo_lib_plugin"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "demo_libs/sim/engine.py").write_text("from demo_libs.unused import x\nRATE = 1\n")
    (tmp_path / "demo_libs/unused/x.py").write_text("")
    (tmp_path / "demo_lib_plugin/dataset.py").write_text(
        "from demo_libs.sim import engine\n\nclass Demo:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from demo_lib_plugin.dataset import Demo

    entry = Entry("dataset", "demo", Demo, Provider("demo", "demo", "1"))
    before = entry.source_sha256()
    (tmp_path / "demo_libs/sim/engine.py").write_text(
        "from demo_libs.unused import x\nRATE = 2\n")
    assert entry.source_sha256() != before
    middle = entry.source_sha256()
    (tmp_path / "demo_libs/unused/x.py").write_text("CHANGED = True\n")  # imported by the library
    assert entry.source_sha256() != middle
    for name in [m for m in sys.modules if m.startswith(("demo_libs", "demo_lib_plugin"))]:
        sys.modules.pop(name)


def test_chain_sims_source_hash_covers_the_simulation_library():
    from pathlib import Path

    from framework.registry import _imported_library_files
    from plugins.datasets.chain_sim import dataset

    files = _imported_library_files(sorted(Path(dataset.__file__).parent.glob("*.py")))
    assert any(p.parts[-2:] == ("simulation", "__init__.py") for p in files)


class RaisingLogger:
    """A logger whose every hook raises, as a broken W&B would."""

    @hookimpl
    def on_run_started(self, run):
        raise RuntimeError("logger down at start")

    @hookimpl
    def on_run_finished(self, run, result):
        raise RuntimeError("logger down at finish")


def test_a_raising_logger_leaves_a_good_job_good(tmp_path, monkeypatch):
    from framework.session import Session

    session = Session()
    logger = RaisingLogger()
    monkeypatch.setattr("framework.runner._optional_plugin",
                        lambda cfg, m, kind, **injected: logger if kind == "logger" else None)
    record = run(tmp_path, ["model=lr"], session=session)
    assert record["status"] == "ok"
    on_disk = json.loads((tmp_path / "job" / "result.json").read_text())
    assert on_disk["status"] == "ok" and on_disk["metrics"]["macro_f1"] > 0
    assert any("logger down at finish" in w for w in on_disk["warnings"])
    assert any("logger down at start" in w for w in on_disk["warnings"])
    assert not session.plugins.pm.is_registered(logger)
    assert session.outcomes.ok == 1 and session.outcomes.failed == 0


def test_pretraining_pool_is_one_seeded_sample_for_every_method():
    from framework.runner import pretraining_rows

    unlabeled = np.arange(1000, 6000)
    first = pretraining_rows(unlabeled, {"max_rows": 300}, seed=4)
    assert len(first) == 300 and np.isin(first, unlabeled).all() and len(set(first)) == 300
    assert np.array_equal(first, pretraining_rows(unlabeled, {"max_rows": 300}, seed=4))
    assert not np.array_equal(first, pretraining_rows(unlabeled, {"max_rows": 300}, seed=5))
    assert np.array_equal(pretraining_rows(unlabeled, {"max_rows": None}, seed=4), unlabeled)
    assert np.array_equal(pretraining_rows(unlabeled[:10], {"max_rows": 300}, seed=4),
                          unlabeled[:10])
    for bad in (0, -3, 2.5, "all", True):
        with pytest.raises(ConfigError, match="pretraining.max_rows must be a positive whole"):
            pretraining_rows(unlabeled, {"max_rows": bad}, seed=0)


def test_shadoweyes_records_its_pretraining_pool_and_view_overlap(tmp_path):
    record = run(tmp_path, ["method=shadoweyes", "representation=none",
                            "augmentation=amount_split", "pretraining.max_rows=30",
                            "model.pretrain_epochs=1", "model.n_views=2"])
    pool = record["task"]["pretraining_pool"]
    assert pool["max_rows"] == 30 and pool["used"] == 30 and pool["available"] > 30
    details = record["model"]["details"]
    assert details["pretrain_rows"] == 30
    # amount_split at p = 1 changes every account with a transaction: no identical pair
    assert details["identical_view_pairs"] == 0.0


class WrongShapeModel:
    """Returns one probability column too few: the plugin's fault, not the config's."""

    def fit(self, X, y, validation=None, unlabeled=None):
        self.k = len(np.unique(y))
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)

    def predict_proba(self, X):
        return np.full((len(X), self.k - 1), 1.0)


class WrongShapePlugin:
    @hookimpl
    def register_models(self):
        return {"wrong_shape": WrongShapeModel}


def test_a_model_breaking_its_output_contract_is_a_plugin_error(tmp_path):
    from framework.hydra_app import register_plugin_configs
    from framework.plugin_manager import PluginManager
    from framework.session import Session

    session = Session(plugins=PluginManager(extra_plugins=[("wrong-shape", WrongShapePlugin())]))
    register_plugin_configs(session.plugins)  # model=wrong_shape becomes selectable
    cfg = make_config([*TINY_SIM, *FAST, "model=wrong_shape"], tmp_path)
    record = run_job(cfg, JobInfo(output_dir=tmp_path / "job"), session)
    assert record["status"] == "failed" and record["error"]["type"] == "PluginError"
    assert "model 'wrong_shape': predict_proba returned shape" in record["error"]["message"]


def test_a_job_runs_with_the_threads_it_records(tmp_path):
    import os

    import torch

    before = torch.get_num_threads()
    cfg = make_config([*TINY_SIM, *FAST, "model=lr", "threads=auto"], tmp_path)
    alone = run_job(cfg, JobInfo(output_dir=tmp_path / "alone"), parallel_jobs=1)
    shared = run_job(cfg, JobInfo(output_dir=tmp_path / "shared"), parallel_jobs=2)
    cores = os.cpu_count()
    assert (alone["environment"]["threads"], alone["environment"]["torch_threads"]) == (
        cores, cores)
    assert (shared["environment"]["threads"], shared["environment"]["torch_threads"]) == (
        max(1, cores // 2), max(1, cores // 2))
    assert torch.get_num_threads() == before  # restored after the job


def test_a_schema_1_result_still_reads_into_the_same_leaderboard_row(tmp_path):
    """Schema 1 stored neither the cell nor the config fingerprint: both are derived."""
    from framework.leaderboard import Leaderboard
    from framework.results import read_result

    overrides = ["model=lr", "scenario.test_size=0.3"]
    run(tmp_path, overrides, name="new")
    path = tmp_path / "new" / "result.json"
    old = json.loads(path.read_text())
    for key in ("cell", "config_hash"):
        old.pop(key)
    old["schema_version"] = 1
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "result.json").write_text(json.dumps(old))
    assert read_result(tmp_path / "old" / "result.json")["schema_version"] == 1
    columns = ["dataset", "scenario", "setting", "method", "variant", "seed", "macro_f1"]
    rows = [Leaderboard.from_dirs([tmp_path / name]).runs.query("kind == 'method'")[columns]
            .to_dict("records") for name in ("new", "old")]
    assert rows[0] == rows[1] and "test_size=0.3" in rows[0][0]["setting"]


def test_the_job_seed_reaches_the_representation(tmp_path):
    """TxGraph's autoencoder is initialised from the job's seed, as the model is: with a fixed
    seed of its own, every seed of rf_txgraph shared one representation."""
    from framework.runner import prepare

    job = prepare(make_config([*TINY_SIM, "method=abgrl", "representation.epochs=1",
                               "seed=2"], tmp_path))
    assert job.representation.seed == 2
