import datetime as dt
import math

from chispa import assert_approx_df_equality
from silver_factories import measurement, measurements_df, session, sessions_df, spec_frame

from gnp.core.schemas import REGIONAL_METRICS, REGIONAL_UNIT_METRICS
from gnp.gold.regional import area_isp_metrics, regional_metrics, regional_unit_metrics
from gnp.gold.slices import with_slices
from gnp.gold.user_days import SLICE_GRAIN, per_user_day

D1 = dt.date(2025, 3, 3)


def _silver(spark):
    speeds = [10.0, 20.0, 30.0, 1000.0, 2000.0]  # one heavy tester with outliers
    rows = [measurement(i, "a", D1, 20, "9", d, rtt=10.0) for i, d in enumerate(speeds, start=1)]
    rows += [
        measurement(10, "b", D1, 21, "9", 40.0, rtt=30.0),
        measurement(11, "b", D1, 21, "9", None),  # null row: a test with no figures
        measurement(12, "c", D1, 9, "2", 5.0),
        measurement(13, "d", D1, 9, None, 7.0),  # no place: not in any regional cell
    ]
    sessions = [session("a", D1, 20, 5, "9"), session("b", D1, 21, 2, "9"), session("d", D1, 9, 1, None)]
    return measurements_df(spark, rows), sessions_df(spark, sessions)


def _by_area(spark, k):
    measurements, sessions = _silver(spark)
    return area_isp_metrics(per_user_day(with_slices(measurements), SLICE_GRAIN), sessions, k)


def test_regional_metrics_weighs_users_not_tests_and_suppresses_single_user_cells(spark):
    found = regional_metrics(_by_area(spark, k=2))

    attica = dict(
        measurement_date=D1, periphery_id="9", periphery="ΑΤΤΙΚΗΣ", tests=7, users=2, sessions=2,
        download_mean_test_mbps=3100.0 / 6,  # raw tests: the heavy tester dominates
        download_p25_mbps=32.5, download_median_mbps=35.0, download_p75_mbps=37.5,  # users' medians 30 and 40
        download_logavg_mbps=math.sqrt(30.0 * 40.0),
        rtt_mean_ms=80.0 / 6, rtt_median_ms=20.0,  # users' medians 10 and 30
        is_suppressed=False,
    )
    macedonia = dict(
        measurement_date=D1, periphery_id="2", periphery="ΚΕΝΤΡΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ", tests=1, sessions=0,
        is_suppressed=True,
    )
    expected = spec_frame(spark, REGIONAL_METRICS, [attica, macedonia])
    assert_approx_df_equality(found, expected, 1e-9, ignore_row_order=True, ignore_nullable=True)


def test_regional_unit_metrics_keys_on_the_unit_and_carries_its_periphery(spark):
    found = regional_unit_metrics(_by_area(spark, k=1))

    c_cell = found.where("regional_unit_id = '16'").collect()
    assert len(c_cell) == 1, f"expected one row for unit 16, found {c_cell}"
    row = c_cell[0]
    found_values = (row.regional_unit, row.periphery_id, row.periphery, row.tests, row.users, row.download_median_mbps)
    expected_values = ("Θεσσαλονίκης", "2", "ΚΕΝΤΡΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ", 1, 1, 5.0)
    assert found_values == expected_values, f"expected {expected_values}, found {found_values}"
    assert found.columns == REGIONAL_UNIT_METRICS.column_names
    assert found.count() == 2, f"expected units 45 and 16 only, found {found.collect()}"


def test_area_isp_metrics_country_row_counts_tests_without_a_place(spark):
    found = _by_area(spark, k=2).where("area_level = 'country'").collect()

    assert len(found) == 1, f"expected Greece for every ISP only (no test names one), found {found}"
    row = found[0]
    # users' medians: a 30, b 40, c 5, d 7 -> 18.5; sessions a, b and d's (no place)
    found_values = (row.area_id, row.isp, row.tests, row.users, row.sessions, row.download_median_mbps)
    assert found_values == ("GR", "all", 9, 4, 3, 18.5), f"found {found_values}"
