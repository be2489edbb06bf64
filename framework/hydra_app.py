"""The Hydra side of ``chainsleuth run``: config store, task function, sweep callback.

Plugins without a YAML file in ``conf/<kind>/`` get a config node generated from their factory's
keyword defaults, so a third-party model is selectable as ``model=<name>`` with no YAML at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from framework.errors import ChainSleuthError, ConfigError
from framework.leaderboard import Leaderboard
from framework.paths import config_dir
from framework.plugin_manager import PluginManager
from framework.redaction import redact_text
from framework.registry import KINDS
from framework.runner import JobInfo, run_job
from framework.session import Session, current_session, worker_session


def register_plugin_configs(manager: PluginManager,
                            selected: list[tuple[str, str]] | None = None) -> None:
    """Store a config node for every plugin that has no YAML file in its config group, or only
    for the ``selected`` (kind, name) pairs: a node is built from the factory's defaults, which
    imports the plugin, so a run imports only the plugins it names."""
    store = ConfigStore.instance()
    root = config_dir()
    wanted = None if selected is None else set(selected)
    for kind in KINDS:
        for entry in manager.registry.entries(kind):
            if wanted is not None and (kind, entry.name) not in wanted:
                continue
            if not (root / kind / f"{entry.name}.yaml").is_file():
                store.store(group=kind, name=entry.name,
                            node={"name": entry.name, **entry.defaults()},
                            provider=entry.provider.distribution)


def selected_plugins(overrides: list[str]) -> list[tuple[str, str]]:
    """The (kind, name) pairs that ``kind=a,b`` overrides select (``dataset@target_dataset``
    counts as a dataset)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise ConfigError(f"cannot parse overrides: {exc}") from None
    selected = []
    for override in parsed:
        kind = override.key_or_group.lstrip("+").split("@", 1)[0]
        if kind not in KINDS or override.is_delete():
            continue
        values = (list(override.sweep_string_iterator()) if override.is_sweep_override()
                  else [override.get_value_element_as_str()])
        selected += [(kind, value) for value in values]
    return selected


def compose_config(overrides: list[str], manager: PluginManager | None = None) -> DictConfig:
    """The job config a ``chainsleuth run`` with these overrides would get (no Hydra run),
    with the plugins of ``manager`` (a fresh manager's when none is given)."""
    from hydra import compose, initialize_config_dir

    register_plugin_configs(manager or PluginManager(), selected_plugins(overrides))
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


