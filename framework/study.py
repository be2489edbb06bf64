"""``chainsleuth study``: run a named study (one or more Hydra multiruns) and write its report.

A study lives in ``experiments/<name>/study.yaml``: the report mapping read by
:mod:`framework.report`, plus ``profiles``: for each profile (``full``, ``quick`` ...) a list of
sweeps, each a list of Hydra overrides for ``chainsleuth run -m``. Every sweep of a run goes to
``<out>/<profile>/<i>``, all with ``study=<name>`` (the W&B group) and ``resume=true``, so an
interrupted study continues where it stopped. The report and the study's ``runs.csv`` (one row
per job and seed) are written next to ``study.yaml`` for the full profile (that is what gets
committed) and into the output folder otherwise.

Outputs outside git do not survive a machine that goes away, so a long study is finished over
several sittings from its committed per-job record: ``--resume-from experiments/<name>/runs.csv``
skips every job that file holds (same overrides, same config fingerprint) and the new
``runs.csv`` holds the committed rows plus the new ones.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
import subprocess
import sys
import time
from pathlib import Path

import yaml

from framework.errors import ConfigError, DataError
from framework.leaderboard import Leaderboard
from framework.plugin_manager import PluginManager
from framework.report import write_report
from framework.results import write_atomic
from framework.runs import RUNS_FILE, CommittedRuns


@dataclass(frozen=True)
class TuneSpec:
    """An equal tuning budget: ``trials`` Optuna trials per method, setting and seed, each
    scored by ``metric`` on a validation split of that seed's training rows (``seed``: the
    seed to tune when a sweep names none)."""

    trials: int
    metric: str = "macro_f1"
    seed: int = 0


@dataclass(frozen=True)
class Profile:
    sweeps: list[list[str]]
    tune: TuneSpec | None = None


def profiles(study_file: Path) -> dict[str, Profile]:
    """A profile is a list of sweeps, or ``{tune: {trials, metric, seed}, sweeps: [...]}``."""
    raw = yaml.safe_load(Path(study_file).read_text()) or {}
    found = raw.get("profiles")
    if not isinstance(found, dict) or not found:
        raise ConfigError(f"{study_file}: no 'profiles' (name -> list of override lists)")
    out = {}
    for name, body in found.items():
        tune = None
        if isinstance(body, dict):
            try:
                tune = TuneSpec(**body["tune"])
            except (KeyError, TypeError) as exc:
                raise ConfigError(f"{study_file}: profile '{name}' needs tune: {{trials, "
                                  f"metric, seed}} and sweeps ({exc})") from None
            body = body.get("sweeps") or []
        out[name] = Profile([list(map(str, sweep)) for sweep in body], tune)
    return out


def run_study(study_file: Path, profile: str, out: Path, jobs: int,
              extra: list[str], resume_from: Path | None = None,
              manager: PluginManager | None = None) -> Path:
    study_file = Path(study_file)
    name = study_file.parent.name
    available = profiles(study_file)
    if profile not in available:
        raise ConfigError(f"{study_file}: no profile '{profile}'; it has {sorted(available)}")
    if resume_from is not None:
        resume_from = Path(resume_from).resolve()
        check_resume_file(CommittedRuns.load(resume_from), name,
                          available[profile].sweeps[0], extra, manager)
        extra = [*extra, f"resume_from={resume_from}"]
    launcher = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"] if jobs > 1 else []
    env = {**os.environ}
    if jobs > 1:  # one thread per worker (they share the cores); bars of parallel jobs would
        # interleave on one terminal, so the per-job lines report progress instead
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", CHAINSLEUTH_QUIET="1")
    chosen = available[profile]
    started = time.perf_counter()
    sweeps = [(str(i), overrides) for i, overrides in enumerate(chosen.sweeps)]
    if chosen.tune is not None:
        sweeps = _tuned_sweeps(chosen, out / profile / "tuning", name, extra, launcher, env, jobs,
                               manager)
    sweep_dirs, failed = [], 0
    for index, (folder, overrides) in enumerate(sweeps):
        sweep_dir = out / profile / folder
        command = [sys.executable, "-m", "framework.cli", "run", "-m", *overrides, *extra,
                   *launcher, f"study={name}", "resume=true", f"hydra.sweep.dir={sweep_dir}"]
        print(f"[chainsleuth] study {name} ({profile}) sweep {index + 1}/"
              f"{len(sweeps)}: {' '.join(overrides)}", flush=True)
        failed += subprocess.run(command, env=env).returncode != 0
        if not sweep_dir.is_dir():
            raise ConfigError(f"{study_file}: sweep {index + 1} of profile '{profile}' did not "
                              f"start (see the error above): {' '.join(overrides)}")
        sweep_dirs.append(sweep_dir)
    wall = time.perf_counter() - started
    calls = _record_call(out / profile, wall, jobs)
    target = study_file.parent if profile == "full" else out / profile
    total = sum(call["wall_s"] for call in calls)
    wall_note = f"{total / 60:.1f} min" if len(calls) == 1 else (
        f"{total / 60:.1f} min over {len(calls)} calls (a resume reruns only missing or failed "
        f"jobs): " + ", ".join(f"{call['wall_s'] / 60:.1f}" for call in calls) + " min")
    notes = {"profile": profile, "wall time of the sweeps": wall_note,
             "launcher": f"joblib, {jobs} workers" if jobs > 1 else "basic (sequential)",
             "command": f"chainsleuth study {study_file} --profile {profile} --jobs {jobs}"}
    runs_files = [resume_from] if resume_from is not None else []
    board = Leaderboard.from_dirs(sweep_dirs, runs_files=runs_files)
    write_atomic(target / RUNS_FILE, board.runs.to_csv(index=False))
    tuning = out / profile / "tuning" if chosen.tune is not None else None
    if chosen.tune is not None:
        notes["tuning"] = (f"{chosen.tune.trials} Optuna (TPE) trials per method, setting and "
                           f"seed, each scored by {chosen.tune.metric} on 25 % of that seed's "
                           f"training rows; no search sees a test row of its seed")
    report = write_report(study_file, sweep_dirs, target, notes, runs_files=runs_files,
                          tuning_dirs=[tuning] if tuning is not None else [])
    print(f"[chainsleuth] study {name}: report {report} ({wall / 60:.1f} min"
          f"{f', {failed} sweep(s) with failed jobs' if failed else ''})")
    return report


def check_resume_file(committed: CommittedRuns, study: str, first_sweep: list[str],
                      extra: list[str], manager: PluginManager | None = None) -> None:
    """Refuse a ``--resume-from`` file of another study, or one made with another config of
    this study's first job (then every job would silently rerun and the file's rows, computed
    under other settings, would be merged with the new ones)."""
    others = committed.studies() - {study}
    if others:
        raise DataError(f"{committed.path}: holds runs of study {sorted(others)}, not '{study}'; "
                        f"nothing was run or overwritten")
    overrides = [*_first_job(first_sweep), *extra, f"study={study}"]
    from framework.hydra_app import compose_config
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(compose_config(overrides, manager), resolve=True)
    if committed.match(overrides, config) == "other-config":
        raise DataError(f"{committed.path}: its row for {' '.join(sorted(overrides))} was made "
                        f"with another configuration (config fingerprint differs: a default or "
                        f"a study override changed); resume from a runs.csv of this config, or "
                        f"start afresh. Nothing was run or overwritten")


def _tuned_sweeps(profile: Profile, tuning_dir: Path, study: str, extra: list[str],
                  launcher: list[str], env: dict[str, str], jobs: int,
                  manager: PluginManager | None) -> list[tuple[str, list[str]]]:
    """Tune every (setting, method) *per seed* with the same number of trials, then return one
    evaluation sweep per (setting, method) over all seeds, each seed run with its own best
    parameters (``tune.best_by_seed``).

    Per seed, because hyper-parameters chosen on one seed's training rows would have seen
    labels that are test rows of the other seeds' splits. A tuning search whose folder already
    holds its ``optimization_results.yaml`` is reused, so a resumed study does not search
    again; trials run one after another (``n_jobs=1``), so the same seed finds the same
    parameters.
    """
    import itertools
    import json

    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from framework.hydra_app import compose_config
    from framework.paths import config_dir

    tune = profile.tune
    finals = []
    for index, sweep in enumerate(profile.sweeps):
        fixed, swept, seeds = [], [], [str(tune.seed)]
        for override in OverridesParser.create().parse_overrides(sweep):
            key = override.get_key_element()
            if key == "seed":
                seeds = (list(override.sweep_string_iterator()) if override.is_sweep_override()
                         else [override.get_value_element_as_str()])
            elif override.is_sweep_override():
                swept.append([f"{key}={v}" for v in override.sweep_string_iterator()])
            else:
                fixed.append(override.input_line)
        for combination in itertools.product(*swept):
            job = [*fixed, *combination]
            model = compose_config([*job, *extra], manager).model.name
            if not (config_dir() / "search" / f"{model}.yaml").is_file():
                raise ConfigError(f"model '{model}' has no search space "
                                  f"conf/search/{model}.yaml; a tuned study gives every method "
                                  f"the same budget, so each needs one")
            name = f"{index}-{len(finals)}"
            best_by_seed = {}
            for seed in seeds:
                folder = tuning_dir / f"{name}-seed{seed}"
                found = folder / "optimization_results.yaml"
                if not found.is_file():
                    print(f"[chainsleuth] study {study}: tuning {' '.join(job)} seed {seed} "
                          f"({tune.trials} trials)", flush=True)
                    subprocess.run([
                        sys.executable, "-m", "framework.cli", "run", "-m", *job, *extra,
                        f"seed={seed}", "hydra/sweeper=optuna", f"+search={model}",
                        f"hydra.sweeper.n_trials={tune.trials}", "hydra.sweeper.n_jobs=1",
                        "hydra.sweeper.direction=maximize", f"hydra.sweeper.sampler.seed={seed}",
                        "tune.enabled=true", f"tune.metric={tune.metric}", f"study={study}",
                        f"hydra.sweep.dir={folder}"], env=env)
                if not found.is_file():
                    raise ConfigError(f"tuning of {' '.join(job)} seed {seed} wrote no {found} "
                                      f"(see the error above)")
                best_by_seed[seed] = OmegaConf.to_container(OmegaConf.load(found))["best_params"]
            finals.append((name, [*job, f"seed={','.join(seeds)}",
                                  f"tune.best_by_seed='{json.dumps(best_by_seed)}'"]))
    return finals


def _first_job(sweep: list[str]) -> list[str]:
    """The overrides of a sweep's first job (each swept list at its first value)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    first = []
    for override in OverridesParser.create().parse_overrides(sweep):
        value = (next(iter(override.sweep_string_iterator())) if override.is_sweep_override()
                 else override.get_value_element_as_str())
        first.append(f"{override.get_key_element()}={value}")
    return first


def _record_call(profile_dir: Path, wall: float, jobs: int) -> list[dict]:
    """Append this call to the profile's ledger (``calls.jsonl``) and return every call, so a
    study finished by resuming reports the wall time of all its calls, not only the last."""
    ledger = profile_dir / "calls.jsonl"
    calls = [json.loads(line) for line in ledger.read_text().splitlines()] if ledger.is_file() else []
    calls.append({"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_s": round(wall, 1),
                  "jobs": jobs})
    write_atomic(ledger, "".join(json.dumps(call) + "\n" for call in calls))
    return calls
