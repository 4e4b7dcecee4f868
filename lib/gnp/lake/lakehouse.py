"""Silver and Gold as Delta Lake tables, on local folders and gs:// alike.

Each table folder holds a ``_delta_log`` (one JSON commit per version) and
hive-style partition folders of Parquet files, partitioned as ``schemas.py``
says; Delta 4.4 also writes the partition column into the files, so a reader
of plain Parquet (DuckDB, a BigQuery load job) sees every column.

Writes go through Spark (the run's Spark Connect server, or a local session):

- ``replace_partitions`` replaces exactly the partitions a run rewrote in one
  commit (``replaceWhere`` on the partition column; Delta checks that no row
  of the frame falls outside it), and ``overwrite`` replaces the whole table.
  Each commit carries the run id as its ``userMetadata`` (``gnp.lake.spark`` sets it
  on the session), so ``history`` tells which run wrote which version. A write
  may add facts of its own (``metadata``: Silver records its pseudonym key's
  fingerprint); the ``userMetadata`` is then a JSON object holding the run id
  and them, in the same commit. ``written_with`` reads them back for the data a
  table holds now, following RESTOREs to the commit they brought back.
- ``restore`` puts a table back to an earlier version (a new commit): the
  stages use it to withdraw a version whose critical checks failed.
- ``vacuum`` deletes files that no version of the last ``retain_days`` needs.

Reads without Spark (versions, file lists, history) use the ``deltalake``
package, which reads the same log. ``current_files`` names the exact files of
one version: the DuckDB views list them, so a later commit or a vacuum of files
younger than the retention cannot change what a view reads.

A table written by the earlier home-made format (``_snapshot.json``, no
``_delta_log``) is refused with what to do: rebuild with ``--full-refresh``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from gnp.core import storage
from gnp.core.errors import GnpError
from gnp.core.registry import join
from gnp.core.schemas import TableSpec

DELTA_LOG = "_delta_log"
GCS_EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
DEFAULT_RETAIN_DAYS = 7  # Delta's own default for deleted files


class LakehouseError(GnpError):
    """A table is not in the expected shape, or a change would mix two shapes."""


def _spark_path(table_path: str) -> str:
    return table_path if "://" in table_path else os.path.abspath(table_path)


COMMIT_FILE = re.compile(r"^\d{20}(\.json|\.checkpoint.*\.parquet)$")


def is_delta(table_path: str) -> bool:
    """True once the table has a commit. A folder whose first commit never finished (a crash mid-write
    leaves ``_delta_log/_staged_commits`` and data files, but no commit) is no table yet."""
    log = join(table_path, DELTA_LOG)
    return storage.exists(log) and any(COMMIT_FILE.match(name) for name in storage.listdir(log))


def remove_uncommitted(table_path: str) -> bool:
    """Delete what an interrupted first commit left (a folder with no commit); True if there was any.

    Call it only while holding the lake lock (a first commit in progress looks the same), and after
    ``gnp.lake.retired.refuse_or_remove`` (a table of the retired format has no commit either).
    """
    if is_delta(table_path) or not storage.exists(table_path):
        return False
    storage.filesystem(table_path).rm(table_path, recursive=True)
    return True


# --- reading the log without Spark (deltalake) ---------------------------------------------------


def storage_options(table_path: str) -> dict[str, str] | None:
    """deltalake's options for ``table_path``: none locally; against fake-gcs-server, its URL and no auth."""
    emulator = os.environ.get(GCS_EMULATOR_ENV, "")
    if not table_path.startswith("gs://") or not emulator:
        return None
    base = emulator if "://" in emulator else f"http://{emulator}"
    # an empty service-account key with OAuth off: the fields must exist, the emulator checks none
    key = {"gcs_base_url": base.rstrip("/"), "disable_oauth": True,
           **dict.fromkeys(("client_email", "private_key", "private_key_id"), "")}
    return {"google_service_account_key": json.dumps(key), "allow_http": "true"}


def delta_table(table_path: str, version: int | None = None):
    """The table's ``deltalake.DeltaTable`` (at ``version``), or None when nothing was ever committed."""
    from deltalake import DeltaTable

    if not is_delta(table_path):
        return None
    return DeltaTable(table_path, version=version, storage_options=storage_options(table_path))


def version(table_path: str) -> int | None:
    """The table's current Delta version, None if it has none."""
    table = delta_table(table_path)
    return None if table is None else table.version()


def versions(paths: Mapping[str, str]) -> dict[str, int | None]:
    """Current version of each table (name -> path), for run manifests."""
    return {name: version(path) for name, path in paths.items()}


def partition_key(value) -> str:
    """A partition value as Delta records it: ISO dates, plain text otherwise."""
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)


