"""Spark sessions and the run's Spark Connect server: every Spark setting lives here.

A new JVM costs ~10 s on a small machine, so a run starts one Spark Connect
server on loopback and every stage notebook connects to it as a thin client
(under a second). A notebook opened on its own, with no server, starts a local
session instead. ``spark_remote`` (a notebook parameter, or ``spark.remote`` in
the params) points the same notebooks at any Spark Connect endpoint: the path
to a cluster when one machine is outgrown.

The run's server is private to the run: it binds loopback on a port the OS
picks (read back from its log, so no other process can take it in between),
requires Spark Connect's pre-shared token (``SPARK_CONNECT_AUTHENTICATE_TOKEN``
in its environment, never on its command line), gets only the environment it
needs (not the API token nor the pseudonym key), and is killed by the kernel
when the process that started it dies (Linux ``PR_SET_PDEATHSIG``). The token
reaches the stage notebooks through the environment they inherit
(``TOKEN_ENV``), never as a notebook parameter; ``get_session`` adds it to the
URL of that server only.

Both kinds of session get the jars of ``image/jars/pom.xml`` (Delta Lake and
the GCS connector, copied into the venv by ``make install``) through
``spark.jars``, never Ivy's run-time package resolution: a run resolves nothing
from the network. Delta is driven through SQL and DataFrame options, which need only
Delta's SQL extension and catalog on the server (no Delta Connect plugin).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Callable

from gnp.core.config import Params
from gnp.core.errors import SetupError

CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
REMOTE_ENV = "GNP_SPARK_REMOTE"
JARS_ENV = "GNP_JARS_DIR"  # overrides where the jars are (default: <venv>/share/gnp-jars)
DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
GCS_FILESYSTEM = "com.google.cloud.hadoop.fs.gcs.GoogleHadoopFileSystem"
GCS_ABSTRACT_FILESYSTEM = "com.google.cloud.hadoop.fs.gcs.GoogleHadoopFS"
# Hadoop's local file system with Java NIO instead of a shell command per file created and per rename
# (image/jars/src/gnp/hadoop, built by image/jars/pom.xml): on the JVM's own class path, as Hadoop loads it early.
LOCAL_FS_JAR = "gnp-localfs.jar"
LOCAL_FILESYSTEM = "gnp.hadoop.NioLocalFileSystem"
LOCAL_ABSTRACT_FILESYSTEM = "gnp.hadoop.NioLocalFs"
GCS_EMULATOR_ENV = "STORAGE_EMULATOR_HOST"  # set only when testing against fake-gcs-server
MIB = 1024 * 1024
GCS_SIZES_MIB = {"block.size": 64, "rewrite.max.chunk.size": 512, "outputstream.buffer.size": 8,
                 "inputstream.inplace.seek.limit": 8, "inputstream.min.range.request.size": 2}
# Every Delta commit of a session carries this (the run id): `gnp history` shows it.
COMMIT_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"


def jars_dir() -> str:
    return os.environ.get(JARS_ENV) or os.path.join(sys.prefix, "share", "gnp-jars")


def jar_files() -> list[str]:
    """The jars every Spark JVM of the pipeline loads (but the local file system's, see ``local_fs_jar``);
    a clear error when they were never installed."""
    folder = jars_dir()
    jars = sorted(glob(os.path.join(folder, "*.jar")))
    if not any(os.path.basename(j).startswith("delta-spark") for j in jars):
        raise SetupError(
            f"Delta Lake's jars are not in {folder}: run `make install` (it copies them from Maven Central "
            f"with image/jars/pom.xml), or set {JARS_ENV} to a folder that holds them."
        )
    return [jar for jar in jars if os.path.basename(jar) != LOCAL_FS_JAR]


def local_fs_jar() -> str:
    """The project's own jar: Hadoop's local file system without a process started per file (see the pom)."""
    jar = os.path.join(jars_dir(), LOCAL_FS_JAR)
    if not os.path.isfile(jar):
        raise SetupError(
            f"{LOCAL_FS_JAR} is not in {jars_dir()}: run `make install` (image/jars/pom.xml builds it), "
            f"or set {JARS_ENV} to a folder that holds it."
        )
    return jar


def gcs_conf() -> dict[str, str]:
    """Hadoop settings of the GCS connector (gcs-connector 3.1: fs.gs.* keys).

    In the cloud it authenticates as the job's service account (application
    default credentials); against fake-gcs-server it talks plain HTTP to the
    emulator's root URL without credentials.
    """
    conf = {
        "spark.hadoop.fs.gs.impl": GCS_FILESYSTEM,
        "spark.hadoop.fs.AbstractFileSystem.gs.impl": GCS_ABSTRACT_FILESYSTEM,
        "spark.hadoop.fs.gs.auth.type": "APPLICATION_DEFAULT",
        # Hadoop 3.5's core-default.xml gives these sizes as "64m" (for its own
        # gs:// module); the 3.1 connector reads them as plain numbers and fails to start.
        **{f"spark.hadoop.fs.gs.{key}": str(mib * MIB) for key, mib in GCS_SIZES_MIB.items()},
        # Parquet's vectored reads call a Hadoop 3.5 API the 3.1 connector was not built
        # against (NoSuchMethodError VectoredReadUtils.validateRangeRequest): read plainly.
        "spark.hadoop.parquet.hadoop.vectored.io.enabled": "false",
    }
    emulator = os.environ.get(GCS_EMULATOR_ENV, "")
    if emulator:
        root = emulator if "://" in emulator else f"http://{emulator}"
        conf["spark.hadoop.fs.gs.storage.root.url"] = root.rstrip("/") + "/"
        conf["spark.hadoop.fs.gs.auth.type"] = "UNAUTHENTICATED"
    return conf


def lakehouse_conf() -> dict[str, str]:
    """Jars and settings for Delta Lake tables on local folders and gs:// (fixed when the JVM starts)."""
    return {
        "spark.jars": ",".join(jar_files()),
        # file:// through Java NIO rather than a chmod or readlink process per file and per rename: the JVM's
        # own class path (Hadoop makes its first local file system before spark.jars are loaded).
        "spark.driver.extraClassPath": local_fs_jar(),
        "spark.executor.extraClassPath": local_fs_jar(),
        "spark.hadoop.fs.file.impl": LOCAL_FILESYSTEM,
        "spark.hadoop.fs.AbstractFileSystem.file.impl": LOCAL_ABSTRACT_FILESYSTEM,
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        # Delta rebuilds a table's state from its log in this many tasks (default 50):
        # the pipeline's logs are small, and 50 tasks per read cost seconds each on 2 cores.
        "spark.databricks.delta.snapshotPartitions": "2",
        # VACUUM lists a table's folders in this many tasks (Spark's default: 10000,
        # ~50 s per table here); the pipeline's tables have tens of partitions.
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": "4",
        **gcs_conf(),
    }

