"""Shared pytest fixtures: one local Spark session for the whole test run."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# gcsfs reads this once, at import: without it every call against the fake GCS waits on a 60 s timeout.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    from gnp.core.config import load_params
    from gnp.lake.spark import CLASSIC_CONF, SMALL_STAGE, lakehouse_conf, session_conf

    from ci_params import CI_PARAMS, JAVA_OPTIONS, SHUFFLE_PARTITIONS

    builder = SparkSession.builder
    for key, value in {**lakehouse_conf(), **CLASSIC_CONF}.items():  # Delta Lake and the GCS connector, as in a run
        builder = builder.config(key, value)
    session = (
        builder.master("local[2]")
        .appName("gnp-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(SHUFFLE_PARTITIONS))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", JAVA_OPTIONS)
        .getOrCreate()
    )
    # What every run's session gets (gnp.lake.spark.session_conf): Parquet timestamps as a run writes them, etc.
    for key, value in session_conf(load_params(CI_PARAMS)).items():
        session.conf.set(key, value)
    # The suite's frames are all as small as a small stage's, which runs its queries without code generation or
    # adaptive execution (gnp.lake.spark.size_session): compiling each query's code was a fifth of the in-process
    # stage tests' time.
    for key, value in SMALL_STAGE.items():
        session.conf.set(key, value)
    yield session
    session.stop()


# --- the ci params and the one local end-to-end run ------------------------------------------------------

from ci_params import write_ci_params  # noqa: E402 - tests/ is on sys.path (rootdir conftest)

@pytest.fixture(scope="session")
def ci_params():
    """The one ci-params helper: ``ci_params(folder, **changes)`` writes ci.yaml relocated into ``folder``."""
    return write_ci_params


@dataclass(frozen=True)
class CiRun:
    params_file: Path
    registry: object  # gnp.core.registry.Registry
    result: object  # gnp.orchestration.runner.RunResult

    @property
    def run_dir(self) -> Path:
        return Path(self.result.run_dir)


@pytest.fixture(scope="session")
def ci_run(tmp_path_factory) -> CiRun:
    """One `gnp run` of every stage on the ci params (real papermill, a real Spark Connect server, the fake
    API over HTTP), shared by every test that reads what a whole run leaves: the pipeline's checks, the book in
    a browser, nbval and the concurrent and interrupted runs that follow it on the same lake."""
    from gnp.core.config import load_params
    from gnp.core.registry import Registry
    from gnp.orchestration import runner

    params_file = write_ci_params(tmp_path_factory.mktemp("ci-run"), storage={"lock_wait_s": 900})
    result = runner.run(str(params_file), log=print)
    assert result.ok, json.dumps(result.manifest["stages"], indent=1)
    return CiRun(params_file, Registry.from_params(load_params(params_file)), result)


# --- two workers: the suite runs on `pytest -n 2 --dist loadscope` (pytest-xdist) ----------------------------

# pytest-xdist hands each module to one worker, whole (its module-scoped fixtures, emulators and lakes, are set
# up once; the shared ci_run is used by one module only). Longest first, so that the two workers end together.
FIRST = ("tests/e2e/test_pipeline.py", "tests/e2e/test_gcp_pipeline.py", "tests/silver/test_stage.py",
         "tests/gold/test_steps.py")


def pytest_collection_modifyitems(config, items):
    """The longest modules first (xdist keeps this order with --no-loadscope-reorder); the rest as collected."""
    rank = {name: n for n, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(FIRST)))  # stable
