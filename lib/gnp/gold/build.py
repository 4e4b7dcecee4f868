"""Build every Gold table from Silver, reading the measurements once per place grain.

Order for a stage notebook::

    reductions = reduce_measurements(measurements)    # lazy; persist() when writing several tables
    tables = gold_tables(reductions, sessions, params.semantics)
    ... write each table ...
    reductions.unpersist()
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame

from gnp.config import SemanticsParams
from gnp.gold.attainment import contract_attainment
from gnp.gold.histogram import speed_histogram
from gnp.gold.hourly import hourly_profile
from gnp.gold.regional import regional_metrics, regional_unit_metrics
from gnp.gold.retention import cohort_retention, user_retention
from gnp.gold.staircase import frustration_staircase
from gnp.gold.user_days import (
    HOUR_GRAIN,
    ISP_GRAIN,
    PERIPHERY_GRAIN,
    REGIONAL_UNIT_GRAIN,
    per_user_day,
    per_user_month,
)

_DOWNLOAD = ("download_mbps",)


@dataclass(frozen=True)
class UserDayReductions:
    """The per-user reductions of the measurements that the Gold tables share."""

    periphery: DataFrame
    regional_unit: DataFrame
    isp: DataFrame
    hour: DataFrame

    def frames(self) -> tuple[DataFrame, ...]:
        return (self.periphery, self.regional_unit, self.isp, self.hour)

    def persist(self) -> "UserDayReductions":
        """Keep the periphery reduction (used by three tables) once computed."""
        self.periphery.persist(StorageLevel.MEMORY_AND_DISK)
        return self

    def unpersist(self) -> None:
        self.periphery.unpersist()


def reduce_measurements(measurements: DataFrame) -> UserDayReductions:
    """Per-user-day reductions of Silver measurements at each place grain Gold needs."""
    return UserDayReductions(
        periphery=per_user_day(measurements, PERIPHERY_GRAIN, with_contract=True),
        regional_unit=per_user_day(measurements, REGIONAL_UNIT_GRAIN),
        isp=per_user_day(measurements, ISP_GRAIN, medians=_DOWNLOAD, means=(), with_contract=True),
        hour=per_user_day(measurements, HOUR_GRAIN, medians=_DOWNLOAD, means=()),
    )


def gold_tables(
    reductions: UserDayReductions, sessions: DataFrame, semantics: SemanticsParams
) -> dict[str, DataFrame]:
    """Every Gold table except quality_results, by table name (lazy DataFrames)."""
    k = semantics.k_anonymity
    return {
        "regional_metrics": regional_metrics(reductions.periphery, sessions, k),
        "regional_unit_metrics": regional_unit_metrics(reductions.regional_unit, sessions, k),
        "user_retention": user_retention(sessions, k),
        "cohort_retention": cohort_retention(sessions, k),
        "frustration_staircase": frustration_staircase(sessions, k),
        "contract_attainment": contract_attainment(
            reductions.periphery, reductions.isp, semantics.attainment_low, semantics.attainment_high, k
        ),
        "hourly_profile": hourly_profile(reductions.hour, k),
        "speed_histogram": speed_histogram(
            per_user_month(reductions.periphery, PERIPHERY_GRAIN, "download_mbps"),
            semantics.histogram_buckets_per_decade,
            k,
        ),
    }
