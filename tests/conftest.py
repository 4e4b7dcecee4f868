"""Shared pytest fixtures: one local Spark session for the whole test run."""

from __future__ import annotations

import os
import sys

import pytest

# gcsfs reads this once, at import: without it every call against the fake GCS waits on a 60 s timeout.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    from gnp.lake.spark import lakehouse_conf

    builder = SparkSession.builder
    for key, value in lakehouse_conf().items():  # Delta Lake and the GCS connector, as in a run
        builder = builder.config(key, value)
    session = (
        builder.master("local[2]")
        .appName("gnp-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    yield session
    session.stop()
