"""Lazy plugin loading: names from the manifest, modules imported only when their plugin is used."""

import importlib
import json
import subprocess
import sys
import textwrap

import pytest
from helpers import REPO, TINY_SIM, WITHOUT_NEURAL

from framework.errors import PluginError
from framework.plugin_manager import PluginManager
from framework.registry import KINDS

HEAVY = ("torch", "lightning", "torch_geometric", "xgboost", "numba", "duckdb", "pyod",
         "pandas", "sklearn")


def modules_after(call: str) -> dict:
    """The heavy and plugin modules a fresh interpreter holds after ``call``."""
    code = textwrap.dedent(f"""
        import contextlib, io, json, sys
        from framework.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                {call}
            except SystemExit:
                pass
        print(json.dumps({{"heavy": [m for m in {HEAVY!r} if m in sys.modules],
                          "plugins": sorted(m for m in sys.modules if m.startswith("plugins."))}}))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["plugins"], ["plugins", "--json"]])
def test_listing_imports_no_plugin_dependency(argv):
    seen = modules_after(f"main({argv!r})")
    assert seen["heavy"] == []
    # --help reads each command's help line from its (light) module; nothing else loads.
    allowed = {"plugins.bitcoin_graph", "plugins.relay", "plugins.datasets",
               "plugins.datasets.chain_sim", "plugins.models", "plugins.models.embeddings_view"}
    assert set(seen["plugins"]) <= allowed


def test_a_plugin_command_imports_only_its_own_module():
    seen = modules_after("main(['chain-sim', '--help'])")
    assert "plugins.datasets.chain_sim" in seen["plugins"]
    assert not {"plugins.relay", "plugins.bitcoin_graph", "torch"} & set(
        seen["plugins"] + seen["heavy"])


def test_a_run_imports_only_the_plugins_it_uses(tmp_path):
    overrides = ["run", "model=lr", "seed=0", f"hydra.run.dir={tmp_path / 'run'}", *TINY_SIM]
    seen = modules_after(f"main({overrides!r})")
    assert (tmp_path / "run" / "result.json").is_file()
    used = {"plugins.datasets.chain_sim", "plugins.models.sklearn_models",
            "plugins.scenarios.standard"}
    assert used <= set(seen["plugins"])
    for unused in ("plugins.models.bert", "plugins.models.shadoweyes", "plugins.models.gnn",
                   "plugins.relay.ntssl", "plugins.datasets.ethereum_txs",
                   "plugins.representations.txgraph", "plugins.models.xgboost_model"):
        assert unused not in seen["plugins"]
    assert "torch" not in seen["heavy"]  # lr takes no encoder: the default one is not loaded


@pytest.mark.parametrize("model, works", [("lr", True), ("mlp", False)])
def test_without_the_neural_extra_the_core_runs_and_a_neural_model_names_it(tmp_path, model,
                                                                            works):
    done = subprocess.run([sys.executable, "-c", WITHOUT_NEURAL, "run", f"model={model}",
                           f"hydra.run.dir={tmp_path / 'run'}", *TINY_SIM], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    if works:
        assert done.returncode == 0, output[-2000:]
    else:
        assert done.returncode != 0 and "Traceback" not in output, output[-2000:]
        assert 'pip install "chainsleuth[neural]"' in output and "torch" in output, output[-2000:]


def test_the_builtin_manifest_equals_what_every_module_registers():
    manager = PluginManager()
    declared = {(kind, entry.name) for kind in KINDS for entry in manager.registry.entries(kind)}
    manager.load_all()  # raises naming the module where manifest and hooks disagree
    assert {kind for kind, _ in declared} == set(KINDS)
    for kind, name in declared:
        assert callable(manager.registry.get(kind, name).factory)
    assert set(manager.command_names()) == {"chain-sim", "embeddings", "graph", "relay-sim"}


def fake_distribution(site, module_source, manifest):
    """A distribution ``chainsleuth-lazy`` whose module ``lazy_plugin`` holds ``module_source``."""
    (site / "lazy_plugin.py").write_text(textwrap.dedent(module_source))
    info = site / "chainsleuth_lazy-0.3.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: chainsleuth-lazy\n"
                                   "Version: 0.3.0\n")
    lines = "".join(f"{name} = lazy_plugin\n" for name in manifest)
    (info / "entry_points.txt").write_text(
        f"[chainsleuth]\nlazy = lazy_plugin\n\n[chainsleuth.provides]\n{lines}")


REGISTERS_ONE = """
    from framework.hookspecs import hookimpl

    def one(depth: int = 2):
        return {"depth": depth}

    @hookimpl
    def register_models():
        return {"lazy_one": one}
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "lazy_plugin", raising=False)
    yield site
    sys.modules.pop("lazy_plugin", None)
    importlib.invalidate_caches()


def test_a_declared_plugin_is_listed_without_import_and_loaded_when_used(site):
    fake_distribution(site, REGISTERS_ONE, ["model.lazy_one"])
    manager = PluginManager()
    entry = manager.registry.get("model", "lazy_one")
    assert entry.provider.distribution == "chainsleuth-lazy"
    assert "lazy_plugin" not in sys.modules
    assert manager.registry.create("model", {"name": "lazy_one", "depth": 5}) == {"depth": 5}
    assert "lazy_plugin" in sys.modules


def test_a_manifest_that_disagrees_with_the_module_names_both(site):
    fake_distribution(site, REGISTERS_ONE, ["model.lazy_two"])
    manager = PluginManager()
    with pytest.raises(PluginError, match=r"chainsleuth-lazy 0.3.0.*declares model 'lazy_two' "
                                          r"in module lazy_plugin.*\['lazy_one'\]"):
        manager.registry.get("model", "lazy_two").factory
    with pytest.raises(PluginError, match="declares models"):
        manager.load_all()


def test_a_declared_module_with_a_misspelt_hook_fails_when_loaded(site):
    fake_distribution(site, REGISTERS_ONE.replace("def register_models", "def register_model"),
                      ["model.lazy_one"])
    manager = PluginManager()
    with pytest.raises(PluginError, match="implements 'register_model'.*did you mean "
                                          "'register_models'"):
        manager.registry.get("model", "lazy_one").factory


def test_a_malformed_manifest_entry_is_refused(site):
    fake_distribution(site, REGISTERS_ONE, ["lazy_one"])
    with pytest.raises(PluginError, match=r"chainsleuth-lazy: manifest entry 'lazy_one'.*"
                                          r"<kind>.<name>"):
        PluginManager()
