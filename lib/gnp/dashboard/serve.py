"""Serve the dashboard notebook with Voila on 127.0.0.1: ``python -m gnp.dashboard.serve --params FILE``.

The page uses this package's Voila template (``gnp``: no CDN stylesheet, a
loading message), found through JUPYTER_PATH; the kernel finds its params
through GNP_PARAMS. The browser test starts Voila with ``voila_command`` too,
so it checks exactly what ``make dashboard`` serves.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gnp.dashboard.app import PARAMS_ENV

DEFAULT_NOTEBOOK = "notebooks/90_dashboard.ipynb"
DEFAULT_PORT = 8866
HOST = "127.0.0.1"
TEMPLATE = "gnp"
TEMPLATES_ROOT = Path(__file__).resolve().parent.parent / "templates"  # holds voila/templates/gnp


def voila_command(notebook: str | Path, port: int, preheat: bool = True, ip: str = HOST) -> list[str]:
    """Voila's argv: loopback only, a fixed port (no silent move to another), our template.

    With ``preheat`` Voila keeps one kernel that has already run the notebook: the first paint took
    ~3 s instead of ~10 s here. That page shows Gold as it was when the kernel started; every filter
    change queries Gold again.
    """
    command = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
               f"--Voila.ip={ip}", "--Voila.port_retries=0", f"--template={TEMPLATE}", "--theme=light"]
    if preheat:
        command += ["--preheat_kernel=True", "--pool_size=1"]
    return command


def voila_env(params_file: str | Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for Voila and its kernels: absolute params path, template root first."""
    env = dict(os.environ if base is None else base)
    env[PARAMS_ENV] = str(Path(params_file).resolve())
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(TEMPLATES_ROOT), env.get("JUPYTER_PATH", "")) if p)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gnp dashboard", description="Serve the Greek Net Pulse dashboard with Voila.")
    parser.add_argument("--params", default="params/local.yaml", help="params file whose warehouse holds Gold")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--ip", default=HOST, help="address to bind (a container serving others: 0.0.0.0)")
    parser.add_argument("--notebook", default=DEFAULT_NOTEBOOK)
    parser.add_argument("--preheat", action=argparse.BooleanOptionalAction, default=True,
                        help="keep one kernel that has already run the notebook (faster first paint)")
    args = parser.parse_args(argv)
    print(f"Greek Net Pulse dashboard: http://{args.ip}:{args.port}/  (Ctrl-C to stop)", flush=True)
    command = voila_command(args.notebook, args.port, args.preheat, args.ip)
    # become Voila, so Ctrl-C and kill reach it (and its kernels) directly
    os.execve(command[0], command, voila_env(args.params))


if __name__ == "__main__":
    sys.exit(main())
