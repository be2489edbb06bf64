"""``chainsleuth study``: run a named study (one or more Hydra multiruns) and write its report.

A study lives in ``experiments/<name>/study.yaml``: the report mapping read by
:mod:`framework.report`, plus ``profiles``: for each profile (``full``, ``quick`` ...) a list of
sweeps, each a list of Hydra overrides for ``chainsleuth run -m``. Every sweep of a run goes to
``<out>/<profile>/<i>``, all with ``study=<name>`` (the W&B group) and ``resume=true``, so an
interrupted study continues where it stopped. The report is written next to ``study.yaml`` for
the full profile (that is what gets committed) and into the output folder otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from framework.errors import ConfigError
from framework.report import write_report
from framework.results import write_atomic


def profiles(study_file: Path) -> dict[str, list[list[str]]]:
    raw = yaml.safe_load(Path(study_file).read_text()) or {}
    found = raw.get("profiles")
    if not isinstance(found, dict) or not found:
        raise ConfigError(f"{study_file}: no 'profiles' (name -> list of override lists)")
    return {name: [list(map(str, sweep)) for sweep in sweeps] for name, sweeps in found.items()}


def run_study(study_file: Path, profile: str, out: Path, jobs: int,
              extra: list[str]) -> Path:
    study_file = Path(study_file)
    name = study_file.parent.name
    available = profiles(study_file)
    if profile not in available:
        raise ConfigError(f"{study_file}: no profile '{profile}'; it has {sorted(available)}")
    launcher = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"] if jobs > 1 else []
    env = {**os.environ}
    if jobs > 1:  # one thread per worker: the workers share the cores
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    sweep_dirs, started, failed = [], time.perf_counter(), 0
    for index, overrides in enumerate(available[profile]):
        sweep_dir = out / profile / str(index)
        command = [sys.executable, "-m", "framework.cli", "run", "-m", *overrides, *extra,
                   *launcher, f"study={name}", "resume=true", f"hydra.sweep.dir={sweep_dir}"]
        print(f"[chainsleuth] study {name} ({profile}) sweep {index + 1}/"
              f"{len(available[profile])}: {' '.join(overrides)}", flush=True)
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
    report = write_report(study_file, sweep_dirs, target, notes)
    print(f"[chainsleuth] study {name}: report {report} ({wall / 60:.1f} min"
          f"{f', {failed} sweep(s) with failed jobs' if failed else ''})")
    return report


def _record_call(profile_dir: Path, wall: float, jobs: int) -> list[dict]:
    """Append this call to the profile's ledger (``calls.jsonl``) and return every call, so a
    study finished by resuming reports the wall time of all its calls, not only the last."""
    ledger = profile_dir / "calls.jsonl"
    calls = [json.loads(line) for line in ledger.read_text().splitlines()] if ledger.is_file() else []
    calls.append({"finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_s": round(wall, 1),
                  "jobs": jobs})
    write_atomic(ledger, "".join(json.dumps(call) + "\n" for call in calls))
    return calls
