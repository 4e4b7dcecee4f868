"""Contract attainment: do users get the download speed their contract names?

Per user and day, attainment is the user's median download divided by the
user's median contracted download (over tests naming a positive contract
speed), in each slice. Shares count user-days at or above the low and high thresholds
(params.semantics.attainment_low / attainment_high).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.schemas import CONTRACT_ATTAINMENT
from gnp.gold.slices import SLICE_KEY, SLICE_LABELS
from gnp.gold.suppression import with_suppression
from gnp.gold.user_days import CONTRACT, DATE, USER, median_col
from gnp.core.columns import MEDIAN, conform_to_spec, ratio, sorted_list, with_quantiles, without_float_noise


def contract_attainment(slice_user_days: DataFrame, low: float, high: float, k: int) -> DataFrame:
    """One row per measurement_date and slice.

    Args:
        slice_user_days: ``per_user_day`` at the slice grain, with the contract median.
        low, high: attainment thresholds as fractions of the contract (0.5, 0.8).
        k: fewer distinct users than this suppresses the cell.
    """
    attainment = ratio(F.col(median_col("download_mbps")), F.col(median_col(CONTRACT)))
    rated = slice_user_days.select(
        DATE, USER, *SLICE_KEY, *SLICE_LABELS, attainment.alias("attainment")
    ).where(F.col("attainment").isNotNull())
    # In a slice a user has one row per day, so distinct users equal user-days.
    user_days_n = F.count(F.lit(1))
    compared = without_float_noise(F.col("attainment"))
    cells = rated.groupBy(DATE, *SLICE_KEY).agg(
        *[F.max(c).alias(c) for c in SLICE_LABELS],
        user_days_n.alias("user_days"),
        user_days_n.alias("users"),
        (F.count(F.when(compared >= low, True)) / user_days_n).alias("share_reaching_low"),
        (F.count(F.when(compared >= high, True)) / user_days_n).alias("share_reaching_high"),
        sorted_list("attainment").alias("__attainments"),
    )
    cells = with_quantiles(cells, {"median_attainment": ("__attainments", MEDIAN)})
    nulled = ["user_days", "users", "share_reaching_low", "share_reaching_high", "median_attainment"]
    return conform_to_spec(with_suppression(cells, "users", k, nulled), CONTRACT_ATTAINMENT)
