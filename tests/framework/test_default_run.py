"""`chainsleuth run` with no overrides: the embedded comparison, end to end, as `make run` does."""

import time

from helpers import run_cli

from framework.leaderboard import Leaderboard


def test_default_run_compares_four_models_over_three_seeds(tmp_path):
    tick = time.perf_counter()
    done = run_cli(["run"], tmp_path)
    elapsed = time.perf_counter() - tick
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "experiment=quickstart" in done.stdout
    (sweep,) = (tmp_path / "outputs" / "multiruns").iterdir()
    board = Leaderboard.from_dirs([sweep])
    assert sorted(board.methods["method"]) == ["lr", "mlp", "rf", "xgboost"]
    assert set(board.methods["n"]) == {3} and set(board.methods["failed"]) == {0}
    assert set(board.table["origin"]) == {"synthetic"}
    assert "origin = synthetic" in done.stdout and "leaderboard" in done.stdout
    print(f"default run: {elapsed:.0f} s")
