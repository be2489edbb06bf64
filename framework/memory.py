"""Peak resident memory of one job.

``ru_maxrss`` is a process-lifetime peak, which is wrong for the second job of a sweep that runs
in one process, so a background thread samples RSS while the job runs.
"""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


class PeakMemorySampler:
    """Context manager: ``peak_mb`` is the highest RSS seen while inside (sampled every 20 ms)."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> PeakMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)
