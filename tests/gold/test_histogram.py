import datetime as dt

import pytest
from pyspark.sql import functions as F

from gnp.gold.histogram import bucket_index, speed_bucket_edges, speed_histogram

MARCH = dt.date(2025, 3, 1)


def test_edges_have_a_lowest_bucket_then_steps_per_decade_up_to_10_gbps():
    edges = speed_bucket_edges(2)

    expected = [0.0, 1.0, 10**0.5, 10.0, 10**1.5, 100.0, 10**2.5, 1000.0, 10**3.5, 10000.0]
    assert edges == pytest.approx(expected), f"expected {expected}, found {edges}"
    assert len(speed_bucket_edges(4)) == 18


def test_bucket_index_is_lower_inclusive_and_upper_exclusive(spark):
    edges = speed_bucket_edges(1)  # 0, 1, 10, 100, 1000, 10000
    speeds = [0.0, 0.99, 1.0, 9.99, 10.0, 999.0, 10000.0, 50000.0, None, -1.0]
    df = spark.createDataFrame([(s,) for s in speeds], "s double")

    found = [r.i for r in df.select(bucket_index(F.col("s"), edges).alias("i")).collect()]

    expected = [0, 0, 1, 1, 2, 3, 5, 5, None, 0]
    assert found == expected, f"expected {expected}, found {found}"


def test_histogram_lists_every_bucket_with_user_shares_and_suppresses_small_months(spark):
    user_months = spark.createDataFrame(
        [(MARCH, "periphery", area, "all", user, speed)
         for area, user, speed in (("9", "a", 0.5), ("9", "b", 5.0), ("9", "c", 7.0), ("2", "d", 50.0))],
        "month date, area_level string, area_id string, isp string, user_id string, download_mbps__median double",
    )

    found = speed_histogram(user_months, buckets_per_decade=1, k=2).orderBy("area_id", "bucket_index")

    rows = [(r.area_id, r.bucket_index, r.bucket_lower_mbps, r.bucket_upper_mbps, r.users,
             r.share_of_users, r.is_suppressed) for r in found.collect()]
    expected = [
        ("2", i, lo, hi, None, None, True)
        for i, (lo, hi) in enumerate(zip([0.0, 1.0, 10.0, 100.0, 1000.0, 10000.0],
                                         [1.0, 10.0, 100.0, 1000.0, 10000.0, None]))
    ] + [
        ("9", 0, 0.0, 1.0, 1, 1 / 3, False),
        ("9", 1, 1.0, 10.0, 2, 2 / 3, False),
        ("9", 2, 10.0, 100.0, 0, 0.0, False),
        ("9", 3, 100.0, 1000.0, 0, 0.0, False),
        ("9", 4, 1000.0, 10000.0, 0, 0.0, False),
        ("9", 5, 10000.0, None, 0, 0.0, False),
    ]
    assert rows == expected, f"expected {expected}, found {rows}"
