"""Column helpers shared by the Gold transforms: the spec select and exact statistics."""

from __future__ import annotations

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.schemas import TableSpec

MEDIAN = 0.5
# Values compared with a threshold are first rounded to this many decimals: an
# interpolated median can land one ulp below the exact value (39.99999999999999
# for 40), and that noise must not decide whether 40/50 reaches 80%. Engines
# also interpolate with different rounding, so this keeps Spark and DuckDB in step.
THRESHOLD_DECIMALS = 9


# Helpers that build many expressions at once write them as SQL text: a whole expression is then one call to the
# JVM in an in-process session (a tree of Python ``Column`` calls costs a py4j round trip per node: a fifth of a
# Gold build's time in the in-process tests), and the same expression in a Spark Connect plan.


def quoted(name: str) -> str:
    """``name`` as a SQL identifier (backquoted)."""
    return "`" + name.replace("`", "``") + "`"


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal; refuses what would need escaping (the callers pass constants)."""
    if "'" in value or "\\" in value:
        raise ValueError(f"not a plain SQL string literal: {value!r}")
    return f"'{value}'"


def conform_to_spec(df: DataFrame, spec: TableSpec) -> DataFrame:
    """Keep exactly the spec's columns, in its order, cast to its types."""
    return df.selectExpr(*[f"CAST({quoted(c.name)} AS {c.type}) AS {quoted(c.name)}" for c in spec.columns])


def sorted_list(col: str | SparkColumn) -> SparkColumn:
    """Aggregate: the group's non-null values, ascending; read it with ``with_quantiles``.

    Quantiles here are exact (percentile_cont: linear interpolation between the
    closest ranks), not ``percentile_approx``, so a rerun gives the same figures
    and DuckDB's ``quantile_cont`` reproduces them. A sorted ``collect_list``
    measured about twice as fast as Spark's ``percentile`` for these groups
    (a user's tests of a day; the users of a cell), with the same result.
    """
    return F.array_sort(F.collect_list(col))


def sorted_quantile(ordered: str, q: float) -> SparkColumn:
    """The q-quantile (percentile_cont) of the ascending array without nulls in column ``ordered``; null when empty."""
    array = quoted(ordered)
    position = f"(greatest(size({array}) - 1, 0) * {float(q)!r}D)"  # an empty array reads index 1: null
    lower = f"CAST(floor({position}) AS INT)"
    low = f"try_element_at({array}, {lower} + 1)"
    high = f"try_element_at({array}, CAST(ceil({position}) AS INT) + 1)"
    return F.expr(f"{low} + ({high} - {low}) * ({position} - {lower})")


def with_quantiles(df: DataFrame, quantiles: dict[str, tuple[str, float]]) -> DataFrame:
    """Add ``name`` = the q-quantile of sorted-list column ``source`` for each ``name: (source, q)``.

    The list columns are dropped. A separate step from the aggregation, so each
    list is sorted once however many quantiles read it.
    """
    sources = {source for source, _ in quantiles.values()}
    added = df.withColumns({name: sorted_quantile(src, q) for name, (src, q) in quantiles.items()})
    return added.drop(*sources)


def log_average(col: str | SparkColumn) -> SparkColumn:
    """Geometric mean exp(avg(ln x)) over x > 0: zero and negative values are skipped, not zeroed."""
    x = F.col(col) if isinstance(col, str) else col
    return F.exp(F.avg(F.when(x > 0, F.ln(x))))


def without_float_noise(col: SparkColumn) -> SparkColumn:
    """``col`` rounded to THRESHOLD_DECIMALS, for comparisons with thresholds and bucket edges."""
    return F.round(col, THRESHOLD_DECIMALS)


def distinct_count(col: str | SparkColumn) -> SparkColumn:
    """Exact number of distinct non-null values.

    ``count_distinct`` beside other aggregates makes Spark expand every row and
    aggregate twice; a set per group is several times cheaper for the few,
    modest groups of Gold cells.
    """
    return F.size(F.collect_set(col))


def ratio(numerator: SparkColumn, denominator: SparkColumn) -> SparkColumn:
    """numerator / denominator, null when the denominator is zero or null."""
    return F.when(denominator > 0, numerator / denominator)
