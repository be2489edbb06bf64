"""``chainsleuth new-plugin``: every kind's package installs, registers, passes its own
contract test and runs in a sweep beside the built-ins (the templates are the README's worked
examples, so CI executes them here)."""

import json
import subprocess
import sys

import pytest
from helpers import run_cli

from framework.errors import ConfigError
from framework.scaffold import SCAFFOLD_KINDS, new_plugin


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Every kind scaffolded as demo_<kind> and pip-installed into one folder (like a user's
    ``pip install -e``, without touching this environment)."""
    root = tmp_path_factory.mktemp("scaffold")
    made = run_cli(["new-plugin", "model", "demo_model", "--dir", str(root)], root)
    assert made.returncode == 0, made.stderr
    packages = {"model": root / "chainsleuth-demo-model"}
    for kind in SCAFFOLD_KINDS[1:]:
        packages[kind] = new_plugin(kind, f"demo_{kind}", root)
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(site),
                    *map(str, packages.values())], check=True)
    return packages, site


@pytest.mark.parametrize("kind", SCAFFOLD_KINDS)
def test_each_scaffolded_package_passes_its_own_contract_test(installed, kind, tmp_path):
    packages, site = installed
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(packages[kind] / "tests")], cwd=tmp_path, capture_output=True,
                          text=True, env={**_env(site)}, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " skipped" not in done.stdout


def test_scaffolded_plugins_are_listed_and_run_together(installed, tmp_path):
    packages, site = installed
    env = _env(site)
    listed = json.loads(run_cli(["plugins", "--json"], tmp_path, env=env).stdout)
    ours = {(row["kind"], row["name"]) for row in listed if row["distribution"].startswith(
        "chainsleuth-demo")}
    assert ours == {(kind, f"demo_{kind}") for kind in SCAFFOLD_KINDS}
    sweep = tmp_path / "sweep"
    done = run_cli(["run", "-m", "model=demo_model,lr", "dataset=demo_dataset",
                    "scenario=demo_scenario", "logger=demo_logger",
                    f"logger.path={tmp_path / 'log.csv'}", "seed=0", f"hydra.sweep.dir={sweep}"],
                   tmp_path, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    records = [json.loads(p.read_text()) for p in sorted(sweep.rglob("result.json"))]
    assert {r["model"]["name"] for r in records} == {"demo_model", "lr"}
    assert {r["dataset"]["provenance"]["origin"] for r in records} == {"synthetic"}
    assert all(r["status"] == "ok" and r["metrics"]["macro_f1"] > 0.6 for r in records)
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 3  # header + two jobs
    said = run_cli(["demo_command", "--greeting", "hi"], tmp_path, env=env)
    assert said.returncode == 0 and said.stdout.strip() == "hi from demo_command"


def test_bad_requests_write_nothing(tmp_path):
    with pytest.raises(ConfigError, match="kind must be one of"):
        new_plugin("sampler", "demo", tmp_path)
    for bad in ("Demo", "2fast", "class", "with-dash"):
        with pytest.raises(ConfigError, match="lower-case Python identifier"):
            new_plugin("model", bad, tmp_path)
    assert list(tmp_path.iterdir()) == []
    new_plugin("model", "twice", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        new_plugin("model", "twice", tmp_path)


def _env(site):
    import os

    from helpers import DATA_DIR

    return {**os.environ, "PYTHONPATH": str(site), "CHAINSLEUTH_DATA_DIR": str(DATA_DIR)}


def test_the_readme_shows_exactly_what_the_scaffold_writes(tmp_path):
    """The README's example of each kind is the scaffold's template, which the tests above
    install and run: so every README example runs in CI."""
    import re

    from helpers import REPO

    readme = (REPO / "README.md").read_text()
    shown = dict(re.findall(r"<!-- scaffold: (\w+) -->\n```python\n(.*?)```", readme, re.S))
    assert sorted(shown) == sorted(SCAFFOLD_KINDS)
    for kind, code in shown.items():
        root = new_plugin(kind, "demo", tmp_path / kind)
        assert code == (root / "src" / "chainsleuth_demo" / "plugin.py").read_text(), kind
