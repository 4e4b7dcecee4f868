"""The Gold stage's edges: which Silver partitions to read, which Gold partitions to rewrite.

A run rewrites the Gold dates that Silver rewrote (its session dates: every
measurement date it rewrote and the day before: ``plan`` derives the Gold
plan from the Silver one, once per run, in ``gnp.orchestration.runplan``); the
daily tables read only those days. Two tables need more: the speed histogram
is monthly, so the months touched are
recomputed from their whole Silver months (download medians only, the one
figure it needs); the period table (``area_isp_period_metrics``) rebuilds
every ISO week and month touched, from all their days (a week can reach into
the next month, so the days read are those of the weeks and months together);
the cohort table follows users from their first week, so it is rebuilt from
every session (two narrow columns of the smallest Silver table).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from gnp.core.config import Params, StorageParams
from gnp.core.dates import days_between, month_end, month_start
from gnp.core.registry import Registry
from gnp.core.schemas import MEASUREMENTS, SESSIONS, TABLES
from gnp.gold.build import UserDayReductions, gold_tables, reduce_measurements
from gnp.gold.periods import Period, days_of_periods, periods_to_rebuild
from gnp.gold.retention import cohort_retention
from gnp.lake import lakehouse, maintenance, parallel
from gnp.lake.spark import size_session
from gnp.silver.stage import SilverPlan

MONTHLY = {"speed_histogram"}
PERIODIC = {"area_isp_period_metrics"}  # partitioned by period_start (weeks and months)
WHOLE_HISTORY = {"cohort_retention"}
# Restored together if a check fails; quality_results keeps the failing run's results.
WRITTEN_TABLES = tuple(name for name, spec in TABLES.items() if spec.layer == "gold" and name != "quality_results")


@dataclass(frozen=True)
class GoldPlan:
    days: tuple[dt.date, ...]  # daily Gold partitions rewritten
    months: tuple[dt.date, ...]  # monthly partitions rewritten (first day of each month)
    full_refresh: bool

    @property
    def periods(self) -> list[Period]:
        """(period_kind, period_start) of every week and month rewritten (see gold.periods.periods_to_rebuild)."""
        return periods_to_rebuild(self.days)

    @property
    def period_starts(self) -> list[dt.date]:
        """The period table's partitions rewritten."""
        return sorted({start for _, start in self.periods})

    @property
    def read_days(self) -> list[dt.date]:
        """Silver days the monthly and period tables read: every day of the months and weeks touched."""
        months = [day for month in self.months for day in days_between(month, month_end(month))]
        return sorted(set(months) | set(days_of_periods(self.periods)))

    def describe(self) -> str:
        kind = "full refresh" if self.full_refresh else "incremental"
        if not self.days:
            return f"{kind}: nothing to rewrite"
        first, last = self.days[0], self.days[-1]
        gaps = "" if len(self.days) == (last - first).days + 1 else f" ({len(self.days)} days, with gaps)"
        return f"{kind}: days {first}..{last}{gaps}, months {', '.join(m.strftime('%Y-%m') for m in self.months)}"


def plan(silver_plan: SilverPlan) -> GoldPlan:
    """Gold rewrites what Silver rewrote: the session dates cover the measurement dates too."""
    days = sorted(silver_plan.session_days)
    months = sorted({month_start(d) for d in days})
    return GoldPlan(tuple(days), tuple(months), silver_plan.full_refresh)


