import json
import os

import pytest

from framework.errors import DataError
from framework.results import (REDACTED, SCHEMA_VERSION, atomic_output, is_complete,
                               read_result, redact, write_atomic, write_result)


def record(status="ok", overrides=("model=lr",)):
    return {"schema_version": SCHEMA_VERSION, "status": status,
            "job": {"overrides": list(overrides)}, "config": {}, "seed": 0, "plugins": {},
            "code_version": {}}


def test_credentials_are_redacted_at_any_depth():
    config = {"rpc": {"password": "hunter2", "user": "alice"}, "logger": {"api_key": "k"},
              "list": [{"token": "t"}], "empty_password": None}
    clean = redact(config)
    assert clean["rpc"] == {"password": REDACTED, "user": "alice"}
    assert clean["logger"]["api_key"] == REDACTED and clean["list"][0]["token"] == REDACTED
    assert clean["empty_password"] is None


def test_written_result_never_contains_the_secret(tmp_path):
    data = record()
    data["config"] = {"rpc_password": "hunter2"}
    path = write_result(tmp_path, data)
    assert "hunter2" not in path.read_text()


def test_atomic_write_leaves_no_partial_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_concurrent_atomic_outputs_of_one_path_do_not_collide(tmp_path):
    """Two sweep jobs filling the same cache entry at once: each writes its own temporary file
    (the collision a shared '.tmp' name caused in the few-shot study), the last rename wins,
    and a writer that fails leaves nothing behind."""
    target = tmp_path / "cache.parquet"
    with atomic_output(target) as first, atomic_output(target) as second:
        assert first != second
        first.write_bytes(b"one")
        second.write_bytes(b"two")
    assert target.read_bytes() == b"one"
    with pytest.raises(RuntimeError), atomic_output(target) as broken:
        broken.write_bytes(b"half")
        raise RuntimeError("writer failed")
    assert target.read_bytes() == b"one"
    assert [p.name for p in tmp_path.iterdir()] == ["cache.parquet"]


def test_non_finite_floats_become_null(tmp_path):
    data = record()
    data["metrics"] = {"roc_auc": float("nan")}
    path = write_result(tmp_path, data)
    assert json.loads(path.read_text())["metrics"]["roc_auc"] is None


def test_unknown_schema_version_is_rejected(tmp_path):
    data = record()
    data["schema_version"] = 999
    (tmp_path / "result.json").write_text(json.dumps(data))
    with pytest.raises(DataError, match="schema version 999"):
        read_result(tmp_path / "result.json")


def test_is_complete_requires_ok_status_and_same_overrides(tmp_path):
    write_result(tmp_path, record(overrides=["model=lr", "seed=1"]))
    assert is_complete(tmp_path, ["seed=1", "model=lr", "resume=true"])
    assert not is_complete(tmp_path, ["model=rf", "seed=1"])
    write_result(tmp_path, record(status="failed", overrides=["model=lr", "seed=1"]))
    assert not is_complete(tmp_path, ["model=lr", "seed=1"])


def test_credential_overrides_are_redacted():
    assert redact(["model=lr", "+rpc.password=hunter2", "logger.api_key=abc"]) == [
        "model=lr", f"+rpc.password={REDACTED}", f"logger.api_key={REDACTED}"]


def test_atomic_files_keep_the_users_umask(tmp_path):
    import os
    import stat

    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "shared.txt", "x")
        assert stat.S_IMODE((tmp_path / "shared.txt").stat().st_mode) == 0o644
        os.umask(0o077)
        write_atomic(tmp_path / "private.txt", "x")
        assert stat.S_IMODE((tmp_path / "private.txt").stat().st_mode) == 0o600
    finally:
        os.umask(previous)
