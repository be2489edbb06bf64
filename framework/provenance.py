"""Code version and environment, so every number traces back to the code that made it."""

from __future__ import annotations

import platform
import subprocess
import sys
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import framework

_REPO = Path(framework.__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """Package version plus git commit and dirty flag when running from a checkout."""
    info: dict[str, Any] = {"chainsleuth": framework.__version__, "git_commit": None,
                            "git_dirty": None}
    if (_REPO / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(_REPO), "rev-parse", "HEAD"],
                                    capture_output=True, text=True, timeout=10)
            status = subprocess.run(["git", "-C", str(_REPO), "status", "--porcelain",
                                     "--untracked-files=no"], capture_output=True, text=True,
                                    timeout=10)
            if commit.returncode == 0:
                info["git_commit"] = commit.stdout.strip()
                info["git_dirty"] = bool(status.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    return info


@lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    packages = {}
    for name in ("torch", "lightning", "torch-geometric", "scikit-learn", "xgboost", "pyod",
                 "hydra-core", "numpy"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(),
            "packages": packages}
