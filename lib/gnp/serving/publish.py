"""Publish Silver and Gold from the lakehouse to BigQuery with load jobs.

What to replace is the run plan's (``gnp.orchestration.runplan``, handed in by
the publish notebook as its ``tables``): per table, the partitions the run
rewrites, Silver and Gold alike (the day before the range for sessions and
daily Gold, the months of the histogram, all of the cohort table). The
stages' output records (``results.table_output``) are the check that a stage
really wrote: a table no stage recorded is left as it is, and a record whose
partitions differ from the plan's is an error. ``full_refresh`` replaces every
partition of every table.
``quality_results`` is written by every Spark stage without a record, and is
small: it is published whole every run.

Publish follows the lake, not only the run: the last Delta version published of
each table (with the BigQuery table and the Delta table's id) is recorded in
``Registry.published`` once its transaction commits, and each run replaces, beside
its plan's partitions, every partition whose files changed between that version
and the one it publishes (``lakehouse.changed_partitions``). So a publish that
failed midway (a load job refused, a lost connection) is made good by the next
run, whatever days that run covers. A table with no record (never published, or
published to another table id, or its Delta table made anew) is published whole.
Every version read is the table's audited one (``gnp.quality.audit``).

For each table: load its current Parquet files (only the partitions to replace,
or all of them) into a fresh staging table with a load job, then, in one
multi-statement transaction, DELETE those partition values from the base table
and INSERT ... SELECT the staging rows, then drop staging. Re-publishing gives
the same table. No streaming inserts and no ``table$YYYYMMDD`` decorator
writes (emulators get those silently wrong, and the transaction makes the swap
atomic).

Datasets are never created here: Terraform owns them, and the pipeline's
service account (dataEditor) may not create one; BigQuery checks that right
even before answering "already exists". A missing dataset is an error naming
the Terraform step.

Partition values go into the SQL as DATE literals built from ``datetime.date``
objects, not as query parameters: bqemulator does not bind parameters inside a
multi-statement script, and nothing user-typed reaches the text.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import fsspec
from google.cloud import bigquery

from gnp.core import manifest, storage
from gnp.core.registry import Registry
from gnp.core.schemas import GOLD_TABLES, SILVER_TABLES, TableSpec
from gnp.lake import lakehouse
from gnp.quality import audit
from gnp.serving.bigquery_tables import PublishError, bigquery_schema, ensure_table, require_datasets

GCS_SCHEME = "gs://"
STAGING_SUFFIX = "__staging_"
STAGING_TTL = dt.timedelta(days=1)  # a crashed publish leaves nothing behind for long

REWRITING_STAGES = ("silver", "gold")  # whose output records say which partitions the run rewrote
WHOLE_EVERY_RUN = ("quality_results",)  # written by every Spark stage, recorded by none: published whole
PUBLISHED = SILVER_TABLES + GOLD_TABLES


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
        """The record ``manifest.record_outputs`` expects, with the partitions replaced (None: all)."""
        return {"name": self.name, "location": self.table_id, "rows": self.rows, "partitions": self.partitions}


def rewritten_partitions(registry: Registry, run_id: str) -> dict[str, list[dt.date] | None]:
    """Per table, the partition values the run's Silver and Gold stages recorded (None: the whole table).

    A record without ``partitions`` (written before they were recorded) counts as the whole table.
    """
    found: dict[str, list[dt.date] | None] = {}
    for stage in REWRITING_STAGES:
        for output in manifest.read_outputs(registry, run_id, stage) if run_id else []:
            values = output.get("partitions")
            name = output["name"]
            if values is None or found.get(name, []) is None:
                found[name] = None
            else:
                found[name] = sorted(set(found.get(name, [])) | {dt.date.fromisoformat(v) for v in values})
    return found


def partitions_to_replace(
    registry: Registry, run_id: str, full_refresh: bool, planned: Mapping[str, Iterable[dt.date] | None] | None = None
) -> dict[str, list[dt.date] | None]:
    """Per table to publish, the partition values to replace (None: every one). Tables not named are left alone.

    Args:
        planned: the run plan's partitions per table (``RunPlan.tables``); each table a stage recorded writing
            is replaced as planned. Without a plan (a run recorded before plans were) the records alone decide.

    Raises:
        PublishError: a stage recorded other partitions than the plan's (the message names both).
    """
    if full_refresh:
        return {spec.name: None for spec in PUBLISHED}
    recorded = rewritten_partitions(registry, run_id)
    plan = recorded if planned is None else planned_and_recorded(planned, recorded, run_id)
    plan.update({name: None for name in WHOLE_EVERY_RUN})
    return {spec.name: plan[spec.name] for spec in PUBLISHED if spec.name in plan}


def planned_and_recorded(
    planned: Mapping[str, Iterable[dt.date] | None], recorded: dict[str, list[dt.date] | None], run_id: str
) -> dict[str, list[dt.date] | None]:
    """The plan's partitions of every table a stage recorded writing, once each record agrees with the plan."""
    found = {}
    for name, values in recorded.items():
        plan = planned.get(name, ())
        plan = None if plan is None else sorted(set(plan))
        if name not in planned or plan != values:
            raise PublishError(
                f"{name}: run {run_id or '(none)'}'s stages recorded rewriting {_shown(values)}, but its plan says "
                f"{_shown(plan) if name in planned else 'nothing'}; nothing was published. A stage wrote other "
                "partitions than planned: run the stages again (`gnp run`), or publish with --full-refresh"
            )
        found[name] = plan
    return found


