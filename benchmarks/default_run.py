"""The default run (``chainsleuth run``: the quickstart, 12 jobs) idle and beside busy neighbours.

    python benchmarks/default_run.py [--load 2] [--threads 1] [--json]

Runs the quickstart in a fresh folder twice, side by side with its peer condition: once on an
otherwise idle machine, once while ``--load`` other processes train a torch MLP with torch's
default threads (one per core), as a colleague's jobs on a shared machine would. Reported: the
wall time of each, and the loaded over idle ratio. ``--threads`` is the framework's thread
setting for the quickstart's jobs (``threads=``; 1 is the default); ``--threads auto`` gives
each job every core, the behaviour before the framework set a budget.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NEIGHBOUR = """
import torch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 2))
opt = torch.optim.Adam(net.parameters())
x, y = torch.randn(4096, 256), torch.randint(0, 2, (4096,))
while True:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
"""


def quickstart(threads: str) -> float:
    with tempfile.TemporaryDirectory() as folder:
        tick = time.perf_counter()
        subprocess.run([sys.executable, "-m", "framework.cli", "quickstart", f"threads={threads}",
                        f"hydra.sweep.dir={Path(folder) / 'sweep'}"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=2, help="busy torch neighbours")
    parser.add_argument("--threads", default="1", help="threads= for the quickstart's jobs")
    parser.add_argument("--json", action="store_true", help="one JSON line for machines")
    args = parser.parse_args()
    idle = quickstart(args.threads)
    neighbours = [subprocess.Popen([sys.executable, "-c", NEIGHBOUR]) for _ in range(args.load)]
    try:
        time.sleep(5)  # let them reach full speed
        loaded = quickstart(args.threads)
    finally:
        for process in neighbours:
            process.kill()
    result = {"benchmark": "default_run", "threads": args.threads, "load": args.load,
              "idle_wall_s": round(idle, 1), "loaded_wall_s": round(loaded, 1),
              "loaded_over_idle": round(loaded / idle, 2)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"quickstart (threads={args.threads}): idle {idle:.0f} s; beside {args.load} busy "
              f"torch processes {loaded:.0f} s ({loaded / idle:.2f}x)")


if __name__ == "__main__":
    main()
