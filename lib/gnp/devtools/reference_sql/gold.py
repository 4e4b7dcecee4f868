"""Gold tables in DuckDB SQL, each a SELECT of exactly its schemas.py columns.

Every table is cut by slice (area_level, area_id, isp; see schemas.py):
``_sliced`` repeats each measurement or session once per slice it belongs to,
and every statistic is then grouped by the slice, so each slice's figure comes
from its own tests. regional_metrics and
regional_unit_metrics are the all-ISP periphery and regional-unit rows of
area_isp_metrics under their own column names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import duckdb
import pandas as pd

from gnp.core.config import SemanticsParams
from gnp.core.schemas import (
    ALL_ISPS,
    AREA_COUNTRY,
    AREA_PERIPHERY,
    AREA_REGIONAL_UNIT,
    COUNTRY_ID,
    COUNTRY_NAME,
    SLICE_KEY,
    TABLES,
    TableSpec,
)
from gnp.devtools.reference_sql.relations import SilverRelations, duckdb_type
from gnp.devtools.reference_sql.rules import literal as _text

# README "Semantics": a session is returning, or new or transient (user_retention.user_type).
RETURNING, NEW_OR_TRANSIENT = "returning", "new_or_transient"
SLICE = ", ".join(SLICE_KEY)
# Values compared with a threshold or a bucket edge are first rounded to this many
# decimals: an interpolated median can land an ulp below the exact value
# (39.99999999999999 for 40), and that noise must not decide a threshold. The
# Spark Gold rounds the same way (gold/columns.py states the rule there).
THRESHOLD_DECIMALS = 9
# Histogram buckets (the README's statistics, as M-Lab publishes them: over log-spaced buckets;
# schemas.SPEED_HISTOGRAM: bucket 0 lowest, lower edge inclusive, the last open):
# one bucket below 1 Mbps, then histogram_buckets_per_decade per decade up to
# 10 Gbps, Silver's default plausibility limit, from which one open top bucket
# (gold/histogram.py defines the same edges).
LOWEST_EDGE_MBPS = 1.0
DECADES = 4  # 1 Mbps to 10 Gbps


def speed_bucket_edges(buckets_per_decade: int) -> list[float]:
    """Lower edges of the histogram's buckets: 0, then 10**(i / buckets_per_decade) Mbps up to 10 Gbps."""
    steps = DECADES * buckets_per_decade
    return [0.0] + [LOWEST_EDGE_MBPS * 10 ** (i / buckets_per_decade) for i in range(steps + 1)]


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
    """Float noise must not decide a threshold (see THRESHOLD_DECIMALS)."""
    return f"round({col}, {THRESHOLD_DECIMALS})"


def _share_at_least(col: str, threshold: float) -> str:
    return f"count(*) FILTER (WHERE {_rounded(col)} >= {_double(threshold)}) / count(*)"


def _median(col: str) -> str:
    return f"quantile_cont({col}, 0.5)"


def _logavg(col: str) -> str:
    return f"exp(avg(CASE WHEN {col} > 0 THEN ln({col}) END))"


def _sliced(relation: str) -> str:
    """The relation's rows, once per slice they belong to (2 to 6 each), as ``area_level, area_id, isp``.

    Areas: the country always, the periphery and the regional unit when known;
    ISPs: 'all' always, the row's own when known. The row's own ``isp`` is
    replaced by the slice's; every other column stays.
    """
    levels = ", ".join(f"({_text(level)})" for level in (AREA_COUNTRY, AREA_PERIPHERY, AREA_REGIONAL_UNIT))
    area_id = (f"CASE area_level WHEN {_text(AREA_COUNTRY)} THEN {_text(COUNTRY_ID)} "
               f"WHEN {_text(AREA_PERIPHERY)} THEN r.periphery_id ELSE r.regional_unit_id END")
    return f"""
        SELECT * FROM (
            SELECT r.* EXCLUDE (isp), area_level, {area_id} AS area_id,
                   CASE WHEN every_isp THEN {_text(ALL_ISPS)} ELSE r.isp END AS isp
            FROM {relation} r
            CROSS JOIN (VALUES {levels}) AS areas(area_level)
            CROSS JOIN (VALUES (true), (false)) AS isps(every_isp))
        WHERE area_id IS NOT NULL AND isp IS NOT NULL"""


