"""The period table in DuckDB SQL: speed statistics per ISO week and calendar month.

Written from the definition in schemas.py, not from the Spark code: each
measurement is repeated once for its week and once for its month, every user's
median is taken over all their tests of the period in the slice, and the
cell's statistics over those users, suppressed below k users as the daily
cells are.
"""

from __future__ import annotations

from gnp.core.config import SemanticsParams
from gnp.core.schemas import AREA_ISP_PERIOD_METRICS, PERIOD_MONTH, PERIOD_WEEK
from gnp.devtools.reference_sql.gold import (
    _AREA_LABELS,
    _LABEL_AGGREGATES,
    SLICE,
    _final_select,
    _logavg,
    _median,
    _sliced,
)
from gnp.devtools.reference_sql.relations import SilverRelations

PERIOD = "period_kind, period_start"


def _in_periods(measurements: str) -> str:
    """Every measurement twice: in its ISO week (date_trunc 'week' is Monday) and in its month."""
    return f"""(
        SELECT *, '{PERIOD_WEEK}' AS period_kind, CAST(date_trunc('week', measurement_date) AS DATE) AS period_start
        FROM {measurements}
        UNION ALL
        SELECT *, '{PERIOD_MONTH}' AS period_kind, CAST(date_trunc('month', measurement_date) AS DATE) AS period_start
        FROM {measurements})"""


def area_isp_period_metrics(s: SilverRelations, sem: SemanticsParams) -> str:
    cells = f"""
    WITH sliced AS ({_sliced(_in_periods(s.measurements))}),
    per_user AS (
        SELECT {PERIOD}, {SLICE}, user_id,
               {_median('download_mbps')} AS dl, {_median('upload_mbps')} AS ul, {_median('rtt_ms')} AS rtt,
               {_median('jitter_ms')} AS jit, {_median('loss_pct')} AS loss
        FROM sliced GROUP BY {PERIOD}, {SLICE}, user_id),
    raw AS (
        SELECT {PERIOD}, {SLICE}, {_LABEL_AGGREGATES}, count(*) AS tests,
               avg(download_mbps) AS download_mean_test_mbps, avg(upload_mbps) AS upload_mean_test_mbps,
               avg(rtt_ms) AS rtt_mean_ms, avg(loss_pct) AS loss_mean_pct
        FROM sliced GROUP BY {PERIOD}, {SLICE}),
    over_users AS (
        SELECT {PERIOD}, {SLICE}, count(*) AS users,
               quantile_cont(dl, 0.25) AS download_p25_mbps, {_median('dl')} AS download_median_mbps,
               quantile_cont(dl, 0.75) AS download_p75_mbps, {_logavg('dl')} AS download_logavg_mbps,
               quantile_cont(ul, 0.25) AS upload_p25_mbps, {_median('ul')} AS upload_median_mbps,
               quantile_cont(ul, 0.75) AS upload_p75_mbps, {_logavg('ul')} AS upload_logavg_mbps,
               {_median('rtt')} AS rtt_median_ms, {_median('jit')} AS jitter_median_ms,
               {_median('loss')} AS loss_median_pct
        FROM per_user GROUP BY {PERIOD}, {SLICE}),
    cells AS (
        SELECT raw.*, over_users.* EXCLUDE ({PERIOD}, {SLICE}), {_AREA_LABELS},
               CASE period_kind WHEN '{PERIOD_WEEK}' THEN CAST(period_start + INTERVAL 6 DAY AS DATE)
                    ELSE last_day(period_start) END AS period_end
        FROM raw JOIN over_users USING ({PERIOD}, {SLICE}))
    """
    spec = AREA_ISP_PERIOD_METRICS
    kept = [c.name for c in spec.columns if c.type in ("date", "string")] + ["tests"]
    return cells + _final_select(spec, "cells", "users", sem.k_anonymity, kept)
