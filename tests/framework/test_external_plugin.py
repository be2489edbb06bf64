"""An external plugin written only from the README's guide is discovered and runs in a sweep."""

import re
import subprocess
import sys
import textwrap

import pytest
from helpers import REPO, TINY_SIM, run_cli

from framework.leaderboard import Leaderboard

FILE_BLOCK = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\s*```\w*\n(?P<body>.*?)```", re.S)


@pytest.fixture(scope="module")
def installed_guide_plugin(tmp_path_factory):
    root = tmp_path_factory.mktemp("guide")
    files = FILE_BLOCK.findall((REPO / "README.md").read_text())
    assert {p for p, _ in files} == {"chainsleuth-naive-bayes/chainsleuth_naive_bayes.py",
                                      "chainsleuth-naive-bayes/pyproject.toml"}
    for path, body in files:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(body)
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(site),
                    str(root / "chainsleuth-naive-bayes")], check=True)
    return site


def test_guide_plugin_is_listed_with_its_distribution(installed_guide_plugin, tmp_path):
    done = run_cli(["plugins"], tmp_path, env={"PYTHONPATH": str(installed_guide_plugin)})
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()]
    assert ["model", "naive_bayes", "chainsleuth-naive-bayes", "0.1.0"] in rows


def test_guide_plugin_runs_in_a_sweep_with_a_generated_config(installed_guide_plugin, tmp_path):
    sweep = tmp_path / "sweep"
    done = run_cli(["run", "-m", "model=naive_bayes", "model.var_smoothing=1e-9,1e-6", "seed=0,1",
                    f"hydra.sweep.dir={sweep}", *TINY_SIM], tmp_path,
                   env={"PYTHONPATH": str(installed_guide_plugin)})
    assert done.returncode == 0, done.stdout + done.stderr
    board = Leaderboard.from_dirs([sweep])
    assert sorted(board.methods["variant"]) == ["model.var_smoothing=1e-06",
                                              "model.var_smoothing=1e-09"]
    assert set(board.methods["n"]) == {2} and set(board.methods["failed"]) == {0}
    jobs = board.runs[board.runs["kind"] == "method"]
    assert jobs.iloc[0]["source"] and set(jobs["method"]) == {"naive_bayes"}


def test_restricting_external_plugins(installed_guide_plugin, tmp_path):
    env = {"PYTHONPATH": str(installed_guide_plugin), "CHAINSLEUTH_PLUGINS": ""}
    assert "naive_bayes" not in run_cli(["plugins"], tmp_path, env=env).stdout
    env["CHAINSLEUTH_PLUGINS"] = "chainsleuth-naive-bayes"
    assert "naive_bayes" in run_cli(["plugins"], tmp_path, env=env).stdout


def write_plugin(site, dist, module_source, entry="broken"):
    (site / f"{dist.replace('-', '_')}.py").write_text(textwrap.dedent(module_source))
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(
        f"[chainsleuth]\n{entry} = {dist.replace('-', '_')}\n")


def test_plugin_that_fails_to_import_names_its_distribution(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site, "chainsleuth-broken", "import does_not_exist\n")
    done = run_cli(["plugins"], tmp_path, env={"PYTHONPATH": str(site)})
    assert done.returncode == 2
    assert "chainsleuth-broken 1.2.3" in done.stderr and "does_not_exist" in done.stderr


def test_duplicate_name_names_both_distributions(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site, "chainsleuth-shadow", """
        from framework.hookspecs import hookimpl

        @hookimpl
        def register_models():
            return {"xgboost": object}
    """, entry="shadow")
    env = {"PYTHONPATH": str(site)}
    listed = run_cli(["plugins"], tmp_path, env=env)  # a duplicate blocks only its users
    assert listed.returncode == 0, listed.stderr
    named = listed.stderr.split("registered twice (", 1)[1].split(")", 1)[0]
    assert "model 'xgboost'" in listed.stderr
    assert sorted(named.split(", ")) == ["chainsleuth", "chainsleuth-shadow"]
    assert run_cli(["--help"], tmp_path, env=env).returncode == 0
    done = run_cli(["run", "model=xgboost"], tmp_path, env=env)
    assert done.returncode == 2
    assert "chainsleuth-shadow 1.2.3" in done.stderr and "chainsleuth 0.1.0" in done.stderr
    by_default = run_cli(["run", "seed=0"], tmp_path, env=env)  # xgboost is the default model
    assert by_default.returncode == 1 and "Traceback" not in by_default.stderr
    assert "FAILED chain_sim / standard / xgboost seed 0: PluginError: model 'xgboost' is " \
           "registered twice" in by_default.stdout


def test_a_command_registered_twice_blocks_only_that_command(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    for dist in ("chainsleuth-hello-a", "chainsleuth-hello-b"):
        write_plugin(site, dist, """
            from framework.hookspecs import hookimpl
            from framework.interfaces import Command

            @hookimpl
            def register_commands():
                return {"hello": Command(help="hi", configure=lambda p: None,
                                         run=lambda a: 0)}
        """, entry=dist.rsplit("-", 1)[1])
    env = {"PYTHONPATH": str(site)}
    overview = run_cli(["--help"], tmp_path, env=env)
    assert overview.returncode == 0, overview.stderr
    assert "unusable: registered twice, by chainsleuth-hello-a, chainsleuth-hello-b" in (
        " ".join(overview.stdout.split()))
    assert run_cli(["plugins"], tmp_path, env=env).returncode == 0
    done = run_cli(["hello"], tmp_path, env=env)
    assert done.returncode == 2 and "command 'hello' is registered twice" in done.stderr
    assert "chainsleuth-hello-a" in done.stderr and "chainsleuth-hello-b" in done.stderr


def test_a_run_imports_only_the_plugins_it_names(tmp_path):
    """A declared plugin without a YAML file gets its config node from its factory, which
    imports it; a run that does not name it must not pay for it, nor fail with it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "chainsleuth_fragile.py").write_text(textwrap.dedent("""
        raise ImportError("fragile's dependency is missing")
    """))
    info = site / "chainsleuth_fragile-1.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: chainsleuth-fragile\n"
                                   "Version: 1.0.0\n")
    (info / "entry_points.txt").write_text(
        "[chainsleuth]\nfragile = chainsleuth_fragile\n\n"
        "[chainsleuth.provides]\nmodel.fragile = chainsleuth_fragile\n")
    env = {"PYTHONPATH": str(site)}
    fine = run_cli(["run", "model=lr", f"hydra.run.dir={tmp_path / 'run'}", *TINY_SIM],
                   tmp_path, env=env)
    assert fine.returncode == 0, fine.stdout[-2000:] + fine.stderr[-2000:]
    broken = run_cli(["run", "model=fragile", *TINY_SIM], tmp_path, env=env)
    assert broken.returncode == 2 and "chainsleuth-fragile 1.0.0" in broken.stderr
    assert "fragile's dependency is missing" in broken.stderr
