"""Voila's kernels under visitors, in headless Chromium: idle ones culled, never more than the cap.

Served as ``gnp dashboard`` serves it, with a 4-second idle timeout (the
params allow 60 s at least; ``model_construct`` skips that check) so the test
sees culling happen. Kernels are counted as Voila's ipykernel child processes.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from gnp.config import DashboardParams
from gnp.dashboard.probe import ALL_DRAWN, CHROMIUM, CHROMIUM_ARGS, kernel_processes, serving

pytestmark = pytest.mark.slow

FIGURES = 12
POOL, CAP, IDLE_S = 1, 2, 4


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


def test_idle_visitors_kernels_are_culled_and_never_more_than_the_cap(gold_params_file, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    settings = DashboardParams.model_construct(kernel_pool=POOL, cull_idle_s=IDLE_S, max_kernels=CAP)
    log = tmp_path / "voila.log"
    with serving(gold_params_file, settings, log) as (url, voila), sync_playwright() as pw:
        counter = KernelCounter(voila)
        counter.start()
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = []
        for _visitor in range(3):  # the third arrives with the cap reached: it waits for a culled kernel's slot
            page = chromium.new_page()
            page.goto(url, timeout=180_000)
            page.wait_for_function(ALL_DRAWN, arg=FIGURES, timeout=180_000)
            pages.append(page)
        # every visitor stays on the page, idle: their kernels go, the pool's stays
        left = _wait_for_kernels(voila, POOL, timeout=60)
        counter.done.set()
        counter.join()
        chromium.close()
        served = log.read_text()
    assert left == POOL, f"expected only the pool's {POOL} kernel left after the visitors idled, found {left}"
    assert max(counter.counts) <= CAP, f"expected at most {CAP} kernels at once, found {max(counter.counts)}"
    assert served.count("seconds of inactivity") >= 3, \
        f"expected the three visitors' kernels culled in the log:\n{served[-3000:]}"
    assert "a visitor waits" in served, "expected the third visitor to wait for a slot"
