"""``chainsleuth new-plugin KIND NAME``: a plugin package that installs, registers and passes
its contract checks before its author writes a line.

Each kind's template is a small *working* example (a nearest-centroid model, a synthetic
dataset, a stratified split, feature-space noise, a CSV logger, a command), so the package is
also the worked example of that hook: the one place that shows the hook, the entry point, the
manifest and the contract test together. ``tests/framework/test_scaffold.py`` generates every
kind, loads it and runs its contract checks, so the templates cannot rot.
"""

from __future__ import annotations

import keyword
from pathlib import Path
from string import Template

from framework.errors import ConfigError

SCAFFOLD_KINDS = ("model", "dataset", "scenario", "augmentation", "logger", "command")

_PYPROJECT = Template('''\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "A ChainSleuth $kind plugin: $name"
dependencies = ["chainsleuth"]

[tool.setuptools.packages.find]
where = ["src"]

# How ChainSleuth finds the plugin module.
[project.entry-points.chainsleuth]
$name = "$package.plugin"

# The manifest: kind.name -> module, so that listing plugins and running others never imports
# this module (nor its dependencies).
[project.entry-points."chainsleuth.provides"]
"$kind.$name" = "$package.plugin"
''')

_README = Template('''\
# $distribution

A ChainSleuth $kind plugin, made by `chainsleuth new-plugin $kind $name`.

```bash
pip install -e .
chainsleuth plugins | grep $name
python -m pytest tests          # the contract checks every $kind must pass
$usage
```

Edit `src/$package/plugin.py`; keep the contract test passing.
''')

_USAGE = {
    "model": "chainsleuth run -m model=$name,lr seed=0,1,2     # beside a built-in",
    "dataset": "chainsleuth run -m dataset=$name model=lr,rf seed=0,1,2",
    "scenario": "chainsleuth run -m scenario=$name model=lr,rf seed=0,1,2",
    "augmentation": "chainsleuth run model=shadoweyes augmentation=$name",
    "logger": "chainsleuth run -m model=lr,rf seed=0,1 logger=$name",
    "command": "chainsleuth $name --help",
}

_MODEL = Template('''\
"""$name: a nearest-centroid classifier, the smallest honest ChainSleuth model.

The runner gives ``fit`` preprocessed features (NaN already imputed) and the task's labels
0..k-1; ``predict_proba`` must return one column per class seen in training, rows summing to 1.
Hyper-parameters are keyword arguments with defaults: they become ``model.<name>=`` overrides
(``model.temperature=0.5``). Accept ``seed`` to receive the job's seed.
"""

from __future__ import annotations

import numpy as np

from framework.hookspecs import hookimpl


class $cls:
    def __init__(self, temperature: float = 1.0, seed: int = 0) -> None:
        self.temperature = temperature
        self.seed = seed

    def fit(self, X, y, *, validation=None, unlabeled=None):
        """``validation`` (X, y) and ``unlabeled`` (a pool of label-free rows) are optional."""
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([X[y == c].mean(axis=0) for c in self.classes_])
        return self

    def predict_proba(self, X):
        distances = ((X[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2)
        logits = -distances / max(self.temperature, 1e-9)
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


@hookimpl
def register_models():
    return {"$name": $cls}
''')

_DATASET = Template('''\
"""$name: a dataset plugin returning :class:`framework.data.AccountData`.

This one generates Gaussian clusters, so it is marked synthetic: every result computed on it
says ``origin: synthetic``. A real-data plugin finds its files with
``context.locate("$name", "<folder under the data root>", self.path)`` and raises
:class:`framework.errors.DataError` naming the file and field on bad input. Keep ``__init__``
cheap (parameters only); do the work in ``load``.
"""

from __future__ import annotations

import numpy as np

from framework.data import AccountData, Provenance
from framework.hookspecs import hookimpl


class $cls:
    def __init__(self, accounts: int = 300, features: int = 6, seed: int = 0) -> None:
        self.accounts = accounts
        self.features = features
        self.seed = seed

    def load(self, context):
        rng = np.random.default_rng(self.seed)
        y = np.arange(self.accounts) % 2
        X = rng.normal(size=(self.accounts, self.features)) + 1.5 * y[:, None]
        return AccountData(
            name="$name", ids=[f"acct{i}" for i in range(self.accounts)], X=X,
            feature_names=[f"f{j}" for j in range(self.features)], y=y,
            class_names=["normal", "malicious"], benign_classes=["normal"],
            provenance=Provenance("synthetic", "$distribution",
                                  "SYNTHETIC Gaussian clusters (scaffold example)"))


@hookimpl
def register_datasets():
    return {"$name": $cls}
''')

_SCENARIO = Template('''\
"""$name: a scenario turns a dataset into a :class:`framework.task.Task` (row positions).

The Task validates itself: train, validation and test are disjoint and no test row may enter
the pre-training pool, so a leaking scenario fails loudly. The same seed must give the same
split; another seed, another split. ``positive_class`` (the malicious class of a binary task)
is what makes binary F1, ROC-AUC and PR-AUC appear in the results.
"""

from __future__ import annotations

import numpy as np

from framework.hookspecs import hookimpl
from framework.splits import positive_class
from framework.task import Task


class $cls:
    def __init__(self, test_size: float = 0.3) -> None:
        self.test_size = test_size

    def split(self, data, seed):
        rng = np.random.default_rng(seed)
        train, test = [], []
        for label in np.unique(data.y[data.y >= 0]):  # stratified: every class in both
            rows = rng.permutation(np.flatnonzero(data.y == label))
            cut = max(1, int(round(len(rows) * self.test_size)))
            test.append(rows[:cut])
            train.append(rows[cut:])
        return Task(scenario="$name", setting={"test_size": self.test_size}, y=data.y,
                    class_names=list(data.class_names), train=np.sort(np.concatenate(train)),
                    test=np.sort(np.concatenate(test)), positive_class=positive_class(data))


@hookimpl
def register_scenarios():
    return {"$name": $cls}
''')