# The run's server: its token, and the URL that token is for (a token is never sent elsewhere).
TOKEN_ENV = "GNP_SPARK_CONNECT_TOKEN"
TOKEN_URL_ENV = "GNP_SPARK_CONNECT_TOKEN_URL"
SERVER_TOKEN_ENV = "SPARK_CONNECT_AUTHENTICATE_TOKEN"  # Spark Connect's own: the server reads it at start
# What the server's JVM (and the Python workers it starts) may see of the runner's environment.
SERVER_ENV_NAMES = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV",
    "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "HADOOP_CONF_DIR", "HADOOP_HOME", "HADOOP_USER_NAME",
})
SERVER_ENV_PREFIXES = ("SPARK_", "PYSPARK_", "JAVA_", "LC_")
# Set by a Connect client in this process; the server must not think it is one.
SERVER_ENV_DROPPED = frozenset({"SPARK_REMOTE", "SPARK_LOCAL_REMOTE", "SPARK_CONNECT_MODE_ENABLED"})
STARTED_LINE = re.compile(r"Spark Connect server started at: \S+:(\d+)")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def session_conf(params: Params) -> dict[str, str]:
    """Settings every session gets, local or remote (runtime-settable ones only)."""
    return {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(params.spark.shuffle_partitions),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        # VACUUM would log two commits of its own (START, END) per table and run:
        # a table's history keeps the runs' writes and restores only.
        "spark.databricks.delta.vacuum.logging.enabled": "false",
    }


