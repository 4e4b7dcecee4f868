"""Time of day: median download per local hour, to show evening congestion."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.schemas import HOURLY_PROFILE
from gnp.gold.slices import SLICE_KEY
from gnp.gold.suppression import with_suppression
from gnp.gold.user_days import DATE, HOUR, median_col
from gnp.core.columns import MEDIAN, conform_to_spec, sorted_list, with_quantiles


def hourly_profile(hour_user_days: DataFrame, k: int) -> DataFrame:
    """One row per measurement_date, slice and local hour.

    Args:
        hour_user_days: ``per_user_day`` at the slice-and-hour grain (one
            value per user and hour: the median of the user's tests in it).
        k: fewer distinct users than this suppresses the cell.
    """
    cells = hour_user_days.groupBy(DATE, *SLICE_KEY, F.col(HOUR).alias("hour_local")).agg(
        F.sum("tests").alias("tests"),
        F.count(F.lit(1)).alias("users"),
        sorted_list(median_col("download_mbps")).alias("__users_download"),
    )
    cells = with_quantiles(cells, {"median_download_mbps": ("__users_download", MEDIAN)})
    nulled = ["users", "median_download_mbps"]
    return conform_to_spec(with_suppression(cells, "users", k, nulled), HOURLY_PROFILE)