class HydraJob:
    """Hydra's task function: runs one job in its session.

    Pickled by a parallel launcher, it arrives in the worker without the session (sessions hold
    loaded plugins and datasets and stay in their process) and uses that worker's own session.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def __reduce__(self) -> tuple[Any, tuple]:
        return _job_in_worker, ()

    def __call__(self, cfg: DictConfig) -> dict[str, Any] | float:
        """Run one job; a tuning trial returns its objective (a float) to the Optuna sweeper."""
        return _run_hydra_job(cfg, self.session)


def _job_in_worker() -> HydraJob:
    return HydraJob(worker_session())


def _run_hydra_job(cfg: DictConfig, session: Session) -> dict[str, Any] | float:
    hydra_cfg = HydraConfig.get()
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    job = JobInfo(output_dir=Path(hydra_cfg.runtime.output_dir), name=hydra_cfg.job.name,
                  num=hydra_cfg.job.num if multirun else None,
                  overrides=list(hydra_cfg.overrides.task),
                  sweep_dir=Path(hydra_cfg.sweep.dir) if multirun else None)
    record = run_job(cfg, job, session,
                     parallel_jobs=_parallel_jobs(hydra_cfg.launcher) if multirun else 1)
    if record["status"] == "failed":
        error = record["error"]
        print(f"[chainsleuth] FAILED {cfg.dataset.name} / {cfg.scenario.name} / "
              f"{cfg.get('method_name') or cfg.model.name} seed {cfg.seed}: {error['type']}: "
              f"{error['message']}\n  result: {job.output_dir / 'result.json'}")
    elif record["status"] == "ok":
        metrics = record["metrics"]
        print(f"[chainsleuth] {record['dataset']['name']} ({record['dataset']['provenance']['origin']})"
              f" / {record['task']['name']} / {cfg.get('method_name') or cfg.model.name} "
              f"seed {cfg.seed}: "
              f"macro-F1 {metrics['macro_f1']:.4f}, accuracy {metrics['accuracy']:.4f} "
              f"({record['timings']['total_s']:.1f} s)\n  result: {job.output_dir / 'result.json'}")
    if cfg.get("tune") is not None and cfg.tune.get("enabled"):
        metric = cfg.tune.metric
        value = (record.get("metrics") or {}).get(metric)
        if record["status"] == "ok" and value is None:
            raise ConfigError(f"tune.metric '{metric}' is not in this job's metrics "
                              f"({', '.join(k for k, v in record['metrics'].items() if isinstance(v, float))})")
        return float(value) if value is not None else -1.0  # -1: every metric's floor
    return record


def _parallel_jobs(launcher: DictConfig) -> int:
    """How many jobs a launcher runs at once on this machine (joblib's n_jobs, where -1 means
    one per core); launchers that send jobs elsewhere (SLURM, Ray) count as one."""
    n_jobs = launcher.get("n_jobs") if "n_jobs" in launcher else None
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    return n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)


class SweepLeaderboard(Callback):
    """After a multirun: aggregate its results, print and write the leaderboard, tell loggers."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if config.get("tune") is not None and config.tune.get("enabled"):
            print("[chainsleuth] tuning sweep: trials are scored on a validation split of the "
                  "training rows, so they make no leaderboard")
            return
        try:
            board = Leaderboard.from_dirs([sweep_dir])
        except ChainSleuthError as exc:
            print(f"[chainsleuth] no leaderboard: {exc}")
            return
        session = current_session()
        session.outcomes.set_from_statuses(board.runs["status"].tolist())
        failed = session.outcomes.failed
        paths = board.write(sweep_dir, command=_sweep_command(config))
        print("\n" + board.to_text())
        if (board.runs["origin"] == "synthetic").any():
            print("(origin = synthetic: numbers computed on generated data, not on a real chain)")
        print(f"\n[chainsleuth] leaderboard: {paths['md']} | {paths['html']} | {paths['csv']} | "
              f"per job: {paths['runs']}")
        if failed:
            print(f"[chainsleuth] {failed} job(s) failed; see 'Failed jobs' in {paths['html']}")
        _notify_sweep_finished(config, sweep_dir, board, session.plugins)


def _sweep_command(config: DictConfig) -> str:
    """The sweep's command line as the user typed its overrides, credentials redacted, for the
    leaderboard page (which a reviewer reads without the terminal)."""
    return " ".join(["chainsleuth run -m", *map(redact_text, config.hydra.overrides.task)])


def _notify_sweep_finished(config: DictConfig, sweep_dir: Path, board: Leaderboard,
                           manager: PluginManager) -> None:
    """Tell the loggers; one that fails is a warning: the sweep's results are already written."""
    try:
        _tell_sweep_loggers(config, sweep_dir, board, manager)
    except Exception as exc:
        print(f"[chainsleuth] warning: a logger failed after the sweep ({exc!r}); the results "
              f"and leaderboard in {sweep_dir} are complete")


def _tell_sweep_loggers(config: DictConfig, sweep_dir: Path, board: Leaderboard,
                        manager: PluginManager) -> None:
    logger_node = config.get("logger")
    logger = None
    if logger_node is not None and logger_node.get("name") is not None:
        params = OmegaConf.to_container(logger_node, resolve=True)
        logger = manager.registry.create("logger", params)
        manager.attach(logger, f"sweep-logger:{id(logger)}")
    try:
        manager.hook.on_sweep_finished(sweep_dir=sweep_dir, leaderboard=board,
                                       config=OmegaConf.to_container(config, resolve=False))
    finally:
        if logger is not None:
            manager.detach(logger)
