import datetime as dt
import hashlib

from chispa import assert_df_equality
from pyspark.sql import functions as F
from silver_factories import spec_frame

from gnp.core.config import SemanticsParams
from gnp.core.schemas import MEASUREMENTS, SESSIONS
from gnp.silver import sessions as S

UTC = dt.timezone.utc
SEMANTICS = SemanticsParams()  # 30-minute gap, 14-day returning window
DAY = dt.date(2025, 10, 20)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def row(measurement_id, user_id, measured_at, local_date, periphery_id="9", download=50.0, **extra) -> dict:
    """One Silver measurement (only what sessions read is realistic)."""
    values = dict(
        measurement_id=measurement_id, user_id=user_id, measured_at=measured_at, measurement_date=local_date,
        measurement_hour_local=0, is_dst_ambiguous=False, periphery_id=periphery_id,
        periphery="ΑΤΤΙΚΗΣ" if periphery_id == "9" else None, regional_unit_id="47", isp="Cosmote",
        download_mbps=download, upload_mbps=5.0, rtt_ms=20.0, loss_pct=0.0, jitter_ms=1.0,
        fetched_at=utc(2025, 11, 1), bronze_file="b",
    )  # fmt: skip
    values.update(extra)
    return values


def session_id(user_id: str, started_at: dt.datetime) -> str:
    micros = int(started_at.timestamp()) * 1_000_000
    return hashlib.sha256(f"{user_id}|{micros}".encode()).hexdigest()


def session(user_id, started_at, ended_at, count, local_date, previous=None, **overrides) -> dict:
    row = dict(
        session_id=session_id(user_id, started_at), user_id=user_id, session_date=local_date,
        started_at=started_at, ended_at=ended_at, test_count=count,
        behaviour_bucket="1" if count == 1 else "2-3" if count <= 3 else "4+",
        previous_session_ended_at=previous, is_returning=previous is not None, periphery_id="9",
        periphery="ΑΤΤΙΚΗΣ", regional_unit_id="47", isp="Cosmote", median_download_mbps=50.0,
        median_upload_mbps=5.0, median_loss_pct=0.0, median_jitter_ms=1.0, median_rtt_ms=20.0,
    )  # fmt: skip
    row.update(overrides)
    return row


def _sessionise(spark, tests):
    return S.sessionise(spec_frame(spark, MEASUREMENTS, tests), SEMANTICS)


def test_a_gap_of_exactly_the_session_gap_stays_and_one_minute_more_splits(spark):
    t0 = utc(2025, 10, 20, 9, 0)
    tests = [
        row(1, "a", t0, DAY),
        row(2, "a", t0 + dt.timedelta(minutes=30), DAY),  # exactly 30: same session
        row(3, "a", t0 + dt.timedelta(minutes=61), DAY),  # 31 after the previous: new session
        row(4, "b", t0, DAY, download=None),  # a null speed is left out of the median
        row(5, "b", t0 + dt.timedelta(minutes=10), DAY, download=10.0),
        row(6, "b", t0 + dt.timedelta(minutes=20), DAY, download=30.0),
        row(7, "b", t0 + dt.timedelta(minutes=25), DAY, download=40.0),
    ]
    found = _sessionise(spark, tests)
    expected = spec_frame(spark, SESSIONS, [
        session("a", t0, t0 + dt.timedelta(minutes=30), 2, DAY),
        session("a", t0 + dt.timedelta(minutes=61), t0 + dt.timedelta(minutes=61), 1, DAY,
                previous=t0 + dt.timedelta(minutes=30)),
        session("b", t0, t0 + dt.timedelta(minutes=25), 4, DAY, median_download_mbps=30.0),
    ])  # fmt: skip
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)


def test_a_session_across_midnight_belongs_to_the_local_date_it_started(spark):
    # 23:50 and 00:10 Athens time (UTC+3 in October before the change)
    start, end = utc(2025, 10, 20, 20, 50), utc(2025, 10, 20, 21, 10)
    tests = [row(1, "a", start, DAY, periphery_id=None), row(2, "a", end, DAY + dt.timedelta(days=1))]
    found = _sessionise(spark, tests)
    expected = spec_frame(spark, SESSIONS, [
        session("a", start, end, 2, DAY, periphery_id=None, periphery=None),  # place of the first test
    ])  # fmt: skip
    assert_df_equality(found, expected, ignore_nullable=True)


def test_the_repeated_autumn_hour_is_ordered_and_gapped_in_utc(spark):
    # 02:50 EEST, then 03:10 read as its first occurrence, then 03:20 EET (sent as 03:20, an hour later in UTC)
    dst_day = dt.date(2025, 10, 26)
    first, second, third = utc(2025, 10, 25, 23, 50), utc(2025, 10, 26, 0, 10), utc(2025, 10, 26, 1, 20)
    tests = [
        row(1, "a", first, dst_day),
        row(2, "a", second, dst_day, is_dst_ambiguous=True),
        row(3, "a", third, dst_day),
    ]
    found = _sessionise(spark, tests)
    expected = spec_frame(spark, SESSIONS, [
        session("a", first, second, 2, dst_day),
        session("a", third, third, 1, dst_day, previous=second),
    ])  # fmt: skip
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)


