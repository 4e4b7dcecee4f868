"""Silver sessions: a user's tests with no gap over the session gap between consecutive tests.

Semantics (README "Semantics and statistics"; the numbers are ``params.semantics``):
- a gap of exactly ``session_gap_minutes`` stays in the session, a longer one
  starts a new session; gaps are measured in UTC, so the repeated autumn hour
  neither splits nor merges sessions;
- a session belongs to the local date of its first test, also when it runs past
  midnight;
- behaviour bucket by test count: ``1``, ``2-3``, ``4+``;
- ``previous_session_ended_at`` is the end of the user's previous session when
  that ended at most ``returning_window_days`` before this one started (else
  null), and such a session ``is_returning``. Looking back no further than the
  window is what lets an incremental run compute exactly what a full refresh does.

Incremental runs: read measurements from ``read_from(date_from)`` and rewrite the
session dates from ``rewrite_from(date_from)`` to ``date_to``: the day before the
range is rewritten because its last sessions can continue into the range.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from gnp.core.config import SemanticsParams
from gnp.core.schemas import SESSIONS
from gnp.core.columns import MEDIAN, conform_to_spec, sorted_list, with_quantiles

ONE_TEST, FEW_TESTS, MANY_TESTS = "1", "2-3", "4+"
FEW_TESTS_MAX = 3
MICROS_PER_MINUTE = 60 * 1_000_000
MICROS_PER_DAY = 24 * 60 * MICROS_PER_MINUTE
FIRST_TEST_COLUMNS = ("measurement_date", "periphery_id", "periphery", "regional_unit_id", "isp")
MEDIANS = {
    "median_download_mbps": "download_mbps",
    "median_upload_mbps": "upload_mbps",
    "median_loss_pct": "loss_pct",
    "median_jitter_ms": "jitter_ms",
    "median_rtt_ms": "rtt_ms",
}


def read_from(date_from: dt.date, semantics: SemanticsParams) -> dt.date:
    """First measurement day an incremental run must read to rewrite sessions from ``rewrite_from``.

    One day for sessions continuing past midnight into the range, the
    returning window, and one more day because a UTC span of whole days can
    start on the previous local date.
    """
    return rewrite_from(date_from) - dt.timedelta(days=semantics.returning_window_days + 1)


def rewrite_from(date_from: dt.date) -> dt.date:
    """First session date an incremental run rewrites."""
    return date_from - dt.timedelta(days=1)


def behaviour_bucket(test_count: Column) -> Column:
    return (
        F.when(test_count == 1, F.lit(ONE_TEST))
        .when(test_count <= FEW_TESTS_MAX, F.lit(FEW_TESTS))
        .otherwise(F.lit(MANY_TESTS))
    )


def micros_between(earlier: Column, later: Column) -> Column:
    return F.unix_micros(later) - F.unix_micros(earlier)


def with_session_number(measurements: DataFrame, gap_minutes: int) -> DataFrame:
    """Add ``previous_test_at``, ``is_session_start`` and ``session_number`` (per user, from 1)."""
    by_time = Window.partitionBy("user_id").orderBy("measured_at", "measurement_id")
    previous_test_at = F.lag("measured_at").over(by_time.rowsBetween(-1, -1))
    is_gap = micros_between(F.col("previous_test_at"), F.col("measured_at")) > gap_minutes * MICROS_PER_MINUTE
    running = by_time.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    return (
        measurements.withColumn("previous_test_at", previous_test_at)
        .withColumn("is_session_start", F.col("previous_test_at").isNull() | is_gap)
        .withColumn("session_number", F.sum(F.col("is_session_start").cast("int")).over(running))
    )


def sessionise(measurements: DataFrame, semantics: SemanticsParams) -> DataFrame:
    """Silver measurements -> ``schemas.SESSIONS``, one row per user session."""
    first_test = F.min_by(
        F.struct(*FIRST_TEST_COLUMNS), F.struct(F.col("measured_at"), F.col("measurement_id"))
    )
    sessions = (
        measurements.transform(with_session_number, semantics.session_gap_minutes)
        .groupBy("user_id", "session_number")
        .agg(
            F.min("measured_at").alias("started_at"),
            F.max("measured_at").alias("ended_at"),
            F.count(F.lit(1)).alias("test_count"),
            # Only the first test of a session has is_session_start: its previous test ended the previous session.
            F.max(F.when(F.col("is_session_start"), F.col("previous_test_at"))).alias("previous_ended_at"),
            first_test.alias("first_test"),
            *[sorted_list(source).alias(_sorted(name)) for name, source in MEDIANS.items()],
        )
        .transform(with_quantiles, {name: (_sorted(name), MEDIAN) for name in MEDIANS})
    )
    window_micros = semantics.returning_window_days * MICROS_PER_DAY
    within_window = micros_between(F.col("previous_ended_at"), F.col("started_at")) <= window_micros
    previous_session_ended_at = F.when(within_window, F.col("previous_ended_at"))
    return conform_to_spec(
        sessions.select(
            "*",
            F.sha2(F.concat_ws("|", "user_id", F.unix_micros("started_at").cast("string")), 256).alias("session_id"),
            F.col("first_test.measurement_date").alias("session_date"),
            behaviour_bucket(F.col("test_count")).alias("behaviour_bucket"),
            previous_session_ended_at.alias("previous_session_ended_at"),
            previous_session_ended_at.isNotNull().alias("is_returning"),
            *[F.col(f"first_test.{c}").alias(c) for c in FIRST_TEST_COLUMNS[1:]],
        ),
        SESSIONS,
    )


def sessions_of(measurements: DataFrame, semantics: SemanticsParams, session_dates) -> DataFrame:
    """The sessions dated ``session_dates``, from measurements covering their read window.

    A session is dated by its first test, so only users with a test on one of
    those dates can have one there: the other users' tests, most of a daily
    run's fifteen-day window, are dropped before the per-user sort. The kept
    users' sessions are the same, since each user is sessionised alone.
    """
    dates = list(session_dates)
    users = measurements.where(F.col("measurement_date").isin(dates)).select("user_id").distinct()
    theirs = measurements.join(users, "user_id", "left_semi")
    return sessionise(theirs, semantics).where(F.col("session_date").isin(dates))


def _sorted(median: str) -> str:
    return f"__sorted_{median}"

