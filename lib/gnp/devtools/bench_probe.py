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
    """Samples the memory and the CPU time of a set of processes in a thread; keeps the peak.

    Memory is counted once however many processes map it: each process's PSS
    (its private pages plus its share of pages it shares). Summed RSS would
    count a page once per process: a JVM forking a helper (Hadoop's shell
    commands, ``jspawnhelper``) briefly shows two processes of the JVM's full
    RSS, and a 2.7 GB JVM was reported as 5.3 GB. Between samples, each
    process's own peak RSS as the kernel tracks it (``VmHWM``) catches what the
    sampling interval misses: the peak is the larger of the two.
    """

    def __init__(self, find: Callable[[], list[psutil.Process]], interval_s: float = SAMPLE_INTERVAL_S):
        self._find, self._interval = find, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_bytes = 0  # the largest sampled sum of PSS
        self.peak_process_bytes = 0  # the largest kernel-tracked peak RSS of any one process
        self._cpu: dict[int, float] = {}

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for proc in self._find():
                try:
                    total += process_memory(proc)
                    self.peak_process_bytes = max(self.peak_process_bytes, peak_rss(proc))
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
        return round(max(self.peak_bytes, self.peak_process_bytes) / MB, 1)

    @property
    def cpu_s(self) -> float:
        """CPU time of every process seen, as last sampled (a process's CPU until shortly before it ended)."""
        return round(sum(self._cpu.values()), 1)


def process_memory(proc: psutil.Process) -> int:
    """Bytes of memory ``proc`` accounts for: PSS where the system reports it, else RSS."""
    try:
        return proc.memory_full_info().pss
    except (AttributeError, psutil.AccessDenied):  # no PSS on this platform, or not ours to read
        return proc.memory_info().rss


def peak_rss(proc: psutil.Process) -> int:
    """The kernel's high-water mark of ``proc``'s RSS (Linux ``VmHWM``), in bytes; 0 where unknown."""
    try:
        with open(f"/proc/{proc.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


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
