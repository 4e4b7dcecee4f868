"""Publish Silver and Gold from the lakehouse to BigQuery with load jobs.

For each table: load its current Parquet files (only the partitions of the
run's days, or all of them) into a fresh staging table with a load job, then,
in one multi-statement transaction, DELETE the affected partition values from
the base table and INSERT ... SELECT the staging rows, then drop staging.
Re-publishing the same days gives the same table; days not named are left as
they are. No streaming inserts and no ``table$YYYYMMDD`` decorator writes
(emulators get those silently wrong, and the transaction makes the swap atomic).

Partition values go into the SQL as DATE literals built from ``datetime.date``
objects, not as query parameters: bqemulator does not bind parameters inside a
multi-statement script, and nothing user-typed reaches the text.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import fsspec
from google.cloud import bigquery

from gnp import lakehouse
from gnp.bigquery_tables import bigquery_schema, ensure_dataset, ensure_table
from gnp.config import Params
from gnp.registry import Registry
from gnp.schemas import GOLD_TABLES, SILVER_TABLES, TableSpec

GCS_SCHEME = "gs://"
STAGING_SUFFIX = "__staging_"
STAGING_TTL = dt.timedelta(days=1)  # a crashed publish leaves nothing behind for long

# How a run's measurement days select each partition column's values. Columns
# not listed are published whole: cohort_week because every cohort's retention
# changes when a new week arrives, run_date because quality results are keyed
# by run, not by measurement day.
PARTITIONS_OF_DAY: dict[str, Callable[[dt.date], dt.date]] = {
    "measurement_date": lambda day: day,
    "session_date": lambda day: day,
    "month": lambda day: day.replace(day=1),
}


@dataclass(frozen=True)
class Published:
    """What one table's publish did. ``partitions`` is None for a full refresh."""

    name: str
    table_id: str
    rows: int
    files: int
    partitions: list[str] | None
    skipped: str | None = None  # why nothing was done, e.g. no lakehouse snapshot yet

    def output(self) -> dict:
        """The record ``manifest.record_outputs`` expects."""
        return {"name": self.name, "location": self.table_id, "rows": self.rows}


def partition_values(spec: TableSpec, days: Iterable[dt.date] | None) -> list[dt.date] | None:
    """The partition values a run over ``days`` rewrote; None means every partition."""
    to_partition = PARTITIONS_OF_DAY.get(spec.partition_by or "")
    if days is None or to_partition is None:
        return None
    return sorted({to_partition(day) for day in days})


def _date_literals(values: Iterable[dt.date]) -> str:
    return ", ".join(f"DATE '{value.isoformat()}'" for value in values)


def replace_partitions_sql(spec: TableSpec, table_id: str, staging_id: str, values: list[dt.date] | None) -> str:
    """One transaction: delete the partitions (all when ``values`` is None), insert staging."""
    where = "TRUE" if values is None else f"`{spec.partition_by}` IN ({_date_literals(values)})"
    columns = ", ".join(f"`{name}`" for name in spec.column_names)
    return (
        "BEGIN TRANSACTION;\n"
        f"DELETE FROM `{table_id}` WHERE {where};\n"
        f"INSERT INTO `{table_id}` ({columns})\nSELECT {columns} FROM `{staging_id}`;\n"
        "COMMIT TRANSACTION;"
    )


def expand_sources(locations: Iterable[str]) -> list[str]:
    """Files to load: ``gs://`` globs as they are (BigQuery expands them), local globs expanded."""
    sources = []
    for location in locations:
        if location.startswith(GCS_SCHEME):
            sources.append(location)
        else:
            fs, path = fsspec.core.url_to_fs(location)
            sources.extend(sorted(fs.glob(path)))
    return sources


def _load_config() -> bigquery.LoadJobConfig:
    parquet = bigquery.ParquetOptions()
    parquet.enable_list_inference = True  # Spark writes arrays as Parquet LISTs; BigQuery wants them REPEATED
    return bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
        create_disposition=bigquery.CreateDisposition.CREATE_NEVER,
        parquet_options=parquet,
    )


def load_staging(client: bigquery.Client, spec: TableSpec, staging_id: str, sources: list[str], location: str) -> int:
    """Create ``staging_id`` with the spec's (relaxed) schema and load the Parquet ``sources`` into it.

    Args:
        sources: Parquet files (local paths) or ``gs://`` URIs, which may hold a ``*``.

    Returns:
        Rows in the staging table.
    """
    staging = bigquery.Table(staging_id, schema=bigquery_schema(spec, relaxed=True))
    staging.expires = dt.datetime.now(dt.timezone.utc) + STAGING_TTL
    client.create_table(staging)
    config = _load_config()
    config.schema = staging.schema
    uris = [s for s in sources if s.startswith(GCS_SCHEME)]
    if uris:
        client.load_table_from_uri(uris, staging_id, job_config=config, location=location).result()
    for path in (s for s in sources if not s.startswith(GCS_SCHEME)):
        # load_table_from_file sends one file per job; a lakehouse partition is
        # one file, so jobs stay few. bqemulator needs the file sent without a size.
        with fsspec.open(path, "rb") as fh:
            client.load_table_from_file(fh, staging_id, job_config=config, location=location).result()
    return client.get_table(staging_id).num_rows or 0


def publish_table(
    client: bigquery.Client, registry: Registry, spec: TableSpec, dates: Iterable[dt.date] | None = None
) -> Published:
    """Make the BigQuery table hold the lakehouse's current rows for the run's ``dates`` (all when None).

    A table the lakehouse never committed is skipped, so a missing folder can
    never empty a published table.
    """
    table_id = registry.table_id(spec.name)
    table_path = registry.table_path(spec.name)
    if lakehouse.read_snapshot(table_path) is None:
        return Published(spec.name, table_id, 0, 0, None, skipped=f"no committed lakehouse table at {table_path}")
    values = partition_values(spec, dates)
    if values == []:
        return Published(spec.name, table_id, 0, 0, [], skipped="no days given")
    location = client.location
    ensure_table(client, spec, table_id, location)
    sources = expand_sources(lakehouse.current_files(table_path, only=values))
    staging_id = f"{table_id}{STAGING_SUFFIX}{secrets.token_hex(4)}"
    try:
        rows = load_staging(client, spec, staging_id, sources, location)
        client.query(replace_partitions_sql(spec, table_id, staging_id, values), location=location).result()
    finally:
        client.delete_table(staging_id, not_found_ok=True)
    return Published(
        spec.name, table_id, rows, len(sources), None if values is None else [v.isoformat() for v in values]
    )


def run_days(params: Params) -> list[dt.date]:
    """Every day of the params' date range."""
    first, last = params.dates.date_from, params.dates.date_to
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def publish_all(
    client: bigquery.Client, registry: Registry, params: Params, dates: Iterable[dt.date] | None
) -> list[Published]:
    """Publish every Silver and Gold table for the run's ``dates`` (None: full refresh)."""
    days = None if dates is None else sorted(set(dates))
    for dataset in dict.fromkeys(registry.table_id(s.name).rsplit(".", 1)[0] for s in SILVER_TABLES + GOLD_TABLES):
        ensure_dataset(client, dataset, params.warehouse.location)
    return [publish_table(client, registry, spec, days) for spec in SILVER_TABLES + GOLD_TABLES]


def summary_rows(published: list[Published]) -> list[dict]:
    """One plain dict per table, for a notebook table."""
    return [asdict(p) for p in published]
