"""Helpers shared by tests: the real-data root, tiny configs, composing, running the real CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from framework.hydra_app import register_plugin_configs
from framework.paths import config_dir
from framework.plugin_manager import PluginManager

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("CHAINSLEUTH_DATA_DIR", REPO.parent / "shared" / "data")).resolve()

# A chain_sim world small enough for a test (a few seconds), same code path as the default.
TINY_SIM = ["dataset.days=8", "dataset.individual_wallet=250", "dataset.exchange=2",
            "dataset.mining_pool=2", "dataset.gambling=3", "dataset.darknet_market=2",
            "dataset.tumbler=2", "dataset.ponzi=4", "dataset.blackmail=8",
            "dataset.money_laundering=5", "dataset.phishing=10", "dataset.max_per_class=80"]
FAST = ["trainer.max_epochs=3", "trainer.enable_progress_bar=false"]

# `python -c WITHOUT_NEURAL <chainsleuth args>`: the CLI with the 'neural' extra missing (torch,
# Lightning and PyG cannot be imported), to check what a core-only install does.
WITHOUT_NEURAL = """
import sys
from importlib.abc import MetaPathFinder

class NotInstalled(MetaPathFinder):
    # The 'neural' extra left out: torch, lightning and PyG cannot be imported.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "lightning", "torch_geometric"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from framework.cli import main
sys.exit(main(sys.argv[1:]))
"""


def make_config(overrides: list[str], tmp_path: Path, with_hydra: bool = False) -> DictConfig:
    register_plugin_configs(PluginManager())
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name="config", return_hydra_config=with_hydra, overrides=[
            f"paths.cache_dir={tmp_path / 'cache'}", f"paths.data_dir={DATA_DIR}", *overrides])


def run_cli(args: list[str], cwd: Path, env: dict[str, str | None] | None = None,
            timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``chainsleuth`` in a subprocess; ``env`` values of None remove that variable."""
    environment = {**os.environ, "CHAINSLEUTH_DATA_DIR": str(DATA_DIR), "WANDB_MODE": "offline",
                   "WANDB_SILENT": "true", **(env or {})}
    environment = {k: v for k, v in environment.items() if v is not None}
    return subprocess.run([sys.executable, "-m", "framework.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=environment, timeout=timeout)


class ReaderBlocked(Exception):
    """Raised by the alarm; deliberately not an OSError, which a reader might wrap."""


@contextmanager
def fails_instead_of_hanging(seconds: int = 5):
    """A reader that opens a FIFO blocks forever: turn that into a test failure."""
    def expire(signum, frame):
        raise ReaderBlocked(f"the reader was still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
