"""Serve the dashboard notebook with Voila on 127.0.0.1: ``python -m gnp.dashboard.serve --params FILE``.

The page uses this package's Voila template (``gnp``: no CDN stylesheet, a
loading message), found through JUPYTER_PATH; the kernel finds its params
through GNP_PARAMS. The browser tests and ``gnp bench-dashboard`` start Voila
with ``voila_command`` too (``gnp.devtools.dashboard_probe.serving``), so they check
exactly what ``make dashboard`` serves.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from gnp.core.config import DashboardParams, load_params
from gnp.dashboard import kernels
from gnp.dashboard.app import PARAMS_ENV
from gnp.dashboard.render import write_vega_script

DEFAULT_NOTEBOOK = "notebooks/90_dashboard.ipynb"
DEFAULT_PORT = 8866
HOST = "127.0.0.1"
TEMPLATE = "gnp"
VOILA_MODULE = "gnp.dashboard.voila_app"  # Voila, with the busy page beyond the kernel cap
# Voila refills the pool 1 s after a visitor takes a kernel: the new kernel's start (~1.5 CPU-s) then
# competes with that visitor's first draw. A few seconds later the page is drawn; the rest of the pool
# serves anyone arriving meanwhile.
POOL_REFILL_DELAY_S = 4
TEMPLATES_ROOT = Path(__file__).resolve().parent.parent / "templates"  # holds voila/templates/gnp


def kernel_options(dashboard: DashboardParams) -> list[str]:
    """Voila's kernel settings from the params: pool, culling, cap.

    Pool: ``kernel_pool`` kernels that have already run the notebook wait for the next visitors and are
    refilled as they are taken (0: every visitor starts a kernel). Culling: a visitor's kernel idle for
    ``cull_idle_s`` is shut down, connected or not (an open tab nobody looks at holds as much memory as
    a closed one); Voila never culls the pool's kernels. Cap: at most ``max_kernels`` at once; a visitor
    beyond it waits at most ``busy_wait_s``, then gets the busy page asking to retry in ``busy_retry_s``.
    """
    options = [f"--VoilaConfiguration.multi_kernel_manager_class={kernels.CLASS_PATH}",
               f"--CappedKernelManager.max_kernels={dashboard.max_kernels}",
               f"--CappedKernelManager.busy_wait_s={dashboard.busy_wait_s}",
               f"--CappedKernelManager.busy_retry_s={dashboard.busy_retry_s}",
               f"--MappingKernelManager.cull_idle_timeout={dashboard.cull_idle_s}",
               f"--MappingKernelManager.cull_interval={max(1, min(60, dashboard.cull_idle_s // 4))}",
               "--MappingKernelManager.cull_connected=True"]
    if dashboard.kernel_pool > 0:
        options += ["--preheat_kernel=True", f"--pool_size={dashboard.kernel_pool}",
                    f"--VoilaKernelManager.fill_delay={POOL_REFILL_DELAY_S}"]
    return options


def voila_command(notebook: str | Path, port: int, dashboard: DashboardParams | None = None,
                  ip: str = HOST) -> list[str]:
    """Voila's argv: loopback only, a fixed port (no silent move to another), our template, kernel settings.

    Voila with the busy page in front (``gnp.dashboard.voila_app``). A pre-heated kernel shows Gold as it
    was when the kernel started; every filter change queries Gold again.
    """
    command = [sys.executable, "-m", VOILA_MODULE, str(notebook), "--no-browser", f"--port={port}",
               f"--Voila.ip={ip}", "--Voila.port_retries=0", f"--template={TEMPLATE}", "--theme=light"]
    return command + kernel_options(dashboard or DashboardParams())


def generated_root() -> Path:
    """A Jupyter data root holding the gnp template's generated static file (vega-embed's bundle).

    Generated, not committed: it is vl-convert's bundle for its own Vega-Lite version (~0.9 MB), and the
    package's folder may be read-only in an image. Voila serves ``voila/templates/gnp/static`` of every
    root on JUPYTER_PATH at ``/voila/static/``.
    """
    root = Path(tempfile.gettempdir()) / "gnp-voila"
    write_vega_script(root / "voila" / "templates" / TEMPLATE / "static")
    return root


def voila_env(params_file: str | Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for Voila and its kernels: absolute params path, template roots first."""
    env = dict(os.environ if base is None else base)
    env[PARAMS_ENV] = str(Path(params_file).resolve())
    roots = (str(TEMPLATES_ROOT), str(generated_root()), env.get("JUPYTER_PATH", ""))
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in roots if p)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gnp dashboard", description="Serve the Greek Net Pulse dashboard with Voila.")
    parser.add_argument("--params", default="params/local.yaml", help="params file whose warehouse holds Gold")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--ip", default=HOST, help="address to bind (a container serving others: 0.0.0.0)")
    parser.add_argument("--notebook", default=DEFAULT_NOTEBOOK)
    parser.add_argument("--pool", type=int, default=None,
                        help="pre-heated kernels kept ready (default: the params' dashboard.kernel_pool; 0: none)")
    args = parser.parse_args(argv)
    dashboard = load_params(args.params).dashboard
    if args.pool is not None:
        dashboard = dashboard.model_copy(update={"kernel_pool": args.pool})
    print(f"Greek Net Pulse dashboard: http://{args.ip}:{args.port}/  (Ctrl-C to stop; {dashboard.kernel_pool} "
          f"pre-heated kernel(s), at most {dashboard.max_kernels}, idle ones culled after {dashboard.cull_idle_s} s, "
          f"beyond the cap a busy page after {dashboard.busy_wait_s} s)",
          flush=True)
    command = voila_command(args.notebook, args.port, dashboard, args.ip)
    # become Voila, so Ctrl-C and kill reach it (and its kernels) directly
    os.execve(command[0], command, voila_env(args.params))


if __name__ == "__main__":
    sys.exit(main())
