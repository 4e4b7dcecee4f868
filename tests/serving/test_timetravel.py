"""History and time travel on real Delta tables: `gnp history` lists a table's commits with their runs,
and Gold opens as a run left it, later runs notwithstanding."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from gnp.core.config import load_params
from gnp.core.registry import Registry
from gnp.core.schemas import TABLES
from gnp.lake import lakehouse
from gnp.lake.spark import COMMIT_METADATA_CONF
from gnp.serving import timetravel

DAY = dt.date(2025, 10, 25)
VALUES = {"date": DAY, "string": "x", "bigint": 1, "int": 1, "double": 1.0, "boolean": False,
          "timestamp": dt.datetime(2025, 10, 25, 12, tzinfo=dt.timezone.utc)}
METRICS = TABLES["regional_metrics"]


def commit_metrics(spark, registry: Registry, run_id: str, tests: int) -> None:
    """One regional_metrics row with ``tests`` tests, written by ``run_id`` (its commit's userMetadata)."""
    row = tuple(tests if c.name == "tests" else VALUES[c.type] for c in METRICS.columns)
    spark.conf.set(COMMIT_METADATA_CONF, run_id)
    try:
        lakehouse.overwrite(spark.createDataFrame([row], METRICS.ddl()), METRICS, registry.table_path(METRICS.name))
    finally:
        spark.conf.unset(COMMIT_METADATA_CONF)


@pytest.fixture
def two_runs(spark, tmp_path, ci_params):
    params_file = ci_params(tmp_path)
    registry = Registry.from_params(load_params(params_file))
    commit_metrics(spark, registry, "run-1", tests=10)
    commit_metrics(spark, registry, "run-2", tests=20)
    return params_file, registry


def test_gold_opens_as_each_run_left_it(two_runs):
    _, registry = two_runs
    for run_id, tests in (("run-1", 10), ("run-2", 20)):
        con = timetravel.open_gold_as_of(registry, run_id)
        assert con.execute("SELECT tests FROM gold.regional_metrics").fetchall() == [(tests,)], run_id
        # A Gold table no run wrote is an empty view with its columns, so a notebook cell still runs.
        assert con.execute("SELECT count(*) FROM gold.speed_histogram").fetchone() == (0,)
    with pytest.raises(lakehouse.LakehouseError, match="run 'run-9' committed nothing to Gold"):
        timetravel.open_gold_as_of(registry, "run-9")


def test_gnp_history_lists_every_commit_newest_first_with_its_run(two_runs):
    params_file, registry = two_runs
    frame = timetravel.history_frame(registry, METRICS.name)
    assert frame[["version", "operation", "run_id"]].values.tolist() == [[1, "WRITE", "run-2"], [0, "WRITE", "run-1"]]
    gnp = Path(sys.executable).parent / "gnp"
    done = subprocess.run([str(gnp), "history", METRICS.name, "--params", str(params_file)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["version", "committed_at", "operation", "run_id"], lines
    assert [line.split()[0] for line in lines[1:]] == ["1", "0"] and "run-2" in lines[1] and "run-1" in lines[2], lines
