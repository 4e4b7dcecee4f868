"""Delta Lake's jars and settings for every Spark JVM: the pinned jars make install copied (no network at run time).

A Delta table written, restored and read through the run's Spark Connect server: test_spark_server.py, on its
module's server."""

import pytest
from pyspark.sql import functions as F
from ci_params import CI_PARAMS

from gnp.core.config import load_params
from gnp.lake import spark as gnp_spark


def test_every_spark_jvm_gets_the_pinned_jars_and_deltas_settings_never_packages():
    conf = gnp_spark.lakehouse_conf()
    jars = conf["spark.jars"].split(",")
    names = sorted(j.rsplit("/", 1)[-1] for j in jars)
    assert any(n.startswith("delta-spark_4.2_2.13-4.4") for n in names), names
    assert any(n.startswith("delta-storage-4.4") for n in names) and any(n.startswith("gcs-connector-") for n in names)
    assert conf["spark.sql.extensions"] == gnp_spark.DELTA_EXTENSION
    assert conf["spark.sql.catalog.spark_catalog"] == gnp_spark.DELTA_CATALOG
    assert not any("packages" in key for key in conf), "spark.jars.packages resolves from the network at run time"


def test_missing_jars_say_to_run_make_install(tmp_path, monkeypatch):
    monkeypatch.setenv(gnp_spark.JARS_ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match="make install"):
        gnp_spark.lakehouse_conf()


def test_the_gcs_connector_talks_to_an_emulator_without_credentials(monkeypatch):
    monkeypatch.setenv(gnp_spark.GCS_EMULATOR_ENV, "http://127.0.0.1:4443")
    conf = gnp_spark.gcs_conf()
    assert conf["spark.hadoop.fs.gs.storage.root.url"] == "http://127.0.0.1:4443/"
    assert conf["spark.hadoop.fs.gs.auth.type"] == "UNAUTHENTICATED"
    assert conf["spark.hadoop.fs.gs.block.size"] == str(64 * 1024 * 1024)  # Hadoop 3.5 says "64m"
    monkeypatch.delenv(gnp_spark.GCS_EMULATOR_ENV)
    assert gnp_spark.gcs_conf()["spark.hadoop.fs.gs.auth.type"] == "APPLICATION_DEFAULT"


def test_the_first_tier_jvm_keeps_room_for_sparks_compiled_code(spark):
    """The shared session runs on ci.yaml's options: the first JIT tier only, whose own default of 48 MB of code
    cache Spark's generated classes filled within a minute of the suite (then the JVM failed every call)."""
    jvm = spark.sparkContext._jvm
    arguments = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert "-XX:TieredStopAtLevel=1" in arguments, arguments
    cache = sum(pool.getUsage().getMax() for pool in jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
                if "CodeHeap" in pool.getName() or "CodeCache" in pool.getName())
    assert cache >= 240 * 2**20, f"code cache {cache / 2**20:.0f} MB"


def test_the_params_java_options_reach_the_drivers_jvm_beside_its_own():
    params = load_params(CI_PARAMS)
    options = gnp_spark._static_conf(params, "/tmp/work")["spark.driver.extraJavaOptions"].split()
    assert options == ["-Dderby.system.home=/tmp/work", "-XX:TieredStopAtLevel=1", "-XX:ReservedCodeCacheSize=240m",
                       "-XX:+UseSerialGC"]
    plain = params.model_copy(update={"spark": params.spark.model_copy(update={"java_options": ""})})
    assert gnp_spark._static_conf(plain, "/tmp/work")["spark.driver.extraJavaOptions"] == "-Dderby.system.home=/tmp/work"


def test_a_stage_sizes_its_shuffles_to_the_rows_it_reads_within_the_params_ceiling():
    per = gnp_spark.ROWS_PER_SHUFFLE_PARTITION
    assert gnp_spark.shuffle_partitions_for(2_000, 64) == 2  # a day: both cores, not 64 map outputs per shuffle
    assert gnp_spark.shuffle_partitions_for(0, 64) == 2
    assert gnp_spark.shuffle_partitions_for(per * 50, 64) == 50 and gnp_spark.shuffle_partitions_for(per * 50 + 1, 64) == 51
    assert gnp_spark.shuffle_partitions_for(per * 1000, 64) == 64  # never above the params'
    assert gnp_spark.shuffle_partitions_for(None, 64) == 64  # rows not known: the params'
    assert gnp_spark.shuffle_partitions_for(2_000, 1) == 1


def test_a_small_stage_runs_interpreted_without_adaptive_execution_and_a_large_one_with_both_alike(spark):
    params = load_params(CI_PARAMS)
    threshold = params.spark.codegen_min_rows
    assert gnp_spark.codegen_for(threshold - 1, threshold) is False and gnp_spark.codegen_for(threshold, threshold)
    assert gnp_spark.codegen_for(None, threshold) and gnp_spark.codegen_for(0, 0)  # unknown, or 0: always compile
    frame = spark.range(1_000).selectExpr("id % 7 AS g", "id * 1.5 AS x").groupBy("g").agg(
        F.percentile("x", 0.5).alias("median"), F.sum("x").alias("total")).orderBy("g")
    answers = {}
    try:
        for rows in (2_000, threshold):
            size = gnp_spark.size_session(spark, rows, params)
            conf = {key: spark.conf.get(key) for key in gnp_spark.SMALL_STAGE}
            assert conf == (gnp_spark.LARGE_STAGE if size.codegen else gnp_spark.SMALL_STAGE), (rows, conf)
            assert size.codegen == (rows >= threshold) and size.shuffle_partitions == 2, size
            answers[size.codegen] = frame.collect()
    finally:
        gnp_spark.size_session(spark, 0, params)  # the suite's frames are small: back to the session's mode
    assert answers[False] == answers[True] and len(answers[True]) == 7


def test_a_session_in_this_process_sends_no_python_call_sites_to_the_jvm(spark):
    """PySpark's call-site capture costs four py4j round trips per DataFrame or function call: off in every session
    made in-process (``get_session`` without a server, and the suite's own), as PySpark itself then reads it."""
    from pyspark.errors import utils as pyspark_errors

    params = load_params(CI_PARAMS)
    assert gnp_spark.local_session_conf(params, "/tmp/work")["spark.python.sql.dataFrameDebugging.enabled"] == "false"
    assert spark.conf.get("spark.python.sql.dataFrameDebugging.enabled") == "false"
    F.col("x")  # any wrapped call reads the setting once
    assert pyspark_errors.is_debugging_enabled() is False
