"""Regional metrics: per day and periphery, and per day and regional unit.

Grain and key come from schemas.REGIONAL_METRICS and REGIONAL_UNIT_METRICS.
Quartiles, medians and log-averages are taken over users (each user's median of
the day, see user_days); the ``*_mean_*`` columns are over raw tests, as the
original pipeline published them, so the two can be compared.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.gold.columns import MEDIAN, conform_to_spec, log_average, ratio, sorted_list, with_quantiles
from gnp.gold.privacy import with_suppression
from gnp.gold.user_days import DATE, SPEED_METRICS, count_col, median_col, sum_col
from gnp.schemas import REGIONAL_METRICS, REGIONAL_UNIT_METRICS, TableSpec

_COUNTS_KEPT_WHEN_SUPPRESSED = ("tests", "sessions")


def regional_metrics(user_days: DataFrame, sessions: DataFrame, k: int) -> DataFrame:
    """One row per measurement_date and periphery.

    Args:
        user_days: ``per_user_day`` at the periphery grain.
        sessions: Silver sessions (counted by the periphery of their first test).
        k: fewer distinct users than this suppresses the cell.
    """
    return _speed_table(user_days, sessions, ("periphery_id",), ("periphery",), k, REGIONAL_METRICS)


def regional_unit_metrics(user_days: DataFrame, sessions: DataFrame, k: int) -> DataFrame:
    """One row per measurement_date and regional unit (``per_user_day`` at the regional-unit grain)."""
    labels = ("regional_unit", "periphery_id", "periphery")
    return _speed_table(user_days, sessions, ("regional_unit_id",), labels, k, REGIONAL_UNIT_METRICS)


def sessions_started(sessions: DataFrame, place: tuple[str, ...]) -> DataFrame:
    """Sessions per local start date and place, keyed like the measurement tables."""
    return (
        sessions.where(F.col(place[0]).isNotNull())
        .groupBy(F.col("session_date").alias(DATE), *place)
        .agg(F.count(F.lit(1)).alias("sessions"))
    )


def _speed_table(
    user_days: DataFrame,
    sessions: DataFrame,
    place: tuple[str, ...],
    labels: tuple[str, ...],
    k: int,
    spec: TableSpec,
) -> DataFrame:
    cells = user_days.groupBy(DATE, *place).agg(
        *[F.max(c).alias(c) for c in labels],
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
    started = sessions_started(sessions, place)
    joined = cells.join(started, on=[DATE, *place], how="left").withColumn(
        "sessions", F.coalesce("sessions", F.lit(0))
    )
    keys_and_labels = {DATE, *place, *labels, "is_suppressed"}
    nulled = [c for c in spec.column_names if c not in keys_and_labels | set(_COUNTS_KEPT_WHEN_SUPPRESSED)]
    return conform_to_spec(with_suppression(joined, "users", k, nulled), spec)


def _users(metric: str) -> str:
    return f"__users_{metric}"


def _mean_over_tests(metric: str, alias: str):
    return [ratio(F.sum(sum_col(metric)), F.sum(count_col(metric))).alias(alias)]