def current_files(table_path: str, only: Iterable | None = None, at_version: int | None = None) -> list[str]:
    """The Parquet files of the current version (or ``at_version``), optionally of some partitions only."""
    table = delta_table(table_path, at_version)
    if table is None:
        return []
    column = table.metadata().partition_columns
    filters = None
    if only is not None:
        wanted = sorted({partition_key(v) for v in only})
        if not wanted:
            return []
        if not column:
            raise LakehouseError(f"{table_path} is not partitioned: cannot select partitions {wanted[:3]}...")
        filters = [(column[0], "in", wanted)]
    uris = table.file_uris(file_pruning_predicate=filters)
    return sorted(u.removeprefix("file://") for u in uris)


def row_count(table_path: str, only: Iterable | None = None) -> int | None:
    """Rows of the current version (of some partitions only), from the commit log's file statistics: no data is
    read. 0 for a table never committed; None when a file was written without its row count."""
    table = delta_table(table_path)
    if table is None:
        return 0
    import pyarrow as pa

    actions = pa.table(table.get_add_actions(flatten=True))  # one row per file
    if only is None:
        files = actions.select(["num_records"]).to_pylist()
    else:
        column = f"partition.{table.metadata().partition_columns[0]}"
        wanted = {partition_key(v) for v in only}
        files = [f for f in actions.select(["num_records", column]).to_pylist() if partition_key(f[column]) in wanted]
    counts = [f["num_records"] for f in files]
    return None if None in counts else sum(counts)


def partitions(table_path: str) -> dict[str, str]:
    """Partition values of the current version -> their folder (hive-style ``<column>=<value>``)."""
    found = {}
    for uri in current_files(table_path):
        folder = uri.rsplit("/", 1)[0]
        name = folder.rsplit("/", 1)[-1]
        if "=" in name:
            found[unquote(name.split("=", 1)[1])] = folder
    return dict(sorted(found.items()))


def table_id(table_path: str) -> str | None:
    """The Delta table's id (a new one when a table is removed and created again); None if no table."""
    table = delta_table(table_path)
    return None if table is None else table.metadata().id


def changed_partitions(table_path: str, since: int, until: int) -> list[str] | None:
    """Partition values whose files differ between versions ``since`` and ``until``: every partition a commit in
    between wrote, emptied or restored. None when that cannot be told (the log no longer holds ``since``, or a
    file outside a partition folder): the caller then takes every partition."""
    try:
        before, after = set(current_files(table_path, at_version=since)), set(current_files(table_path, at_version=until))
    except Exception:  # noqa: BLE001 - deltalake's errors for a version the log no longer holds have no common type
        return None
    values = set()
    for uri in before ^ after:
        name = uri.rsplit("/", 2)[-2] if "/" in uri else ""
        if "=" not in name:
            return None
        values.add(unquote(name.split("=", 1)[1]))
    return sorted(values)


def history(table_path: str, limit: int | None = None) -> list[dict]:
    """The table's commits, newest first: version, time, operation, run id (userMetadata), metrics, engine.

    Read from the log's JSON commits themselves (one small read each) rather than
    ``DeltaTable.history``, whose paged listing (``start-after``) fake-gcs-server
    never answers; commits older than the log's retention (30 days) are gone.
    """
    if not is_delta(table_path):
        return []
    log = join(table_path, DELTA_LOG)
    commits = sorted((int(name[:-5]) for name in storage.listdir(log)
                      if name.endswith(".json") and name[:-5].isdigit()), reverse=True)
    rows = []
    for number in commits[:limit]:
        info = _commit_info(table_path, number) or {}
        metadata = user_metadata(info)
        rows.append({
            "version": number,
            "timestamp": dt.datetime.fromtimestamp(info.get("timestamp", 0) / 1000, dt.timezone.utc),
            "operation": info.get("operation"),
            "run_id": metadata.get("run_id"),
            "metadata": metadata,
            "parameters": info.get("operationParameters"),
            "metrics": info.get("operationMetrics"),
            "engine": info.get("engineInfo", ""),
        })
    return rows


def _commit_info(table_path: str, number: int) -> dict | None:
    """The ``commitInfo`` of commit ``number``; None when the log no longer holds it (or never did)."""
    path = join(table_path, DELTA_LOG, f"{number:020d}.json")
    try:
        text = storage.read_bytes(path).decode("utf-8")
    except FileNotFoundError:
        return None
    return next((action["commitInfo"] for action in map(json.loads, text.splitlines()) if "commitInfo" in action), {})


def user_metadata(info: Mapping) -> dict:
    """A commit's ``userMetadata`` as a dict: a JSON object as written with ``metadata``, else ``{"run_id": text}``."""
    text = info.get("userMetadata")
    if isinstance(text, str) and text.startswith("{"):
        try:
            found = json.loads(text)
        except ValueError:
            found = None
        if isinstance(found, dict):
            return found
    return {"run_id": text}


