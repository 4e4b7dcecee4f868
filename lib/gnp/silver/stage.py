"""The Silver stage's edges: what to read, what to rewrite, and the writes.

The transforms in ``parse``, ``measurements`` and ``sessions`` stay pure; this
module decides which Bronze days and which partitions a run touches and does
the I/O, so the notebook reads as one call per step.

Incremental runs rewrite the measurement dates of the run's range and the
session dates from the day before it (see ``sessions.rewrite_from``). Sessions
after ``date_to`` are not revisited: in the daily run ``date_to`` is the last
day; a backfill of old days followed by ``--full-refresh`` recomputes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from gnp import lakehouse, storage
from gnp.config import Params
from gnp.registry import Registry
from gnp.schemas import MEASUREMENTS, QUARANTINE, SESSIONS
from gnp.silver import measurements, parse, pseudonym, sessions

DAY_FOLDER_PREFIX = "measurement_date="


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def bronze_days(registry: Registry) -> list[dt.date]:
    """Every measurement day with a folder in Bronze."""
    return [
        dt.date.fromisoformat(name[len(DAY_FOLDER_PREFIX):])
        for name in storage.listdir(registry.bronze_root)
        if name.startswith(DAY_FOLDER_PREFIX)
    ]


@dataclass(frozen=True)
class SilverPlan:
    """Which days a run reads and rewrites."""

    days: tuple[dt.date, ...]  # Bronze days re-read; their measurement partitions are rewritten
    sessions_read_from: dt.date
    sessions_rewrite_from: dt.date
    sessions_rewrite_to: dt.date
    full_refresh: bool

    def describe(self) -> str:
        kind = "full refresh" if self.full_refresh else "incremental"
        days = f"{self.days[0]}..{self.days[-1]} ({len(self.days)} days)" if self.days else "no days"
        return (f"{kind}: measurements {days}; sessions {self.sessions_rewrite_from}..{self.sessions_rewrite_to} "
                f"from measurements since {self.sessions_read_from}")


def plan(params: Params, registry: Registry, full_refresh: bool = False) -> SilverPlan:
    if full_refresh:
        days = tuple(sorted(bronze_days(registry)))
    else:
        days = tuple(days_between(params.dates.date_from, params.dates.date_to))
    first = days[0] if days else params.dates.date_from
    last = days[-1] if days else params.dates.date_to
    return SilverPlan(
        days=days,
        sessions_read_from=sessions.read_from(first, params.semantics),
        sessions_rewrite_from=sessions.rewrite_from(first),
        sessions_rewrite_to=last,
        full_refresh=full_refresh,
    )


@dataclass
class FlaggedBronze:
    """Bronze records of the planned days, flagged; persisted until the writes are done."""

    frame: DataFrame
    files: list[parse.BronzeFile]
    accounting: measurements.Accounting
    drift: parse.FieldDrift


def flag_bronze(spark: SparkSession, params: Params, registry: Registry, silver_plan: SilverPlan) -> FlaggedBronze:
    """Read the planned Bronze days, flag every record, and check that each is accounted for."""
    files = parse.list_bronze_files(registry, silver_plan.days)
    key = pseudonym.key_frame(spark, pseudonym.load_key(params))
    flagged = measurements.flag_records(parse.read_bronze(spark, files), key, params.semantics)
    flagged = flagged.persist(StorageLevel.MEMORY_AND_DISK)
    accounting = measurements.count_accounting(flagged, parse.manifest_records(files))
    return FlaggedBronze(flagged, files, accounting, parse.field_drift(files))


def write_measurements(flagged: FlaggedBronze, registry: Registry, silver_plan: SilverPlan) -> None:
    """Commit the measurement and quarantine partitions of the planned days (after the accounting holds)."""
    flagged.accounting.require_balanced()
    for spec, frame in ((MEASUREMENTS, measurements.to_measurements(flagged.frame)),
                        (QUARANTINE, measurements.to_quarantine(flagged.frame))):
        lakehouse.replace_partitions(
            frame, spec, registry.table_path(spec.name), drop=silver_plan.days, replace_all=silver_plan.full_refresh
        )
    flagged.frame.unpersist()


def build_sessions(spark: SparkSession, params: Params, registry: Registry, silver_plan: SilverPlan) -> DataFrame:
    """Sessions of the rewrite window, from the committed measurements of the read window."""
    window = days_between(silver_plan.sessions_read_from, silver_plan.sessions_rewrite_to)
    source = lakehouse.read_table(spark, registry.table_path(MEASUREMENTS.name), MEASUREMENTS, only=window)
    built = sessions.sessionise(source, params.semantics)
    return sessions.keep_session_dates(built, silver_plan.sessions_rewrite_from, silver_plan.sessions_rewrite_to)


def write_sessions(frame: DataFrame, registry: Registry, silver_plan: SilverPlan) -> None:
    lakehouse.replace_partitions(
        frame, SESSIONS, registry.table_path(SESSIONS.name), drop=_session_days(silver_plan), replace_all=silver_plan.full_refresh
    )


def written(spark: SparkSession, registry: Registry, silver_plan: SilverPlan) -> tuple[DataFrame, DataFrame]:
    """The committed measurements and sessions this run rewrote, for the quality checks."""
    return (
        lakehouse.read_table(spark, registry.table_path(MEASUREMENTS.name), MEASUREMENTS, only=silver_plan.days),
        lakehouse.read_table(spark, registry.table_path(SESSIONS.name), SESSIONS, only=_session_days(silver_plan)),
    )


def outputs(registry: Registry, silver_plan: SilverPlan) -> list[dict]:
    """Run-manifest entries: each Silver table with the rows of the partitions this run wrote."""
    from gnp.results import table_output

    return [
        table_output(registry, MEASUREMENTS.name, silver_plan.days),
        table_output(registry, QUARANTINE.name, silver_plan.days),
        table_output(registry, SESSIONS.name, _session_days(silver_plan)),
    ]


def _session_days(silver_plan: SilverPlan) -> list[dt.date]:
    return days_between(silver_plan.sessions_rewrite_from, silver_plan.sessions_rewrite_to)


def quarantine_reasons(spark: SparkSession, registry: Registry, silver_plan: SilverPlan):
    """Quarantined records of the run's days per reason (a record can have several), as pandas."""
    rejected = lakehouse.read_table(spark, registry.table_path(QUARANTINE.name), QUARANTINE, only=silver_plan.days)
    return (rejected.select(F.explode("reasons").alias("reason")).groupBy("reason").count()
            .orderBy(F.desc("count")).toPandas())