# Labels of a slice from the max() of its rows' names: unit_name, periphery_name, unit_periphery_id.
_LABEL_AGGREGATES = ("max(regional_unit) AS unit_name, max(periphery) AS periphery_name, "
                     "max(periphery_id) AS unit_periphery_id")
_AREA = (f"CASE area_level WHEN {_text(AREA_COUNTRY)} THEN {_text(COUNTRY_NAME)} "
         f"WHEN {_text(AREA_PERIPHERY)} THEN periphery_name ELSE unit_name END")
_AREA_PERIPHERY_ID = (f"CASE area_level WHEN {_text(AREA_PERIPHERY)} THEN area_id "
                      f"WHEN {_text(AREA_REGIONAL_UNIT)} THEN unit_periphery_id END")
_AREA_PERIPHERY = f"CASE WHEN area_level <> {_text(AREA_COUNTRY)} THEN periphery_name END"
_AREA_LABELS = f"{_AREA} AS area, {_AREA_PERIPHERY_ID} AS periphery_id, {_AREA_PERIPHERY} AS periphery"


def _area_isp_cells(s: SilverRelations) -> str:
    """CTEs ending in ``area_isp``: the speed statistics and labels per measurement_date and slice, unsuppressed."""
    return f"""
    WITH sliced AS ({_sliced(s.measurements)}),
    per_user AS (
        SELECT measurement_date, {SLICE}, user_id,
               {_median('download_mbps')} AS dl, {_median('upload_mbps')} AS ul, {_median('rtt_ms')} AS rtt,
               {_median('jitter_ms')} AS jit, {_median('loss_pct')} AS loss
        FROM sliced GROUP BY measurement_date, {SLICE}, user_id),
    raw AS (
        SELECT measurement_date, {SLICE}, {_LABEL_AGGREGATES}, count(*) AS tests,
               avg(download_mbps) AS download_mean_test_mbps, avg(upload_mbps) AS upload_mean_test_mbps,
               avg(rtt_ms) AS rtt_mean_ms, avg(loss_pct) AS loss_mean_pct
        FROM sliced GROUP BY measurement_date, {SLICE}),
    over_users AS (
        SELECT measurement_date, {SLICE}, count(*) AS users,
               quantile_cont(dl, 0.25) AS download_p25_mbps, {_median('dl')} AS download_median_mbps,
               quantile_cont(dl, 0.75) AS download_p75_mbps, {_logavg('dl')} AS download_logavg_mbps,
               quantile_cont(ul, 0.25) AS upload_p25_mbps, {_median('ul')} AS upload_median_mbps,
               quantile_cont(ul, 0.75) AS upload_p75_mbps, {_logavg('ul')} AS upload_logavg_mbps,
               {_median('rtt')} AS rtt_median_ms, {_median('jit')} AS jitter_median_ms,
               {_median('loss')} AS loss_median_pct
        FROM per_user GROUP BY measurement_date, {SLICE}),
    started AS (
        SELECT session_date AS measurement_date, {SLICE}, count(*) AS sessions
        FROM ({_sliced(s.sessions)}) GROUP BY session_date, {SLICE}),
    area_isp AS (
        SELECT raw.*, over_users.* EXCLUDE (measurement_date, {SLICE}), coalesce(started.sessions, 0) AS sessions,
               {_AREA_LABELS}
        FROM raw JOIN over_users USING (measurement_date, {SLICE})
        LEFT JOIN started USING (measurement_date, {SLICE}))
    """


def _speed_table(spec: TableSpec, s: SilverRelations, k: int, level: str | None, renamed: Mapping[str, str]) -> str:
    """area_isp_metrics, or (with ``level``) its all-ISP rows of one area level under ``renamed`` names."""
    where = "" if level is None else f" WHERE area_level = {_text(level)} AND isp = {_text(ALL_ISPS)}"
    rename = f" RENAME ({', '.join(f'{a} AS {b}' for a, b in renamed.items())})" if renamed else ""
    cells = _area_isp_cells(s) + f", cells AS (SELECT *{rename} FROM area_isp{where})\n"
    kept = [c.name for c in spec.columns if c.type in ("date", "string")] + ["tests", "sessions"]
    return cells + _final_select(spec, "cells", "users", k, kept)


