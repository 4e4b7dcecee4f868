"""Small-cell suppression: no Gold statistic is published from fewer than k users.

A suppressed cell keeps its row (so the dashboard can say "suppressed") and its
activity counts (tests, sessions), which describe volume rather than people;
its distinct-user count and every statistic become null.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.columns import quoted

IS_SUPPRESSED = "is_suppressed"


def with_suppression(df: DataFrame, users_col: str, k: int, nulled: list[str]) -> DataFrame:
    """Add ``is_suppressed`` (fewer than k users, or none) and null ``nulled`` columns where set.

    ``users_col`` is read before it is nulled, so it may appear in ``nulled``.
    """
    is_small_cell = F.expr(f"coalesce({quoted(users_col)} < {int(k)}, true)")
    flagged = df.withColumn(IS_SUPPRESSED, is_small_cell)
    return flagged.withColumns(
        {c: F.expr(f"CASE WHEN NOT {quoted(IS_SUPPRESSED)} THEN {quoted(c)} END") for c in nulled}
    )


def suppressed_cells(tables: dict[str, DataFrame]) -> DataFrame:
    """One row per table: cells and suppressed cells; a single Spark action when collected.

    Tables without an ``is_suppressed`` column are skipped.
    """
    per_table = [
        df.agg(
            F.lit(name).alias("table_name"),
            F.count(F.lit(1)).alias("cells"),
            F.coalesce(F.sum(F.col(IS_SUPPRESSED).cast("bigint")), F.lit(0)).alias("suppressed_cells"),
        )
        for name, df in tables.items()
        if IS_SUPPRESSED in df.columns
    ]
    if not per_table:
        raise ValueError("no table with an is_suppressed column was given")
    return reduce(DataFrame.unionByName, per_table)
