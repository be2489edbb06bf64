"""The session: one owner for plugins, dataset cache and job outcomes; no process-wide state."""

import ast
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import FAST, REPO, TINY_SIM, make_config

from framework.data import AccountData, Provenance, TransactionHistory
from framework.runner import JobInfo, run_job
from framework.session import DatasetCache, JobOutcomes, Session, current_session


def small_data(name="d", history=None):
    return AccountData(name=name, ids=["a", "b", "c"], X=np.arange(6.0).reshape(3, 2),
                       feature_names=["f0", "f1"], y=[0, 1, 0], class_names=["n", "m"],
                       benign_classes=["n"], provenance=Provenance("synthetic", "test"),
                       edge_index=np.array([[0, 1], [1, 2]]), time=[1.0, 2.0, 3.0],
                       history=history)


def test_cache_loads_once_and_hands_out_read_only_arrays():
    cache, loads = DatasetCache(), []

    def load():
        loads.append(1)
        return small_data()

    first, second = cache.get("k", load), cache.get("k", load)
    assert len(loads) == 1 and first is not second
    assert np.array_equal(first.X, second.X) and first.fingerprint() == second.fingerprint()
    for array in (second.X, second.y, second.edge_index, second.time):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0
    assert np.array_equal(cache.get("k", load).X, np.arange(6.0).reshape(3, 2))


def test_cache_keeps_the_most_recent_datasets_only():
    cache, loads = DatasetCache(size=2), []

    def loader(key):
        def load():
            loads.append(key)
            return small_data(key)
        return load

    for key in ("a", "b", "a", "c", "a", "b"):
        cache.get(key, loader(key))
    assert loads == ["a", "b", "c", "b"] and len(cache) == 2


def test_a_table_changed_in_place_by_one_job_is_unchanged_for_the_next():
    """Tables cannot be made read-only; pandas copy-on-write keeps a job's change in its view."""
    pytest.importorskip("pandas")
    cache = DatasetCache()
    events = pd.DataFrame({"account": ["a", "b"], "txid": ["t", "t"], "timestamp": [0.0, 0.0],
                           "direction": ["out", "in"], "value": [1.0, 2.0]})
    links = pd.DataFrame({"account": ["a", "b"], "direction": ["out", "in"],
                          "counterparty": ["b", "a"]})
    job = cache.get("k", lambda: small_data(history=TransactionHistory(events, links)))
    job.history.events["value"] = [9.0, 9.0]
    job.history.events.loc[0, "account"] = "z"
    fresh = cache.get("k", lambda: pytest.fail("cached"))
    assert fresh.history.events["value"].tolist() == [1.0, 2.0]
    assert fresh.history.events["account"].tolist() == ["a", "b"]


def test_sessions_share_nothing(tmp_path):
    cfg = make_config([*TINY_SIM, *FAST, "model=lr"], tmp_path)
    first, second = Session(), Session()
    run_job(cfg, JobInfo(output_dir=tmp_path / "one"), first)
    run_job(cfg, JobInfo(output_dir=tmp_path / "two"), first)
    assert len(first.datasets) == 1 and first.outcomes == JobOutcomes(ok=2)
    assert len(second.datasets) == 0 and second.outcomes == JobOutcomes()
    assert first.plugins is not second.plugins


def test_outcomes_from_a_sweep_replace_the_counts():
    outcomes = JobOutcomes(ok=5)
    outcomes.set_from_statuses(["ok", "failed", "ok"])
    assert outcomes == JobOutcomes(ok=2, failed=1)
    with pytest.raises(ValueError, match="unknown job status"):
        outcomes.add("done")


def test_the_current_session_is_scoped_to_its_block():
    session = Session()
    with session.current_for():
        assert current_session() is session
    assert current_session() is not session


def test_the_task_function_pickles_without_its_session():
    """A parallel launcher pickles the task function: the worker uses a session of its own,
    the same one for every job it runs (so its dataset cache survives between jobs)."""
    from framework.hydra_app import HydraJob

    session = Session()
    in_worker = pickle.loads(pickle.dumps(HydraJob(session)))
    again = pickle.loads(pickle.dumps(HydraJob(session)))
    assert in_worker.session is not session and in_worker.session is again.session


def test_a_run_leaves_sys_argv_alone(tmp_path, monkeypatch):
    from framework import cli, hydra_app

    seen = []

    def fake_run_job(cfg, job, session, parallel_jobs=1):
        seen.append((list(sys.argv), cfg.model.name, session))
        session.outcomes.add("failed")
        return {"status": "skipped"}

    monkeypatch.setattr(hydra_app, "run_job", fake_run_job)
    before = list(sys.argv)
    session = Session()
    status = cli.run_command(["model=lr", f"hydra.run.dir={tmp_path / 'run'}"], session)
    assert seen == [(before, "lr", session)] and sys.argv == before
    assert status == 1  # the session's outcome decides the exit status


def test_no_framework_module_assigns_sys_argv_or_keeps_a_process_wide_manager():
    for path in (REPO / "framework").glob("*.py"):
        text = path.read_text()
        for node in ast.walk(ast.parse(text, str(path))):
            for target in node.targets if isinstance(node, ast.Assign) else []:
                assert ast.unparse(target) != "sys.argv", f"{path.name}:{node.lineno}"
        assert "get_plugin_manager" not in text, path.name
