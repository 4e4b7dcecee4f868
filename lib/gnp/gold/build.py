"""Build every Gold table from Silver with one shuffle of the measurements.

The measurements are hash-partitioned once by (measurement_date, user_id) and
then exploded into their slices (see gnp.gold.slices): every per-user
reduction groups by a superset of those keys, so Spark runs all of them
without another exchange, and after ``persist`` without rereading Parquet.
Inside the reductions ``user_id`` is a 64-bit hash of the pseudonym (xxhash64)
rather than its 64 hex characters: it only groups and counts users, and the
narrower key is what let 5M rows fit a 2 GB driver. Two users share a hash
with probability about n^2 / 2^65 (3e-8 for a million users).

``gold.stage.build`` calls these for a run's plan (the measurements of its
days, and of its whole weeks and months for the period table and the
histogram); ``gold.steps`` is the order the stage runs in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gnp.core.config import SemanticsParams
from gnp.core.schemas import PERIOD_MONTH
from gnp.gold.attainment import contract_attainment
from gnp.gold.histogram import speed_histogram
from gnp.gold.hourly import hourly_profile
from gnp.gold.periods import Period, area_isp_period_metrics
from gnp.gold.regional import area_isp_metrics, regional_metrics, regional_unit_metrics
from gnp.gold.retention import cohort_retention, user_retention
from gnp.gold.slices import PLACE_COLUMNS, with_slices
from gnp.gold.staircase import frustration_staircase
from gnp.gold.user_days import (
    CONTRACT,
    DATE,
    HOUR,
    HOUR_SLICE_GRAIN,
    SLICE_GRAIN,
    SPEED_METRICS,
    USER,
    per_user_day,
    per_user_month,
)

_DOWNLOAD = ("download_mbps",)


@dataclass(frozen=True)
class UserDayReductions:
    """The per-user reductions of the measurements that the Gold tables share."""

    by_user_day: DataFrame  # the measurements' Gold columns, partitioned by (measurement_date, user_id)
    slice: DataFrame  # per user, day and slice: the speed medians, test sums and the contract median
    hour: DataFrame  # per user, day, slice and local hour: the download median
    month_download: DataFrame | None = None  # per user, day and slice of whole months: the download median
    period_rows: DataFrame | None = None  # whole weeks and months of measurements (incremental), for period tables
    periods: tuple[Period, ...] | None = None  # the weeks and months the period table rebuilds (None: all touched)

    @property
    def period_measurements(self) -> DataFrame:
        """The measurements the week and month tables read: whole periods when given, else the days built."""
        return self.by_user_day if self.period_rows is None else self.period_rows

    @property
    def histogram_user_days(self) -> DataFrame:
        """The user-days the monthly histogram reads: whole months when given, else the slice reduction."""
        return self.slice if self.month_download is None else self.month_download

    def persist(self) -> "UserDayReductions":
        """Keep the partitioned measurements and the slice reduction (read by four tables)."""
        self.by_user_day.persist(StorageLevel.MEMORY_AND_DISK)
        self.slice.persist(StorageLevel.MEMORY_AND_DISK)
        return self

    def unpersist(self) -> None:
        self.slice.unpersist()
        self.by_user_day.unpersist()


def reduce_measurements(
    measurements: DataFrame, whole_months: DataFrame | None = None, periods: Sequence[Period] | None = None
) -> UserDayReductions:
    """Per-user-day reductions of Silver measurements in every slice.

    Args:
        measurements: the days whose daily tables are built.
        whole_months: every day of the weeks and months those days touch, when
            that is more than ``measurements`` (an incremental run): the period
            table reads their speeds, the monthly histogram their download
            medians (a month read only in part, past a week's end, is one the
            stage does not write).
        periods: the (kind, start) weeks and months rewritten, when
            ``whole_months`` is given: the period table builds only those and
            the histogram only their months (a week reaching into the month
            before reads days of a month the stage does not write).
    """
    by_user_day = _by_user_day(measurements, (DATE, HOUR, *PLACE_COLUMNS, *SPEED_METRICS, CONTRACT))
    sliced = with_slices(by_user_day)
    month_download = period_rows = None
    if whole_months is not None:
        period_rows = _by_user_day(whole_months, (DATE, *PLACE_COLUMNS, *SPEED_METRICS))
        month_rows = period_rows if periods is None else period_rows.where(
            F.trunc(DATE, "month").isin([start for kind, start in periods if kind == PERIOD_MONTH]))
        months = with_slices(month_rows.select(USER, DATE, *PLACE_COLUMNS, *_DOWNLOAD))
        month_download = per_user_day(months, SLICE_GRAIN, medians=_DOWNLOAD, means=())
    return UserDayReductions(
        by_user_day=by_user_day,
        slice=per_user_day(sliced, SLICE_GRAIN, with_contract=True),
        hour=per_user_day(sliced, HOUR_SLICE_GRAIN, medians=_DOWNLOAD, means=()),
        month_download=month_download,
        period_rows=period_rows,
        periods=None if periods is None or whole_months is None else tuple(periods),
    )


def _by_user_day(measurements: DataFrame, columns: tuple[str, ...]) -> DataFrame:
    """The columns Gold reads, users as 64-bit hashes, partitioned by (measurement_date, user_id)."""
    return measurements.select(F.xxhash64(USER).alias(USER), *columns).repartition(DATE, USER)


def gold_tables(
    reductions: UserDayReductions, sessions: DataFrame, semantics: SemanticsParams
) -> dict[str, DataFrame]:
    """Every Gold table except quality_results, by table name (lazy DataFrames).

    ``sessions`` are the Silver sessions of the days being built; pass the
    whole history to ``cohort_retention`` separately when building for a window.
    """
    k = semantics.k_anonymity
    by_area = area_isp_metrics(reductions.slice, sessions, k)
    return {
        "area_isp_metrics": by_area,
        "area_isp_period_metrics": area_isp_period_metrics(reductions.period_measurements, k, reductions.periods),
        "regional_metrics": regional_metrics(by_area),
        "regional_unit_metrics": regional_unit_metrics(by_area),
        "user_retention": user_retention(sessions, k),
        "cohort_retention": cohort_retention(sessions, k),
        "frustration_staircase": frustration_staircase(sessions, k),
        "contract_attainment": contract_attainment(
            reductions.slice, semantics.attainment_low, semantics.attainment_high, k
        ),
        "hourly_profile": hourly_profile(reductions.hour, k),
        "speed_histogram": speed_histogram(
            per_user_month(reductions.histogram_user_days, SLICE_GRAIN, "download_mbps"),
            semantics.histogram_buckets_per_decade,
            k,
        ),
    }
