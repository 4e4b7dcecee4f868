"""What a stage reports about its writes: quality results, table row counts and partitions.

Row counts come from the Parquet footers of the committed files, so reporting
them costs no Spark job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import fsspec
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from gnp.core.registry import Registry
from gnp.core.schemas import QUALITY_RESULTS, TABLES
from gnp.lake import lakehouse
from gnp.quality import checks as quality


def run_info(run_id: str) -> quality.RunInfo:
    now = dt.datetime.now(dt.timezone.utc)
    return quality.RunInfo(run_id=run_id or f"adhoc-{now:%Y%m%dT%H%M%SZ}", run_date=now.date(), checked_at=now)


def committed_rows(table_path: str, only: Iterable | None = None) -> int:
    """Rows in the table's current files (all partitions, or ``only`` these)."""
    total = 0
    for pattern in lakehouse.current_files(table_path, only):
        fs, _ = fsspec.core.url_to_fs(pattern)
        for path in fs.glob(pattern):
            with fs.open(path, "rb") as fh:
                total += pq.ParquetFile(fh).metadata.num_rows
    return total


def table_output(registry: Registry, name: str, only: Iterable | None = None) -> dict:
    """A run-manifest entry for a table the stage wrote: where, its rows, and which partitions.

    ``only`` must be exactly the partition values the stage rewrote (None: it
    rewrote the whole table). They are recorded as sorted ISO dates under
    ``partitions`` (null for every partition), beside ``partition_by``; publish
    replaces exactly those in the warehouse.
    """
    values = None if only is None else sorted({lakehouse.partition_key(value) for value in only})
    return {
        "name": name,
        "location": registry.table_path(name),
        "rows": committed_rows(registry.table_path(name), only),
        "partition_by": TABLES[name].partition_by,
        "partitions": values,
    }


def save_quality_results(
    spark: SparkSession, registry: Registry, run: quality.RunInfo, stage: str, results: Sequence[quality.CheckResult]
) -> None:
    """Add a stage's results to ``quality_results``; a rerun of the same run and stage replaces its rows.

    One commit that reads nothing: Delta replaces the rows of this run date, run and stage.
    """
    where = {"run_date": run.run_date, "run_id": run.run_id, "stage": stage}
    path = registry.table_path(QUALITY_RESULTS.name)
    lakehouse.replace_rows(quality.results_frame(spark, results), QUALITY_RESULTS, path, where)