# Commits that change no row: the data are those of the commit before.
NO_DATA_CHANGE = frozenset({"SET TBLPROPERTIES", "UNSET TBLPROPERTIES", "VACUUM START", "VACUUM END", "OPTIMIZE"})


def written_with(table_path: str) -> dict | None:
    """The ``user_metadata`` of the commit that wrote the data the table holds now; None if unknown.

    A RESTORE brings back the data of the version it names, so it is followed
    to that version's commit (a restored write counts, the RESTORE itself never
    does); commits that change no row are passed over. Unknown: no table, or
    the log no longer holds the commit.
    """
    number = version(table_path)
    for _ in range(10_000):  # a restore names an earlier version: the walk ends
        info = None if number is None or number < 0 else _commit_info(table_path, number)
        if info is None:
            return None
        operation = info.get("operation")
        if operation == "RESTORE":
            target = (info.get("operationParameters") or {}).get("version")
            if target is None:
                return None
            number = int(target)
        elif operation in NO_DATA_CHANGE:
            number -= 1
        else:
            return user_metadata(info)
    return None


def created_at(table_path: str) -> dt.datetime | None:
    """When the table's first commit (version 0) was made; None if no table, or the log no longer holds it."""
    if not is_delta(table_path):
        return None
    info = _commit_info(table_path, 0)
    if info is None:
        return None
    stamp = info.get("inCommitTimestamp") or info.get("timestamp")
    return dt.datetime.fromtimestamp(stamp / 1000, dt.timezone.utc) if stamp else None


# --- Spark ------------------------------------------------------------------------------------------


def read_table(
    spark: SparkSession, table_path: str, spec: TableSpec, only: Iterable | None = None, at_version: int | None = None
) -> DataFrame:
    """The current version (or ``at_version``) as a DataFrame of ``spec``'s columns, optionally some partitions."""
    wanted = None if only is None else list(only)
    if not is_delta(table_path) or wanted == []:
        return spark.createDataFrame([], spec.ddl())
    reader = spark.read.format("delta")
    if at_version is not None:
        reader = reader.option("versionAsOf", at_version)
    df = reader.load(_spark_path(table_path))
    if wanted is not None:
        df = df.where(F.col(_partition_column(spec)).isin(wanted))
    return df.select(spec.column_names)


def _partition_column(spec: TableSpec) -> str:
    if not spec.partition_by:
        raise LakehouseError(f"table {spec.name} has no partition column")
    return spec.partition_by


def _literal(value) -> str:
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat()}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def replace_where(spec: TableSpec, values: Iterable) -> str:
    """The ``replaceWhere`` predicate naming exactly these partitions."""
    literals = ", ".join(_literal(v) for v in sorted(set(values)))
    return f"`{_partition_column(spec)}` IN ({literals})"


def check_same_columns(table_path: str, spec: TableSpec) -> None:
    """Refuse to mix partitions of two column layouts in one table, saying how to rebuild it."""
    table = delta_table(table_path)
    if table is None:
        return
    stored = [f.name for f in table.schema().fields]
    if stored == spec.column_names:
        return
    added = [c for c in spec.column_names if c not in stored]
    removed = [c for c in stored if c not in spec.column_names]
    change = f"added {added or 'none'}, removed {removed or 'none'}" if added or removed else "order"
    raise LakehouseError(
        f"{spec.name} at {table_path} was written with other columns than this version defines ({change}); "
        f"its partitions cannot be mixed with new ones. Rebuild it from Silver/Bronze: "
        f"gnp run --full-refresh --params <your params> (the current version stays until the rebuild commits)."
    )


