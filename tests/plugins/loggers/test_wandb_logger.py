"""W&B offline: one finished run per job (also failed ones), the leaderboard table, no secrets."""

from helpers import TINY_SIM, run_cli
from wandb_records import read_run


def test_offline_runs_carry_group_job_type_tags_summary_and_leaderboard(tmp_path):
    sweep = tmp_path / "sweep"
    done = run_cli(["run", "-m", "model=lr,knn", "logger=wandb", "study=wandb_check",
                    f"hydra.sweep.dir={sweep}", "+paths.rpc_password=hunter2", *TINY_SIM],
                   tmp_path, env={"WANDB_API_KEY": None, "WANDB_MODE": None, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wandb sync" in done.stdout
    job_runs = sorted(sweep.glob("[0-9]/wandb/offline-run-*/run-*.wandb"))
    assert len(job_runs) == 2
    models = set()
    for path in job_runs:
        run = read_run(path)
        assert run["group"] == "wandb_check" and run["job_type"] == "standard"
        assert "dataset:chain_sim" in run["tags"]
        models.add(run["config"]["model.name"])
        assert 0 <= run["summary"]["macro_f1"] <= 1
        assert run["summary"]["dataset_origin"] == "synthetic"
        assert "confusion_matrix/_type" in run["history_keys"]
        assert run["exit_code"] == 0
        assert b"hunter2" not in path.read_bytes()
        assert run["config"]["paths.rpc_password"] == "***redacted***"
    assert models == {"lr", "knn"}
    board = [read_run(p) for p in sweep.glob("wandb/offline-run-*/run-*.wandb")]
    assert len(board) == 1 and board[0]["job_type"] == "leaderboard"
    assert "leaderboard/_type" in board[0]["history_keys"]
    for result in sweep.rglob("result.json"):
        assert "hunter2" not in result.read_text()


def test_failed_job_still_finishes_its_run(tmp_path):
    run_dir = tmp_path / "run"
    done = run_cli(["run", "logger=wandb", "dataset=ethereum_fraud",
                    f"dataset.path={tmp_path / 'missing.csv'}", f"hydra.run.dir={run_dir}"],
                   tmp_path, env={"WANDB_API_KEY": None, "WANDB_MODE": None, "HOME": str(tmp_path)})
    assert done.returncode == 1
    (path,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    run = read_run(path)
    assert run["summary"]["status"] == "failed" and "missing.csv" in run["summary"]["error"]
    assert run["exit_code"] == 1
