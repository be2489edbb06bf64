"""The thread budget of a job: cores shared fairly between the jobs that run at once.

torch, OpenMP and BLAS each start one thread per core by default. With two parallel jobs on
two cores that is four busy threads fighting for two cores, and spinning threads turned 10 s
MLP jobs into 230-330 s ones on a shared machine. The framework, not each plugin, therefore
sets every job's budget: ``os.cpu_count() // parallel jobs`` threads (at least one), applied to
torch and numba (where the job's plugins loaded them) and to every OpenMP/BLAS pool through
threadpoolctl, and recorded in the result.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from collections.abc import Iterator


def budget(parallel_jobs: int, cores: int | None = None) -> int:
    """Threads per job when ``parallel_jobs`` jobs share the machine's cores."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, parallel_jobs))


def for_job(setting: object, parallel_jobs: int, cores: int | None = None) -> int:
    """The threads a job runs with: the config's ``threads`` (a whole number), or with
    ``threads=auto`` its fair share of the cores (:func:`budget`), never more than that share.

    The default is one thread whatever the launcher: the thread count changes the order of
    floating-point sums, so a fixed count is what makes a job's metrics identical under the
    basic and the joblib launcher, and one thread per job is also what keeps a shared machine
    responsive (measured: an MLP job took 110-322 s with a thread per core under load and
    10.5 s with one).
    """
    from framework.errors import ConfigError

    share = budget(parallel_jobs, cores)
    if setting == "auto":
        return share
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise ConfigError(f"threads must be a positive whole number or 'auto' (cores / "
                          f"parallel jobs), got {setting!r}")
    return min(setting, share)


@contextmanager
def limited(threads: int) -> Iterator[int | None]:
    """Run the block with at most ``threads`` threads in torch, numba and OpenMP/BLAS pools;
    yields torch's thread count as applied, or None where torch is not imported (a job without
    torch never loads it just to set its threads; a job's plugins are imported before this)."""
    from threadpoolctl import threadpool_limits

    numba = sys.modules.get("numba")
    if numba is not None:  # numba's parallel kernels (the relay simulator's) take it too
        previous_numba = numba.get_num_threads()
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        torch = sys.modules.get("torch")
        if torch is None:
            with threadpool_limits(limits=threads):
                yield None
            return
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            with threadpool_limits(limits=threads):
                yield torch.get_num_threads()  # what torch applied, read back for the record
        finally:
            torch.set_num_threads(previous)
    finally:
        if numba is not None:
            numba.set_num_threads(previous_numba)
