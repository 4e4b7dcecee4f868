"""Where the reference finds Silver in DuckDB, and the DuckDB type of each contract type.

Silver comes either from ``silver.build_silver`` (tables built from Bronze) or
from Parquet files Spark wrote (``register_silver``: files, Delta file lists or
hive-partitioned folders). Either way each relation has exactly the columns and
types of its contract in schemas.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from gnp.core.schemas import TABLES, TableSpec
from gnp.devtools.reference_sql.rules import literal

REFERENCE_SCHEMA = "ref_silver"
# schemas.py names Spark SQL types; these are their DuckDB equivalents. Timestamps
# are UTC instants (schemas.py: "Timestamps are UTC"), hence WITH TIME ZONE.
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


@dataclass(frozen=True)
class SilverRelations:
    """Where the SQL finds Silver: views over Parquet, or tables a SQL Silver stage built."""

    measurements: str = f"{REFERENCE_SCHEMA}.measurements"
    sessions: str = f"{REFERENCE_SCHEMA}.sessions"


def duckdb_type(spark_type: str) -> str:
    return DUCKDB_TYPES[spark_type]


def _parquet_patterns(locations: Sequence[str]) -> list[str]:
    """A Parquet file as named; a folder as every Parquet file under it."""
    return [loc if loc.endswith(".parquet") else loc.rstrip("/") + "/**/*.parquet" for loc in locations]


def _column(name: str, spark_type: str, file_type: str | None) -> str:
    target = duckdb_type(spark_type)
    if file_type is None:
        return f"CAST(NULL AS {target})"
    if spark_type == "timestamp" and file_type != target:
        return f"timezone('UTC', {name})"  # a zone-less timestamp (Spark's INT96) holds UTC wall time
    return f"CAST({name} AS {target})"


def parquet_view_sql(con: duckdb.DuckDBPyConnection, view: str, spec: TableSpec, locations: Sequence[str]) -> str:
    """CREATE VIEW text: ``spec``'s columns, typed, over the Parquet files; an empty typed view when there are none.

    A partition column that lives only in the folder names (``measurement_date=...``)
    is read from them; a column the files lack reads as null.
    """
    patterns = [p for p in _parquet_patterns(locations)
                if con.execute("SELECT count(*) FROM glob(?)", [p]).fetchone()[0]]
    if not patterns:
        typed = ", ".join(f"CAST(NULL AS {duckdb_type(c.type)}) AS {c.name}" for c in spec.columns)
        return f"CREATE OR REPLACE VIEW {view} AS SELECT {typed} WHERE false"
    source = (f"read_parquet([{', '.join(literal(p) for p in patterns)}], "
              "union_by_name = true, hive_partitioning = true)")
    file_types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})").fetchall())
    typed = ", ".join(f"{_column(c.name, c.type, file_types.get(c.name))} AS {c.name}" for c in spec.columns)
    return f"CREATE OR REPLACE VIEW {view} AS SELECT {typed} FROM {source}"


def register_silver(con: duckdb.DuckDBPyConnection, files: Mapping[str, Sequence[str]]) -> SilverRelations:
    """Views ``ref_silver.measurements`` and ``ref_silver.sessions`` over Silver Parquet files or folders."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {REFERENCE_SCHEMA}")
    relations = SilverRelations()
    for name in ("measurements", "sessions"):
        con.execute(parquet_view_sql(con, getattr(relations, name), TABLES[name], files[name]))
    return relations