def test_returning_means_the_previous_session_ended_at_most_the_window_before(spark):
    t0 = utc(2025, 10, 1, 9, 0)
    tests = [
        row(1, "a", t0, dt.date(2025, 10, 1)),
        row(2, "a", t0 + dt.timedelta(days=14), dt.date(2025, 10, 15)),  # exactly 14 days later: returning
        row(3, "a", t0 + dt.timedelta(days=29), dt.date(2025, 10, 30)),  # 15 days later: new
        row(4, "b", t0 + dt.timedelta(days=15, seconds=1), dt.date(2025, 10, 16)),
    ]
    found = _sessionise(spark, tests).select("user_id", "started_at", "previous_session_ended_at", "is_returning")
    expected = spark.createDataFrame(
        [
            ("a", t0, None, False),
            ("a", t0 + dt.timedelta(days=14), t0, True),
            ("a", t0 + dt.timedelta(days=29), None, False),
            ("b", t0 + dt.timedelta(days=15, seconds=1), None, False),
        ],
        "user_id string, started_at timestamp, previous_session_ended_at timestamp, is_returning boolean",
    )
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)


def test_behaviour_buckets_follow_the_test_count(spark):
    counts = spark.createDataFrame([(n,) for n in (1, 2, 3, 4, 9)], "n int")
    found = [r.bucket for r in counts.select(S.behaviour_bucket(counts.n).alias("bucket")).collect()]
    assert found == ["1", "2-3", "2-3", "4+", "4+"], found


def test_an_incremental_run_reads_the_returning_window_and_rewrites_from_the_day_before():
    date_from = dt.date(2025, 10, 20)
    assert S.rewrite_from(date_from) == dt.date(2025, 10, 19)
    assert S.read_from(date_from, SEMANTICS) == dt.date(2025, 10, 4)


def test_sessions_of_a_read_window_match_those_of_the_whole_history(spark):
    """What an incremental run computes for its rewrite window equals the full refresh there."""
    start = utc(2025, 9, 1, 6, 0)
    tests = [
        row(i, f"u{i % 5}", start + dt.timedelta(hours=7 * i + (i % 3) * 0.4, minutes=extra), None)
        for i in range(1, 160)
        for extra in ((0, 20) if i % 4 == 0 else (0,))
    ]
    # a user back after 31 days: the previous session lies before the incremental read window
    tests += [row(0, "z", utc(2025, 9, 10, 9, 0), None), row(0, "z", utc(2025, 10, 11, 9, 0), None)]
    for n, t in enumerate(tests):
        t["measurement_id"] = n
    for t in tests:
        t["measurement_date"] = (t["measured_at"] + dt.timedelta(hours=3)).date()
    date_from, date_to = dt.date(2025, 10, 10), dt.date(2025, 10, 15)
    first, last = S.rewrite_from(date_from), date_to
    window = [t for t in tests if S.read_from(date_from, SEMANTICS) <= t["measurement_date"] <= date_to]

    rewritten = F.col("session_date").between(F.lit(first), F.lit(last))  # what an incremental run rewrites
    whole = _sessionise(spark, tests).where(rewritten)
    incremental = _sessionise(spark, window).where(rewritten)

    assert whole.count() > 10
    assert_df_equality(incremental, whole, ignore_row_order=True, ignore_nullable=True)

    # A daily run sessionises only the users with a test on a rewritten date: the same sessions.
    rewritten_days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    only_theirs = S.sessions_of(spec_frame(spark, MEASUREMENTS, window), SEMANTICS, rewritten_days)
    assert_df_equality(only_theirs, whole, ignore_row_order=True, ignore_nullable=True)


def test_sessions_of_some_dates_leave_out_users_with_no_test_on_them(spark):
    day, other = dt.date(2025, 9, 2), dt.date(2025, 9, 1)
    tests = [row(1, "a", utc(2025, 8, 31, 22, 30), None), row(2, "a", utc(2025, 9, 1, 23, 50), None),
             row(3, "b", utc(2025, 8, 31, 10, 0), None)]
    for n, t in enumerate(tests):
        t["measurement_id"], t["measurement_date"] = n, (t["measured_at"] + dt.timedelta(hours=3)).date()
    found = S.sessions_of(spec_frame(spark, MEASUREMENTS, tests), SEMANTICS, [day]).collect()
    assert [(r.user_id, r.session_date, r.is_returning) for r in found] == [("a", day, True)]
    assert {r.session_date for r in _sessionise(spark, tests).collect()} == {dt.date(2025, 8, 31), other, day}
