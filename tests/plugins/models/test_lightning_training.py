"""The shared training loop keeps Lightning's settings to itself: importing a neural plugin or
training one leaves the process's warning filters and Lightning's logger levels as it found
them."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings

import numpy as np
from helpers import REPO

from framework.contracts import toy_data
from plugins.models.lightning_training import LIGHTNING_LOGGERS

SNAPSHOT = f"""
import json, logging, warnings
def snapshot():
    return {{"filters": [repr(f) for f in warnings.filters],
             "levels": [logging.getLogger(n).level for n in {list(LIGHTNING_LOGGERS)!r}]}}
"""


def test_importing_the_neural_plugins_changes_no_process_wide_setting():
    code = SNAPSHOT + """
import lightning, torch
before = snapshot()
import plugins.models.lightning_training, plugins.models.shadoweyes, plugins.models.mlp
import plugins.models.cnn, plugins.models.bert
print(json.dumps([before, snapshot()]))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    before, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert after == before


def test_training_restores_the_settings_it_changed():
    from plugins.models.mlp import MLPModel

    levels = [logging.getLogger(name).level for name in LIGHTNING_LOGGERS]
    filters = list(warnings.filters)
    data = toy_data(n=80, n_features=4)
    MLPModel(max_epochs=1, trainer={"accelerator": "cpu", "enable_progress_bar": False}).fit(
        np.nan_to_num(data.X), data.y)
    assert [logging.getLogger(name).level for name in LIGHTNING_LOGGERS] == levels
    assert list(warnings.filters) == filters
