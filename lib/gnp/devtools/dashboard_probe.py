"""What a browser can check on the served dashboard: shared by the browser test and ``gnp bench-dashboard``.

JavaScript predicates evaluated in the page (Playwright's ``wait_for_function``)
and the process-side view of Voila (its kernels, their memory), so the test
and the benchmark time exactly the same thing.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from gnp.core.config import DashboardParams
from gnp.dashboard.serve import DEFAULT_NOTEBOOK, HOST, voila_command, voila_env

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
UNDRAWN = """() => {
  // panels that neither draw data (a vega mark item with an extent: a bar, a point, a line, a text cell;
  // axes alone, or bars of zero width, do not count) nor show their placeholder ("suppressed", "no data")
  const visible = (e) => e.getClientRects().length > 0;
  const drawn = (m) => {
    const role = m.getAttribute('aria-roledescription');
    if (role.endsWith('container') || ['axis', 'legend', 'title'].includes(role)) return false;
    const box = m.getBBox();
    return role.includes('line') ? box.width > 0 || box.height > 0 : box.width > 0 && box.height > 0;
  };
  return [...document.querySelectorAll('.gnp-panel')].filter(p =>
    ![...p.querySelectorAll('svg [aria-roledescription]')].filter(visible).some(drawn)
    && ![...p.querySelectorAll('.gnp-placeholder')].some(visible)
  ).map(p => [...p.classList].find(c => c.startsWith('gnp-figure-')));
}"""
ALL_DRAWN = """(n) => {
  const panels = document.querySelectorAll('.gnp-panel');
  const status = document.querySelector('.gnp-status');
  if (panels.length < n || !status || status.classList.contains('busy')) return false;
  return (UNDRAWN)().length === 0;
}""".replace("UNDRAWN", UNDRAWN)
# every panel drawn for a redraw: its caption and its visible chart (or placeholder) carry that generation
CURRENT = """(generation) => {
  const status = document.querySelector('.gnp-status');
  if (!status || status.classList.contains('busy') || Number(status.dataset.generation) < generation) return false;
  const visible = (e) => e.getClientRects().length > 0;
  return [...document.querySelectorAll('.gnp-panel')].every(p => {
    const caption = p.querySelector('.gnp-caption');
    const shown = [...p.querySelectorAll('.gnp-chart, .gnp-placeholder')].filter(visible);
    return caption && Number(caption.dataset.generation) >= generation && shown.length > 0
      && shown.every(e => Number(e.dataset.generation) >= generation);
  });
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def kernel_processes(voila: subprocess.Popen) -> list[psutil.Process]:
    """Voila's kernels: its child processes running ipykernel."""
    found = []
    for child in psutil.Process(voila.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "ipykernel" in " ".join(child.cmdline()) and child.is_running():
                found.append(child)
    return found


def kernels_cpu_seconds(voila: subprocess.Popen) -> float:
    total = 0.0
    for kernel in kernel_processes(voila):
        with contextlib.suppress(psutil.Error):
            total += sum(kernel.cpu_times()[:2])
    return total


def wait_until_heated(voila: subprocess.Popen, log: Path, pool: int, timeout: float = 180) -> None:
    """Until the pool's kernels have run the notebook, the state a visitor normally meets.

    Voila logs when the pool is filled with started kernels, not when they have run the notebook; kernels
    that stay idle for a second after that have finished. With no pool, until Voila answers.
    """
    deadline, idle_since, last = time.monotonic() + timeout, None, -1.0
    ready = f"is filled with {pool} kernel(s)" if pool > 0 else "Voilà is running at"
    while time.monotonic() < deadline:
        if voila.poll() is not None:
            raise AssertionError(f"voila exited with {voila.returncode}; expected it to serve. Log:\n{log.read_text()}")
        if ready in log.read_text():
            used = kernels_cpu_seconds(voila)
            idle_since = (idle_since or time.monotonic()) if used - last < 0.02 else None
            last = used
            if idle_since and time.monotonic() - idle_since >= 1.0:
                return
        time.sleep(0.25)
    raise AssertionError(f"expected a heated kernel within {timeout} s. Log:\n{log.read_text()}")


@contextlib.contextmanager
def serving(params_file: str | Path, dashboard: DashboardParams, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """Voila as ``gnp dashboard`` starts it, on a free loopback port, heated; stopped (kernels too) on exit."""
    port = free_port()
    with log.open("w") as out:
        voila = subprocess.Popen(voila_command(REPO / DEFAULT_NOTEBOOK, port, dashboard), env=voila_env(params_file),
                                 cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_heated(voila, log, dashboard.kernel_pool)
        yield f"http://{HOST}:{port}/", voila
    finally:
        voila.terminate()
        try:
            voila.wait(timeout=20)
        except subprocess.TimeoutExpired:
            voila.kill()
