"""Gold tables in DuckDB SQL, each a SELECT of exactly its schemas.py columns."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from gnp.config import SemanticsParams
from gnp.gold.columns import THRESHOLD_DECIMALS
from gnp.gold.histogram import speed_bucket_edges
from gnp.schemas import TABLES, TableSpec
from gnp.warehouse import duckdb_type, view_sql

REFERENCE_SCHEMA = "ref_silver"


@dataclass(frozen=True)
class SilverRelations:
    """Where the SQL finds Silver: views over Parquet, or tables a SQL Silver stage built."""

    measurements: str = f"{REFERENCE_SCHEMA}.measurements"
    sessions: str = f"{REFERENCE_SCHEMA}.sessions"


def register_silver(con: duckdb.DuckDBPyConnection, files: Mapping[str, Sequence[str]]) -> SilverRelations:
    """Views ``ref_silver.measurements`` and ``ref_silver.sessions`` over Silver Parquet files or folders."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {REFERENCE_SCHEMA}")
    relations = SilverRelations()
    for name in ("measurements", "sessions"):
        con.execute(view_sql(con, getattr(relations, name), TABLES[name], files[name]))
    return relations


def _final_select(spec: TableSpec, source: str, users: str, k: int, kept: Sequence[str]) -> str:
    """Spec columns, cast; every column not in ``kept`` is nulled when ``users`` < k (small-cell suppression)."""
    is_small = f"coalesce({users} < {k}, true)"
    out = []
    for c in spec.columns:
        if c.name == "is_suppressed":
            expr = is_small
        elif c.name in kept:
            expr = c.name
        else:
            expr = f"CASE WHEN NOT {is_small} THEN {c.name} END"
        out.append(f"CAST({expr} AS {duckdb_type(c.type)}) AS {c.name}")
    return f"SELECT {', '.join(out)} FROM {source}"


def _double(value: float) -> str:
    """A DOUBLE literal that is exactly Python's float (a bare 1.778... would parse as DECIMAL)."""
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def _rounded(col: str) -> str:
    """Float noise must not decide a threshold (see gnp.gold.columns.THRESHOLD_DECIMALS)."""
    return f"round({col}, {THRESHOLD_DECIMALS})"


def _share_at_least(col: str, threshold: float) -> str:
    return f"count(*) FILTER (WHERE {_rounded(col)} >= {_double(threshold)}) / count(*)"


def _median(col: str) -> str:
    return f"quantile_cont({col}, 0.5)"


def _logavg(col: str) -> str:
    return f"exp(avg(CASE WHEN {col} > 0 THEN ln({col}) END))"


def _speed_table(spec: TableSpec, s: SilverRelations, k: int, place: str, labels: Sequence[str]) -> str:
    label_cols = ", ".join(f"max({c}) AS {c}" for c in labels)
    cells = f"""
    WITH located AS (SELECT * FROM {s.measurements} WHERE {place} IS NOT NULL),
    per_user AS (
        SELECT measurement_date, {place}, user_id,
               {_median('download_mbps')} AS dl, {_median('upload_mbps')} AS ul, {_median('rtt_ms')} AS rtt,
               {_median('jitter_ms')} AS jit, {_median('loss_pct')} AS loss
        FROM located GROUP BY measurement_date, {place}, user_id),
    raw AS (
        SELECT measurement_date, {place}, {label_cols}, count(*) AS tests,
               avg(download_mbps) AS download_mean_test_mbps, avg(upload_mbps) AS upload_mean_test_mbps,
               avg(rtt_ms) AS rtt_mean_ms, avg(loss_pct) AS loss_mean_pct
        FROM located GROUP BY measurement_date, {place}),
    over_users AS (
        SELECT measurement_date, {place}, count(*) AS users,
               quantile_cont(dl, 0.25) AS download_p25_mbps, {_median('dl')} AS download_median_mbps,
               quantile_cont(dl, 0.75) AS download_p75_mbps, {_logavg('dl')} AS download_logavg_mbps,
               quantile_cont(ul, 0.25) AS upload_p25_mbps, {_median('ul')} AS upload_median_mbps,
               quantile_cont(ul, 0.75) AS upload_p75_mbps, {_logavg('ul')} AS upload_logavg_mbps,
               {_median('rtt')} AS rtt_median_ms, {_median('jit')} AS jitter_median_ms,
               {_median('loss')} AS loss_median_pct
        FROM per_user GROUP BY measurement_date, {place}),
    started AS (
        SELECT session_date AS measurement_date, {place}, count(*) AS sessions
        FROM {s.sessions} WHERE {place} IS NOT NULL GROUP BY ALL),
    cells AS (
        SELECT raw.*, over_users.* EXCLUDE (measurement_date, {place}), coalesce(started.sessions, 0) AS sessions
        FROM raw JOIN over_users USING (measurement_date, {place})
        LEFT JOIN started USING (measurement_date, {place}))
    """
    kept = ("measurement_date", place, *labels, "tests", "sessions")
    return cells + _final_select(spec, "cells", "users", k, kept)


