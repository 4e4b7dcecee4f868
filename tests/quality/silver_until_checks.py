"""Run Silver's writes for one day in a process of its own, then stop before its checks until killed.

``python silver_until_checks.py <folder> <day> <marker>``: the lake of ``lake_params(<folder>)``; once every
Silver table is committed, the marker file is created and the process waits, so a test can SIGKILL it exactly
between the commits and their checks (as an OOM or a lost host would).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

from gnp.core import context
from gnp.lake.spark import lakehouse_conf
from gnp.orchestration import runplan
from gnp.silver import steps as silver_steps
from silver.bronze_factories import lake_params


def main(folder: str, day: str, marker: str) -> None:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in lakehouse_conf().items():
        builder = builder.config(key, value)
    spark = (builder.master("local[1]").config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.shuffle.partitions", "2").config("spark.ui.enabled", "false").getOrCreate())
    params = lake_params(Path(folder))
    on = dt.date.fromisoformat(day)
    params = params.model_copy(update={"dates": params.dates.model_copy(update={"date_from": on, "date_to": on})})
    ctx = context.of_params(params, run_id="killed-run")
    silver_steps.run(ctx, spark, runplan.for_context(ctx).silver, silver_steps.WRITES)
    Path(marker).touch()
    while True:  # the checks would come next: the test kills this process here
        time.sleep(1)


if __name__ == "__main__":
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    main(*sys.argv[1:4])
