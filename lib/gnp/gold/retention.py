"""User retention: the original's returning vs new sessions, and weekly cohorts."""

from __future__ import annotations

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.gold.columns import conform_to_spec, distinct_count, ratio
from gnp.gold.privacy import with_suppression
from gnp.schemas import COHORT_RETENTION, USER_RETENTION

ALL_PERIPHERIES = "all"
RETURNING = "returning"
NEW_OR_TRANSIENT = "new_or_transient"


def week_start(date_col: str | SparkColumn) -> SparkColumn:
    """Monday of the ISO week of a date (date arithmetic only: no time zone involved)."""
    d = F.col(date_col) if isinstance(date_col, str) else date_col
    days_since_monday = (F.dayofweek(d) + 5) % 7  # dayofweek: Sunday = 1 ... Saturday = 7
    return F.date_sub(d, days_since_monday)


def user_retention(sessions: DataFrame, k: int) -> DataFrame:
    """One row per session_date, periphery and user type, plus periphery_id 'all' for the country.

    The country rows also count sessions whose periphery is unknown, so they can
    exceed the sum of the periphery rows.
    """
    user_type = F.when(F.col("is_returning"), F.lit(RETURNING)).otherwise(F.lit(NEW_OR_TRANSIENT))
    typed = sessions.select("session_date", "periphery_id", "user_id", user_type.alias("user_type"))
    counts = [F.count(F.lit(1)).alias("sessions"), distinct_count("user_id").alias("users")]
    by_periphery = (
        typed.where(F.col("periphery_id").isNotNull())
        .groupBy("session_date", "periphery_id", "user_type")
        .agg(*counts)
    )
    country = (
        typed.groupBy("session_date", "user_type")
        .agg(*counts)
        .withColumn("periphery_id", F.lit(ALL_PERIPHERIES))
    )
    cells = by_periphery.unionByName(country)
    return conform_to_spec(with_suppression(cells, "users", k, ["users"]), USER_RETENTION)


def cohort_retention(sessions: DataFrame, k: int) -> DataFrame:
    """One row per cohort week and week since first seen, zeros included, up to the latest week.

    A user's cohort is the Monday of the week of their first session in
    ``sessions``, so pass the whole sessions history, not a date slice.
    """
    active = sessions.select("user_id", week_start("session_date").alias("active_week")).distinct()
    cohorts = active.groupBy("user_id").agg(F.min("active_week").alias("cohort_week"))
    sizes = cohorts.groupBy("cohort_week").agg(F.count(F.lit(1)).alias("cohort_users"))
    latest = active.agg(F.max("active_week").alias("latest_week"))
    weeks_to_latest = (F.datediff("latest_week", "cohort_week") / 7).cast("int")
    triangle = sizes.crossJoin(latest).withColumn(
        "weeks_since_first", F.explode(F.sequence(F.lit(0), weeks_to_latest))
    )
    weeks_since_first = (F.datediff("active_week", "cohort_week") / 7).cast("int")
    retained = (
        active.join(cohorts, on="user_id", how="inner")
        .groupBy("cohort_week", weeks_since_first.alias("weeks_since_first"))
        .agg(F.count(F.lit(1)).alias("active_users"))
    )
    cells = (
        triangle.join(retained, on=["cohort_week", "weeks_since_first"], how="left")
        .withColumn("active_users", F.coalesce("active_users", F.lit(0)))
        .withColumn("retention_share", ratio(F.col("active_users"), F.col("cohort_users")))
    )
    nulled = ["cohort_users", "active_users", "retention_share"]
    return conform_to_spec(with_suppression(cells, "cohort_users", k, nulled), COHORT_RETENTION)
