"""Read-only access to Gold for the dashboard, whatever the warehouse.

Queries are written once, in standard SQL with BigQuery-style named
parameters (``@date_from``); a backend adapts only the placeholder syntax.
Table ids always come from the registry, and only Gold tables can be named:
the dashboard never scans Silver.

BigQuery rows come through Arrow (``to_dataframe`` is deprecated and needs
db-dtypes) with dates as datetime64 and nulls as NaN, as DuckDB's frames have
them, so the figures see one shape.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from gnp.core.config import Params
from gnp.core.errors import GnpError
from gnp.core.registry import Registry
from gnp.core.schemas import TABLES
from gnp.serving import warehouse

# google.cloud.bigquery is imported where it is used: on DuckDB, a chapter's or a dashboard visitor's kernel
# would spend a second importing a client it never calls.

_PARAM = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")
GOLD_LAYER = "gold"


class SilverAccessError(GnpError, ValueError):
    """A dashboard query named a table that is not in Gold."""


class Executor(Protocol):
    def __call__(self, sql: str, params: dict[str, Any]) -> pd.DataFrame: ...


def to_duckdb_placeholders(sql: str) -> str:
    """``@name`` -> ``$name``: DuckDB's spelling of a named parameter."""
    return _PARAM.sub(r"$\1", sql)


def used_params(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters the text names: DuckDB rejects unused ones."""
    names = set(_PARAM.findall(sql))
    return {k: v for k, v in params.items() if k in names}


@dataclass
class GoldSource:
    """Gold tables of one warehouse: ``table(name)`` for ids, ``frame(sql, params)`` to run."""

    registry: Registry
    execute: Executor
    log: list[str] = field(default_factory=list)  # every statement run, for tests and timing

    def table(self, name: str) -> str:
        spec = TABLES.get(name)
        if spec is None or spec.layer != GOLD_LAYER:
            raise SilverAccessError(f"the dashboard reads only Gold tables; {name!r} is not one")
        table_id = self.registry.table_id(name)
        return f"`{table_id}`" if self.registry.warehouse_kind == "bigquery" else table_id

    def frame(self, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        self.log.append(sql)
        return self.execute(sql, used_params(sql, params or {}))


def duckdb_executor(con) -> Executor:
    """Run the portable SQL text on a DuckDB connection."""

    def run(sql: str, params: dict[str, Any]) -> pd.DataFrame:
        return con.execute(to_duckdb_placeholders(sql), params).df()

    return run


_BIGQUERY_PARAM_TYPES = {
    str: "STRING", type(None): "STRING", bool: "BOOL", int: "INT64", float: "FLOAT64",
    dt.date: "DATE", dt.datetime: "TIMESTAMP",
}


def query_parameters(params: dict[str, Any]) -> list[bigquery.ScalarQueryParameter]:
    """BigQuery named parameters; a None is a typed null (STRING: only text filters are ever None)."""
    from google.cloud import bigquery

    return [bigquery.ScalarQueryParameter(name, _BIGQUERY_PARAM_TYPES[type(value)], value)
            for name, value in params.items()]


def query_job_config(params: dict[str, Any], maximum_bytes_billed: int) -> bigquery.QueryJobConfig:
    """A dashboard query job: named parameters, and a cap on the bytes it may bill.

    The dashboard is public: a query over the cap fails (unbilled) instead of charging for a scan
    nobody planned, and the visitor sees the figure's error placeholder.
    """
    from google.cloud import bigquery

    return bigquery.QueryJobConfig(query_parameters=query_parameters(params),
                                   maximum_bytes_billed=maximum_bytes_billed)


def bigquery_executor(client: bigquery.Client, maximum_bytes_billed: int) -> Executor:
    """Run the portable SQL text as a capped BigQuery query job with named parameters."""

    def run(sql: str, params: dict[str, Any]) -> pd.DataFrame:
        job = client.query(sql, job_config=query_job_config(params, maximum_bytes_billed))
        return job.result().to_arrow(create_bqstorage_client=False).to_pandas(date_as_object=False)

    return run


@contextlib.contextmanager
def open_gold(params: Params) -> Iterator[GoldSource]:
    """One short-lived read-only connection per redraw: holding one would lock out the pipeline's writer.

    BigQuery is read-only by the dashboard's service account (roles on ``gold`` only), not by the client.
    """
    registry = Registry.from_params(params)
    if registry.warehouse_kind == "bigquery":
        from gnp.serving.bigquery_tables import bigquery_client

        client = bigquery_client(params)
        try:
            yield GoldSource(registry, bigquery_executor(client, params.warehouse.maximum_bytes_billed))
        finally:
            client.close()
        return
    # gnp.serving.warehouse's connection: read-only, UTC, and it waits out a refresh holding the write lock
    con = warehouse.connect(registry.duckdb_path, read_only=True)
    try:
        yield GoldSource(registry, duckdb_executor(con))
    finally:
        con.close()
