"""The real CLI in a subprocess: plugin listing, clear errors, sweeps, leaderboards, resume."""

import json

import pytest
from helpers import TINY_SIM, run_cli

from framework.leaderboard import Leaderboard
from framework.registry import KINDS

SWEEP = [*TINY_SIM, "trainer.max_epochs=3"]


def results(sweep_dir):
    return sorted(sweep_dir.rglob("result.json"))


def test_plugins_lists_every_kind_with_distribution(tmp_path):
    done = run_cli(["plugins", "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    kinds = {row["kind"] for row in rows}
    assert set(KINDS) <= kinds
    assert all(row["distribution"] and row["version"] for row in rows)
    table = run_cli(["plugins"], tmp_path).stdout
    assert table.splitlines()[0].split() == ["KIND", "NAME", "DISTRIBUTION", "VERSION"]


def test_unknown_plugin_fails_before_any_work(tmp_path):
    done = run_cli(["run", "-m", "model=lr,no_such_model"], tmp_path)
    assert done.returncode == 2
    assert "unknown model ['no_such_model']" in done.stderr and "xgboost" in done.stderr
    assert not (tmp_path / "outputs").exists()


def test_bad_override_is_reported_without_traceback(tmp_path):
    done = run_cli(["run", "modle=lr"], tmp_path)
    assert done.returncode != 0
    assert "Could not override 'modle'" in done.stderr
    assert "Traceback" not in done.stderr


def test_unreadable_data_path_names_the_file(tmp_path):
    missing = tmp_path / "nowhere" / "transaction_dataset.csv"
    done = run_cli(["run", "dataset=ethereum_fraud", f"dataset.path={missing}",
                    f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert done.returncode == 1
    assert str(missing) in done.stdout and "does not exist" in done.stdout
    record = json.loads((tmp_path / "run" / "result.json").read_text())
    assert record["status"] == "failed"


@pytest.mark.parametrize("launcher", ["basic", "joblib", "submitit_local"])
def test_two_by_two_multirun_writes_four_results_and_a_leaderboard(tmp_path, launcher):
    sweep = tmp_path / "sweep"
    args = ["run", "-m", "model=lr,dt", "seed=0,1", f"hydra.sweep.dir={sweep}", *SWEEP]
    if launcher == "joblib":
        args += ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    elif launcher == "submitit_local":  # SLURM's launcher, through submitit's local executor
        args += ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"]
    done = run_cli(args, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(results(sweep)) == 4
    board = Leaderboard.from_dirs([sweep])
    assert sorted(board.methods["method"]) == ["dt", "lr"] and set(board.methods["n"]) == {2}
    assert (sweep / "leaderboard.html").is_file() and (sweep / "leaderboard.md").is_file()
    # The page names the sweep's command (test_redaction plants a secret in one and reads
    # every file of the sweep).
    assert "chainsleuth run -m model=lr,dt seed=0,1" in (sweep / "leaderboard.html").read_text()
    assert "macro_f1" in done.stdout


def test_ray_launcher_runs_a_sweep_on_a_local_ray_cluster(tmp_path):
    """Ray's launcher (``pip install "chainsleuth[ray]"``). CI does not install Ray (a large
    download and a local cluster per run), so this runs where a developer has the extra."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    sweep = tmp_path / "sweep"
    done = run_cli(["run", "-m", "model=lr,dt", "seed=0,1", f"hydra.sweep.dir={sweep}",
                    "hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2", *SWEEP],
                   tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(results(sweep)) == 4
    board = Leaderboard.from_dirs([sweep])
    assert sorted(board.methods["method"]) == ["dt", "lr"] and set(board.methods["n"]) == {2}


def test_resume_skips_finished_jobs_of_an_interrupted_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    base = ["run", "-m", "model=lr,dt", f"hydra.sweep.dir={sweep}", "resume=true", *SWEEP]
    assert run_cli(base, tmp_path).returncode == 0
    finished = results(sweep)
    stamps = {p: p.stat().st_mtime_ns for p in finished}
    finished[1].unlink()  # job 1 "was interrupted"
    again = run_cli(base, tmp_path)
    assert again.returncode == 0
    assert again.stdout.count("already has a complete result; skipped") == 1
    assert finished[0].stat().st_mtime_ns == stamps[finished[0]]
    assert finished[1].is_file()


def test_leaderboard_command_aggregates_directories(tmp_path):
    sweep = tmp_path / "sweep"
    run_cli(["run", "-m", "model=lr", "seed=0,1", f"hydra.sweep.dir={sweep}", *SWEEP], tmp_path)
    out = tmp_path / "board"
    done = run_cli(["leaderboard", str(sweep), "--out", str(out)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "±" in done.stdout
    assert {p.name for p in out.iterdir()} == {"leaderboard.csv", "leaderboard.md", "runs.csv",
                                               "leaderboard.html"}
    empty = run_cli(["leaderboard", str(tmp_path / "empty")], tmp_path)
    assert empty.returncode == 2 and "no such file or directory" in empty.stderr


def test_the_console_line_names_the_method_not_only_its_model(tmp_path):
    """``method=abgrl`` runs the Random Forest on TxGraph features: the line says rf_txgraph."""
    done = run_cli(["run", "method=abgrl", *SWEEP], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "/ rf_txgraph seed 0: macro-F1" in done.stdout


def test_a_second_sweep_into_a_busy_folder_fails_at_start(tmp_path):
    """Measured on main before the lock: both sweeps exit 0 and one's results are lost."""
    import os
    import socket

    sweep = tmp_path / "sweep"
    sweep.mkdir()
    lock = sweep / ".chainsleuth-sweep.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                "started": "now"}))  # this live test process holds it
    done = run_cli(["run", "-m", "model=lr", "seed=0", f"hydra.sweep.dir={sweep}", *SWEEP],
                   tmp_path)
    assert done.returncode == 2
    assert f"{sweep} is in use by another sweep (pid {os.getpid()}" in done.stderr
    assert results(sweep) == []
    # A lock left by a process that is gone (a killed sweep) is taken over by a resume.
    lock.write_text(json.dumps({"pid": 2 ** 22 + 12345, "host": socket.gethostname(),
                                "started": "then"}))
    done = run_cli(["run", "-m", "model=lr", "seed=0", f"hydra.sweep.dir={sweep}", *SWEEP],
                   tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(results(sweep)) == 1 and not lock.exists()


def test_default_folders_differ_between_commands_started_together(tmp_path):
    from framework.cli import _unique_output_dirs

    mine = _unique_output_dirs(["model=lr"])
    assert mine[0].startswith("hydra.run.dir=outputs/runs/") and mine[0].endswith(
        f"-{__import__('os').getpid()}")
    assert _unique_output_dirs(["hydra.sweep.dir=x", "hydra.run.dir=y"]) == []


def test_parallel_jobs_share_the_cores(tmp_path):
    from framework import threads
    from framework.hydra_app import _parallel_jobs
    from omegaconf import OmegaConf

    assert threads.budget(2, cores=2) == 1 and threads.budget(1, cores=2) == 2
    assert threads.budget(8, cores=2) == 1
    assert _parallel_jobs(OmegaConf.create({"n_jobs": 2})) == 2
    assert _parallel_jobs(OmegaConf.create({"timeout_min": 10})) == 1
    sweep = tmp_path / "sweep"
    done = run_cli(["run", "-m", "model=lr", "seed=0,1", f"hydra.sweep.dir={sweep}",
                    "threads=auto", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *SWEEP],
                   tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = threads.budget(2)  # threads=auto: the cores shared between the two workers
    environments = [json.loads(p.read_text())["environment"] for p in results(sweep)]
    # lr needs no torch, so the job never imports it (torch_threads: none applied); the
    # OpenMP/BLAS pools get the budget.
    assert [(e["threads"], e["torch_threads"], e["parallel_jobs"]) for e in environments] == [
        (expected, None, 2)] * 2


def test_a_jobs_threads_come_from_its_config_within_its_share_of_the_cores():
    from framework import threads
    from framework.errors import ConfigError

    assert threads.for_job(1, parallel_jobs=1, cores=2) == 1
    assert threads.for_job("auto", parallel_jobs=1, cores=2) == 2
    assert threads.for_job("auto", parallel_jobs=2, cores=2) == 1
    assert threads.for_job(8, parallel_jobs=2, cores=4) == 2  # never beyond the share
    for bad in (0, -1, "two", True, 1.5):
        with pytest.raises(ConfigError, match="threads must be"):
            threads.for_job(bad, parallel_jobs=1)


def test_metrics_are_identical_under_the_basic_and_the_joblib_launcher(tmp_path):
    """Measured before the fixed default: LR seed 2 gave 0.73444 sequentially and 0.73458
    under joblib, because each launcher gave the job another number of threads."""
    grid = ["model=lr,mlp", "seed=2", *SWEEP]
    metrics = {}
    for name, launcher in (("basic", []), ("joblib", ["hydra/launcher=joblib",
                                                      "hydra.launcher.n_jobs=2"])):
        done = run_cli(["run", "-m", *grid, f"hydra.sweep.dir={tmp_path / name}", *launcher],
                       tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        records = [json.loads(p.read_text()) for p in results(tmp_path / name)]
        assert {r["environment"]["threads"] for r in records} == {1}
        metrics[name] = {r["model"]["name"]: r["metrics"] for r in records}
    assert sorted(metrics["basic"]) == ["lr", "mlp"]
    assert metrics["basic"] == metrics["joblib"]


def test_sigterm_stops_the_workers_of_a_parallel_sweep(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil
    from helpers import DATA_DIR

    sweep = tmp_path / "sweep"
    env = {**os.environ, "CHAINSLEUTH_DATA_DIR": str(DATA_DIR)}
    process = subprocess.Popen(
        [sys.executable, "-m", "framework.cli", "run", "-m", "model=mlp", "seed=0,1,2,3",
         "trainer.max_epochs=200", "model.patience=200", f"hydra.sweep.dir={sweep}",
         "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *TINY_SIM], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(process.pid)
    deadline = time.time() + 120
    workers = []
    while time.time() < deadline and len(workers) < 2:
        workers = [p for p in parent.children(recursive=True) if "loky" in " ".join(p.cmdline())]
        time.sleep(0.5)
    assert len(workers) >= 2, "the sweep's workers never started"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    assert "stopped by signal" in stderr
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []


def test_run_help_describes_run_and_runs_nothing(capsys, monkeypatch):
    from framework import cli

    monkeypatch.setattr(cli, "_launch_hydra", lambda args, job: pytest.fail("launched"))
    assert cli.main(["run", "--help"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("usage: chainsleuth run") and "quickstart --help" in shown
    assert cli.main(["quickstart", "--help"]) == 0
    assert "lr, rf, xgboost and mlp" in capsys.readouterr().out


@pytest.mark.parametrize("argv, quickstart", [
    (["run"], True),
    (["run", "hydra.sweep.dir=somewhere", "hydra/launcher=joblib"], True),  # settings only
    (["run", "model=lr"], False),
    (["run", "-m", "seed=0,1"], False),
    (["quickstart", "seed=0,1,2,3,4", "hydra.sweep.dir=somewhere"], True),
])
def test_only_job_overrides_turn_the_quickstart_into_a_single_run(argv, quickstart, capsys,
                                                                   monkeypatch):
    from framework import cli

    launched = []
    monkeypatch.setattr(cli, "_launch_hydra", lambda args, job: launched.append(args))
    assert cli.main(argv) == 0
    assert ("experiment=quickstart" in launched[0]) is quickstart
    said = "running the quickstart" in capsys.readouterr().out
    assert said is (quickstart and argv[0] == "run")


def test_quickstart_with_overrides_keeps_its_grid(tmp_path):
    done = run_cli(["quickstart", "model=lr,rf", "seed=0", f"hydra.sweep.dir={tmp_path / 's'}",
                    *SWEEP], tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    models = sorted(json.loads(r.read_text())["model"]["name"] for r in results(tmp_path / "s"))
    assert models == ["lr", "rf"]


def test_a_failed_jobs_line_names_its_cell_seed_and_error_class(tmp_path):
    done = run_cli(["run", "dataset=ethereum_fraud", "model=lr", "seed=3",
                    f"dataset.path={tmp_path / 'missing.csv'}"], tmp_path)
    assert done.returncode == 1
    assert "FAILED ethereum_fraud / standard / lr seed 3: DataError: " in done.stdout
    assert "missing.csv" in done.stdout


def test_jobs_refused_in_parallel_workers_leave_failed_records_and_exit_1(tmp_path):
    """Measured before: every job of a joblib sweep refused (a bad tune.best_by_seed) exited 0,
    since the refusals were counted in the workers and written nowhere."""
    sweep = tmp_path / "sweep"
    done = run_cli(["run", "-m", "model=lr", "seed=0,1", "tune.best_by_seed=not-json",
                    f"hydra.sweep.dir={sweep}", "hydra/launcher=joblib",
                    "hydra.launcher.n_jobs=2", *SWEEP], tmp_path)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    records = [json.loads(p.read_text()) for p in results(sweep)]
    assert [r["status"] for r in records] == ["failed", "failed"]
    assert all(r["error"]["type"] == "ConfigError" and "tune.best_by_seed" in r["error"]["message"]
               for r in records)
    assert "2 job(s) failed" in done.stdout
