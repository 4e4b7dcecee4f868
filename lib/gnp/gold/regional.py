"""Speed metrics per day and slice, and the original's regional tables cut from them.

Grain and key come from schemas.AREA_ISP_METRICS; regional_metrics and
regional_unit_metrics (the original pipeline's tables) are its rows for every
ISP at the periphery and regional-unit level. Quartiles, medians and
log-averages are taken over users (each user's median of the day in the
slice, see user_days); the ``*_mean_*`` columns are over raw tests, as the
original pipeline published them, so the two can be compared.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.schemas import (
    ALL_ISPS,
    AREA_ISP_METRICS,
    AREA_PERIPHERY,
    AREA_REGIONAL_UNIT,
    REGIONAL_METRICS,
    REGIONAL_UNIT_METRICS,
)
from gnp.gold.slices import SLICE_KEY, SLICE_LABELS, with_slices
from gnp.gold.suppression import with_suppression
from gnp.gold.user_days import DATE, SPEED_METRICS, count_col, median_col, sum_col
from gnp.core.columns import MEDIAN, conform_to_spec, log_average, ratio, sorted_list, with_quantiles

_COUNTS_KEPT_WHEN_SUPPRESSED = ("tests", "sessions")


def area_isp_metrics(slice_user_days: DataFrame, sessions: DataFrame, k: int) -> DataFrame:
    """One row per measurement_date and slice.

    Args:
        slice_user_days: ``per_user_day`` at the slice grain.
        sessions: Silver sessions (counted in the slices of their first test).
        k: fewer distinct users than this suppresses the cell.
    """
    cells = slice_user_days.groupBy(DATE, *SLICE_KEY).agg(
        *[F.max(c).alias(c) for c in SLICE_LABELS],
        F.sum("tests").alias("tests"),
        F.count(F.lit(1)).alias("users"),
        *_mean_over_tests("download_mbps", "download_mean_test_mbps"),
        *_mean_over_tests("upload_mbps", "upload_mean_test_mbps"),
        *_mean_over_tests("rtt_ms", "rtt_mean_ms"),
        *_mean_over_tests("loss_pct", "loss_mean_pct"),
        log_average(median_col("download_mbps")).alias("download_logavg_mbps"),
        log_average(median_col("upload_mbps")).alias("upload_logavg_mbps"),
        *[sorted_list(median_col(m)).alias(_users(m)) for m in SPEED_METRICS],
    )
    cells = with_quantiles(cells, {
        **{f"{short}_{name}_mbps": (_users(metric), q)
           for metric, short in (("download_mbps", "download"), ("upload_mbps", "upload"))
           for name, q in (("p25", 0.25), ("median", MEDIAN), ("p75", 0.75))},
        "rtt_median_ms": (_users("rtt_ms"), MEDIAN),
        "jitter_median_ms": (_users("jitter_ms"), MEDIAN),
        "loss_median_pct": (_users("loss_pct"), MEDIAN),
    })
    joined = cells.join(sessions_started(sessions), on=[DATE, *SLICE_KEY], how="left").withColumn(
        "sessions", F.coalesce("sessions", F.lit(0))
    )
    kept = {DATE, *SLICE_KEY, *SLICE_LABELS, "is_suppressed", *_COUNTS_KEPT_WHEN_SUPPRESSED}
    nulled = [c for c in AREA_ISP_METRICS.column_names if c not in kept]
    return conform_to_spec(with_suppression(joined, "users", k, nulled), AREA_ISP_METRICS)


def regional_metrics(area_metrics: DataFrame) -> DataFrame:
    """One row per measurement_date and periphery: ``area_isp_metrics`` at that level, every ISP."""
    rows = _level(area_metrics, AREA_PERIPHERY).drop("periphery_id", "periphery")
    renamed = rows.withColumnsRenamed({"area_id": "periphery_id", "area": "periphery"})
    return conform_to_spec(renamed, REGIONAL_METRICS)


def regional_unit_metrics(area_metrics: DataFrame) -> DataFrame:
    """One row per measurement_date and regional unit: ``area_isp_metrics`` at that level, every ISP."""
    renamed = _level(area_metrics, AREA_REGIONAL_UNIT).withColumnsRenamed(
        {"area_id": "regional_unit_id", "area": "regional_unit"}
    )
    return conform_to_spec(renamed, REGIONAL_UNIT_METRICS)


def sessions_started(sessions: DataFrame) -> DataFrame:
    """Sessions per local start date and slice (of the session's first test), keyed like the measurement tables."""
    return (
        with_slices(sessions)
        .groupBy(F.col("session_date").alias(DATE), *SLICE_KEY)
        .agg(F.count(F.lit(1)).alias("sessions"))
    )


def _level(area_metrics: DataFrame, level: str) -> DataFrame:
    return area_metrics.where((F.col("area_level") == level) & (F.col("isp") == ALL_ISPS))


def _users(metric: str) -> str:
    return f"__users_{metric}"


def _mean_over_tests(metric: str, alias: str):
    return [ratio(F.sum(sum_col(metric)), F.sum(count_col(metric))).alias(alias)]
