"""``gnp bench-dashboard``: the served dashboard timed in headless Chromium, visitor after visitor.

Starts Voila exactly as ``gnp dashboard`` does (pool, culling, cap from the
params) over the params' Gold, building a sample Gold with ``gnp run`` first
if there is none. Visitors arrive ``spacing_s`` apart, each in a browser
context of its own (a first visit: nothing cached), and stay on their page;
each is timed from navigation until every chart is drawn. Then a set of
filter changes is timed on the first and the last visitor's page, from the
change until every chart and caption shows the new selection. Kernels and
their memory are read from Voila's child processes at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from gnp.core.config import Params, load_params
from gnp.core.errors import GnpError, SetupError
from gnp.dashboard.selection import filter_options
from gnp.dashboard.source import open_gold
from gnp.devtools.dashboard_probe import ALL_DRAWN, CHROMIUM, CHROMIUM_ARGS, CURRENT, kernel_processes, serving

FIGURES = 13  # the map and twelve charts
TIMEOUT_MS = 180_000
GOAL_VISIT_S, GOAL_CHANGE_S = 3.0, 1.0


@dataclass
class DashboardBenchOptions:
    visitors: int = 5
    spacing_s: float = 10.0  # 5 visitors 10 s apart: all within a minute
    pool: int | None = None  # pre-heated kernels; None: the params' dashboard.kernel_pool


@dataclass
class DashboardBenchResult:
    conditions: dict[str, str]
    visits: list[tuple[float, float]] = field(default_factory=list)  # (arrival offset s, seconds to all drawn)
    changes: list[tuple[str, float, float]] = field(default_factory=list)  # (change, s to redrawn, s in the kernel)
    kernels: int = 0
    kernel_mb: list[float] = field(default_factory=list)


def gold_summary(params: Params) -> str | None:
    """Gold's period and size, or None when there is no Gold to show."""
    try:
        with open_gold(params) as gold:
            options = filter_options(gold)
            cells = gold.frame(f"SELECT COUNT(*) AS n FROM {gold.table('area_isp_metrics')}")["n"].iloc[0]
    except Exception:
        return None
    if options.last_date is None:
        return None
    return (f"{options.first_date} .. {options.last_date} ({(options.last_date - options.first_date).days + 1} days), "
            f"{int(cells):,} area_isp_metrics cells, {len(options.peripheries)} peripheries, {len(options.isps)} ISPs")


def ensure_gold(params_file: str) -> str:
    """The Gold the bench shows: the last run's, or a sample one built now with ``gnp run``."""
    summary = gold_summary(load_params(params_file))
    if summary is not None:
        return f"the last run's Gold ({summary})"
    print(f"no Gold to show for {params_file}: building it with `gnp run --params {params_file}` (a few minutes)",
          flush=True)
    subprocess.run([sys.executable, "-m", "gnp.cli", "run", "--params", params_file], check=True)
    summary = gold_summary(load_params(params_file))
    if summary is None:
        raise GnpError(f"`gnp run --params {params_file}` left no Gold to show; see its output above")
    return f"a Gold built by the bench with gnp run ({summary})"


async def _change(page, action, label: str) -> tuple[str, float, float]:
    """Seconds from the change to every chart drawn for it, and the kernel's share (the page's "drawn in")."""
    generation = int(await page.get_attribute(".gnp-status", "data-generation")) + 1
    started = time.perf_counter()
    await action()
    await page.wait_for_function(CURRENT, arg=generation, timeout=TIMEOUT_MS)
    await page.wait_for_function(ALL_DRAWN, arg=FIGURES, timeout=TIMEOUT_MS)
    seconds = time.perf_counter() - started
    kernel = re.search(r"drawn in ([0-9.]+) s", await page.inner_text(".gnp-status"))
    return label, seconds, float(kernel.group(1)) if kernel else float("nan")


async def _select_second(page, name: str) -> None:
    await page.select_option(f".gnp-filter-{name} select", index=1)


async def _filter_changes(page, who: str) -> list[tuple[str, float, float]]:
    """Periphery, regional unit, ISP, start date, then back to all ISPs: each a full redraw."""
    # A week ending where the shown range ends (the first view is the latest whole month, which may end
    # before the last day with data: a week back from that day could leave a one-day range, a lone point).
    end = await page.input_value(".gnp-filter-date-to input")
    start = (dt.date.fromisoformat(end) - dt.timedelta(days=6)).isoformat()
    steps = [("periphery", lambda: _select_second(page, "periphery")),
             ("regional unit", lambda: _select_second(page, "regional-unit")),
             ("ISP", lambda: _select_second(page, "isp")),
             ("start date", lambda: page.fill(".gnp-filter-date-from input", start)),
             ("all ISPs again", lambda: page.select_option(".gnp-filter-isp select", index=0))]
    return [(f"{who}: {label}", seconds, kernel) for label, seconds, kernel in
            [await _change(page, action, label) for label, action in steps]]


