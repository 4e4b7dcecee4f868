"""The local warehouse: a DuckDB file with one view per table over its committed Parquet files.

Views, not copies: the warehouse costs nothing to refresh and always shows
exactly the Delta version whose checks last passed
(``gnp.quality.audit``). Each view names the exact
files of one version, listed by the ``deltalake`` package from the table's log
(``lakehouse.current_files``): DuckDB 2.0.1's own Delta support is an
extension that is not installed here (its PyPI builds, ``duckdb-ext-delta``,
exist for DuckDB 1.4.4 only, and DuckDB would download it at run time). A later
commit never changes what a view reads, and ``VACUUM`` keeps every file a
version of the last ``storage.vacuum_retain_days`` (>= 7) needs, so a view
keeps answering until its next refresh. A refresh replaces every view in
one transaction, so a reader sees the previous version or the new one.
Each view selects exactly the spec's columns with the spec's types, whatever
the files hold: a column the files lack reads as null, a column they add is
not exposed, and timestamps Spark wrote without a zone (INT96) become UTC
TIMESTAMPTZ.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from gnp.core.registry import Registry
from gnp.core.schemas import TABLES, TableSpec

DUCKDB_TYPES = {
    "bigint": "BIGINT",
    "int": "INTEGER",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "array<string>": "VARCHAR[]",
}
_NAIVE_TIMESTAMPS = ("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
_GLOB_CHARS = "*?["
LOCK_RETRIES = 20  # the dashboard holds short read-only connections; wait them out
LOCK_WAIT_S = 0.25


def duckdb_type(spark_type: str) -> str:
    return DUCKDB_TYPES[spark_type]


def parquet_globs(locations: Sequence[str]) -> list[str]:
    """Parquet file patterns for files, folders (searched recursively) or globs."""
    globs = []
    for location in locations:
        path = location if "://" in location else os.path.abspath(location)
        if path.endswith(".parquet") or any(ch in path for ch in _GLOB_CHARS):
            globs.append(path)
        else:
            globs.append(path.rstrip("/") + "/**/*.parquet")
    return globs


def view_sql(con: duckdb.DuckDBPyConnection, view_id: str, spec: TableSpec, locations: Sequence[str]) -> str:
    """CREATE OR REPLACE VIEW text for one table over its current files (an empty typed view if none)."""
    # Exact files (a Delta version's list) are read as named; patterns only if they match something.
    patterns = parquet_globs(locations)
    first_files = {g: con.execute("SELECT file FROM glob(?) LIMIT 1", [g]).fetchone() if _is_glob(g) else (g,)
                   for g in patterns}
    globs = [g for g, first in first_files.items() if first]
    if not globs:
        columns = ", ".join(f"CAST(NULL AS {duckdb_type(c.type)}) AS {c.name}" for c in spec.columns)
        return f"CREATE OR REPLACE VIEW {view_id} AS SELECT {columns} WHERE false"
    hive = spec.partition_by is not None and any(f"/{spec.partition_by}=" in f[0] for f in first_files.values() if f)
    source = _read_parquet(globs, hive)
    file_types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall())
    columns = ", ".join(f"{_column_expr(c.name, c.type, file_types.get(c.name))} AS {c.name}" for c in spec.columns)
    return f"CREATE OR REPLACE VIEW {view_id} AS SELECT {columns} FROM {source}"


def refresh_duckdb(registry: Registry, table_files: Mapping[str, Sequence[str]] | None = None) -> dict[str, int]:
    """Point the warehouse views at the tables' current Parquet files, atomically.

    Args:
        registry: gives the DuckDB file and each table's view id (``silver.x``, ``gold.y``).
        table_files: table name -> its current files, folders or globs. None reads every
            table at its audited version (``audited_files``). Tables left out keep their
            existing view, or get an empty one if they have none.

    Returns:
        Table name -> number of file patterns its view reads.
    """
    if registry.warehouse_kind != "duckdb":
        raise ValueError(f"the warehouse is {registry.warehouse_kind!r}: refresh_duckdb serves only the duckdb kind")
    if table_files is None:
        table_files = audited_files(registry)
    unknown = set(table_files) - set(TABLES)
    if unknown:
        raise KeyError(f"not tables of schemas.TABLES: {sorted(unknown)}")
    os.makedirs(os.path.dirname(os.path.abspath(registry.duckdb_path)), exist_ok=True)
    con = connect(registry.duckdb_path, read_only=False)
    try:
        existing = {f"{s}.{n}" for s, n in con.execute("SELECT schema_name, view_name FROM duckdb_views()").fetchall()}
        statements, counts = [], {}
        for name, spec in TABLES.items():
            view_id = registry.table_id(name)
            if name in table_files:
                statements.append(view_sql(con, view_id, spec, table_files[name]))
                counts[name] = len(table_files[name])
            elif view_id not in existing:
                statements.append(view_sql(con, view_id, spec, []))
        schemas = sorted({registry.table_id(n).split(".")[0] for n in TABLES})
        con.execute("BEGIN TRANSACTION")
        for schema in schemas:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for statement in statements:
            con.execute(statement)
        con.execute("COMMIT")
    finally:
        con.close()
    return counts


def audited_files(registry: Registry) -> dict[str, list[str]]:
    """Each table's files at its audited version (``gnp.quality.audit``): a version whose checks did not run
    or did not pass is never served. A table with no audited version yet is served empty."""
    from gnp.lake import lakehouse  # the lakehouse owns which files a version has
    from gnp.quality import audit

    return {name: [] if version is None else lakehouse.current_files(registry.table_path(name), at_version=version)
            for name, version in audit.readable_versions(registry).items()}  # fmt: skip


def query(registry: Registry, sql: str, params: Sequence | Mapping | None = None) -> pd.DataFrame:
    """Run SQL on a short-lived read-only connection to the warehouse; timestamps come back in UTC."""
    con = connect(registry.duckdb_path, read_only=True)
    try:
        return con.execute(sql, params).df() if params is not None else con.execute(sql).df()
    finally:
        con.close()


def connect(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    for attempt in range(LOCK_RETRIES):
        try:
            con = duckdb.connect(path, read_only=read_only)
            con.execute("SET TimeZone = 'UTC'")
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or attempt == LOCK_RETRIES - 1:
                raise
            time.sleep(LOCK_WAIT_S)
    raise AssertionError("unreachable")


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in _GLOB_CHARS)


def _read_parquet(globs: list[str], hive: bool) -> str:
    files = ", ".join(_quote(g) for g in globs)
    return f"read_parquet([{files}], union_by_name = true, hive_partitioning = {str(hive).lower()})"


def _column_expr(name: str, spark_type: str, file_type: str | None) -> str:
    target = duckdb_type(spark_type)
    if file_type is None:
        return f"CAST(NULL AS {target})"
    if spark_type == "timestamp" and file_type in _NAIVE_TIMESTAMPS:
        return f"timezone('UTC', {name})"  # Spark's INT96 holds UTC wall time without a zone
    return name if file_type == target else f"CAST({name} AS {target})"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