def regional_metrics(s: SilverRelations, sem: SemanticsParams) -> str:
    return _speed_table(TABLES["regional_metrics"], s, sem.k_anonymity, "periphery_id", ("periphery",))


def regional_unit_metrics(s: SilverRelations, sem: SemanticsParams) -> str:
    labels = ("regional_unit", "periphery_id", "periphery")
    return _speed_table(TABLES["regional_unit_metrics"], s, sem.k_anonymity, "regional_unit_id", labels)


def user_retention(s: SilverRelations, sem: SemanticsParams) -> str:
    cells = f"""
    WITH typed AS (
        SELECT session_date, periphery_id, user_id,
               CASE WHEN is_returning THEN 'returning' ELSE 'new_or_transient' END AS user_type
        FROM {s.sessions}),
    cells AS (
        SELECT session_date, periphery_id, user_type, count(*) AS sessions, count(DISTINCT user_id) AS users
        FROM typed WHERE periphery_id IS NOT NULL GROUP BY ALL
        UNION ALL
        SELECT session_date, 'all', user_type, count(*), count(DISTINCT user_id)
        FROM typed GROUP BY session_date, user_type)
    """
    kept = ("session_date", "periphery_id", "user_type", "sessions")
    return cells + _final_select(TABLES["user_retention"], "cells", "users", sem.k_anonymity, kept)


def cohort_retention(s: SilverRelations, sem: SemanticsParams) -> str:
    cells = f"""
    WITH active AS (SELECT DISTINCT user_id, CAST(date_trunc('week', session_date) AS DATE) AS active_week
                    FROM {s.sessions}),
    cohorts AS (SELECT user_id, min(active_week) AS cohort_week FROM active GROUP BY user_id),
    sizes AS (SELECT cohort_week, count(*) AS cohort_users FROM cohorts GROUP BY cohort_week),
    triangle AS (
        SELECT cohort_week, cohort_users,
               unnest(generate_series(0, (latest_week - cohort_week) // 7)) AS weeks_since_first
        FROM sizes, (SELECT max(active_week) AS latest_week FROM active)),
    retained AS (
        SELECT cohort_week, (active_week - cohort_week) // 7 AS weeks_since_first, count(*) AS active_users
        FROM active JOIN cohorts USING (user_id) GROUP BY ALL),
    cells AS (
        SELECT triangle.*, coalesce(active_users, 0) AS active_users,
               coalesce(active_users, 0) / cohort_users AS retention_share
        FROM triangle LEFT JOIN retained USING (cohort_week, weeks_since_first))
    """
    kept = ("cohort_week", "weeks_since_first")
    return cells + _final_select(TABLES["cohort_retention"], "cells", "cohort_users", sem.k_anonymity, kept)


def frustration_staircase(s: SilverRelations, sem: SemanticsParams) -> str:
    cells = f"""
    WITH cells AS (
        SELECT session_date, behaviour_bucket, count(*) AS sessions, count(DISTINCT user_id) AS users,
               {_median('median_download_mbps')} AS median_download_mbps,
               {_median('median_loss_pct')} AS median_loss_pct,
               {_median('median_jitter_ms')} AS median_jitter_ms,
               {_median('median_rtt_ms')} AS median_rtt_ms
        FROM {s.sessions} GROUP BY session_date, behaviour_bucket)
    """
    kept = ("session_date", "behaviour_bucket", "sessions")
    return cells + _final_select(TABLES["frustration_staircase"], "cells", "users", sem.k_anonymity, kept)


def contract_attainment(s: SilverRelations, sem: SemanticsParams) -> str:
    def per_user_day(dimension: str, value: str, label: str) -> str:
        return f"""
        SELECT measurement_date, '{dimension}' AS dimension, {value} AS dimension_value,
               max({label}) AS dimension_label, user_id,
               {_median('download_mbps')}
                 / quantile_cont(CASE WHEN contract_download_mbps > 0 THEN contract_download_mbps END, 0.5)
                 AS attainment
        FROM {s.measurements} WHERE {value} IS NOT NULL GROUP BY measurement_date, {value}, user_id"""

    cells = f"""
    WITH per_user_day AS (
        {per_user_day('periphery', 'periphery_id', 'periphery')}
        UNION ALL
        {per_user_day('isp', 'isp', 'isp')}),
    cells AS (
        SELECT measurement_date, dimension, dimension_value, max(dimension_label) AS dimension_label,
               count(*) AS user_days, count(DISTINCT user_id) AS users,
               {_share_at_least('attainment', sem.attainment_low)} AS share_reaching_low,
               {_share_at_least('attainment', sem.attainment_high)} AS share_reaching_high,
               {_median('attainment')} AS median_attainment
        FROM per_user_day WHERE attainment IS NOT NULL GROUP BY measurement_date, dimension, dimension_value)
    """
    kept = ("measurement_date", "dimension", "dimension_value", "dimension_label")
    return cells + _final_select(TABLES["contract_attainment"], "cells", "users", sem.k_anonymity, kept)


