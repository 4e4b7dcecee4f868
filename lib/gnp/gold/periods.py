"""Speed statistics per ISO week and calendar month: each user's median over the period, then over users.

The daily table (``regional.area_isp_metrics``) gives each user one value per
day; a period's median cannot be rebuilt from those (a median of a union is not
a mean of medians), so the dashboard could only average daily medians. Here a
user's value is the median of all their tests of the period in the slice, and
the cell's quartiles, median and log-average are over those users, with the
same k-anonymity suppression as the daily cells. Coarser grains also keep
more users per cell, so fine slices that are suppressed day by day become
readable by week or month.

Rows carry both kinds of period, keyed ``(period_kind, period_start, slice)``
and partitioned by ``period_start``. A Monday that is also the 1st starts a
week and a month in the same partition, so rewriting a partition means
rebuilding every period that starts on it (``periods_to_rebuild``).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Iterable

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.dates import month_start, period_days, week_start
from gnp.core.schemas import AREA_ISP_PERIOD_METRICS, PERIOD_MONTH, PERIOD_WEEK
from gnp.gold.slices import SLICE_KEY, SLICE_LABELS, with_slices
from gnp.gold.suppression import with_suppression
from gnp.gold.user_days import DATE, MEAN_METRICS, SPEED_METRICS, USER
from gnp.core.columns import MEDIAN, conform_to_spec, log_average, ratio, sorted_list, with_quantiles

KIND, START, END = "period_kind", "period_start", "period_end"
PERIOD_KEY = (KIND, START)
Period = tuple[str, dt.date]  # (period_kind, period_start)


def periods_touching(days: Iterable[dt.date]) -> list[Period]:
    """The weeks and months holding any of ``days``, sorted by start then kind."""
    found = {(PERIOD_WEEK, week_start(d)) for d in days} | {(PERIOD_MONTH, month_start(d)) for d in days}
    return sorted(found, key=lambda p: (p[1], p[0]))


def periods_to_rebuild(days: Iterable[dt.date]) -> list[Period]:
    """The periods touching ``days``, and every other period starting on one of their starts.

    A rewritten partition (a period_start) loses all its rows, so a Monday
    the 1st brings back both the week and the month that start on it.
    """
    touched = set(periods_touching(days))
    starts = {start for _, start in touched}
    shared = {(PERIOD_WEEK, s) for s in starts if s.weekday() == 0} | {(PERIOD_MONTH, s) for s in starts if s.day == 1}
    return sorted(touched | shared, key=lambda p: (p[1], p[0]))


def days_of_periods(periods: Iterable[Period]) -> list[dt.date]:
    """Every day of the given periods, sorted: what rebuilding them reads from Silver."""
    return sorted({day for kind, start in periods for day in period_days(kind, start)})


def _week_start(date: SparkColumn) -> SparkColumn:
    # dayofweek is 1 for Sunday .. 7 for Saturday; plain date arithmetic, no time zone involved.
    return F.date_sub(date, (F.dayofweek(date) + 5) % 7)


def _periods(date: SparkColumn) -> SparkColumn:
    """Each row's week and month, as structs to explode."""
    return F.array(
        F.struct(F.lit(PERIOD_WEEK).alias(KIND), _week_start(date).alias(START)),
        F.struct(F.lit(PERIOD_MONTH).alias(KIND), F.trunc(date, "month").alias(START)),
    )


def with_periods(measurements: DataFrame) -> DataFrame:
    """Each row twice: in its ISO week and its calendar month (``period_kind``, ``period_start``)."""
    kept = [c for c in measurements.columns if c != DATE]
    exploded = measurements.select(*kept, F.explode(_periods(F.col(DATE))).alias("__period"))
    return exploded.select(*kept, *[F.col(f"__period.{c}").alias(c) for c in PERIOD_KEY])


def _sorted(metric: str) -> str:
    return f"__sorted_{metric}"


def _median(metric: str) -> str:
    return f"{metric}__median"


