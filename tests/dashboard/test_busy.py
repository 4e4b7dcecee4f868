"""The public dashboard under load: beyond the kernel cap, a bounded wait, then a "busy, retry in N s" page.

Served as ``gnp dashboard`` serves it (Voila in a subprocess through ``gnp.dashboard.voila_app``, the gnp
template, the capped kernel manager), with the cap at 1 and no pool, so that one visitor holds the only
kernel. The first visitor is headless Chromium: it draws the dashboard, then leaves the way a visitor does
(navigating away, which runs the page's own ``beforeunload`` beacon that shuts its kernel down). The second
is a plain HTTP client, which is enough to read a status, a header and a page: a GET of the dashboard is
what asks for a kernel (the notebook runs in it before the page is sent).
"""

from __future__ import annotations

import html
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from gnp.core.config import DashboardParams
from gnp.devtools.dashboard_probe import ALL_DRAWN, CHROMIUM, CHROMIUM_ARGS, kernel_processes, serving

pytestmark = pytest.mark.slow

FIGURES = 13  # the map and twelve charts
CAP, WAIT_S, RETRY_S = 1, 8, 7
PAGE_TIMEOUT_S = 180
# what only a page whose notebook ran in a kernel holds: the dashboard's widget, rendered by the kernel
RAN = "application/vnd.jupyter.widget-view+json"


def visible_text(page: str) -> str:
    body = re.sub(r"(?s)<(script|style|head)\b.*?</\1>", " ", page)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def wait_for_kernels(voila, expected: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(kernel_processes(voila)) != expected:
        time.sleep(0.2)
    return len(kernel_processes(voila))


def test_a_visitor_beyond_the_cap_gets_the_busy_page_then_the_dashboard_once_the_first_leaves(
    gold_params_file, tmp_path
):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    settings = DashboardParams.model_construct(kernel_pool=0, cull_idle_s=600, max_kernels=CAP,
                                               busy_wait_s=WAIT_S, busy_retry_s=RETRY_S)  # fmt: skip
    log = tmp_path / "voila.log"
    with serving(gold_params_file, settings, log) as (url, voila), sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        first = chromium.new_page()
        first.goto(url, timeout=PAGE_TIMEOUT_S * 1000)
        first.wait_for_function(ALL_DRAWN, arg=FIGURES, timeout=PAGE_TIMEOUT_S * 1000)
        assert len(kernel_processes(voila)) == CAP, "expected the first visitor to hold the only kernel"

        # A second visitor while the first stays: the busy page, after the bounded wait, not a page that hangs.
        started = time.monotonic()
        try:
            busy = requests.get(url, timeout=WAIT_S + 30)
        except requests.Timeout:
            pytest.fail(f"expected the busy page within {WAIT_S} s, found no answer after {WAIT_S + 30} s")
        waited = time.monotonic() - started
        text = visible_text(busy.text)
        assert busy.status_code == 503, f"expected 503 for a visitor beyond the cap, found {busy.status_code}: {text}"
        assert busy.headers.get("Retry-After") == str(RETRY_S), f"expected Retry-After {RETRY_S}, found {busy.headers}"
        assert WAIT_S - 0.5 <= waited <= WAIT_S + 10, (
            f"expected the busy page after about {WAIT_S} s, found {waited:.1f} s"
        )
        assert "The dashboard is busy" in text and f"Please retry in {RETRY_S} s" in text, (
            f"expected a readable busy message, found {text!r}"
        )
        assert len(kernel_processes(voila)) == CAP, "expected the busy visitor to start no kernel"

        # The second visitor comes back and waits; the first leaves meanwhile: the second gets the dashboard.
        with ThreadPoolExecutor(max_workers=1) as pool:
            second = pool.submit(requests.get, url, timeout=PAGE_TIMEOUT_S)
            time.sleep(WAIT_S / 4)
            assert not second.done(), "expected the second visitor to wait while the first holds the only kernel"
            first.goto("about:blank")  # leaving: the page's beforeunload beacon asks Voila to shut its kernel
            answer = second.result()
        chromium.close()
        assert answer.status_code == 200 and RAN in answer.text, (
            f"expected the dashboard once the first visitor left, found {answer.status_code}: "
            f"{visible_text(answer.text)[:500]}"
        )
        assert wait_for_kernels(voila, CAP, timeout=10) == CAP, "expected the second visitor's kernel, and only it"
        served = log.read_text()
    assert "a visitor waits up to" in served and "gets the busy page" in served, served[-3000:]
    assert "Kernel shutdown" in served and "403 POST" not in served, (
        f"expected the first visitor's kernel shut down when it left, found:\n{served[-3000:]}"
    )