def area_isp_metrics(s: SilverRelations, sem: SemanticsParams) -> str:
    return _speed_table(TABLES["area_isp_metrics"], s, sem.k_anonymity, None, {})


def regional_metrics(s: SilverRelations, sem: SemanticsParams) -> str:
    return _speed_table(TABLES["regional_metrics"], s, sem.k_anonymity, AREA_PERIPHERY, {})


def regional_unit_metrics(s: SilverRelations, sem: SemanticsParams) -> str:
    renamed = {"area_id": "regional_unit_id", "area": "regional_unit"}
    return _speed_table(TABLES["regional_unit_metrics"], s, sem.k_anonymity, AREA_REGIONAL_UNIT, renamed)


def user_retention(s: SilverRelations, sem: SemanticsParams) -> str:
    cells = f"""
    WITH cells AS (
        SELECT session_date, {SLICE},
               CASE WHEN is_returning THEN {_text(RETURNING)} ELSE {_text(NEW_OR_TRANSIENT)} END AS user_type,
               count(*) AS sessions, count(DISTINCT user_id) AS users
        FROM ({_sliced(s.sessions)}) GROUP BY ALL)
    """
    kept = ("session_date", *SLICE_KEY, "user_type", "sessions")
    return cells + _final_select(TABLES["user_retention"], "cells", "users", sem.k_anonymity, kept)


def cohort_retention(s: SilverRelations, sem: SemanticsParams) -> str:
    cells = f"""
    WITH active AS (
        SELECT DISTINCT {SLICE}, user_id, CAST(date_trunc('week', session_date) AS DATE) AS active_week
        FROM ({_sliced(s.sessions)})),
    cohorts AS (SELECT {SLICE}, user_id, min(active_week) AS cohort_week FROM active GROUP BY ALL),
    sizes AS (SELECT {SLICE}, cohort_week, count(*) AS cohort_users FROM cohorts GROUP BY ALL),
    latest AS (SELECT CAST(date_trunc('week', max(session_date)) AS DATE) AS latest_week FROM {s.sessions}),
    triangle AS (
        SELECT sizes.*, unnest(generate_series(0, (latest_week - cohort_week) // 7)) AS weeks_since_first
        FROM sizes CROSS JOIN latest),
    retained AS (
        SELECT {SLICE}, cohort_week, (active_week - cohort_week) // 7 AS weeks_since_first,
               count(*) AS active_users
        FROM active JOIN cohorts USING ({SLICE}, user_id) GROUP BY ALL),
    cells AS (
        SELECT triangle.*, coalesce(active_users, 0) AS active_users,
               coalesce(active_users, 0) / cohort_users AS retention_share
        FROM triangle LEFT JOIN retained USING ({SLICE}, cohort_week, weeks_since_first))
    """
    kept = ("cohort_week", *SLICE_KEY, "weeks_since_first")
    return cells + _final_select(TABLES["cohort_retention"], "cells", "cohort_users", sem.k_anonymity, kept)


def frustration_staircase(s: SilverRelations, sem: SemanticsParams) -> str:
    cells = f"""
    WITH cells AS (
        SELECT session_date, {SLICE}, behaviour_bucket, count(*) AS sessions, count(DISTINCT user_id) AS users,
               {_median('median_download_mbps')} AS median_download_mbps,
               {_median('median_loss_pct')} AS median_loss_pct,
               {_median('median_jitter_ms')} AS median_jitter_ms,
               {_median('median_rtt_ms')} AS median_rtt_ms
        FROM ({_sliced(s.sessions)}) GROUP BY session_date, {SLICE}, behaviour_bucket)
    """
    kept = ("session_date", *SLICE_KEY, "behaviour_bucket", "sessions")
    return cells + _final_select(TABLES["frustration_staircase"], "cells", "users", sem.k_anonymity, kept)


