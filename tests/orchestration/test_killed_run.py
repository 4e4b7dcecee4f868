"""A run killed at every stage boundary (SIGKILL, as a crash, the OOM killer or a lost host would), one kill after
another on one lake: each next run recovers on its own, and the lake ends equal to an uninterrupted run's.

Each killed run is a process of its own (tests/orchestration/killed_run.py) that runs the stages' library steps
in the runner's order (tests/orchestration/stepwise_run.py), as a Spark Connect client of the shared session's
JVM: the test starts Spark Connect's service on it (``connect_service``), so no second JVM starts and the
killed runs find it warm. A killed run stops after its stage, holding the lake lock, and the test kills it
there. The next run starts from what the kill left: it takes over the dead run's lock, recovers, and is killed
after the next stage; the last run, in this process on the shared session, is not killed. Meanwhile an
uninterrupted run builds the same day on a lake of its own. Kills inside a first and a later commit are
tests/lake/test_killed_commit.py; a kill between a commit and its check, tests/quality/test_audit.py; a run
killed after its first commit while a second waits at the lock, tests/e2e/test_pipeline.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from ci_params import write_ci_params
from orchestration.stepwise_run import BOUNDARIES, run

from gnp.core import manifest
from gnp.core.config import load_params
from gnp.core.registry import Registry
from gnp.core.schemas import TABLES
from gnp.lake import lakehouse, lakelock

pytestmark = pytest.mark.slow  # processes of their own: in `make test`, not in `make test-fast`
KILLED_RUN = Path(__file__).with_name("killed_run.py")
DAY = "2025-10-26"
KEY = "killed-run-test-key-0123456789abcdef"
LINEAGE = {"fetched_at", "bronze_file"}  # when and into which file each lake fetched its Bronze: its own
SILVER = {name for name, spec in TABLES.items() if spec.layer == "silver"}


def tables(registry: Registry, names=TABLES) -> dict[str, list[tuple]]:
    """Each table's current rows (but quality_results and the lineage columns), read from its Delta files."""
    con, found = duckdb.connect(), {}
    for name in names:
        files = lakehouse.current_files(registry.table_path(name))
        if name != "quality_results" and files:
            columns = ", ".join(f'"{c}"' for c in TABLES[name].column_names if c not in LINEAGE)
            listed = ", ".join(f"'{f}'" for f in files)
            found[name] = con.execute(f"SELECT {columns} FROM read_parquet([{listed}]) ORDER BY ALL").fetchall()
    return found


def killed_at(stage: str, params_file: Path, spark_remote: str) -> list[str]:
    """Run killed_run.py until it waits after ``stage``, then SIGKILL it (and anything it started); its lines."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(KILLED_RUN.parent.parent), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(KILLED_RUN), str(params_file), f"run-killed-{stage}", stage, spark_remote],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    lines, deadline = [], time.monotonic() + 600
    try:
        while (line := proc.stdout.readline()) and line.strip() != "waiting":
            lines.append(line.rstrip())
            assert time.monotonic() < deadline, f"no kill point after {stage} within 600 s: {lines[-20:]}"
        assert line, f"the run ended before the kill point after {stage}:\n" + "\n".join(lines[-40:])
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return lines


@contextlib.contextmanager
def connect_service(spark):
    """Spark Connect's service on the shared session's JVM, on a free loopback port: yields its sc:// URL."""
    sc = spark.sparkContext
    sc._conf.set("spark.connect.grpc.binding.address", "127.0.0.1")
    sc._conf.set("spark.connect.grpc.binding.port", "0")
    service = spark._jvm.org.apache.spark.sql.connect.service.SparkConnectService
    service.start(sc._jsc.sc())
    try:
        module = spark._jvm.java.lang.Class.forName(f"{service._fqn}$").getField("MODULE$").get(None)
        yield f"sc://localhost:{module.localPort()}"
    finally:
        none = spark._jvm.scala.Option.empty()
        service.stop(none, none)


@pytest.fixture(scope="module")
def killed(spark, tmp_path_factory):
    """Runs killed after each stage in turn on one lake: (its params, {stage: (the run's lines, tables then)})."""
    params_file = write_ci_params(tmp_path_factory.mktemp("killed"),
                                  dates={"date_from": DAY, "date_to": DAY, "lookback_days": 0})
    params, kills = load_params(params_file), {}
    registry = Registry.from_params(params)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GNP_PSEUDONYM_KEY", KEY)
        with connect_service(spark) as url:
            for stage in BOUNDARIES:
                lines = killed_at(stage, params_file, url)
                kills[stage] = (lines, tables(registry), lakelock.holder(registry.lake))
    return params, kills


def test_a_run_killed_at_each_stage_boundary_in_turn_leaves_a_lake_the_next_run_recovers(spark, killed, tmp_path,
                                                                                          monkeypatch):
    monkeypatch.setenv("GNP_PSEUDONYM_KEY", KEY)
    clean = load_params(write_ci_params(tmp_path, dates={"date_from": DAY, "date_to": DAY, "lookback_days": 0}))
    run(clean, "run-uninterrupted", lambda: spark)
    complete = tables(Registry.from_params(clean))
    assert set(complete) == set(TABLES) - {"quality_results"}, sorted(complete)
    assert all(complete[name] for name in ("measurements", "sessions", "area_isp_metrics")), "the day built nothing"

    params, kills = killed
    for stage, (lines, found, holder) in kills.items():
        reached = [line.split()[1] for line in lines if line.startswith("boundary ")]
        assert reached == list(BOUNDARIES[:BOUNDARIES.index(stage) + 1]), f"killed after {stage}: {lines[-20:]}"
        assert holder and holder["owner"] == f"run-killed-{stage}", f"killed after {stage}, the lock held: {holder}"
        written = {name for name in complete if stage == "silver" and name in SILVER or stage in ("gold", "publish")}
        assert {n: found.get(n) for n in written} == {n: complete[n] for n in written}, (
            f"killed after {stage}: its tables differ from an uninterrupted run's")
    recovered = [line for stage, (lines, _, _) in kills.items() for line in lines
                 if "restored" in line or "removed" in line]
    assert not recovered, f"a kill at a boundary leaves no unchecked commit or unfinished table, found {recovered}"

    registry = Registry.from_params(params)
    ctx = run(params, "run-next", lambda: spark)  # takes over the last killed run's lock
    assert tables(registry) == complete, "the run after the kills differs from an uninterrupted run"
    assert lakelock.holder(registry.lake) is None, "the run after the kills left the lock held"
    assert {o["name"] for o in manifest.read_outputs(registry, ctx.run_id, "gold")} >= {"area_isp_metrics"}
