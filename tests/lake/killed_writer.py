"""A Delta writer for the test to SIGKILL inside two commits (tests/lake/test_killed_commit.py).

    python killed_writer.py FIRST_TABLE LATER_TABLE

It writes through ``gnp.lake.lakehouse`` on a local Spark session of its own (a
JVM of its own, in this process's group), as a stage does. It commits a first
version of LATER_TABLE (three days) and prints ``writing``. Then two writes run
at once, from two threads: FIRST_TABLE's first commit and LATER_TABLE's second,
each over 400 days. Their data files appear one by one for seconds before
their commit files do, and the test kills the whole process group (this
process and its JVM) once both writes have files on disk.

The session reads and writes local folders through Hadoop's own local file
system, not the project's NIO one (gnp.lake.spark.lakehouse_conf): Hadoop's
own starts a chmod process per file, which keeps both writes' files appearing
for seconds. Through the NIO one the two jobs, which share two task slots,
can finish one after the other, and the first can commit before the second
has a file on disk (a clean clone saw exactly that).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from ci_params import JAVA_OPTIONS
from lake.tables import BASE, THINGS, row, things
from pyspark.sql import SparkSession

from gnp.lake import lakehouse
from gnp.lake.spark import lakehouse_conf

HADOOPS_OWN_LOCAL_FS = {"spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.LocalFileSystem",
                        "spark.hadoop.fs.AbstractFileSystem.file.impl": "org.apache.hadoop.fs.local.LocalFs"}

DAYS = [dt.date(2024, 1, 1) + dt.timedelta(days=n) for n in range(400)]


def session() -> SparkSession:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master("local[2]").appName("killed-writer")
    for key, value in {**lakehouse_conf(), **HADOOPS_OWN_LOCAL_FS, "spark.sql.session.timeZone": "UTC",
                       "spark.sql.shuffle.partitions": "2", "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                       "spark.driver.extraJavaOptions": JAVA_OPTIONS}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def main(first: str, later: str) -> None:
    spark = session()
    lakehouse.overwrite(things(spark, BASE), THINGS, later)
    rows = things(spark, [row(1000 + n, day, "w", float(n)) for n, day in enumerate(DAYS)])
    print("writing", flush=True)
    with ThreadPoolExecutor(2) as pool:
        writes = [pool.submit(lakehouse.overwrite, rows, THINGS, first),
                  pool.submit(lakehouse.replace_partitions, rows, THINGS, later, DAYS)]
    print("committed:", [w.result() for w in writes], "(the test did not kill the writes in time)", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
