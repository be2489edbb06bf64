"""Progress bars: one policy (terminal, CHAINSLEUTH_QUIET, CHAINSLEUTH_PROGRESS) for every
long loop, with an ETA where they are shown and not one character where they are not."""

from __future__ import annotations

import io
import re
import sys

import numpy as np
import pytest

from framework.contracts import toy_data
from framework.progress import allowed_by, enabled, progress

# tqdm's "[elapsed<remaining" is the ETA.
ETA = r"\d+/\d+ \[\d\d:\d\d<\d\d:\d\d"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def env(monkeypatch):
    """No policy variable set, whatever the developer's shell exports."""
    monkeypatch.delenv("CHAINSLEUTH_QUIET", raising=False)
    monkeypatch.delenv("CHAINSLEUTH_PROGRESS", raising=False)
    return monkeypatch


@pytest.mark.parametrize("terminal, quiet, force, shown", [
    (True, None, None, True),     # a researcher at a terminal
    (False, None, None, False),   # a log file or CI
    (False, None, "1", True),     # forced into a pipe
    (True, "1", None, False),     # silenced at a terminal
    (False, "1", "1", False),     # quiet wins: CI may export both
    (True, "0", None, True),
])
def test_the_policy(env, terminal, quiet, force, shown):
    env.setattr(sys, "stderr", Terminal() if terminal else io.StringIO())
    for name, value in (("CHAINSLEUTH_QUIET", quiet), ("CHAINSLEUTH_PROGRESS", force)):
        if value is not None:
            env.setenv(name, value)
    assert enabled() is shown


def test_a_config_switch_can_only_silence(env):
    env.setenv("CHAINSLEUTH_PROGRESS", "1")
    assert allowed_by(None) and allowed_by({"enable_progress_bar": True}) and allowed_by({})
    assert not allowed_by({"enable_progress_bar": False})
    env.setattr(sys, "stderr", io.StringIO())
    list(progress(range(3), total=3, desc="silenced", allowed=False))
    assert sys.stderr.getvalue() == ""


def test_a_bar_shows_its_eta_on_stderr_and_nothing_on_stdout(env, capsys):
    env.setenv("CHAINSLEUTH_PROGRESS", "1")
    assert list(progress(range(4), total=4, desc="work")) == [0, 1, 2, 3]
    out, err = capsys.readouterr()
    assert out == "" and re.search(rf"work: 100%\|.*\| {ETA}", err), err


def _fit_shadoweyes() -> None:
    from plugins.encoders.resnet1d import ResNet1DEncoder
    from plugins.models.shadoweyes import ShadowEyes

    data = toy_data(n=120, n_features=6)
    X = np.nan_to_num(data.X).astype(np.float32)
    ShadowEyes(pretrain_epochs=2, n_views=2, finetune_epochs=2, batch_size=64,
               encoder=ResNet1DEncoder(), trainer={"accelerator": "cpu", "max_epochs": None,
                                                   "enable_progress_bar": True}).fit(X, data.y)


def test_a_shadoweyes_fit_shows_pretraining_and_finetuning_with_eta(env, capsys):
    env.setenv("CHAINSLEUTH_PROGRESS", "1")
    _fit_shadoweyes()
    err = capsys.readouterr().err
    for stage in ("augmented views", "shadoweyes contrastive pre-training",
                  "shadoweyes fine-tuning"):
        assert re.search(rf"{stage}: 100%\|.*\| {ETA}", err), (stage, err[-2000:])
    assert "nt_xent=" in err and "val_loss=" in err  # the losses ride along


def test_a_quiet_shadoweyes_fit_writes_nothing(env, capfd):
    env.setenv("CHAINSLEUTH_PROGRESS", "1")
    env.setenv("CHAINSLEUTH_QUIET", "1")
    _fit_shadoweyes()
    out, err = capfd.readouterr()  # file descriptors: Lightning's own output included
    assert out == "" and err == "", err[-2000:]


def test_progress_is_one_module_the_plugins_share():
    """Every plugin asks the same policy: none imports tqdm itself."""
    from helpers import REPO

    users = [p for p in (REPO / "plugins").rglob("*.py") if "tqdm" in p.read_text()]
    assert users == [], users
