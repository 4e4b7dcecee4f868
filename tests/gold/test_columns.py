import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import functions as F

from gnp.gold.columns import (
    conform_to_spec,
    exact_median,
    exact_quantile,
    log_average,
    ratio,
    sorted_median,
    sorted_values,
)
from gnp.schemas import HOURLY_PROFILE


def test_log_average_skips_zero_negative_and_null(spark):
    df = spark.createDataFrame([("a", 4.0), ("a", 9.0), ("a", 0.0), ("a", -3.0), ("a", None), ("b", 0.0)], "g string, x double")

    found = df.groupBy("g").agg(log_average("x").alias("logavg"))

    expected = spark.createDataFrame([("a", 6.0), ("b", None)], "g string, logavg double")
    assert_approx_df_equality(found, expected, 1e-12, ignore_row_order=True, ignore_nullable=True)


def test_exact_quantile_interpolates_like_percentile_cont(spark):
    df = spark.createDataFrame([(x,) for x in (1.0, 2.0, 4.0, 10.0, None)], "x double")

    row = df.agg(exact_quantile("x", (0.25, 0.5, 0.75)).alias("q"), exact_median("x").alias("m")).first()

    # positions (n-1)*q = 0.75, 1.5, 2.25 over [1, 2, 4, 10]
    assert row.q == pytest.approx([1.75, 3.0, 5.5]), f"expected quartiles [1.75, 3.0, 5.5], found {row.q}"
    assert row.m == 3.0, f"expected median 3.0, found {row.m}"


def test_exact_quantile_of_only_nulls_is_null(spark):
    df = spark.createDataFrame([(None,)], "x double")

    row = df.agg(exact_quantile("x", (0.25, 0.75)).alias("q"), exact_median("x").alias("m")).first()

    assert (row.q, row.m) == (None, None), f"expected nulls, found {row}"


def test_ratio_is_null_for_zero_or_null_denominator(spark):
    df = spark.createDataFrame([(1.0, 4.0), (1.0, 0.0), (1.0, None), (None, 2.0)], "n double, d double")

    found = [r.r for r in df.select(ratio(F.col("n"), F.col("d")).alias("r")).collect()]

    assert found == [0.25, None, None, None], f"expected [0.25, None, None, None], found {found}"


def test_conform_to_spec_orders_casts_and_drops(spark):
    df = spark.createDataFrame(
        [("x", 3, "9", "2025-03-03", 7, 2, 12.5, False)],
        "extra string, hour_local long, periphery_id string, measurement_date string, tests int, users int, "
        "median_download_mbps double, is_suppressed boolean",
    )

    found = conform_to_spec(df, HOURLY_PROFILE)

    assert found.columns == HOURLY_PROFILE.column_names, f"expected {HOURLY_PROFILE.column_names}, found {found.columns}"
    found_types = [f.dataType.simpleString() for f in found.schema.fields]
    expected_types = [c.type for c in HOURLY_PROFILE.columns]
    assert found_types == expected_types, f"expected {expected_types}, found {found_types}"


def test_sorted_median_interpolates_ignores_nulls_and_is_null_when_empty(spark):
    df = spark.createDataFrame(
        [([3.0, 1.0, 2.0],), ([4.0, None, 1.0],), ([5.0],), ([None],), ([],), (None,)], "v array<double>"
    )

    ordered = df.select(sorted_values(F.col("v")).alias("s"))
    found = [r.m for r in ordered.select(sorted_median(F.col("s")).alias("m")).collect()]

    expected = [2.0, 2.5, 5.0, None, None, None]
    assert found == expected, f"expected {expected}, found {found}"
