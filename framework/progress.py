"""Progress bars for long work, all on one policy: shown on a terminal, silent in logs.

ShadowEyes on ``ethereum_txs`` once printed nothing for 10 minutes and ``chainsleuth
embeddings`` nothing for 7: a researcher could not tell a slow job from a hung one. Every long
loop (pre-training, fine-tuning, graph embedding, t-SNE) therefore draws a bar with an ETA, and
every bar asks this module whether to draw, so one setting silences all of them. The policy,
first match wins:

* ``CHAINSLEUTH_QUIET=1``: never (CI logs, scripts);
* ``CHAINSLEUTH_PROGRESS=1``: always, even into a pipe or a file;
* otherwise only when standard error is a terminal, so a log file holds no bar.

The ``trainer`` config group's ``enable_progress_bar: false`` silences the bars of the models
given that config (:func:`allowed_by`); ``true``, its default, leaves the choice to the policy.
It cannot force bars on because ``true`` is every job's default and part of its config
fingerprint (changing the default to "unset" would make every finished job look changed to
``--resume-from``); ``CHAINSLEUTH_PROGRESS=1`` forces them.

Bars go to standard error: standard output (leaderboards, written paths) stays clean for
scripts. Drawing a bar computes nothing, so it changes no number and no random draw.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from tqdm import tqdm

QUIET_VARIABLE = "CHAINSLEUTH_QUIET"
FORCE_VARIABLE = "CHAINSLEUTH_PROGRESS"
_TRUE = ("1", "true", "yes", "on")


def _set(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in _TRUE


def enabled() -> bool:
    """Whether progress bars are drawn now (the policy in the module docs)."""
    if _set(QUIET_VARIABLE):
        return False
    if _set(FORCE_VARIABLE):
        return True
    return sys.stderr.isatty()


def allowed_by(trainer_cfg: Mapping[str, Any] | None) -> bool:
    """False when the ``trainer`` config says ``enable_progress_bar: false``."""
    return (trainer_cfg or {}).get("enable_progress_bar", True) is not False


def progress(iterable: Iterable | None = None, *, total: int | None, desc: str,
             unit: str = "it", allowed: bool = True) -> tqdm:
    """A tqdm bar over ``iterable`` (or updated by hand) with elapsed time and ETA, drawn only
    where :func:`enabled` says so and ``allowed`` (a config switch, :func:`allowed_by`) does
    not forbid it; disabled, it still iterates and accepts every call."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr,
                disable=not (allowed and enabled()), dynamic_ncols=True)
