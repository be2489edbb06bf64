"""Hydra's own copies of the command line, redacted like everything else ChainSleuth writes.

Hydra saves every job's config and overrides (``.hydra/config.yaml``, ``hydra.yaml``,
``overrides.yaml``), the sweep's ``multirun.yaml``, and prints each job's overrides on the
console. This callback rewrites those files through :func:`framework.redaction.redact_text`
as soon as Hydra has written them (a job's at its start, the sweep's at the first job and at
the end), and makes every log record of the command redacted (Hydra logs each job's
overrides) by wrapping the process's log-record factory, which this ``chainsleuth run``
process owns.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from framework.redaction import redact_text, redacting_record_factory

HYDRA_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")


def redact_file(path: Path) -> None:
    """Rewrite ``path`` with credentials hidden (atomically; nothing if it is clean)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    clean = redact_text(text)
    if clean != text:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(clean, encoding="utf-8")
        os.replace(tmp, path)


def _install_filter() -> None:
    logging.setLogRecordFactory(redacting_record_factory(logging.getLogRecordFactory()))


class RedactHydraFiles(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _install_filter()

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _install_filter()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        _install_filter()
        hydra = HydraConfig.get()
        folder = Path(hydra.runtime.output_dir) / (hydra.output_subdir or ".hydra")
        for name in HYDRA_FILES:
            redact_file(folder / name)
        if hydra.mode is not None and str(hydra.mode).endswith("MULTIRUN"):
            redact_file(Path(hydra.sweep.dir) / "multirun.yaml")

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        redact_file(Path(config.hydra.sweep.dir) / "multirun.yaml")