def per_user_period(sliced: DataFrame) -> DataFrame:
    """One row per period, slice and user: tests, raw sums and counts, and the median of each speed metric."""
    aggs = [F.count(F.lit(1)).alias("tests"), *[F.max(c).alias(c) for c in SLICE_LABELS]]
    for metric in MEAN_METRICS:
        aggs += [F.sum(metric).alias(f"{metric}__sum"), F.count(metric).alias(f"{metric}__n")]
    aggs += [sorted_list(m).alias(_sorted(m)) for m in SPEED_METRICS]
    reduced = sliced.groupBy(*PERIOD_KEY, *SLICE_KEY, USER).agg(*aggs)
    return with_quantiles(reduced, {_median(m): (_sorted(m), MEDIAN) for m in SPEED_METRICS})


def only_periods(frame: DataFrame, periods: Iterable[Period] | None) -> DataFrame:
    """The rows of the given (period_kind, period_start) only; all of them when ``periods`` is None."""
    if periods is None:
        return frame
    wanted = [(F.col(KIND) == kind) & (F.col(START) == F.lit(start)) for kind, start in periods]
    return frame.where(functools.reduce(operator.or_, wanted, F.lit(False)))


def area_isp_period_metrics(measurements: DataFrame, k: int, periods: Iterable[Period] | None = None) -> DataFrame:
    """One row per period (week and month) and slice, for every period the measurements touch.

    Args:
        measurements: Silver measurements (``user_id`` raw or hashed); a period
            only partly present gives a row over the days present, so callers
            pass whole periods or keep only those (see gnp.gold.stage).
        k: fewer distinct users than this in the period and slice suppresses the cell.
        periods: build only these (kind, start) periods. An incremental run reads
            a whole month but rebuilds one or two weeks of it: the other weeks'
            rows are dropped before the slices multiply them by six.
    """
    user_periods = per_user_period(with_slices(only_periods(with_periods(measurements), periods)))
    cells = user_periods.groupBy(*PERIOD_KEY, *SLICE_KEY).agg(
        *[F.max(c).alias(c) for c in SLICE_LABELS],
        F.sum("tests").alias("tests"),
        F.count(F.lit(1)).alias("users"),
        *[ratio(F.sum(f"{m}__sum"), F.sum(f"{m}__n")).alias(alias) for m, alias in (
            ("download_mbps", "download_mean_test_mbps"), ("upload_mbps", "upload_mean_test_mbps"),
            ("rtt_ms", "rtt_mean_ms"), ("loss_pct", "loss_mean_pct"))],
        log_average(_median("download_mbps")).alias("download_logavg_mbps"),
        log_average(_median("upload_mbps")).alias("upload_logavg_mbps"),
        *[sorted_list(_median(m)).alias(_sorted(m)) for m in SPEED_METRICS],
    )
    cells = with_quantiles(cells, {
        **{f"{short}_{name}_mbps": (_sorted(metric), q)
           for metric, short in (("download_mbps", "download"), ("upload_mbps", "upload"))
           for name, q in (("p25", 0.25), ("median", MEDIAN), ("p75", 0.75))},
        "rtt_median_ms": (_sorted("rtt_ms"), MEDIAN),
        "jitter_median_ms": (_sorted("jitter_ms"), MEDIAN),
        "loss_median_pct": (_sorted("loss_pct"), MEDIAN),
    })
    ended = cells.withColumn(
        END, F.when(F.col(KIND) == PERIOD_WEEK, F.date_add(START, 6)).otherwise(F.last_day(START))
    )
    kept = {*PERIOD_KEY, END, *SLICE_KEY, *SLICE_LABELS, "is_suppressed", "tests"}
    nulled = [c for c in AREA_ISP_PERIOD_METRICS.column_names if c not in kept]
    return conform_to_spec(with_suppression(ended, "users", k, nulled), AREA_ISP_PERIOD_METRICS)


__all__ = [
    "area_isp_period_metrics",
    "days_of_periods",
    "month_start",
    "period_days",
    "period_end",
    "periods_to_rebuild",
    "periods_touching",
    "week_start",
]