def replace_partitions(
    df: DataFrame, spec: TableSpec, table_path: str, drop: Iterable = (), *, replace_all: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> int:
    """Replace exactly the partitions of ``drop`` (or, without ``drop``, those present in ``df``), in one commit.

    ``drop`` names the partitions a run rewrites: a day that lost all its rows
    ends empty instead of keeping old ones, and a row of ``df`` outside them
    fails the commit (Delta's replaceWhere check) rather than overwrite another
    day. ``replace_all`` makes the table exactly ``df`` (see ``overwrite``).
    ``metadata`` goes into the commit beside the session's run id (see ``written_with``).
    Returns the committed version.
    """
    drop = list(drop)
    if replace_all or not drop:
        return _write(df, spec, table_path, metadata, replace_all=replace_all)
    return _write(df, spec, table_path, metadata, where=replace_where(spec, drop))


def replace_rows(df: DataFrame, spec: TableSpec, table_path: str, where: Mapping[str, object]) -> int:
    """Replace the rows whose columns hold ``where``'s values (all of them) by ``df``, in one commit, reading nothing.

    Every row of ``df`` must match ``where`` too (Delta's replaceWhere check
    fails the commit otherwise). A table not yet written is created from ``df``.
    Returns the committed version.
    """
    predicate = " AND ".join(f"`{column}` = {_literal(value)}" for column, value in where.items())
    return _write(df, spec, table_path, None, where=predicate)


def _write(
    df: DataFrame, spec: TableSpec, table_path: str, metadata: Mapping[str, str] | None, *,
    replace_all: bool = False, where: str | None = None,
) -> int:
    """One commit of ``df``: the whole table (``replace_all``, or a new table), the rows ``where`` selects, or
    (neither) the partitions present in ``df``."""
    column = _partition_column(spec)
    exists = is_delta(table_path)
    if exists and not replace_all:
        check_same_columns(table_path, spec)
    writer = (
        df.select(*spec.column_names)
        .repartition(column)  # one task, hence one file, per partition
        .sortWithinPartitions(*dict.fromkeys((column, *spec.cluster_by, *spec.key)))
        .write.format("delta")
        .partitionBy(column)
    )
    if metadata:
        writer = writer.option("userMetadata", commit_metadata(df.sparkSession, metadata))
    if replace_all or not exists:
        writer = writer.mode("overwrite").option("overwriteSchema", "true")
    elif where:
        writer = writer.mode("overwrite").option("replaceWhere", where)
    else:
        writer = writer.mode("overwrite").option("partitionOverwriteMode", "dynamic")
    writer.save(_spark_path(table_path))
    return version(table_path)


def commit_metadata(spark: SparkSession, metadata: Mapping[str, str]) -> str:
    """A commit's ``userMetadata``: the session's run id (``gnp.lake.spark``) and ``metadata``, as one JSON object."""
    from gnp.lake.spark import COMMIT_METADATA_CONF

    return json.dumps({"run_id": spark.conf.get(COMMIT_METADATA_CONF, None), **metadata}, sort_keys=True)


def overwrite(df: DataFrame, spec: TableSpec, table_path: str, metadata: Mapping[str, str] | None = None) -> int:
    """Full refresh: after the commit the table holds exactly ``df``."""
    return replace_partitions(df, spec, table_path, replace_all=True, metadata=metadata)


def restore(spark: SparkSession, table_path: str, to_version: int | None) -> None:
    """Make ``to_version`` current again (a new commit); None (the table was new) removes the table."""
    if to_version is None:
        if storage.exists(table_path):
            storage.filesystem(table_path).rm(table_path, recursive=True)
        return
    if version(table_path) == to_version:
        return
    spark.sql(f"RESTORE TABLE delta.`{_spark_path(table_path)}` TO VERSION AS OF {int(to_version)}").collect()


def restore_without_spark(table_path: str, to_version: int | None, run_id: str = "") -> None:
    """``restore``, committed by the ``deltalake`` package: for the runner, before any Spark starts."""
    if to_version is None:
        if storage.exists(table_path):
            storage.filesystem(table_path).rm(table_path, recursive=True)
        return
    table = delta_table(table_path)
    if table is None or table.version() == to_version:
        return
    from deltalake import CommitProperties

    table.restore(int(to_version), commit_properties=CommitProperties(custom_metadata={"userMetadata": run_id}))


def data_changed_after(table_path: str, since: int) -> list[int]:
    """Versions after ``since`` whose commits changed rows (a RESTORE does; a property change does not)."""
    current = version(table_path)
    if current is None:
        return []
    changed = []
    for number in range(since + 1, current + 1):
        info = _commit_info(table_path, number)
        if info is None or info.get("operation") not in NO_DATA_CHANGE:
            changed.append(number)
    return changed


RETENTION_PROPERTY = "delta.deletedFileRetentionDuration"


def vacuum(spark: SparkSession, table_path: str, retain_days: int) -> None:
    """Delete files no version of the last ``retain_days`` days needs (Delta refuses fewer than 7).

    Delta 4.4 ignores ``VACUUM ... RETAIN`` and keeps what the table's
    ``delta.deletedFileRetentionDuration`` says (7 days unless set), so the
    property is set first when it differs from ``retain_days`` (one commit).
    """
    table = delta_table(table_path)
    if table is None:
        return
    wanted = f"interval {int(retain_days)} days"
    current = table.metadata().configuration.get(RETENTION_PROPERTY)
    path = _spark_path(table_path)
    if current != wanted and not (current is None and int(retain_days) == DEFAULT_RETAIN_DAYS):
        spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('{RETENTION_PROPERTY}' = '{wanted}')").collect()
    spark.sql(f"VACUUM delta.`{path}`").collect()
