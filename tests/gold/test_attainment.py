import datetime as dt

from chispa import assert_approx_df_equality

from gnp.gold.attainment import contract_attainment
from gnp.gold.user_days import ISP_GRAIN, PERIPHERY_GRAIN, per_user_day
from gnp.schemas import CONTRACT_ATTAINMENT
from silver_factories import measurement, measurements_df, spec_frame

D1 = dt.date(2025, 3, 3)


def test_attainment_shares_and_median_per_periphery_and_isp(spark):
    rows = [
        measurement(1, "a", D1, 9, "9", 30.0, contract=100.0, isp="Nova"),
        measurement(2, "a", D1, 9, "9", 90.0, contract=100.0, isp="Nova"),  # a: 60 / 100 = 0.6
        measurement(3, "b", D1, 9, "9", 40.0, contract=50.0, isp="Nova"),  # b: 0.8, exactly the high threshold
        measurement(4, "c", D1, 9, "9", 10.0, contract=50.0, isp="Nova"),  # c: 0.2
        measurement(5, "d", D1, 9, "9", 90.0, contract=0.0, isp="Nova"),  # no usable contract: left out
        measurement(6, "e", D1, 9, "9", None, contract=50.0, isp="Nova"),  # no speed: left out
        measurement(7, "f", D1, 9, "2", 50.0, contract=50.0, isp=None),  # one user, no ISP
    ]
    m = measurements_df(spark, rows)
    by_place = per_user_day(m, PERIPHERY_GRAIN, medians=("download_mbps",), with_contract=True)
    by_isp = per_user_day(m, ISP_GRAIN, medians=("download_mbps",), means=(), with_contract=True)

    found = contract_attainment(by_place, by_isp, low=0.5, high=0.8, k=2)

    common = dict(measurement_date=D1, user_days=3, users=3, share_reaching_low=2 / 3,
                  share_reaching_high=1 / 3, median_attainment=0.6, is_suppressed=False)
    expected = spec_frame(spark, CONTRACT_ATTAINMENT, [
        dict(common, dimension="periphery", dimension_value="9", dimension_label="ΑΤΤΙΚΗΣ"),
        dict(common, dimension="isp", dimension_value="Nova", dimension_label="Nova"),
        dict(measurement_date=D1, dimension="periphery", dimension_value="2",
             dimension_label="ΚΕΝΤΡΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ", is_suppressed=True),
    ])
    assert_approx_df_equality(found, expected, 1e-12, ignore_row_order=True, ignore_nullable=True)


def test_a_user_at_exactly_the_threshold_reaches_it_despite_float_noise(spark):
    # 10.1 / 12.625 is exactly 0.8, but in doubles it is 0.7999999999999999.
    rows = [measurement(i, u, D1, 9, "9", 10.1, contract=12.625, isp="Nova") for i, u in enumerate("abc", start=1)]
    m = measurements_df(spark, rows)
    by_place = per_user_day(m, PERIPHERY_GRAIN, medians=("download_mbps",), with_contract=True)
    by_isp = per_user_day(m, ISP_GRAIN, medians=("download_mbps",), means=(), with_contract=True)

    found = contract_attainment(by_place, by_isp, low=0.5, high=0.8, k=1).collect()

    shares = sorted((r.dimension, r.share_reaching_high) for r in found)
    assert shares == [("isp", 1.0), ("periphery", 1.0)], f"expected every user to reach 80%, found {shares}"