def hourly_profile(s: SilverRelations, sem: SemanticsParams) -> str:
    cells = f"""
    WITH located AS (SELECT * FROM {s.measurements} WHERE periphery_id IS NOT NULL),
    per_user AS (
        SELECT measurement_date, periphery_id, measurement_hour_local, user_id, {_median('download_mbps')} AS dl
        FROM located GROUP BY ALL),
    cells AS (
        SELECT measurement_date, periphery_id, measurement_hour_local AS hour_local, users, median_download_mbps,
               tests
        FROM (SELECT measurement_date, periphery_id, measurement_hour_local, count(*) AS users,
                     {_median('dl')} AS median_download_mbps
              FROM per_user GROUP BY ALL)
        JOIN (SELECT measurement_date, periphery_id, measurement_hour_local, count(*) AS tests
              FROM located GROUP BY ALL) USING (measurement_date, periphery_id, measurement_hour_local))
    """
    kept = ("measurement_date", "periphery_id", "hour_local", "tests")
    return cells + _final_select(TABLES["hourly_profile"], "cells", "users", sem.k_anonymity, kept)


def speed_histogram(s: SilverRelations, sem: SemanticsParams) -> str:
    edges = speed_bucket_edges(sem.histogram_buckets_per_decade)
    bucket = "CASE " + " ".join(
        f"WHEN {_rounded('speed')} >= {_double(edge)} THEN {i}" for i, edge in reversed(list(enumerate(edges)))
    ) + " ELSE 0 END"
    lowers = "[" + ", ".join(_double(e) for e in edges) + "]"
    uppers = "[" + ", ".join(_double(e) for e in edges[1:]) + ", NULL]"
    cells = f"""
    WITH per_user_day AS (
        SELECT measurement_date, periphery_id, user_id, {_median('download_mbps')} AS dl
        FROM {s.measurements} WHERE periphery_id IS NOT NULL GROUP BY ALL),
    per_user_month AS (
        SELECT CAST(date_trunc('month', measurement_date) AS DATE) AS month, periphery_id, user_id,
               {_median('dl')} AS speed
        FROM per_user_day GROUP BY ALL HAVING speed IS NOT NULL),
    counted AS (
        SELECT month, periphery_id, {bucket} AS bucket_index, count(*) AS users
        FROM per_user_month GROUP BY ALL),
    totals AS (SELECT month, periphery_id, count(*) AS total_users FROM per_user_month GROUP BY ALL),
    cells AS (
        SELECT totals.month, totals.periphery_id, b.bucket_index, total_users,
               ({lowers})[b.bucket_index + 1] AS bucket_lower_mbps,
               ({uppers})[b.bucket_index + 1] AS bucket_upper_mbps,
               coalesce(counted.users, 0) AS users, coalesce(counted.users, 0) / total_users AS share_of_users
        FROM totals CROSS JOIN (SELECT unnest(range({len(edges)})) AS bucket_index) b
        LEFT JOIN counted USING (month, periphery_id, bucket_index))
    """
    kept = ("month", "periphery_id", "bucket_index", "bucket_lower_mbps", "bucket_upper_mbps")
    return cells + _final_select(TABLES["speed_histogram"], "cells", "total_users", sem.k_anonymity, kept)


GOLD_SQL: dict[str, Callable[[SilverRelations, SemanticsParams], str]] = {
    "regional_metrics": regional_metrics,
    "regional_unit_metrics": regional_unit_metrics,
    "user_retention": user_retention,
    "cohort_retention": cohort_retention,
    "frustration_staircase": frustration_staircase,
    "contract_attainment": contract_attainment,
    "hourly_profile": hourly_profile,
    "speed_histogram": speed_histogram,
}


def gold_sql(name: str, semantics: SemanticsParams, silver: SilverRelations = SilverRelations()) -> str:
    """The SELECT that computes one Gold table from Silver."""
    return GOLD_SQL[name](silver, semantics)


def reference_gold(
    con: duckdb.DuckDBPyConnection,
    semantics: SemanticsParams,
    silver: SilverRelations = SilverRelations(),
    names: Sequence[str] = tuple(GOLD_SQL),
) -> dict[str, pd.DataFrame]:
    """Compute Gold tables in DuckDB, by name."""
    return {name: con.execute(gold_sql(name, semantics, silver)).df() for name in names}