_AUGMENTATION = Template('''\
"""$name: an augmentation returns a changed *copy* of ``data.X[rows]`` (raw features).

Contrastive models (ShadowEyes, FICL) pre-train on two augmented views of each unlabelled row.
Never modify ``data`` in place, draw randomness only from ``rng`` (reproducible views), and
say in ``describe()`` whether you act on transactions or, as here, in feature space.
"""

from __future__ import annotations

import numpy as np

from framework.hookspecs import hookimpl


class $cls:
    def __init__(self, scale: float = 0.1) -> None:
        self.scale = scale

    def augment(self, data, rows, rng):
        X = np.array(data.X[rows], dtype=float)
        spread = np.nanstd(X, axis=0)
        return X + rng.normal(size=X.shape) * self.scale * np.nan_to_num(spread)

    def describe(self):
        return {"name": "$name", "mode": "feature-space", "scale": self.scale}


@hookimpl
def register_augmentations():
    return {"$name": $cls}
''')

_LOGGER = Template('''\
"""$name: a logger hears every job through lifecycle hooks (methods marked ``@hookimpl``).

The runner writes the job's ``result.json`` and decides its status *before* any logger runs;
a logger that raises adds a warning to the result and never fails the job. Never log
credentials: results are already redacted.
"""

from __future__ import annotations

import csv
from pathlib import Path

from framework.hookspecs import hookimpl


class $cls:
    def __init__(self, path: str = "$name.csv") -> None:
        self.path = Path(path)

    @hookimpl
    def on_run_finished(self, run, result):
        new = not self.path.exists()
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["dataset", "scenario", "model", "seed", "macro_f1"])
            writer.writerow([run.dataset, run.scenario, run.model, run.seed,
                             result["metrics"]["macro_f1"]])

    @hookimpl
    def on_run_failed(self, run, result, error):
        print(f"[$name] {run.model} seed {run.seed} failed: {type(error).__name__}")


@hookimpl
def register_loggers():
    return {"$name": $cls}
''')

_COMMAND = Template('''\
"""$name: a ``chainsleuth $name`` subcommand.

``configure`` adds arguments to the command's argparse parser; ``run`` does the work and
returns the exit status. Keep this module light to import (import heavy libraries inside
``run``): ``chainsleuth --help`` imports it for the one-line help.
"""

from __future__ import annotations

from framework.hookspecs import hookimpl
from framework.interfaces import Command


def configure(parser):
    parser.add_argument("--greeting", default="hello", help="what to say")


def run(args):
    print(f"{args.greeting} from $name")
    return 0


@hookimpl
def register_commands():
    return {"$name": Command(help="say hello ($distribution)", configure=configure, run=run)}
''')

_TEMPLATES = {"model": _MODEL, "dataset": _DATASET, "scenario": _SCENARIO,
              "augmentation": _AUGMENTATION, "logger": _LOGGER, "command": _COMMAND}

_CONTRACT_TEST = Template('''\
"""The contract every ChainSleuth $kind honours (framework.contracts), on this plugin."""

import pytest

from framework import contracts
from framework.plugin_manager import PluginManager

MANAGER = PluginManager()


$body
''')

_CONTRACT_BODY = '''\
@pytest.mark.parametrize("check", contracts.checks_for(MANAGER.registry.get("$kind", "$name")),
                         ids=lambda check: check[0])
def test_$name(check):
    name, run = check
    try:
        run()
    except contracts.NotApplicable as reason:  # this plugin's tags exclude the check
        pytest.skip(str(reason))
'''

_COMMAND_TEST_BODY = '''\
def test_${name}_is_a_command_that_runs(capsys):
    command, provider = MANAGER.command("$name")
    assert provider.distribution == "$distribution"
    import argparse

    parser = argparse.ArgumentParser()
    command.configure(parser)
    assert command.run(parser.parse_args(["--greeting", "hi"])) == 0
    assert "hi from $name" in capsys.readouterr().out
'''


def new_plugin(kind: str, name: str, parent: Path) -> Path:
    """Write the package ``chainsleuth-<name>`` under ``parent``; returns its folder."""
    if kind not in SCAFFOLD_KINDS:
        raise ConfigError(f"new-plugin: kind must be one of {', '.join(SCAFFOLD_KINDS)}, "
                          f"got {kind!r}")
    if not name.isidentifier() or keyword.iskeyword(name) or name != name.lower():
        raise ConfigError(f"new-plugin: name {name!r} must be a lower-case Python identifier "
                          f"(it becomes {kind}={name} and the package chainsleuth_{name})")
    distribution, package = f"chainsleuth-{name.replace('_', '-')}", f"chainsleuth_{name}"
    root = Path(parent) / distribution
    if root.exists():
        raise ConfigError(f"new-plugin: {root} already exists; nothing was written")
    values = {"kind": kind, "name": name, "distribution": distribution, "package": package,
              "cls": "".join(part.title() for part in name.split("_")) + kind.title(),
              "usage": Template(_USAGE[kind]).substitute(name=name)}
    body = _COMMAND_TEST_BODY if kind == "command" else _CONTRACT_BODY
    files = {
        "pyproject.toml": _PYPROJECT.substitute(values),
        "README.md": _README.substitute(values),
        f"src/{package}/__init__.py": "",
        f"src/{package}/plugin.py": _TEMPLATES[kind].substitute(values),
        f"tests/test_{name}_contract.py": _CONTRACT_TEST.substitute(
            values, body=Template(body).substitute(values)),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