def _shown(values: list[dt.date] | None) -> str:
    return "every partition" if values is None else (", ".join(v.isoformat() for v in values) or "no partition")


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


def read_published(registry: Registry) -> dict[str, dict]:
    """Table name -> {version, table_id, delta_id} of its last publish (empty before the first)."""
    return storage.read_json(registry.published) if storage.exists(registry.published) else {}


def record_published(registry: Registry, name: str, version: int) -> None:
    """``version`` of table ``name`` is in BigQuery now, every partition of it."""
    record = read_published(registry)
    record[name] = {"version": version, "table_id": registry.table_id(name),
                    "delta_id": lakehouse.table_id(registry.table_path(name))}  # fmt: skip
    storage.write_json(registry.published, record)


def unpublished(registry: Registry, spec: TableSpec, version: int) -> list[dt.date] | None:
    """Partitions whose files changed between the table's last published version and ``version``
    (None: every partition, when no publish of this Delta table to this BigQuery table is recorded)."""
    entry = read_published(registry).get(spec.name)
    path = registry.table_path(spec.name)
    if (entry is None or spec.partition_by is None or entry.get("table_id") != registry.table_id(spec.name)
            or entry.get("delta_id") != lakehouse.table_id(path) or entry["version"] > version):
        return None
    changed = lakehouse.changed_partitions(path, entry["version"], version)
    return None if changed is None else [dt.date.fromisoformat(value) for value in changed]


def publish_table(
    client: bigquery.Client, registry: Registry, spec: TableSpec, partitions: Iterable[dt.date] | None,
    at_version: int | None = None,
) -> Published:
    """Make the BigQuery table hold the lakehouse's rows in ``partitions`` (every partition when None), as of
    the table's audited version (``gnp.quality.audit``): a version whose checks did not pass is never published.

    A partition the lakehouse no longer holds is emptied. A table the
    lakehouse never committed is skipped, so a missing folder can never empty
    a published table.
    """
    table_id = registry.table_id(spec.name)
    table_path = registry.table_path(spec.name)
    version = audit.readable_versions(registry, [spec.name])[spec.name] if at_version is None else at_version
    if version is None:
        return Published(spec.name, table_id, 0, 0, None,
                         skipped=f"no committed lakehouse table at {table_path} whose checks passed")  # fmt: skip
    values = None if partitions is None else sorted(set(partitions))
    if values == []:
        return Published(spec.name, table_id, 0, 0, [], skipped="no partitions rewritten")
    location = client.location
    ensure_table(client, spec, table_id)
    sources = expand_sources(lakehouse.current_files(table_path, only=values, at_version=version))
    staging_id = f"{table_id}{STAGING_SUFFIX}{secrets.token_hex(4)}"
    try:
        rows = load_staging(client, spec, staging_id, sources, location)
        client.query(replace_partitions_sql(spec, table_id, staging_id, values), location=location).result()
    finally:
        client.delete_table(staging_id, not_found_ok=True)
    return Published(
        spec.name, table_id, rows, len(sources), None if values is None else [v.isoformat() for v in values]
    )


def publish_all(
    client: bigquery.Client, registry: Registry, plan: dict[str, list[dt.date] | None]
) -> list[Published]:
    """Publish each table's partitions of ``plan`` (see ``partitions_to_replace``) and every partition committed
    since its last publish; each table's publish is recorded as it commits. A table with neither is skipped.

    Raises:
        PublishError: a dataset is missing (the message names the Terraform step that creates it).
    """
    require_datasets(client, dict.fromkeys(registry.table_id(s.name).rsplit(".", 1)[0] for s in PUBLISHED))
    published = []
    for spec in PUBLISHED:
        version = audit.readable_versions(registry, [spec.name])[spec.name]
        since = None if version is None else unpublished(registry, spec, version)
        planned = plan.get(spec.name, [])
        if version is None and spec.name in plan:  # skipped, saying there is no table whose checks passed
            published.append(publish_table(client, registry, spec, planned))
            continue
        if version is None or (spec.name not in plan and since == []):
            if version is not None:
                record_published(registry, spec.name, version)  # nothing changed since: BigQuery holds it
            published.append(Published(spec.name, registry.table_id(spec.name), 0, 0, [],
                                       skipped="not rewritten by this run"))  # fmt: skip
            continue
        partitions = None if since is None or planned is None else sorted(set(planned) | set(since))
        result = publish_table(client, registry, spec, partitions, at_version=version)
        record_published(registry, spec.name, version)
        published.append(result)
    return published


def describe(plan: dict[str, list[dt.date] | None]) -> str:
    """One line per table: what will be replaced."""
    lines = []
    for spec in PUBLISHED:
        values = plan.get(spec.name, [])
        what = "every partition" if values is None else (
            f"{spec.partition_by} {', '.join(v.isoformat() for v in values)}" if values else "nothing (not rewritten)")
        lines.append(f"{spec.name}: {what}")
    return "\n".join(lines)


def summary_rows(published: list[Published]) -> list[dict]:
    """One plain dict per table, for a notebook table."""
    return [asdict(p) for p in published]
