"""Peak resident memory of this process, sampled, for the memory benchmarks (Linux only)."""

from __future__ import annotations

import resource
import threading


class RssSampler:
    """Samples this process's resident memory every millisecond; keeps the peak."""

    def __init__(self) -> None:
        self.start = self.peak = rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, rss())

    def __enter__(self) -> RssSampler:
        self.start = self.peak = rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def growth_mb(self) -> float:
        """Peak growth over the start, in MiB."""
        return (self.peak - self.start) / 2**20


def rss() -> int:
    """This process's resident memory now, in bytes."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()
