"""Parquet tables whose partitions are replaced atomically, on local folders and gs:// alike.

Layout of a table folder::

    _snapshot.json                                  the current version (one small object)
    _writes/<write_id>/__<partition_by>=<value>/    one leaf folder per partition and write
        part-*.parquet                              the partition column is inside the files too

Spark writes each change into a new write folder; nothing a reader can see
changes until ``_snapshot.json``, which maps every partition value to its
current leaf folder, is replaced in one atomic write (``storage.write_bytes``).
A crash before that leaves the previous version readable and an orphan write
folder that the next commit deletes; a rerun completes the change. Leaves are
self-contained (no partition discovery needed), so readers list them with
``current_files`` (DuckDB: ``read_parquet(files, hive_partitioning = false)``)
or read them with ``read_table``.

The snapshot also records the table's columns. A change that would leave
partitions of another column layout beside the new ones (the spec changed
since the table was written) is refused with what to do: rebuild the table.
Replacing every stored partition is allowed, since nothing is mixed.

After a commit, leaves referenced by neither the new nor the previous snapshot
are deleted (best effort): a reader still holding the previous file list keeps
working until the next commit. One writer per table at a time.

In Cloud Storage, Spark works on local files (``gnp.staging``): it reads local
copies of the leaves, which never change once written, and writes into a local
folder that is uploaded before the snapshot is committed.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Iterable
from urllib.parse import unquote

import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from gnp import staging, storage
from gnp.registry import join
from gnp.schemas import TableSpec

log = logging.getLogger(__name__)

SNAPSHOT = "_snapshot.json"
WRITES = "_writes"
SNAPSHOT_FORMAT = 1
PARQUET_GLOB = "*.parquet"


class LakehouseError(RuntimeError):
    """A table folder is not in the expected shape."""


def partition_folder_column(spec: TableSpec) -> str:
    """The copy of the partition column that names the leaf folders (the original stays in the files)."""
    return f"__{_partition_column(spec)}"


def _partition_column(spec: TableSpec) -> str:
    if not spec.partition_by:
        raise LakehouseError(f"table {spec.name} has no partition column")
    return spec.partition_by


def partition_key(value) -> str:
    """How a partition value is written in the snapshot: ISO dates, plain text otherwise."""
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)


def read_snapshot(table_path: str) -> dict | None:
    """The table's current snapshot, or None if nothing was ever committed."""
    location = join(table_path, SNAPSHOT)
    return storage.read_json(location) if storage.exists(location) else None


def partitions(table_path: str) -> dict[str, str]:
    """Current partition values -> leaf folder locations."""
    snapshot = read_snapshot(table_path) or {}
    return {value: join(table_path, leaf) for value, leaf in sorted(snapshot.get("partitions", {}).items())}


def current_files(table_path: str, only: Iterable | None = None) -> list[str]:
    """File globs of the current version (``<leaf>/*.parquet``), optionally for some partitions only."""
    wanted = None if only is None else {partition_key(v) for v in only}
    return [join(leaf, PARQUET_GLOB) for value, leaf in partitions(table_path).items() if wanted is None or value in wanted]


def read_table(spark: SparkSession, table_path: str, spec: TableSpec, only: Iterable | None = None) -> DataFrame:
    """The current version as a DataFrame of ``spec``'s columns, optionally for some partitions only."""
    wanted = None if only is None else {partition_key(v) for v in only}
    leaves = [leaf for value, leaf in partitions(table_path).items() if wanted is None or value in wanted]
    if not leaves:
        return spark.createDataFrame([], spec.ddl())
    return spark.read.schema(spec.ddl()).parquet(*staging.local_copies(leaves)).select(spec.column_names)


def _new_write_id() -> str:
    return f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"


def _write_leaves(df: DataFrame, spec: TableSpec, write_folder: str) -> dict[str, str]:
    """Write ``df`` partitioned into ``write_folder``; returns partition value -> leaf path (relative).

    A remote ``write_folder`` is written locally first, where its local copy
    belongs (so reading it back downloads nothing), then uploaded.
    """
    local_folder = staging.local_path(write_folder)
    folder_col = partition_folder_column(spec)
    order = [folder_col, *dict.fromkeys((*spec.cluster_by, *spec.key))]
    (
        df.select(*spec.column_names, F.col(_partition_column(spec)).cast("string").alias(folder_col))
        .repartition(folder_col)  # one task, hence one file, per partition
        .sortWithinPartitions(*order)  # clustered files; the same input writes the same rows in the same order
        .write.partitionBy(folder_col)
        .parquet(local_folder)
    )
    prefix = f"{folder_col}="
    written = {}
    for name in storage.listdir(local_folder):
        if name.startswith(prefix):
            value = unquote(name[len(prefix):])
            if value == "__HIVE_DEFAULT_PARTITION__":
                raise LakehouseError(f"{spec.name}: rows with a null {spec.partition_by} in {write_folder}")
            written[value] = name
    if local_folder != write_folder:
        staging.upload_folder(local_folder, write_folder)
    return written


