"""W&B never fails an experiment: an online start that fails falls back to offline, and a
logger that cannot start at all leaves the job successful with a warning."""

import json

import wandb
from helpers import FAST, TINY_SIM, make_config

from framework.runner import JobInfo, run_job


def job(tmp_path, monkeypatch, fail_offline_too):
    real = wandb.init
    calls = []

    def init(*args, **kwargs):
        calls.append(kwargs["mode"])
        if kwargs["mode"] == "online" or fail_offline_too:
            raise RuntimeError("api.wandb.ai unreachable")
        return real(*args, **kwargs)

    monkeypatch.setattr(wandb, "init", init)
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = make_config([*TINY_SIM, *FAST, "model=lr", "logger=wandb", "logger.mode=online"],
                      tmp_path)
    record = run_job(cfg, JobInfo(output_dir=tmp_path / "job", overrides=["model=lr"]))
    return record, calls


def test_an_online_start_that_fails_logs_offline(tmp_path, monkeypatch):
    record, calls = job(tmp_path, monkeypatch, fail_offline_too=False)
    assert record["status"] == "ok" and calls == ["online", "offline"]
    assert list((tmp_path / "job").rglob("offline-run-*"))
    assert record["warnings"] == []


def test_a_logger_that_cannot_start_leaves_the_job_good(tmp_path, monkeypatch):
    record, calls = job(tmp_path, monkeypatch, fail_offline_too=True)
    on_disk = json.loads((tmp_path / "job" / "result.json").read_text())
    assert on_disk["status"] == "ok" and on_disk["metrics"]["macro_f1"] > 0
    assert any("api.wandb.ai unreachable" in w for w in on_disk["warnings"])
