"""Start-up of the command line, side by side with importing every plugin module.

    python benchmarks/cli_startup.py [--rounds 7] [--json]

Each round runs, in fresh processes: ``python -c pass`` (the interpreter alone), ``chainsleuth
--help``, ``chainsleuth plugins``, and the peer: a process that imports every built-in plugin
module, which is what every command paid before plugins were loaded lazily (the manifest in
``pyproject.toml``; see framework/plugin_manager.py). Reported: the median wall and CPU seconds
over rounds, each command's peak RSS, and the peer's time over the command's (median of the
per-round ratios: a paired measure that a machine whose load swings between rounds moves less).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from importlib.metadata import entry_points

CLI = [sys.executable, "-m", "framework.cli"]


def every_plugin_module() -> list[str]:
    return sorted({ep.value for ep in entry_points(group="chainsleuth")})


def commands() -> dict[str, list[str]]:
    imports = "; ".join(f"import {module}" for module in every_plugin_module())
    return {"python": [sys.executable, "-c", "pass"], "help": [*CLI, "--help"],
            "plugins": [*CLI, "plugins"], "peer_import_all": [sys.executable, "-c", imports]}


# A parent of its own per command, so that ru_maxrss is that command's peak and no other's.
MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
           "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
           "wall = time.perf_counter() - t; u = resource.getrusage(resource.RUSAGE_CHILDREN); "
           "print(wall, u.ru_utime + u.ru_stime, u.ru_maxrss / 1024)")


def timed(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one fresh process."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], check=True,
                          capture_output=True, text=True)
    wall, cpu, rss = (float(v) for v in done.stdout.split())
    return wall, cpu, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    args = parser.parse_args()
    runs = commands()
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    peak: dict[str, list[float]] = {name: [] for name in runs}
    for name, command in runs.items():  # warm the file cache once
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    for _ in range(args.rounds):
        for name, command in runs.items():
            wall, cpu, rss = timed(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
            peak[name].append(rss)
    result: dict[str, float | int] = {"rounds": args.rounds}
    for name in runs:
        result[f"{name}_wall_s"] = round(statistics.median(walls[name]), 3)
        result[f"{name}_cpu_s"] = round(statistics.median(cpus[name]), 3)
        result[f"{name}_peak_rss_mb"] = round(max(peak[name]), 1)
        print(f"{name:16s} wall {result[f'{name}_wall_s']:6.3f} s  cpu "
              f"{result[f'{name}_cpu_s']:6.3f} s  peak RSS {max(peak[name]):7.1f} MB")
    for name in ("help", "plugins"):
        ratio = statistics.median(p / c for p, c in zip(walls["peer_import_all"], walls[name]))
        result[f"peer_over_{name}"] = round(ratio, 1)
        print(f"importing every plugin takes {ratio:.1f}x the wall time of `chainsleuth {name}`")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
