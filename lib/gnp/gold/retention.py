"""User retention per slice: the original's returning vs new sessions, and weekly cohorts."""

from __future__ import annotations

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.schemas import COHORT_RETENTION, USER_RETENTION
from gnp.gold.slices import SLICE_KEY, with_slices
from gnp.gold.suppression import with_suppression
from gnp.core.columns import conform_to_spec, distinct_count, ratio

RETURNING = "returning"
NEW_OR_TRANSIENT = "new_or_transient"


def week_start(date_col: str | SparkColumn) -> SparkColumn:
    """Monday of the ISO week of a date (date arithmetic only: no time zone involved)."""
    d = F.col(date_col) if isinstance(date_col, str) else date_col
    days_since_monday = (F.dayofweek(d) + 5) % 7  # dayofweek: Sunday = 1 ... Saturday = 7
    return F.date_sub(d, days_since_monday)


def _weeks_between(start: str, end: str) -> SparkColumn:
    return (F.datediff(end, start) / 7).cast("int")


def user_retention(sessions: DataFrame, k: int) -> DataFrame:
    """One row per session_date, slice and user type, from Silver sessions (placed by their first test).

    The country rows also count sessions whose periphery is unknown, so they can
    exceed the sum of the periphery rows.
    """
    user_type = F.when(F.col("is_returning"), F.lit(RETURNING)).otherwise(F.lit(NEW_OR_TRANSIENT))
    typed = with_slices(sessions).withColumn("user_type", user_type)
    cells = typed.groupBy("session_date", *SLICE_KEY, "user_type").agg(
        F.count(F.lit(1)).alias("sessions"),
        distinct_count("user_id").alias("users"),
    )
    return conform_to_spec(with_suppression(cells, "users", k, ["users"]), USER_RETENTION)


def cohort_retention(sessions: DataFrame, k: int) -> DataFrame:
    """One row per cohort week, slice and week since first seen, zeros included, up to the latest week.

    In each slice a user's cohort is the Monday of the week of their first
    session in that slice, so pass the whole sessions history, not a date range.
    The latest week is the whole history's, the same for every slice.
    """
    sliced = with_slices(sessions)
    weeks = sliced.groupBy("user_id", *SLICE_KEY).agg(F.collect_set(week_start("session_date")).alias("weeks"))
    activity = weeks.select(
        *SLICE_KEY, F.array_min("weeks").alias("cohort_week"), F.explode("weeks").alias("active_week")
    )
    retained = activity.groupBy(
        "cohort_week", *SLICE_KEY, _weeks_between("cohort_week", "active_week").alias("weeks_since_first")
    ).agg(F.count(F.lit(1)).alias("active_users"))
    # Each cohort carries its weekly counts as a map, so weeks nobody came back need no join;
    # week 0 holds every user of the cohort.
    per_cohort = retained.groupBy("cohort_week", *SLICE_KEY).agg(
        F.map_from_entries(F.collect_list(F.struct("weeks_since_first", "active_users"))).alias("counts")
    )
    latest = sessions.agg(F.max(week_start("session_date")).alias("latest_week"))
    weeks_to_latest = _weeks_between("cohort_week", "latest_week")
    cells = (
        per_cohort.crossJoin(latest)
        .withColumn("weeks_since_first", F.explode(F.sequence(F.lit(0), weeks_to_latest)))
        .withColumn("cohort_users", F.try_element_at("counts", F.lit(0)))
        .withColumn("active_users", F.coalesce(F.try_element_at("counts", F.col("weeks_since_first")), F.lit(0)))
        .withColumn("retention_share", ratio(F.col("active_users"), F.col("cohort_users")))
    )
    nulled = ["cohort_users", "active_users", "retention_share"]
    return conform_to_spec(with_suppression(cells, "cohort_users", k, nulled), COHORT_RETENTION)