async def _visit(browser, url: str, arrival: float, started: float, pages: list) -> tuple[float, float]:
    await asyncio.sleep(max(0.0, started + arrival - time.perf_counter()))
    context = await browser.new_context(viewport={"width": 1320, "height": 900})
    page = await context.new_page()
    begun = time.perf_counter()
    await page.goto(url, timeout=TIMEOUT_MS)
    await page.wait_for_function(ALL_DRAWN, arg=FIGURES, timeout=TIMEOUT_MS)
    pages.append((arrival, page))
    return begun - started, time.perf_counter() - begun


async def _drive(url: str, options: DashboardBenchOptions, result: DashboardBenchResult) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages: list = []
        started = time.perf_counter()
        result.visits = list(await asyncio.gather(*(_visit(browser, url, i * options.spacing_s, started, pages)
                                                     for i in range(options.visitors))))
        pages.sort(key=lambda p: p[0])
        chosen = [("visitor 1", pages[0][1])] + ([(f"visitor {len(pages)}", pages[-1][1])] if len(pages) > 1 else [])
        for who, page in chosen:
            result.changes += await _filter_changes(page, who)
        await browser.close()


def run_dashboard_bench(params_file: str, options: DashboardBenchOptions) -> DashboardBenchResult:
    if not os.path.exists(CHROMIUM):
        raise SetupError(f"{CHROMIUM} is missing: install it (apt-get install -y chromium), then run again")
    gold = ensure_gold(params_file)
    dashboard = load_params(params_file).dashboard
    if options.pool is not None:
        dashboard = dashboard.model_copy(update={"kernel_pool": options.pool})
    result = DashboardBenchResult(conditions={
        "machine": f"{os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GB RAM",
        "load average at start (1 min)": f"{os.getloadavg()[0]:.2f}",
        "data": gold,
        "kernels": f"pool {dashboard.kernel_pool}, at most {dashboard.max_kernels}, "
                   f"idle ones culled after {dashboard.cull_idle_s} s",
        "visitors": f"{options.visitors}, {options.spacing_s:g} s apart, each staying on the page",
    })
    begun = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gnp-bench-dashboard-") as tmp, \
            serving(params_file, dashboard, Path(tmp) / "voila.log") as (url, voila):
        # what a cold start costs on top of the container's: Voila up and its pool's kernels through the notebook
        result.conditions["Voila start to pool heated"] = f"{time.perf_counter() - begun:.1f} s"
        asyncio.run(_drive(url, options, result))
        result.conditions["load average at the end (1 min)"] = f"{os.getloadavg()[0]:.2f}"
        kernels = kernel_processes(voila)
        result.kernels = len(kernels)
        for kernel in kernels:
            with contextlib.suppress(psutil.Error):
                result.kernel_mb.append(kernel.memory_full_info().uss / 2**20)
    return result


def _stats(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s, max {max(values):.2f} s" if values else "none"


def markdown(result: DashboardBenchResult) -> str:
    lines = ["| Conditions | |", "|---|---|", *(f"| {k} | {v} |" for k, v in result.conditions.items()), "",
             "| Step | Seconds | of which in the kernel |", "|---|---:|---:|"]
    lines += [f"| visitor {i + 1} (arrives at {arrival:.0f} s): navigation to all {FIGURES} charts drawn | "
              f"{seconds:.2f} | |" for i, (arrival, seconds) in enumerate(result.visits)]
    lines += [f"| {label}: change to every chart redrawn | {seconds:.2f} | {kernel:.2f} |"
              for label, seconds, kernel in result.changes]
    visits, changes = [s for _, s in result.visits], [s for _, s, _ in result.changes]
    mb = result.kernel_mb
    lines += ["", f"Visits: {_stats(visits)} (goal: at most {GOAL_VISIT_S:g} s each).",
              f"Filter changes: {_stats(changes)} (goal: at most {GOAL_CHANGE_S:g} s each); in the kernel: "
              f"{_stats([k for _, _, k in result.changes])}.",
              f"Kernels after the visits: {result.kernels} (visitors' and pool's), unique memory "
              + (f"median {statistics.median(mb):.0f} MB, max {max(mb):.0f} MB each." if mb else "unknown.")]
    return "\n".join(lines)
