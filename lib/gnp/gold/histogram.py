"""Speed distribution: share of users per log-spaced download bucket, per month and slice."""

from __future__ import annotations

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.schemas import SPEED_HISTOGRAM
from gnp.gold.slices import SLICE_KEY
from gnp.gold.suppression import with_suppression
from gnp.gold.user_days import median_col
from gnp.core.columns import conform_to_spec, without_float_noise

LOWEST_EDGE_MBPS = 1.0  # below it: one '<1 Mbps' bucket
TOP_EDGE_MBPS = 10_000.0  # from it: one open top bucket (the plausibility limit of Silver)


def speed_bucket_edges(buckets_per_decade: int) -> list[float]:
    """Lower edges of the buckets: 0, then 1 Mbps and ``buckets_per_decade`` steps per decade up to 10 Gbps.

    Bucket i is [edges[i], edges[i + 1]); the last is [edges[-1], open).
    Computed once here, so Spark and SQL compare against the same literals.
    """
    decades = 0
    while LOWEST_EDGE_MBPS * 10**decades < TOP_EDGE_MBPS:
        decades += 1
    steps = decades * buckets_per_decade
    return [0.0] + [LOWEST_EDGE_MBPS * 10 ** (i / buckets_per_decade) for i in range(steps + 1)]


def bucket_index(speed: SparkColumn, edges: list[float]) -> SparkColumn:
    """Index of the bucket whose [lower, upper) holds ``speed``; null speed gives null."""
    compared = without_float_noise(speed)
    index = F.lit(0)
    for i, lower in enumerate(edges[1:], start=1):
        index = F.when(compared >= F.lit(lower), F.lit(i)).otherwise(index)
    return F.when(speed.isNotNull(), index)


def speed_histogram(user_months: DataFrame, buckets_per_decade: int, k: int) -> DataFrame:
    """One row per month, slice and bucket, empty buckets included.

    Args:
        user_months: ``per_user_month`` of download at the slice grain.
        buckets_per_decade: params.semantics.histogram_buckets_per_decade.
        k: fewer users in the month and slice than this suppresses all its buckets.
    """
    edges = speed_bucket_edges(buckets_per_decade)
    speed = F.col(median_col("download_mbps"))
    counted = (
        user_months.withColumn("bucket_index", bucket_index(speed, edges))
        .groupBy("month", *SLICE_KEY, "bucket_index")
        .agg(F.count(F.lit(1)).alias("users"))
    )
    # Each month and slice carries its counts as a map, so empty buckets need no join.
    per_cell = counted.groupBy("month", *SLICE_KEY).agg(
        F.map_from_entries(F.collect_list(F.struct("bucket_index", "users"))).alias("counts"),
        F.sum("users").alias("total_users"),
    )
    lowers = F.array(*[F.lit(e) for e in edges])
    uppers = F.array(*[F.lit(e) for e in edges[1:]], F.lit(None).cast("double"))
    index = F.col("bucket_index")
    cells = (
        per_cell.withColumn("bucket_index", F.explode(F.sequence(F.lit(0), F.lit(len(edges) - 1))))
        .withColumn("users", F.coalesce(F.try_element_at("counts", index), F.lit(0)))
        .withColumn("share_of_users", F.col("users") / F.col("total_users"))
        .withColumn("bucket_lower_mbps", F.element_at(lowers, index + 1))
        .withColumn("bucket_upper_mbps", F.element_at(uppers, index + 1))
    )
    suppressed = with_suppression(cells, "total_users", k, ["users", "share_of_users"])
    return conform_to_spec(suppressed, SPEED_HISTOGRAM)
