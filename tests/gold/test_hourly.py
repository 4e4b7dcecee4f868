import datetime as dt

from chispa import assert_df_equality
from silver_factories import measurement, measurements_df, spec_frame

from gnp.core.schemas import HOURLY_PROFILE
from gnp.gold.hourly import hourly_profile
from gnp.gold.slices import with_slices
from gnp.gold.user_days import HOUR_SLICE_GRAIN, per_user_day

D1 = dt.date(2025, 3, 3)
ATTICA = dict(area_level="periphery", area_id="9", isp="all")


def test_hourly_profile_takes_one_value_per_user_and_hour(spark):
    rows = [
        measurement(1, "a", D1, 21, "9", 10.0),
        measurement(2, "a", D1, 21, "9", 12.0),
        measurement(3, "a", D1, 21, "9", 14.0),  # a: 12
        measurement(4, "b", D1, 21, "9", 100.0),
        measurement(5, "b", D1, 21, "9", None),  # b: 100
        measurement(6, "a", D1, 8, "9", 50.0),  # one user in the morning
    ]
    days = per_user_day(with_slices(measurements_df(spark, rows)), HOUR_SLICE_GRAIN, medians=("download_mbps",),
                        means=())

    found = hourly_profile(days, k=2).where("area_level = 'periphery'")

    expected = spec_frame(spark, HOURLY_PROFILE, [
        dict(measurement_date=D1, **ATTICA, hour_local=21, tests=5, users=2,
             median_download_mbps=56.0, is_suppressed=False),
        dict(measurement_date=D1, **ATTICA, hour_local=8, tests=1, is_suppressed=True),
    ])
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)