def build(
    spark: SparkSession, params: Params, registry: Registry, gold_plan: GoldPlan
) -> tuple[dict[str, DataFrame], UserDayReductions]:
    """Every Gold table (but quality_results) for the plan, and the shared reductions to unpersist after writing."""
    measurements_path = registry.table_path(MEASUREMENTS.name)
    # The stage's shuffles and code generation, sized to the measurements it reads (counted from the log's statistics).
    read = None if gold_plan.full_refresh else sorted(set(gold_plan.days) | set(gold_plan.read_days))
    size_session(spark, lakehouse.row_count(measurements_path, only=read), params)
    measurements = lakehouse.read_table(spark, measurements_path, MEASUREMENTS, only=gold_plan.days)
    # A full refresh reads every day anyway; an incremental run reads its weeks and months again, for the
    # histogram and the period table only.
    whole_months = None if gold_plan.full_refresh else lakehouse.read_table(
        spark, measurements_path, MEASUREMENTS, only=gold_plan.read_days
    )
    sessions_path = registry.table_path(SESSIONS.name)
    sessions = lakehouse.read_table(spark, sessions_path, SESSIONS, only=gold_plan.days)
    reductions = reduce_measurements(measurements, whole_months, gold_plan.periods).persist()
    tables = gold_tables(reductions, sessions, params.semantics)
    tables["cohort_retention"] = cohort_retention(
        lakehouse.read_table(spark, sessions_path, SESSIONS), params.semantics.k_anonymity
    )
    return tables, reductions


def _partitions_of(name: str, gold_plan: GoldPlan) -> list[dt.date] | None:
    if name in WHOLE_HISTORY:
        return None
    if name in PERIODIC:
        return gold_plan.period_starts
    return list(gold_plan.months if name in MONTHLY else gold_plan.days)


def rewritten(gold_plan: GoldPlan) -> dict[str, list[dt.date] | None]:
    """Each Gold table's partitions the plan rewrites (None: all), but quality_results (every run appends)."""
    return {name: None if gold_plan.full_refresh else _partitions_of(name, gold_plan) for name in WRITTEN_TABLES}


def committed_rows(tables: dict[str, DataFrame], gold_plan: GoldPlan) -> dict[str, DataFrame]:
    """What each table's commit holds: the partitions the plan rewrites (all: a full refresh, a whole-history
    table), in the spec's columns. The stage writes these frames and checks the same frames."""

    def rows(name: str) -> DataFrame:
        spec, only = TABLES[name], None if gold_plan.full_refresh else _partitions_of(name, gold_plan)
        frame = tables[name].select(*spec.column_names)
        return frame if only is None else frame.where(F.col(spec.partition_by).isin(only))

    return {name: rows(name) for name in tables}


def write(rows: dict[str, DataFrame], registry: Registry, gold_plan: GoldPlan) -> None:
    """Commit each table's rows (``committed_rows``), a few tables at once; the rest of each table stays as it was."""

    def commit(name: str) -> None:
        frame, spec, only = rows[name], TABLES[name], _partitions_of(name, gold_plan)
        if only is None or gold_plan.full_refresh:
            lakehouse.overwrite(frame, spec, registry.table_path(name))
        else:
            lakehouse.replace_partitions(frame, spec, registry.table_path(name), drop=only)

    parallel.each(commit, rows)


def outputs(registry: Registry, gold_plan: GoldPlan) -> list[dict]:
    """Run-manifest entries: each Gold table with the partitions this run rewrote (None: all, a full refresh)."""
    from gnp.quality.results import table_output

    return [table_output(registry, name, only=only) for name, only in rewritten(gold_plan).items()]


def vacuum(spark: SparkSession, registry: Registry, storage_params: StorageParams) -> list[str]:
    """VACUUM the Silver and Gold tables that are due (see ``gnp.lake.maintenance``); returns their names.

    The warehouse views and a publish read one pinned version's files; a
    version stays readable ``vacuum_retain_days`` after a newer one replaced it.
    """
    return maintenance.vacuum_due(
        spark, registry, list(TABLES), storage_params.vacuum_retain_days, storage_params.vacuum_every_days
    )


def suppressed(written_tables: dict[str, DataFrame]):
    """Cells and suppressed cells per table (fewer than k users), as pandas."""
    from gnp.gold.suppression import suppressed_cells

    return suppressed_cells(written_tables).toPandas()
