"""The bench's memory sampler on real processes: shared pages counted once, a peak between samples still seen."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from gnp.devtools.bench_probe import MB, PeakSampler

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PSS and VmHWM are Linux's")

ALLOCATED_MB = 300


def _start(script: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", "the child process did not start"
    return proc


def _tree(proc: subprocess.Popen):
    watched = psutil.Process(proc.pid)
    return lambda: [watched, *watched.children(recursive=True)] if watched.is_running() else []


def test_a_forked_child_sharing_the_parents_pages_is_not_counted_twice():
    # The JVM forks helpers the same way: right after the fork both processes map the same pages.
    proc = _start(f"""
        import os, sys, time
        block = bytearray({ALLOCATED_MB} * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])  # touch every page: resident, allocated once
        pid = os.fork()
        if pid == 0:
            time.sleep(3)
            os._exit(0)
        print("ready", flush=True)
        os.waitpid(pid, 0)
    """)
    with PeakSampler(_tree(proc), interval_s=0.05) as sampler:
        time.sleep(1.5)
        rss_sum = sum(p.memory_info().rss for p in _tree(proc)())
    proc.wait(timeout=30)
    assert rss_sum / MB > 1.8 * ALLOCATED_MB, "the fork should map the block in both processes"
    assert ALLOCATED_MB <= sampler.peak_mb < 1.3 * ALLOCATED_MB, (
        f"peak {sampler.peak_mb} MB for one {ALLOCATED_MB} MB block in two processes (RSS summed: {rss_sum / MB:.0f} MB)"
    )


def test_a_peak_freed_before_the_first_sample_is_still_reported():
    proc = _start(f"""
        import time
        block = bytearray({ALLOCATED_MB} * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])
        del block
        print("ready", flush=True)
        time.sleep(1)
    """)
    assert psutil.Process(proc.pid).memory_info().rss / MB < ALLOCATED_MB / 2, "the block should be freed by now"
    with PeakSampler(_tree(proc), interval_s=0.05) as sampler:
        time.sleep(0.5)
    proc.wait(timeout=30)
    assert sampler.peak_mb >= ALLOCATED_MB
