"""Voila's kernels under visitors, in headless Chromium: idle ones culled, never more than the cap.

Served as ``gnp dashboard`` serves it, with a 12-second idle timeout (the
params allow 60 s at least; ``model_construct`` skips that check) so the test
sees culling happen. Kernels are counted as Voila's ipykernel child processes.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from gnp.core.config import DashboardParams
from gnp.devtools.dashboard_probe import ALL_DRAWN, CHROMIUM, CHROMIUM_ARGS, kernel_processes, serving

pytestmark = pytest.mark.slow

FIGURES = 13  # the map and twelve charts
POOL, CAP, IDLE_S = 1, 2, 12


class KernelCounter(threading.Thread):
    """Samples how many kernels Voila runs, every 0.2 s, until stopped."""

    def __init__(self, voila):
        super().__init__(daemon=True)
        self.voila, self.counts, self.done = voila, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            self.counts.append(len(kernel_processes(self.voila)))
            time.sleep(0.2)


def _wait_for_kernels(voila, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(kernel_processes(voila)) == expected:
            return expected
        time.sleep(0.25)
    return len(kernel_processes(voila))


async def _three_visitors_at_once(url: str) -> None:
    """Three pages opened together and left idle: one takes the pool's kernel, one the refill, one must wait."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = [await chromium.new_page() for _ in range(3)]
        await asyncio.gather(*(page.goto(url, timeout=180_000) for page in pages))
        await asyncio.gather(*(page.wait_for_function(ALL_DRAWN, arg=FIGURES, timeout=180_000) for page in pages))
        await chromium.close()


def test_idle_visitors_kernels_are_culled_and_never_more_than_the_cap(gold_params_file, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")

    # the third visitor waits for a culled kernel (well beyond IDLE_S), not for the busy page (test_busy.py)
    settings = DashboardParams.model_construct(kernel_pool=POOL, cull_idle_s=IDLE_S, max_kernels=CAP, busy_wait_s=150)
    log = tmp_path / "voila.log"
    with serving(gold_params_file, settings, log) as (url, voila):
        counter = KernelCounter(voila)
        counter.start()
        asyncio.run(_three_visitors_at_once(url))
        # the visitors have left (or idled): their kernels go, the pool's stays
        left = _wait_for_kernels(voila, POOL, timeout=60)
        counter.done.set()
        counter.join()
        served = log.read_text()
    assert max(counter.counts) <= CAP, f"expected at most {CAP} kernels at once, found {max(counter.counts)}"
    assert "a visitor waits" in served, "expected the third visitor to wait for a slot"
    assert left == POOL, f"expected only the pool's {POOL} kernel left after the visitors idled, found {left}"
    assert "seconds of inactivity" in served, f"expected idle kernels culled in the log:\n{served[-3000:]}"
