import datetime as dt

from chispa import assert_approx_df_equality, assert_df_equality
from pyspark.sql import functions as F
from silver_factories import session, sessions_df, spec_frame

from gnp.core.schemas import COHORT_RETENTION, USER_RETENTION
from gnp.gold.retention import cohort_retention, user_retention, week_start

MON = dt.date(2025, 3, 3)
GREECE = dict(area_level="country", area_id="GR", isp="all")
ATTICA = dict(area_level="periphery", area_id="9", isp="all")


def _day(n: int) -> dt.date:
    return MON + dt.timedelta(days=n)


def test_week_start_is_the_monday_of_the_iso_week(spark):
    days = [_day(n) for n in (-1, 0, 1, 6, 7)]  # Sunday before, Monday, Tuesday, Sunday, next Monday
    df = spark.createDataFrame([(d,) for d in days], "d date")

    found = [r.w for r in df.select(week_start("d").alias("w")).collect()]

    expected = [_day(-7), MON, MON, MON, _day(7)]
    assert found == expected, f"expected {expected}, found {found}"


def test_user_retention_counts_by_user_type_with_country_rows(spark):
    rows = [
        session("a", MON, 9, 1, "9"),
        session("a", MON, 20, 2, "9", is_returning=True),
        session("b", MON, 10, 1, "9"),
        session("c", MON, 11, 1, None),  # unknown periphery: only in the country rows
    ]

    found = user_retention(sessions_df(spark, rows), k=2)

    attica = [
        dict(session_date=MON, user_type="new_or_transient", sessions=2, users=2, is_suppressed=False),
        dict(session_date=MON, user_type="returning", sessions=1, users=None, is_suppressed=True),
    ]
    expected = spec_frame(spark, USER_RETENTION, [
        *[dict(r, **ATTICA) for r in attica],
        *[dict(r, **{**ATTICA, "area_level": "regional_unit", "area_id": "45"}) for r in attica],  # every test in unit 45
        dict(session_date=MON, **GREECE, user_type="new_or_transient", sessions=3, users=3, is_suppressed=False),
        dict(session_date=MON, **GREECE, user_type="returning", sessions=1, users=None, is_suppressed=True),
    ])
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)


def test_cohort_retention_fills_the_triangle_with_zeros_and_suppresses_small_cohorts(spark):
    rows = [
        # cohort of week 0: a, b, c; b comes back in week 2 only, a in weeks 1 and 2
        session("a", _day(0), 9, 1, "9"), session("a", _day(1), 9, 1, "9"),
        session("a", _day(8), 9, 1, "9"), session("a", _day(15), 9, 1, "9"),
        session("b", _day(6), 9, 1, "9"), session("b", _day(16), 9, 1, "2"),
        session("c", _day(2), 9, 1, None),
        # cohort of week 1: d alone
        session("d", _day(13), 9, 1, "2"),
    ]

    found = cohort_retention(sessions_df(spark, rows), k=2)

    week1 = _day(7)
    expected = spec_frame(spark, COHORT_RETENTION, [
        dict(cohort_week=MON, **GREECE, weeks_since_first=0, cohort_users=3, active_users=3, retention_share=1.0,
             is_suppressed=False),
        dict(cohort_week=MON, **GREECE, weeks_since_first=1, cohort_users=3, active_users=1, retention_share=1 / 3,
             is_suppressed=False),
        dict(cohort_week=MON, **GREECE, weeks_since_first=2, cohort_users=3, active_users=2, retention_share=2 / 3,
             is_suppressed=False),
        dict(cohort_week=week1, **GREECE, weeks_since_first=0, is_suppressed=True),
        dict(cohort_week=week1, **GREECE, weeks_since_first=1, is_suppressed=True),
        # In Attica a and b start in week 0; b's week-2 session is in periphery 2, so only a comes back.
        dict(cohort_week=MON, **ATTICA, weeks_since_first=0, cohort_users=2, active_users=2, retention_share=1.0,
             is_suppressed=False),
        dict(cohort_week=MON, **ATTICA, weeks_since_first=1, cohort_users=2, active_users=1, retention_share=0.5,
             is_suppressed=False),
        dict(cohort_week=MON, **ATTICA, weeks_since_first=2, cohort_users=2, active_users=1, retention_share=0.5,
             is_suppressed=False),
    ])
    country_and_attica = found.where("area_level = 'country' OR area_id = '9' AND area_level = 'periphery'")
    assert_approx_df_equality(country_and_attica, expected, 1e-12, ignore_row_order=True, ignore_nullable=True)
    # Periphery 2: d first seen in week 1, b in week 2 (single-user cohorts, suppressed), up to the latest week.
    macedonia = {(r.cohort_week, r.weeks_since_first, r.is_suppressed)
                 for r in found.where("area_level = 'periphery' AND area_id = '2'").collect()}
    assert macedonia == {(week1, 0, True), (week1, 1, True), (_day(14), 0, True)}, f"found {macedonia}"


def test_cohort_retention_of_no_sessions_is_empty(spark):
    empty = sessions_df(spark, []).where(F.lit(False))

    found = cohort_retention(empty, k=2)

    assert found.count() == 0 and found.columns == COHORT_RETENTION.column_names
