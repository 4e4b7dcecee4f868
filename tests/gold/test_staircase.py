import datetime as dt

from chispa import assert_approx_df_equality
from silver_factories import session, sessions_df, spec_frame

from gnp.core.schemas import FRUSTRATION_STAIRCASE
from gnp.gold.staircase import frustration_staircase

D1 = dt.date(2025, 3, 3)
GREECE = dict(area_level="country", area_id="GR", isp="all")


def test_staircase_takes_medians_of_session_medians_per_bucket(spark):
    rows = [
        session("a", D1, 9, 1, "9", download=100.0, loss=0.0, jitter=1.0, rtt=10.0),
        session("b", D1, 9, 1, "9", download=80.0, loss=1.0, jitter=3.0, rtt=30.0),
        session("b", D1, 12, 1, None, download=None, loss=None, jitter=None, rtt=None),  # null row
        session("c", D1, 9, 3, "2", download=20.0, loss=2.0, jitter=5.0, rtt=50.0),
        session("d", D1, 9, 7, "2", download=5.0, loss=8.0, jitter=20.0, rtt=90.0),
    ]

    found = frustration_staircase(sessions_df(spark, rows), k=2).where("area_level = 'country'")

    expected = spec_frame(spark, FRUSTRATION_STAIRCASE, [
        dict(session_date=D1, **GREECE, behaviour_bucket="1", sessions=3, users=2, median_download_mbps=90.0,
             median_loss_pct=0.5, median_jitter_ms=2.0, median_rtt_ms=20.0, is_suppressed=False),
        dict(session_date=D1, **GREECE, behaviour_bucket="2-3", sessions=1, is_suppressed=True),
        dict(session_date=D1, **GREECE, behaviour_bucket="4+", sessions=1, is_suppressed=True),
    ])
    assert_approx_df_equality(found, expected, 1e-12, ignore_row_order=True, ignore_nullable=True)


def test_staircase_places_each_session_in_the_slices_of_its_first_test(spark):
    rows = [session(u, D1, 9, 1, "9", download=d, isp=isp)
            for u, d, isp in (("a", 10.0, "Nova"), ("b", 20.0, "Nova"), ("c", 60.0, None))]

    found = frustration_staircase(sessions_df(spark, rows), k=1)

    medians = {(r.area_level, r.area_id, r.isp): (r.sessions, r.median_download_mbps) for r in found.collect()}
    expected = {(level, area, isp): (2, 15.0) if isp == "Nova" else (3, 20.0)
                for level, area in (("country", "GR"), ("periphery", "9"), ("regional_unit", "45"))
                for isp in ("all", "Nova")}
    assert medians == expected, f"expected {expected}, found {medians}"