def contract_attainment(s: SilverRelations, sem: SemanticsParams) -> str:
    labels = ", ".join(f"max({c}) AS {c}" for c in ("unit_name", "periphery_name", "unit_periphery_id"))
    cells = f"""
    WITH per_user_day AS (
        SELECT measurement_date, {SLICE}, user_id, {_LABEL_AGGREGATES},
               {_median('download_mbps')}
                 / quantile_cont(CASE WHEN contract_download_mbps > 0 THEN contract_download_mbps END, 0.5)
                 AS attainment
        FROM ({_sliced(s.measurements)}) GROUP BY measurement_date, {SLICE}, user_id),
    rated AS (
        SELECT measurement_date, {SLICE}, {labels},
               count(*) AS user_days, count(DISTINCT user_id) AS users,
               {_share_at_least('attainment', sem.attainment_low)} AS share_reaching_low,
               {_share_at_least('attainment', sem.attainment_high)} AS share_reaching_high,
               {_median('attainment')} AS median_attainment
        FROM per_user_day WHERE attainment IS NOT NULL GROUP BY measurement_date, {SLICE}),
    cells AS (SELECT *, {_AREA_LABELS} FROM rated)
    """
    kept = ("measurement_date", *SLICE_KEY, "area", "periphery_id", "periphery")
    return cells + _final_select(TABLES["contract_attainment"], "cells", "users", sem.k_anonymity, kept)


def hourly_profile(s: SilverRelations, sem: SemanticsParams) -> str:
    cells = f"""
    WITH per_user AS (
        SELECT measurement_date, {SLICE}, measurement_hour_local AS hour_local, user_id, count(*) AS tests,
               {_median('download_mbps')} AS dl
        FROM ({_sliced(s.measurements)}) GROUP BY ALL),
    cells AS (
        SELECT measurement_date, {SLICE}, hour_local, sum(tests) AS tests, count(*) AS users,
               {_median('dl')} AS median_download_mbps
        FROM per_user GROUP BY measurement_date, {SLICE}, hour_local)
    """
    kept = ("measurement_date", *SLICE_KEY, "hour_local", "tests")
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
        SELECT measurement_date, {SLICE}, user_id, {_median('download_mbps')} AS dl
        FROM ({_sliced(s.measurements)}) GROUP BY ALL),
    per_user_month AS (
        SELECT CAST(date_trunc('month', measurement_date) AS DATE) AS month, {SLICE}, user_id,
               {_median('dl')} AS speed
        FROM per_user_day GROUP BY ALL HAVING speed IS NOT NULL),
    counted AS (SELECT month, {SLICE}, {bucket} AS bucket_index, count(*) AS users FROM per_user_month GROUP BY ALL),
    totals AS (SELECT month, {SLICE}, count(*) AS total_users FROM per_user_month GROUP BY ALL),
    cells AS (
        SELECT totals.*, b.bucket_index,
               ({lowers})[b.bucket_index + 1] AS bucket_lower_mbps,
               ({uppers})[b.bucket_index + 1] AS bucket_upper_mbps,
               coalesce(counted.users, 0) AS users, coalesce(counted.users, 0) / total_users AS share_of_users
        FROM totals CROSS JOIN (SELECT unnest(range({len(edges)})) AS bucket_index) b
        LEFT JOIN counted USING (month, {SLICE}, bucket_index))
    """
    kept = ("month", *SLICE_KEY, "bucket_index", "bucket_lower_mbps", "bucket_upper_mbps")
    return cells + _final_select(TABLES["speed_histogram"], "cells", "total_users", sem.k_anonymity, kept)


def area_isp_period_metrics(s: SilverRelations, sem: SemanticsParams) -> str:
    from gnp.devtools.reference_sql.periods import (
        area_isp_period_metrics as sql,  # that module imports this one's helpers
    )

    return sql(s, sem)


GOLD_SQL: dict[str, Callable[[SilverRelations, SemanticsParams], str]] = {
    "area_isp_metrics": area_isp_metrics,
    "area_isp_period_metrics": area_isp_period_metrics,
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
