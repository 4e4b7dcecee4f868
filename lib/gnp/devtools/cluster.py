"""A Spark standalone cluster on this machine: a master and workers as separate JVMs on loopback.

The notebooks reach a cluster the same way they reach the run's local server:
through a Spark Connect endpoint (``spark.remote`` in the params). This module
starts a real multi-JVM cluster from the classes the pyspark package carries,
so that path is exercised before it is needed (by ``tests/devtools/test_cluster.py``: no
command starts it);
in production the endpoint is a managed cluster's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from gnp.lake.spark import free_port, spark_home

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def _spark_class(cls: str, *args: str, log: Path) -> subprocess.Popen:
    cmd = [os.path.join(spark_home(), "bin", "spark-class"), cls, *args]
    env = {**os.environ, "SPARK_HOME": spark_home(), "SPARK_LOCAL_IP": "127.0.0.1"}
    with open(log, "ab") as fh:
        return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)


@dataclass(frozen=True)
class Cluster:
    master: str  # spark://127.0.0.1:PORT
    ui_port: int

    def status(self) -> dict:
        """The master's own view: workers, cores, running applications."""
        with contextlib.suppress(OSError, ValueError):
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=2) as answer:
                return json.load(answer)
        return {}


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def standalone_cluster(workers: int = 2, cores: int = 1, memory: str = "2g", timeout_s: float = 120):
    """Start a master and ``workers`` workers on 127.0.0.1; yields a ``Cluster``."""
    work = Path(tempfile.mkdtemp(prefix="gnp-cluster-"))
    port, ui_port = free_port(), free_port()
    procs = [_spark_class(MASTER_CLASS, "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui_port),
                          log=work / "master.log")]
    cluster = Cluster(f"spark://127.0.0.1:{port}", ui_port)
    master = cluster.master
    try:
        for n in range(workers):
            procs.append(_spark_class(
                WORKER_CLASS, master, "--host", "127.0.0.1", "--cores", str(cores), "--memory", memory,
                "--webui-port", str(free_port()), "--work-dir", str(work / f"worker-{n}"),
                log=work / f"worker-{n}.log",
            ))
        deadline = time.monotonic() + timeout_s
        while cluster.status().get("aliveworkers", 0) < workers:
            dead = [p.args[1] for p in procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(f"{p.name}: {p.read_text(errors='replace')[-800:]}" for p in work.glob("*.log"))
                raise RuntimeError(f"the standalone cluster did not come up ({workers} workers expected):\n{logs}")
            time.sleep(0.5)
        yield cluster
    finally:
        _stop(procs)
        shutil.rmtree(work, ignore_errors=True)