def spec_columns(spec: TableSpec) -> list[str]:
    """The column layout a snapshot records: ``"<name> <type>"`` in the spec's order."""
    return [f"{c.name} {c.type}" for c in spec.columns]


def stored_column_names(table_path: str, snapshot: dict) -> list[str] | None:
    """Column names of the stored version: from the snapshot, or (older snapshots) one leaf's Parquet footer."""
    if "columns" in snapshot:
        return [c.split(" ", 1)[0] for c in snapshot["columns"]]
    leaves = list(snapshot.get("partitions", {}).values())
    if not leaves:
        return None
    fs = storage.filesystem(table_path)
    files = sorted(fs.glob(join(table_path, leaves[0], PARQUET_GLOB)))
    if not files:
        return None
    with fs.open(files[0], "rb") as handle:
        return pq.read_schema(handle).names


def check_same_columns(table_path: str, spec: TableSpec, snapshot: dict) -> None:
    """Refuse to mix partitions of two column layouts in one table, saying how to rebuild it."""
    stored = stored_column_names(table_path, snapshot)
    if stored is None:
        return
    recorded = snapshot.get("columns")
    if stored == spec.column_names and (recorded is None or recorded == spec_columns(spec)):
        return
    added = [c for c in spec.column_names if c not in stored]
    removed = [c for c in stored if c not in spec.column_names]
    change = f"added {added or 'none'}, removed {removed or 'none'}" if added or removed else "types or order"
    raise LakehouseError(
        f"{spec.name} at {table_path} was written with other columns than this version defines ({change}); "
        f"its partitions cannot be mixed with new ones. Rebuild it from Silver/Bronze: "
        f"gnp run --full-refresh --params <your params> (the previous files stay until the rebuild commits)."
    )


def _commit(table_path: str, spec: TableSpec, new_partitions: dict[str, str], write_id: str, previous: dict) -> dict:
    snapshot = {
        "format": SNAPSHOT_FORMAT,
        "table": spec.name,
        "columns": spec_columns(spec),
        "partition_by": spec.partition_by,
        "version": previous.get("version", 0) + 1,
        "write_id": write_id,
        "committed_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "partitions": dict(sorted(new_partitions.items())),
        "previous_partitions": previous.get("partitions", {}),
    }
    storage.write_json(join(table_path, SNAPSHOT), snapshot)
    return snapshot


def _delete_unreferenced(table_path: str, snapshot: dict) -> None:
    """Delete leaves and write folders that neither this nor the previous snapshot references."""
    keep = set(snapshot["partitions"].values()) | set(snapshot["previous_partitions"].values())
    writes_root = join(table_path, WRITES)
    fs = storage.filesystem(writes_root)
    for write_id in storage.listdir(writes_root):
        write_folder = join(writes_root, write_id)
        leaves = [join(WRITES, write_id, name) for name in storage.listdir(write_folder)]
        try:
            if not any(leaf in keep for leaf in leaves):
                fs.rm(write_folder, recursive=True)
                continue
            for leaf in leaves:
                if leaf not in keep and "=" in leaf.rsplit("/", 1)[-1]:
                    fs.rm(join(table_path, leaf), recursive=True)
        except OSError as exc:  # best effort: an orphan costs space, not correctness
            log.warning("could not delete unreferenced data in %s: %s", write_folder, exc)


def replace_partitions(
    df: DataFrame, spec: TableSpec, table_path: str, drop: Iterable = (), *, replace_all: bool = False
) -> dict:
    """Replace exactly the partitions present in ``df``; other partitions stay as they are.

    ``drop`` names partitions to remove when ``df`` has no rows for them (a
    run's whole date range, so a day that lost all its rows does not keep old
    ones). ``replace_all`` makes the table exactly ``df`` (see ``overwrite``).
    Returns the committed snapshot.
    """
    previous = read_snapshot(table_path) or {}
    write_id = _new_write_id()
    written = _write_leaves(df, spec, join(table_path, WRITES, write_id))
    kept = {} if replace_all else dict(previous.get("partitions", {}))
    for value in [*drop, *written]:
        kept.pop(partition_key(value), None)
    if kept:  # old partitions stay beside the new ones: they must have the same columns
        check_same_columns(table_path, spec, previous)
    kept.update({value: join(WRITES, write_id, name) for value, name in written.items()})
    snapshot = _commit(table_path, spec, kept, write_id, previous)
    _delete_unreferenced(table_path, snapshot)
    return snapshot


def overwrite(df: DataFrame, spec: TableSpec, table_path: str) -> dict:
    """Full refresh: after the commit the table holds exactly ``df``."""
    return replace_partitions(df, spec, table_path, replace_all=True)
