"""The per-user reduction every user-weighted Gold statistic starts from.

M-Lab's rule: one user must not outweigh others, so statistics per place and
day are taken over users, each contributing one value: the median of the
user's own tests in that place that day. A user seen in two places that day
counts once in each, because each place's figure is about its own tests.

The reduction also carries per-user sums and counts of the raw tests so the
original's raw-test means can be rebuilt exactly from it (a mean of the tests
is sum(sums) / sum(counts)) without another pass over the tests. Grouping is
by (measurement_date, user_id, place...) in that order, so measurements
partitioned by (measurement_date, user_id) need no further shuffle (see build).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.gold.slices import SLICE_KEY, SLICE_LABELS
from gnp.core.columns import MEDIAN, sorted_list, with_quantiles

DATE = "measurement_date"
USER = "user_id"
HOUR = "measurement_hour_local"

SPEED_METRICS = ("download_mbps", "upload_mbps", "rtt_ms", "jitter_ms", "loss_pct")
MEAN_METRICS = ("download_mbps", "upload_mbps", "rtt_ms", "loss_pct")
CONTRACT = "contract_download_mbps"

SLICE_GRAIN = SLICE_KEY  # rows from gnp.gold.slices.with_slices
HOUR_SLICE_GRAIN = (*SLICE_KEY, HOUR)

# Names travel with the codes; max() picks one deterministically (and DuckDB picks the same).
_LABELS = {
    SLICE_GRAIN: SLICE_LABELS,
    HOUR_SLICE_GRAIN: (),
}


def sum_col(metric: str) -> str:
    return f"{metric}__sum"


def count_col(metric: str) -> str:
    return f"{metric}__n"


def median_col(metric: str) -> str:
    return f"{metric}__median"


def per_user_day(
    measurements: DataFrame,
    grain: tuple[str, ...],
    medians: tuple[str, ...] = SPEED_METRICS,
    means: tuple[str, ...] = MEAN_METRICS,
    with_contract: bool = False,
) -> DataFrame:
    """One row per measurement_date, place grain and user, for tests whose place is known.

    Columns: the keys, the grain's labels, ``tests``, ``<m>__sum`` / ``<m>__n`` per
    metric in ``means``, ``<m>__median`` per metric in ``medians`` and, with
    ``with_contract``, ``contract_download_mbps__median`` over the user's tests
    that name a positive contract speed.
    """
    has_place = [F.col(c).isNotNull() for c in grain]
    located = measurements.where(_all(has_place)) if has_place else measurements
    aggs = [F.count(F.lit(1)).alias("tests")]
    aggs += [F.max(c).alias(c) for c in _LABELS.get(grain, ())]
    for metric in means:
        aggs += [F.sum(metric).alias(sum_col(metric)), F.count(metric).alias(count_col(metric))]
    values = {m: F.col(m) for m in medians}
    if with_contract:
        values[CONTRACT] = F.when(F.col(CONTRACT) > 0, F.col(CONTRACT))
    aggs += [sorted_list(v).alias(_sorted(k)) for k, v in values.items()]
    reduced = located.groupBy(DATE, USER, *grain).agg(*aggs)
    return with_quantiles(reduced, {median_col(k): (_sorted(k), MEDIAN) for k in values})


def per_user_month(user_days: DataFrame, grain: tuple[str, ...], metric: str) -> DataFrame:
    """One row per month, place and user: the median of the user's daily medians of ``metric``.

    Each day weighs the same, as each user does within a day; users whose
    every daily median is null are dropped.
    """
    month = F.trunc(DATE, "month").alias("month")
    reduced = user_days.groupBy(month, *grain, USER).agg(sorted_list(median_col(metric)).alias(_sorted(metric)))
    monthly = with_quantiles(reduced, {median_col(metric): (_sorted(metric), MEDIAN)})
    return monthly.where(F.col(median_col(metric)).isNotNull())


def _sorted(metric: str) -> str:
    return f"__sorted_{metric}"


def _all(conditions):
    combined = conditions[0]
    for c in conditions[1:]:
        combined = combined & c
    return combined
