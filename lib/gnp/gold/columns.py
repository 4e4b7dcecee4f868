"""Column helpers shared by the Gold transforms: the spec select and exact statistics."""

from __future__ import annotations

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.schemas import TableSpec

QUARTILES = (0.25, 0.5, 0.75)
# Values compared with a threshold are first rounded to this many decimals: an
# interpolated median can land one ulp below the exact value (39.99999999999999
# for 40), and that noise must not decide whether 40/50 reaches 80%. Engines
# also interpolate with different rounding, so this keeps Spark and DuckDB in step.
THRESHOLD_DECIMALS = 9


def conform_to_spec(df: DataFrame, spec: TableSpec) -> DataFrame:
    """Keep exactly the spec's columns, in its order, cast to its types."""
    return df.select([F.col(c.name).cast(c.type).alias(c.name) for c in spec.columns])


def exact_quantile(col: str | SparkColumn, q: float | tuple[float, ...]) -> SparkColumn:
    """Exact, interpolated quantile (percentile_cont semantics), nulls ignored.

    Exact rather than ``percentile_approx`` so a rerun gives the same figures and
    DuckDB's ``quantile_cont`` reproduces them to the last bits: the groups here
    (a user's tests of a day, the users of a cell) are small enough that the
    exact aggregate costs little more. A tuple of quantiles shares one buffer
    and returns an array.
    """
    return F.percentile(col, list(q) if isinstance(q, tuple) else q)


def exact_median(col: str | SparkColumn) -> SparkColumn:
    return exact_quantile(col, 0.5)


def sorted_values(values: SparkColumn) -> SparkColumn:
    """The non-null values of an array column, ascending: the input of ``sorted_median``."""
    return F.array_sort(F.filter(values, lambda v: v.isNotNull()))


def sorted_median(ordered: SparkColumn) -> SparkColumn:
    """Exact median (percentile_cont) of an ascending array without nulls; null when empty.

    For the many small groups of the per-user reductions, one ``collect_list`` of
    a struct and array sorting is about twice as fast as one ``percentile``
    buffer per metric, with the same result. Pass a column that already holds
    the sorted array: an inline ``sorted_values`` would be sorted once per use.
    """
    position = F.greatest(F.size(ordered) - 1, F.lit(0)) * F.lit(0.5)  # an empty array reads index 1: null
    lower = F.floor(position).cast("int")
    low = F.try_element_at(ordered, lower + 1)
    high = F.try_element_at(ordered, F.ceil(position).cast("int") + 1)
    return low + (high - low) * (position - lower)


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