# A stage sizes its session to what it reads (``size_session``): its shuffles, and whether it is a small stage.
#
# Shuffles: a partition per this many input rows, at least two (the cores of a small machine) and at most the
# params' ``spark.shuffle_partitions``. A day of the sample lake (2,000 tests, a month read back for the period
# tables) gets two instead of 64: 64 map outputs per shuffle of a few thousand rows cost about a third of a one-day
# Gold here. From 3.2 million rows on, a stage gets the 64 it always had (what a 2 GB driver needed at five million).
ROWS_PER_SHUFFLE_PARTITION = 50_000
# Small stages: below the params' ``spark.codegen_min_rows`` rows,
# - Spark evaluates every expression and operator as it is (its interpreted mode, the path it falls back to when
#   generated code fails to compile) instead of generating and compiling Java for each query. On a few thousand
#   rows, compiling is most of a query's time.
# - No adaptive execution: with two shuffle partitions it has nothing to coalesce or split, and it runs each
#   shuffle's stage as a job of its own and plans the rest again after it. Off, the Silver stage tests run alone
#   took 64-71 s instead of 76-78 s, and a new day on the sample lake 88.1 s instead of 98.7 s (medians of five
#   alternating pairs, two of which went the other way by 8-9 s); the two-worker suite, whose cores are busy
#   anyway, took the same time. The Gold tables are the same.
SMALL_STAGE = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN",
               "spark.sql.adaptive.enabled": "false"}
LARGE_STAGE = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK",  # Spark's own
               "spark.sql.adaptive.enabled": "true"}


@dataclass(frozen=True)
class SessionSize:
    """What ``size_session`` set for a stage: its shuffle partitions, and whether queries compile code."""

    rows: int | None
    shuffle_partitions: int
    codegen: bool


def shuffle_partitions_for(rows: int | None, ceiling: int) -> int:
    """Shuffle partitions for a stage that reads ``rows`` rows (None: not known, the ceiling)."""
    if rows is None:
        return ceiling
    return max(min(2, ceiling), min(ceiling, math.ceil(rows / ROWS_PER_SHUFFLE_PARTITION)))


def codegen_for(rows: int | None, min_rows: int) -> bool:
    """Whether a stage reading ``rows`` rows (None: not known) compiles its queries: at ``min_rows`` rows or more."""
    return rows is None or rows >= min_rows


def size_session(spark, rows: int | None, params: Params) -> SessionSize:
    """Size the session's shuffles, code generation and adaptive execution for a stage that reads ``rows`` rows;
    returns what was set."""
    size = SessionSize(rows, shuffle_partitions_for(rows, params.spark.shuffle_partitions),
                       codegen_for(rows, params.spark.codegen_min_rows))
    spark.conf.set("spark.sql.shuffle.partitions", str(size.shuffle_partitions))
    for key, value in (LARGE_STAGE if size.codegen else SMALL_STAGE).items():
        spark.conf.set(key, value)
    return size


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
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={local_dir} {params.spark.java_options}".strip(),
        **lakehouse_conf(),
    }


# A session in this process (not a Connect client): PySpark would otherwise send the Python call site of every
# DataFrame and function call to the JVM (four round trips through py4j each: a fifth of an in-process stage test's
# time). An error still names its query; only the Python line in its "DataFrame context" is lost.
CLASSIC_CONF = {"spark.python.sql.dataFrameDebugging.enabled": "false"}


def local_session_conf(params: Params, local_dir: str) -> dict[str, str]:
    """Every setting of a session in this process (no Connect server): the JVM's, then the session's."""
    return {**_static_conf(params, local_dir), **CLASSIC_CONF, **session_conf(params)}


def _prepare_env() -> None:
    # Spark's Python workers start PYSPARK_PYTHON, else whatever python3 is on
    # PATH: outside an activated venv that is the wrong interpreter.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def remote_url(params: Params, spark_remote: str = "") -> str | None:
    """Which Spark Connect endpoint to use: the notebook parameter, the runner's, the params'."""
    return spark_remote or os.environ.get(REMOTE_ENV) or params.spark.remote or None


def with_token(url: str) -> str:
    """``url`` with the run's server token added (Spark Connect's ``;token=``) if it is that server's URL."""
    token = os.environ.get(TOKEN_ENV, "")
    if token and url == os.environ.get(TOKEN_URL_ENV) and ";token=" not in url:
        return f"{url.rstrip('/')}/;token={token}"
    return url


