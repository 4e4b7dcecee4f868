import datetime as dt

from chispa import assert_approx_df_equality
from silver_factories import measurement, measurements_df, spec_frame

from gnp.core.schemas import CONTRACT_ATTAINMENT
from gnp.gold.attainment import contract_attainment
from gnp.gold.slices import with_slices
from gnp.gold.user_days import SLICE_GRAIN, per_user_day

D1 = dt.date(2025, 3, 3)
GREECE = dict(area_level="country", area_id="GR", area="ΕΛΛΑΔΑ")
ATTICA = dict(area_level="periphery", area_id="9", area="ΑΤΤΙΚΗΣ", periphery_id="9", periphery="ΑΤΤΙΚΗΣ")


def _slice_user_days(spark, rows):
    return per_user_day(with_slices(measurements_df(spark, rows)), SLICE_GRAIN, medians=("download_mbps",),
                        with_contract=True)


def test_attainment_shares_and_median_per_slice(spark):
    rows = [
        measurement(1, "a", D1, 9, "9", 30.0, contract=100.0, isp="Nova"),
        measurement(2, "a", D1, 9, "9", 90.0, contract=100.0, isp="Nova"),  # a: 60 / 100 = 0.6
        measurement(3, "b", D1, 9, "9", 40.0, contract=50.0, isp="Nova"),  # b: 0.8, exactly the high threshold
        measurement(4, "c", D1, 9, "9", 10.0, contract=50.0, isp="Nova"),  # c: 0.2
        measurement(5, "d", D1, 9, "9", 90.0, contract=0.0, isp="Nova"),  # no usable contract: left out
        measurement(6, "e", D1, 9, "9", None, contract=50.0, isp="Nova"),  # no speed: left out
        measurement(7, "f", D1, 9, "2", 50.0, contract=50.0, isp=None),  # one user, no ISP
    ]
    found = contract_attainment(_slice_user_days(spark, rows), low=0.5, high=0.8, k=2)

    nova = dict(measurement_date=D1, user_days=3, users=3, share_reaching_low=2 / 3,
                share_reaching_high=1 / 3, median_attainment=0.6, is_suppressed=False)
    expected = spec_frame(spark, CONTRACT_ATTAINMENT, [
        dict(nova, **ATTICA, isp="all"),
        dict(nova, **ATTICA, isp="Nova"),
        dict(nova, **GREECE, isp="Nova"),
        # f (1.0) joins a, b, c in Greece for every ISP: [0.2, 0.6, 0.8, 1.0]
        dict(nova, **GREECE, isp="all", user_days=4, users=4, share_reaching_low=3 / 4,
             share_reaching_high=2 / 4, median_attainment=0.7),
        dict(measurement_date=D1, area_level="periphery", area_id="2", isp="all", area="ΚΕΝΤΡΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ",
             periphery_id="2", periphery="ΚΕΝΤΡΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ", is_suppressed=True),
    ])
    without_units = found.where("area_level != 'regional_unit'")
    assert_approx_df_equality(without_units, expected, 1e-12, ignore_row_order=True, ignore_nullable=True)


def test_a_user_at_exactly_the_threshold_reaches_it_despite_float_noise(spark):
    # 10.1 / 12.625 is exactly 0.8, but in doubles it is 0.7999999999999999.
    rows = [measurement(i, u, D1, 9, "9", 10.1, contract=12.625, isp="Nova") for i, u in enumerate("abc", start=1)]
    found = contract_attainment(_slice_user_days(spark, rows), low=0.5, high=0.8, k=1).collect()

    shares = {r.share_reaching_high for r in found}
    assert len(found) == 6 and shares == {1.0}, f"expected every user to reach 80% in 6 slices, found {found}"
