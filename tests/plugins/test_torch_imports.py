"""A plugin that uses torch imports it at module level.

The runner imports a job's plugins, then seeds and limits the threads of whatever they loaded:
torch only if it is there, so that a job without torch never pays for importing it. A job
plugin that imported torch only inside a function would get an unseeded torch with a thread
per core (the runner then warns in the result; this test keeps our own plugins clear of it).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from helpers import REPO, TINY_SIM

TORCH = ("torch", "lightning", "torch_geometric")


def _torch_imports(path: Path) -> tuple[bool, list[int]]:
    """(imports torch at module level, lines of torch imports inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top = any(_names_torch(node) for node in tree.body)
    nested = [node.lineno for node in ast.walk(tree)
              if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              for inner in ast.walk(node) if _names_torch(inner)
              for node in [inner]]
    return top, nested


def _names_torch(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in TORCH for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] in TORCH and node.level == 0
    return False


def _command_only_modules() -> set[str]:
    """Modules that the manifest names for commands only (they run outside a job's seeding)."""
    with open(REPO / "pyproject.toml", "rb") as handle:
        provides = tomllib.load(handle)["project"]["entry-points"]["chainsleuth.provides"]
    jobs = {module for key, module in provides.items() if not key.startswith("command.")}
    return {module for key, module in provides.items() if key.startswith("command.")} - jobs


def test_plugin_modules_that_use_torch_import_it_at_module_level():
    commands = _command_only_modules()
    offenders = []
    for path in sorted((REPO / "plugins").rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts)
        top, nested = _torch_imports(path)
        if nested and not top and module not in commands:
            offenders.append(f"{path.relative_to(REPO)}:{nested[0]}")
    assert offenders == [], ("torch imported only inside functions (import it at module "
                             "level, so the job's seed reaches it): " + ", ".join(offenders))


def test_the_rule_sees_a_function_level_torch_import(tmp_path):
    lazy = tmp_path / "lazy.py"
    lazy.write_text("def fit():\n    import torch\n    return torch.zeros(1)\n")
    eager = tmp_path / "eager.py"
    eager.write_text("import torch\n\ndef fit():\n    from torch import nn\n    return nn\n")
    assert _torch_imports(lazy) == (False, [2])
    assert _torch_imports(eager)[0] is True


JOB = r"""
import json, sys
from pathlib import Path
from helpers import make_config
from framework.runner import JobInfo, run_job
out, lazy, overrides = Path(sys.argv[1]), sys.argv[2] == "lazy", sys.argv[3:]
if lazy:  # a third party's model that imports torch only when it fits
    from plugins.models.sklearn_models import SklearnModel
    fit = SklearnModel.fit
    def lazy_fit(self, *args, **kwargs):
        import torch
        return fit(self, *args, **kwargs)
    SklearnModel.fit = lazy_fit
cfg = make_config(overrides, out)
record = run_job(cfg, JobInfo(output_dir=out / "job"))
print(json.dumps({"torch": "torch" in sys.modules, "status": record["status"],
                  "torch_threads": record["environment"]["torch_threads"],
                  "warnings": record["warnings"]}))
"""


def _job(tmp_path: Path, overrides: list[str], lazy: bool = False) -> dict:
    done = subprocess.run([sys.executable, "-c", JOB, str(tmp_path),
                           "lazy" if lazy else "plain", *overrides],
                          capture_output=True, text=True, timeout=600, cwd=REPO,
                          env={**os.environ,
                               "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests' / 'support'}"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_job_without_torch_never_imports_it(tmp_path):
    job = _job(tmp_path, [*TINY_SIM, "model=lr"])
    assert job == {"torch": False, "status": "ok", "torch_threads": None, "warnings": []}


def test_torch_imported_during_a_job_is_a_warning_in_its_result(tmp_path):
    job = _job(tmp_path, [*TINY_SIM, "model=lr"], lazy=True)
    assert job["torch"] and job["status"] == "ok" and job["torch_threads"] is None
    assert len(job["warnings"]) == 1 and "did not follow the seed" in job["warnings"][0]
