"""The frustration staircase: how sessions with more tests fare.

Users who run many tests in one session tend to be the ones with a bad line;
per behaviour bucket (1, 2-3, 4+ tests) this shows the sessions' typical
quality. Each session contributes one value (its own median), so a session of
ten tests does not count ten times.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.schemas import FRUSTRATION_STAIRCASE
from gnp.gold.slices import SLICE_KEY, with_slices
from gnp.gold.suppression import with_suppression
from gnp.core.columns import MEDIAN, conform_to_spec, distinct_count, sorted_list, with_quantiles

_MEDIANS = ("median_download_mbps", "median_loss_pct", "median_jitter_ms", "median_rtt_ms")


def frustration_staircase(sessions: DataFrame, k: int) -> DataFrame:
    """One row per session_date, slice and behaviour bucket, from Silver sessions (placed by their first test)."""
    cells = with_slices(sessions).groupBy("session_date", *SLICE_KEY, "behaviour_bucket").agg(
        F.count(F.lit(1)).alias("sessions"),
        distinct_count("user_id").alias("users"),
        *[sorted_list(c).alias(f"__sessions_{c}") for c in _MEDIANS],
    )
    cells = with_quantiles(cells, {c: (f"__sessions_{c}", MEDIAN) for c in _MEDIANS})
    return conform_to_spec(
        with_suppression(cells, "users", k, ["users", *_MEDIANS]), FRUSTRATION_STAIRCASE
    )
