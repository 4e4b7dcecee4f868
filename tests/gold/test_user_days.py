import datetime as dt

from chispa import assert_approx_df_equality

from gnp.gold.user_days import HOUR, per_user_day, per_user_month
from silver_factories import measurement, measurements_df

D1 = dt.date(2025, 3, 3)
D2 = dt.date(2025, 3, 4)
# Grains of plain measurement columns (Gold itself groups by slice, gold.slices): per_user_day works on any.
PERIPHERY_GRAIN = ("periphery_id",)
ISP_GRAIN = ("isp",)
HOUR_GRAIN = ("periphery_id", HOUR)


def test_per_user_day_gives_one_median_per_user_whatever_their_test_count(spark):
    rows = [measurement(i, "heavy", D1, 20, "9", d, contract=c) for i, (d, c) in enumerate(
        [(1.0, 100.0), (2.0, 0.0), (3.0, None), (900.0, 100.0), (1000.0, 100.0)], start=1)]
    rows += [
        measurement(10, "light", D1, 21, "9", 50.0, contract=None),
        measurement(11, "light", D1, 21, "9", None),  # null speed: counted as a test, not in the median
        measurement(12, "light", D1, 21, None, 70.0),  # no place: left out of place grains
    ]

    found = per_user_day(measurements_df(spark, rows), PERIPHERY_GRAIN, medians=("download_mbps",), with_contract=True)

    expected = spark.createDataFrame(
        [
            (D1, "9", "heavy", 5, 1906.0, 5, None, 0, None, 0, None, 0, 3.0, 100.0),
            (D1, "9", "light", 2, 50.0, 1, None, 0, None, 0, None, 0, 50.0, None),
        ],
        "measurement_date date, periphery_id string, user_id string, tests bigint, "
        "download_mbps__sum double, download_mbps__n bigint, upload_mbps__sum double, upload_mbps__n bigint, "
        "rtt_ms__sum double, rtt_ms__n bigint, loss_pct__sum double, loss_pct__n bigint, "
        "download_mbps__median double, contract_download_mbps__median double",
    )
    assert_approx_df_equality(found, expected, 1e-9, ignore_row_order=True, ignore_column_order=True, ignore_nullable=True)


def test_per_user_day_splits_a_user_seen_in_two_places(spark):
    rows = [
        measurement(1, "u", D1, 8, "9", 10.0, isp="Nova"),
        measurement(2, "u", D1, 9, "2", 30.0, isp="Nova"),
        measurement(3, "u", D1, 9, "2", 50.0, isp=None),
    ]
    m = measurements_df(spark, rows)

    by_place = per_user_day(m, PERIPHERY_GRAIN, medians=("download_mbps",), means=())
    by_isp = per_user_day(m, ISP_GRAIN, medians=("download_mbps",), means=())
    by_hour = per_user_day(m, HOUR_GRAIN, medians=("download_mbps",), means=())

    place = sorted((r.periphery_id, r.tests, r.download_mbps__median) for r in by_place.collect())
    assert place == [("2", 2, 40.0), ("9", 1, 10.0)], f"expected one row per place, found {place}"
    isp = [(r.isp, r.tests, r.download_mbps__median) for r in by_isp.collect()]
    assert isp == [("Nova", 2, 20.0)], f"expected the null-ISP test left out, found {isp}"
    hour = sorted((r.periphery_id, r.measurement_hour_local, r.tests) for r in by_hour.collect())
    assert hour == [("2", 9, 2), ("9", 8, 1)], f"expected one row per place and hour, found {hour}"


def test_per_user_month_is_the_median_of_daily_medians(spark):
    rows = [
        measurement(1, "u", D1, 8, "9", 10.0),
        measurement(2, "u", D1, 9, "9", 12.0),
        measurement(3, "u", D1, 9, "9", 14.0),
        measurement(4, "u", D1, 9, "9", 16.0),
        measurement(5, "u", D2, 9, "9", 40.0),
        measurement(6, "nulls", D2, 9, "9", None),
        measurement(7, "u", dt.date(2025, 4, 1), 9, "9", 7.0),
    ]
    days = per_user_day(measurements_df(spark, rows), PERIPHERY_GRAIN, medians=("download_mbps",), means=())

    found = per_user_month(days, PERIPHERY_GRAIN, "download_mbps")

    # March: daily medians 13 and 40 -> 26.5 (the raw-test median would be 14).
    expected = spark.createDataFrame(
        [(dt.date(2025, 3, 1), "9", "u", 26.5), (dt.date(2025, 4, 1), "9", "u", 7.0)],
        "month date, periphery_id string, user_id string, download_mbps__median double",
    )
    assert_approx_df_equality(found, expected, 1e-12, ignore_row_order=True, ignore_column_order=True, ignore_nullable=True)
