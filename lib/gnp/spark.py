"""Spark sessions and the run's Spark Connect server: every Spark setting lives here.

A new JVM costs ~10 s on a small machine, so a run starts one Spark Connect
server on loopback and every stage notebook connects to it as a thin client
(under a second). A notebook opened on its own, with no server, starts a local
session instead. ``spark_remote`` (a notebook parameter, or ``spark.remote`` in
the params) points the same notebooks at any Spark Connect endpoint: the path
to a cluster when one machine is outgrown.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gnp.config import Params

CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
REMOTE_ENV = "GNP_SPARK_REMOTE"


def session_conf(params: Params) -> dict[str, str]:
    """Settings every session gets, local or remote (runtime-settable ones only)."""
    return {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(params.spark.shuffle_partitions),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    }


def _static_conf(params: Params, local_dir: str) -> dict[str, str]:
    """Settings fixed when the JVM starts."""
    return {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.memory": params.spark.driver_memory,
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.local.dir": local_dir,
        "spark.sql.warehouse.dir": os.path.join(local_dir, "warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={local_dir}",
    }


def _prepare_env() -> None:
    # Spark's Python workers start PYSPARK_PYTHON, else whatever python3 is on
    # PATH: outside an activated venv that is the wrong interpreter.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def remote_url(params: Params, spark_remote: str = "") -> str | None:
    """Which Spark Connect endpoint to use: the notebook parameter, the runner's, the params'."""
    return spark_remote or os.environ.get(REMOTE_ENV) or params.spark.remote or None


def get_session(params: Params, spark_remote: str = ""):
    """A SparkSession: a Connect client when an endpoint is known, else a local session."""
    _prepare_env()
    from pyspark.sql import SparkSession

    url = remote_url(params, spark_remote)
    if url:
        spark = SparkSession.builder.remote(url).getOrCreate()
    else:
        local_dir = tempfile.mkdtemp(prefix="gnp-spark-")
        atexit.register(shutil.rmtree, local_dir, True)
        builder = SparkSession.builder.master(params.spark.master).appName("greek-net-pulse")
        for key, value in {**_static_conf(params, local_dir), **session_conf(params)}.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
    for key, value in session_conf(params).items():
        spark.conf.set(key, value)
    return spark


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home() -> str:
    import pyspark

    return os.path.dirname(pyspark.__file__)


def _wait_until_ready(port: int, proc: subprocess.Popen, log_path: Path, timeout_s: float) -> None:
    # The gRPC port opens only once the server's Spark session is up. No client
    # session is made here: in a process that already has a classic session
    # (a test run, a notebook) a Connect client cannot be created.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Spark Connect server exited with code {proc.returncode}; log tail:\n{tail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.5)
    raise TimeoutError(f"Spark Connect server not ready after {timeout_s:.0f} s; see {log_path}")


@contextlib.contextmanager
def connect_server(params: Params, master: str | None = None, log_dir: str | None = None, timeout_s: float = 120):
    """Run a Spark Connect server on loopback for the duration of the block; yields its sc:// URL."""
    _prepare_env()
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="gnp-connect-"))
    log_path = Path(log_dir or work) / "spark-connect.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    conf = {
        **_static_conf(params, str(work)),
        **session_conf(params),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
    }
    cmd = [
        os.path.join(spark_home(), "bin", "spark-submit"),
        "--class", CONNECT_SERVER_CLASS,
        "--name", "gnp-connect",
        "--master", master or params.spark.master,
        "--driver-memory", params.spark.driver_memory,
    ]
    for key, value in conf.items():
        cmd += ["--conf", f"{key}={value}"]
    cmd.append("spark-internal")
    env = {**os.environ, "SPARK_HOME": spark_home()}
    url = f"sc://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_until_ready(port, proc, log_path, timeout_s)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
