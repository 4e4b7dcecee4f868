"""A local BigQuery emulator (bqemulator from PyPI) for tests, in its own venv.

bqemulator pins grpcio-tools < 1.81 and protobuf 6, which would downgrade the
project's protobuf 7 (Spark Connect), and it needs DuckDB 1.5.5 for the only
spatial extension on PyPI, while the project runs DuckDB 2. So it lives in
.gnp/tools/bqemulator-venv, built from tests/bqemulator-requirements.txt.

Offline start: bqemulator runs ``INSTALL spatial`` at startup, which would
download the extension; installing it first from the duckdb-extension-spatial
wheel into the emulator's own (temporary) home makes that a no-op.

``gs://bucket/path`` in a load job is read from ``<gcs_root>/bucket/path``
(bqemulator's shared-folder mode), not over HTTP from a Cloud Storage emulator.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".gnp" / "tools" / "bqemulator-venv"
REQUIREMENTS = Path(__file__).with_name("bqemulator-requirements.txt")
HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
_INSTALL_SPATIAL = "from duckdb_extensions import import_extension; import_extension('spatial')"


@dataclass(frozen=True)
class Emulator:
    endpoint: str  # http://127.0.0.1:<port>, for BIGQUERY_EMULATOR_HOST / client_options
    project: str
    log: Path
    gcs_root: Path  # gs://bucket/path in load jobs is read from gcs_root/bucket/path


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


def _log_tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


@contextlib.contextmanager
def running_emulator(workdir: Path, project: str = "gnp-test") -> Iterator[Emulator]:
    """Start bqemulator on free loopback ports, wait until ``SELECT 1`` answers, stop it at the end."""
    executable = VENV / "bin" / "bqemulator"
    if not executable.exists():
        venv = VENV.relative_to(REPO)
        pytest.skip(
            f"BigQuery emulator absent: expected {executable}; create it with `python3.11 -m venv {venv} && "
            f"{venv}/bin/pip install -r {REQUIREMENTS.relative_to(REPO)}`"
        )
    home = workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    gcs_root = workdir / "gcs"
    gcs_root.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "BQEMU_GCS_LOCAL_ROOT": str(gcs_root)}
    subprocess.run([str(VENV / "bin" / "python"), "-c", _INSTALL_SPATIAL], env=env, check=True, timeout=120)
    port, grpc_port = free_port(), free_port()
    endpoint = f"http://{HOST}:{port}"
    log = workdir / "bqemulator.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(executable), "start", "--rest-host", HOST, "--rest-port", str(port), "--grpc-host", HOST,
             "--grpc-port", str(grpc_port), "--ephemeral", "--project", project, "--log-level", "warning"],
            env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _answers_select_1(endpoint, project):
            if proc.poll() is not None:
                raise RuntimeError(f"bqemulator exited with {proc.returncode} before answering; log:\n{_log_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"bqemulator did not answer SELECT 1 within {READY_TIMEOUT_S}s; log:\n{_log_tail(log)}")
            time.sleep(0.2)
        yield Emulator(endpoint=endpoint, project=project, log=log, gcs_root=gcs_root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
