"""The one rule per layer, checked over every module (no exception list).

* ``framework`` imports no plugin.
* A module of a plugin package (the module or sub-package an entry point of the ``chainsleuth``
  group names) imports no other plugin package. Modules under ``plugins/<kind>/`` that no entry
  point names are shared support code of that kind folder (``plugins/models/lightning_training``):
  only plugins of the same folder may import them, and they import no plugin package themselves.
* ``libraries`` import neither ``framework`` nor ``plugins``, and load without torch, Hydra or
  Lightning.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = sorted(p.name for p in (ROOT / "libraries").iterdir()
                   if (p / "__init__.py").is_file())


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            # ``from plugins.x import y`` may import the sub-module plugins.x.y
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _modules(top: str) -> list[Path]:
    return sorted(p for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


def _plugin_packages() -> list[str]:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    return sorted(set(project["entry-points"]["chainsleuth"].values()))


def _owner(module: str, packages: list[str]) -> str | None:
    return next((p for p in packages if module == p or module.startswith(p + ".")), None)


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_scan_sees_every_layer():
    assert len(_modules("framework")) > 10 and len(_modules("plugins")) > 10
    assert set(LIBRARIES) >= {"bitcoin_wire", "graph_etl", "simulation"}
    packages = _plugin_packages()
    assert "plugins.relay" in packages and "plugins.datasets.chain_sim" in packages


def test_framework_imports_no_plugin():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {name}"
           for path in _modules("framework") for line, name in _imports(path)
           if _within(name, "plugins")]
    assert not bad, "\n".join(bad)


def test_libraries_import_neither_framework_nor_plugins():
    bad = [f"{path.relative_to(ROOT)}:{line} imports {name}"
           for path in _modules("libraries") for line, name in _imports(path)
           if _within(name, "framework") or _within(name, "plugins")]
    assert not bad, "\n".join(bad)


def test_no_plugin_imports_another_plugin():
    packages = _plugin_packages()
    bad = []
    for path in _modules("plugins"):
        module = _module_name(path)
        own = _owner(module, packages)
        folder = module.rsplit(".", 1)[0] if own is None else own.rsplit(".", 1)[0]
        for line, name in _imports(path):
            if not _within(name, "plugins"):
                continue
            target = _owner(name, packages)
            if target is None and name.count(".") < 2:
                continue  # plugins, or a kind folder (plugins.models); plugins.relay is a plugin
            if target is not None and target != own:
                bad.append(f"{path.relative_to(ROOT)}:{line} ({own or 'support module'}) "
                           f"imports plugin {target}")
            elif target is None and name.rsplit(".", 1)[0] != folder and not _within(
                    name.rsplit(".", 1)[0], folder):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}, support code of "
                           f"another folder")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_library_loads_without_torch_hydra_or_lightning(library):
    code = ("import importlib, pkgutil, sys\n"
            f"package = importlib.import_module('libraries.{library}')\n"
            "for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
            "    try:\n"
            "        importlib.import_module(info.name)\n"
            "    except ImportError as exc:  # an optional engine (pyspark) may be absent\n"
            "        if exc.name not in ('pyspark', 'ladybug', 'duckdb'):\n"
            "            raise\n"
            "print(sorted(m for m in ('torch', 'hydra', 'lightning', 'framework', 'plugins')\n"
            "             if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
