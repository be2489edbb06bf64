"""The study's data and zero-shot scenario for one setting, as the runner builds them; shared by
the scripts beside it that recompute something on the study's own splits."""

from __future__ import annotations

from typing import Any

from framework.data import AccountData
from framework.hydra_app import compose_config
from framework.runner import load_dataset
from framework.session import Session


def setting_data(setting: str, session: Session) -> tuple[AccountData, Any]:
    """(ethereum_txs as the study loads it, the zero_shot scenario of ``setting``), where
    ``setting`` is runs.csv's string (``test_size=0.2,unseen_class=hack,val_size=0.1``)."""
    unseen_class = dict(part.split("=") for part in setting.split(","))["unseen_class"]
    cfg = compose_config(["dataset=ethereum_txs", "scenario=zero_shot",
                          f"scenario.unseen_class={unseen_class}"], session.plugins)
    scenario = session.plugins.registry.create("scenario", {"name": "zero_shot",
                                                            "unseen_class": unseen_class})
    return load_dataset(cfg, session), scenario
