"""What ``gnp bench`` samples while a phase runs: the peak memory and CPU time of processes, and the machine.

psutil in a thread: the phases themselves run unchanged (the real runner, a
DuckDB process), and the sampler only watches them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import psutil

SAMPLE_INTERVAL_S = 0.25
MB = 1024 * 1024


class PeakSampler:
    """Samples the summed RSS and the CPU time of a set of processes in a thread; keeps the peak."""

    def __init__(self, find: Callable[[], list[psutil.Process]], interval_s: float = SAMPLE_INTERVAL_S):
        self._find, self._interval = find, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_bytes = 0
        self._cpu: dict[int, float] = {}

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for proc in self._find():
                try:
                    total += proc.memory_info().rss
                    times = proc.cpu_times()
                    self._cpu[proc.pid] = times.user + times.system
                except psutil.Error:
                    continue
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self._interval)

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return round(self.peak_bytes / MB, 1)

    @property
    def cpu_s(self) -> float:
        """CPU time of every process seen, as last sampled (a process's CPU until shortly before it ended)."""
        return round(sum(self._cpu.values()), 1)


def spark_jvm_trees() -> list[psutil.Process]:
    """Java processes below this one (the run's Spark Connect server), with their children."""
    found: dict[int, psutil.Process] = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.name() == "java":
                found.update({p.pid: p for p in [proc, *proc.children(recursive=True)]})
        except psutil.Error:
            continue
    return list(found.values())


def machine() -> str:
    memory_gb = psutil.virtual_memory().total / 1024**3
    return f"{psutil.cpu_count()} cores, {memory_gb:.0f} GB, load {os.getloadavg()[0]:.1f} at start"
