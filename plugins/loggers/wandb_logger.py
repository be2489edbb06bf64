"""``wandb`` logger: one W&B run per job, plus the sweep's leaderboard as a W&B Table.

group = study, else the sweep folder's name, else (a folder named by its start time, the
default) ``<dataset>-<scenario>``; job_type = scenario, tags = dataset and model. The config is
flattened and credential-like keys are redacted before they leave the machine. With
``mode: auto`` the run is online when W&B credentials are configured (``WANDB_API_KEY`` or a
``wandb login`` netrc entry) and offline otherwise, in which case the sync command is printed.
Every run is finished, also when the job fails, so a multirun never collapses into one run.
"""

from __future__ import annotations

import netrc
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from framework.hookspecs import hookimpl
from framework.interfaces import RunInfo
from framework.results import redact

MODES = ("auto", "online", "offline", "disabled")
# A folder name made only of digits and separators is a start time (Hydra's and ChainSleuth's
# default sweep folders: 2025-01-31_12-00-00, 2025-01-31_12-00-00-4242, 12-00-00).
TIME_STAMP = re.compile(r"[\d_:.\-]+")


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


def table_frame(frame: Any) -> Any:
    """A frame W&B's Table accepts: text columns as text ("" where missing), numbers with
    missing values as None, never a stand-in number a chart would plot as a score."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(lambda v: "" if v is None or v != v else str(v))
        else:
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def group_name(sweep_name: str, ran_on: Iterable[tuple[str, str]]) -> str:
    """The W&B group of a sweep: its study or folder name, unless that is a start time, which
    tells a reviewer scrolling W&B's run list nothing and splits reruns of one comparison
    into groups; then what the sweep ran on, ``<dataset>-<scenario>`` (``+`` between several).
    """
    if not TIME_STAMP.fullmatch(sweep_name):
        return sweep_name
    return "+".join(sorted({f"{dataset}-{scenario}" for dataset, scenario in ran_on}))


def has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


class WandbLogger:
    def __init__(self, project: str = "chainsleuth", entity: str | None = None,
                 mode: str = "auto", group: str | None = None,
                 tags: list[str] | None = None, init_timeout: float = 15.0) -> None:
        if mode not in MODES:
            raise ValueError(f"logger 'wandb': mode must be one of {MODES}, got '{mode}'")
        self.project = project
        self.entity = entity
        self.mode = ("online" if has_credentials() else "offline") if mode == "auto" else mode
        if os.environ.get("WANDB_MODE") == "":  # an empty value makes wandb.init fail obscurely
            del os.environ["WANDB_MODE"]
        self.group = group
        self.tags = list(tags or [])
        self.init_timeout = float(init_timeout)
        self.run = None

    def _init(self, directory: Path, **kwargs: Any) -> Any:
        import wandb

        directory.mkdir(parents=True, exist_ok=True)
        # W&B records the command line from sys.argv and takes no other source; only when a
        # credential was typed there is it hidden, for the duration of wandb.init.
        saved_argv = sys.argv
        redacted = redact(list(sys.argv))
        if redacted != saved_argv:
            sys.argv = redacted
        try:
            try:
                return self._start(wandb, directory, **kwargs)
            except Exception as exc:  # no network, a bad key, a W&B outage
                if self.mode != "online":
                    raise
                print(f"[chainsleuth] warning: W&B could not start online ({exc!r}); this job "
                      f"logs offline instead (upload later with wandb sync)")
                self.mode = "offline"
                return self._start(wandb, directory, **kwargs)
        finally:
            sys.argv = saved_argv

    def _start(self, wandb: Any, directory: Path, **kwargs: Any) -> Any:
        """``wandb.init`` with a short time-out: a logger must never hold the science up."""
        return wandb.init(project=self.project, entity=self.entity, mode=self.mode,
                          dir=str(directory), reinit="create_new",
                          settings=wandb.Settings(silent=True, console="off",
                                                  init_timeout=self.init_timeout), **kwargs)

    @hookimpl
    def on_run_started(self, run: RunInfo) -> None:
        sweep_group = (group_name(run.sweep_name, [(run.dataset, run.scenario)])
                       if run.sweep_name else "single-runs")
        self.run = self._init(
            run.output_dir, group=self.group or sweep_group,
            job_type=run.scenario, name=f"{run.dataset}-{run.model}-seed{run.seed}",
            tags=[f"dataset:{run.dataset}", f"model:{run.model}", *self.tags],
            config=flatten(redact({k: v for k, v in run.config.items() if k != "hydra"})))

    @hookimpl
    def on_run_finished(self, run: RunInfo, result: dict[str, Any]) -> None:
        import wandb

        if self.run is None:  # start-up failed (recorded as a warning); nothing to log to
            return
        metrics = result["metrics"]
        summary = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        for cls, values in metrics["per_class"].items():
            summary.update({f"per_class/{cls}/{k}": v for k, v in values.items()})
        summary.update({f"timings/{k}": v for k, v in result["timings"].items()})
        summary["peak_memory_mb"] = result.get("peak_memory_mb")
        summary["status"] = "ok"
        summary["dataset_origin"] = result["dataset"]["provenance"]["origin"]
        summary["dataset_fingerprint"] = result["dataset"]["fingerprint"]
        summary["git_commit"] = result["code_version"].get("git_commit")
        matrix = metrics["confusion_matrix"]
        table = wandb.Table(columns=["actual", "predicted", "count"],
                            data=[[a, p, matrix["matrix"][i][j]]
                                  for i, a in enumerate(matrix["labels"])
                                  for j, p in enumerate(matrix["labels"])])
        self.run.log({"confusion_matrix": table})
        self.run.summary.update(summary)
        self._finish(exit_code=0)

    @hookimpl
    def on_run_failed(self, run: RunInfo, result: dict[str, Any], error: BaseException) -> None:
        if self.run is None:
            return
        self.run.summary.update({"status": "failed", "error": f"{type(error).__name__}: {error}"})
        self._finish(exit_code=1)

    @hookimpl
    def on_sweep_finished(self, sweep_dir: Path, leaderboard: Any, config: dict[str, Any]) -> None:
        import wandb

        # The cells' dataset labels carry dataset overrides (``d[days=3]``); jobs are grouped
        # by the dataset's name, so the leaderboard joins their group.
        ran_on = zip(leaderboard.runs["dataset"].astype(str).str.split("[").str[0],
                     leaderboard.runs["scenario"].astype(str))
        group = self.group or group_name(config.get("study") or Path(sweep_dir).name, ran_on)
        self.run = self._init(Path(sweep_dir), group=group, job_type="leaderboard",
                              name=f"{group}-leaderboard", tags=["leaderboard", *self.tags])
        self.run.log({"leaderboard": wandb.Table(dataframe=table_frame(leaderboard.table)),
                      "runs": wandb.Table(dataframe=table_frame(leaderboard.runs.drop(
                          columns=["error", "source"])))})
        self._finish(exit_code=0)

    def _finish(self, exit_code: int) -> None:
        run, self.run = self.run, None
        directory = run.dir
        run.finish(exit_code=exit_code)
        if self.mode == "offline":
            print(f"[chainsleuth] W&B offline run saved; upload it with: "
                  f"wandb sync {Path(directory).parent}")


@hookimpl
def register_loggers() -> dict[str, Callable[..., WandbLogger]]:
    return {"wandb": WandbLogger}
