import pytest
from chispa import assert_approx_df_equality
from pyspark.sql import functions as F

from gnp.core.schemas import HOURLY_PROFILE
from gnp.core.columns import (
    conform_to_spec,
    distinct_count,
    log_average,
    quoted,
    ratio,
    sql_string,
    sorted_list,
    with_quantiles,
    without_float_noise,
)


def test_log_average_skips_zero_negative_and_null(spark):
    df = spark.createDataFrame([("a", 4.0), ("a", 9.0), ("a", 0.0), ("a", -3.0), ("a", None), ("b", 0.0)], "g string, x double")

    found = df.groupBy("g").agg(log_average("x").alias("logavg"))

    expected = spark.createDataFrame([("a", 6.0), ("b", None)], "g string, logavg double")
    assert_approx_df_equality(found, expected, 1e-12, ignore_row_order=True, ignore_nullable=True)


def test_quantiles_of_sorted_lists_interpolate_like_percentile_cont(spark):
    df = spark.createDataFrame([("a", x) for x in (10.0, 1.0, 4.0, 2.0, None)] + [("nulls", None)], "g string, x double")

    lists = df.groupBy("g").agg(sorted_list("x").alias("xs"))
    found = with_quantiles(lists, {"p25": ("xs", 0.25), "p50": ("xs", 0.5), "p75": ("xs", 0.75)})

    # positions (n-1)*q = 0.75, 1.5, 2.25 over [1, 2, 4, 10]
    expected = spark.createDataFrame(
        [("a", 1.75, 3.0, 5.5), ("nulls", None, None, None)],
        "g string, p25 double, p50 double, p75 double",
    )
    assert_approx_df_equality(found, expected, 1e-12, ignore_row_order=True, ignore_nullable=True)


def test_quantile_of_an_empty_or_single_value_list(spark):
    df = spark.createDataFrame([([],), ([5.0],), (None,)], "xs array<double>")

    found = [r.q for r in with_quantiles(df, {"q": ("xs", 0.5)}).collect()]

    assert found == [None, 5.0, None], f"expected [None, 5.0, None], found {found}"


def test_distinct_count_ignores_nulls_and_repeats(spark):
    df = spark.createDataFrame([("a", "u1"), ("a", "u1"), ("a", "u2"), ("a", None), ("b", None)], "g string, u string")

    found = sorted((r.g, r.n) for r in df.groupBy("g").agg(distinct_count("u").alias("n")).collect())

    assert found == [("a", 2), ("b", 0)], f"expected [('a', 2), ('b', 0)], found {found}"


def test_without_float_noise_rounds_away_the_last_bits(spark):
    df = spark.createDataFrame([(10.1, 12.625)], "d double, c double")

    row = df.select((F.col("d") / F.col("c")).alias("raw"), without_float_noise(F.col("d") / F.col("c")).alias("r")).first()

    assert (row.raw, row.r) == (0.7999999999999999, 0.8), f"expected the raw ratio just under 0.8 and 0.8, found {row}"


def test_ratio_is_null_for_zero_or_null_denominator(spark):
    df = spark.createDataFrame([(1.0, 4.0), (1.0, 0.0), (1.0, None), (None, 2.0)], "n double, d double")

    found = [r.r for r in df.select(ratio(F.col("n"), F.col("d")).alias("r")).collect()]

    assert found == [0.25, None, None, None], f"expected [0.25, None, None, None], found {found}"


def test_conform_to_spec_orders_casts_and_drops(spark):
    df = spark.createDataFrame(
        [("x", 3, "all", "9", "periphery", "2025-03-03", 7, 2, 12.5, False)],
        "extra string, hour_local long, isp string, area_id string, area_level string, measurement_date string, "
        "tests int, users int, median_download_mbps double, is_suppressed boolean",
    )

    found = conform_to_spec(df, HOURLY_PROFILE)

    assert found.columns == HOURLY_PROFILE.column_names, f"expected {HOURLY_PROFILE.column_names}, found {found.columns}"
    found_types = [f.dataType.simpleString() for f in found.schema.fields]
    expected_types = [c.type for c in HOURLY_PROFILE.columns]
    assert found_types == expected_types, f"expected {expected_types}, found {found_types}"


def test_sql_text_quotes_any_column_name_and_refuses_a_literal_that_would_need_escaping(spark):
    """The helpers that write expressions as SQL text (one JVM call per expression) quote every name they are given."""
    df = spark.createDataFrame([(1.0, 2.0)], "`odd name` double, `back``tick` double")

    found = df.selectExpr(f"{quoted('odd name')} + {quoted('back`tick')} AS total", f"{sql_string('ΕΛΛΑΔΑ')} AS area")

    assert [tuple(r) for r in found.collect()] == [(3.0, "ΕΛΛΑΔΑ")]
    for unsafe in ("it's", "back\\slash"):
        with pytest.raises(ValueError, match="not a plain SQL string literal"):
            sql_string(unsafe)