def client_env() -> dict[str, str]:
    """What a client in another process (the run's kernel) needs of this one's environment to reach the run's
    server: its token and the URL it is for, while the server runs (empty otherwise)."""
    return {name: os.environ[name] for name in (TOKEN_ENV, TOKEN_URL_ENV) if name in os.environ}


def get_session(params: Params, spark_remote: str = "", run_id: str = ""):
    """A SparkSession: a Connect client when an endpoint is known, else a local session.

    ``run_id`` labels every Delta commit the session makes (commit ``userMetadata``).
    """
    _prepare_env()
    from pyspark.sql import SparkSession

    url = remote_url(params, spark_remote)
    if url:
        spark = SparkSession.builder.remote(with_token(url)).getOrCreate()
    else:
        local_dir = tempfile.mkdtemp(prefix="gnp-spark-")
        atexit.register(shutil.rmtree, local_dir, True)
        builder = SparkSession.builder.master(params.spark.master).appName("greek-net-pulse")
        for key, value in local_session_conf(params, local_dir).items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
    for key, value in session_conf(params).items():
        spark.conf.set(key, value)
    if run_id:
        spark.conf.set(COMMIT_METADATA_CONF, run_id)
    return spark


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_home() -> str:
    import pyspark

    return os.path.dirname(pyspark.__file__)


def server_env(environ: dict[str, str], token: str) -> dict[str, str]:
    """The server's environment: the allow-listed part of ``environ`` and Spark Connect's token."""
    env = {
        name: value
        for name, value in environ.items()
        if (name in SERVER_ENV_NAMES or name.startswith(SERVER_ENV_PREFIXES)) and name not in SERVER_ENV_DROPPED
    }
    env["SPARK_HOME"] = spark_home()
    env[SERVER_TOKEN_ENV] = token
    return env


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` after which the kernel SIGKILLs the child when this process dies (Linux; else None).

    spark-submit and spark-class ``exec`` down to the JVM, so the JVM keeps the setting. The signal
    follows the thread that started the child: start the server from a thread that lives as long as
    the run (the runner's main thread). SIGKILL, not SIGTERM: a JVM deep in garbage collection may
    never get to its shutdown hooks, and the point is that nothing outlives the run.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _wait_for_port(proc: subprocess.Popen, log_path: Path, log_start: int, timeout_s: float) -> int:
    # The server binds port 0 (the OS picks a free one) and logs the port once its gRPC service
    # listens, so no other process can take the port between a choice and the bind. No client
    # session is made here: in a process that already has a classic session (a test run, a
    # notebook) a Connect client cannot be created.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with open(log_path, "rb") as log:
            log.seek(log_start)
            match = STARTED_LINE.search(log.read().decode("utf-8", "replace"))
        if match:
            port = int(match.group(1))
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
                return port
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Spark Connect server exited with code {proc.returncode}; log tail:\n{tail}")
        time.sleep(0.5)
    raise TimeoutError(f"Spark Connect server not ready after {timeout_s:.0f} s; see {log_path}")


@contextlib.contextmanager
def _token_in_environment(url: str, token: str):
    """The token in this process's environment (kernels started meanwhile inherit it), then restored."""
    saved = {name: os.environ.get(name) for name in (TOKEN_ENV, TOKEN_URL_ENV)}
    os.environ[TOKEN_ENV], os.environ[TOKEN_URL_ENV] = token, url
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def connect_server(params: Params, master: str | None = None, log_dir: str | None = None, timeout_s: float = 120):
    """Run a Spark Connect server on loopback for the duration of the block; yields its sc:// URL.

    The URL carries no token: clients in this process and its children get it from the
    environment through ``get_session`` (see the module docstring).
    """
    _prepare_env()
    work = Path(tempfile.mkdtemp(prefix="gnp-connect-"))
    log_path = Path(log_dir or work) / "spark-connect.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    conf = {
        **_static_conf(params, str(work)),
        **session_conf(params),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": "0",
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
    token = secrets.token_hex(32)
    with open(log_path, "ab") as log:
        log_start = log.tell()
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=server_env(dict(os.environ), token),
            start_new_session=True, preexec_fn=die_with_parent(),
        )
    try:
        # Spark Connect accepts a token without TLS only for the host name "localhost" (loopback).
        url = f"sc://localhost:{_wait_for_port(proc, log_path, log_start, timeout_s)}"
        with _token_in_environment(url, token):
            yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)
