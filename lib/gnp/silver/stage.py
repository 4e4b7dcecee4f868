"""The Silver stage's edges: what to read, what to rewrite, and the writes.

The transforms in ``parse``, ``measurements`` and ``sessions`` stay pure; this
module decides which Bronze days and which partitions a run touches and does
the I/O, so the notebook reads as one call per step.

A test is filed under its own local date whatever request returned it, so a
run's partitions are its days plus every date found in its days' Bronze (a
refetch of the 28th that brings a late test of the 27th rewrites the 27th), and
it reads every Bronze day that holds a record of those partitions (to rewrite
the 27th it reads the 28th's Bronze too). Each Bronze manifest lists its
``measurement_dates``; ``plan`` decides from them alone. A run plans once
(``gnp.orchestration.runplan``, which also derives the Gold plan from this
one), so Gold rebuilds exactly what Silver rewrote and publish replaces it.

Sessions: each rewritten date also rewrites the session date before it (see
``sessions.rewrite_from``), reading the measurements its sessions need, and the
day after, where its last sessions can end. Sessions after a rewritten date are
not revisited: in the daily run that is the last day; a backfill of old days
followed by ``--full-refresh`` recomputes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from gnp.core import storage
from gnp.core.config import Params, SemanticsParams
from gnp.core.dates import days_between
from gnp.core.registry import Registry
from gnp.core.schemas import MEASUREMENTS, QUARANTINE, SESSIONS
from gnp.lake import lakehouse
from gnp.lake.spark import size_session
from gnp.silver import accounting, measurements, parse, pseudonym, sessions

DAY_FOLDER_PREFIX = "measurement_date="
WRITTEN_TABLES = (MEASUREMENTS.name, QUARANTINE.name, SESSIONS.name)  # restored together if a check fails
ONE_DAY = dt.timedelta(days=1)


def bronze_days(registry: Registry) -> list[dt.date]:
    """Every measurement day with a folder in Bronze."""
    return [
        dt.date.fromisoformat(name[len(DAY_FOLDER_PREFIX):])
        for name in storage.listdir(registry.bronze_root)
        if name.startswith(DAY_FOLDER_PREFIX)
    ]


def partitions_and_reads(
    run_days: Iterable[dt.date], files: Iterable[parse.BronzeFile]
) -> tuple[list[dt.date], list[dt.date]]:
    """(partitions to rewrite, Bronze days to read) for a run's days, from the Bronze versions' dates.

    Partitions: the run's days and every date their Bronze holds. Reads: every
    Bronze day that holds a record of those partitions, or is one of them
    (a record with an unreadable time stays on its Bronze day).
    """
    dates_of: dict[dt.date, set[dt.date]] = {}
    for f in files:
        dates_of.setdefault(f.bronze_date, set()).update(f.measurement_dates)
    run_days = set(run_days)
    partitions = run_days.union(*(dates_of.get(day, ()) for day in run_days))
    reads = {day for day, dates in dates_of.items() if ({day} | dates) & partitions}
    return sorted(partitions), sorted(reads)


def session_days(partitions: Iterable[dt.date]) -> list[dt.date]:
    """Session dates rewritten: each partition and the day before it."""
    return sorted({d for day in partitions for d in (sessions.rewrite_from(day), day)})


def session_read_days(partitions: Iterable[dt.date], semantics: SemanticsParams) -> list[dt.date]:
    """Measurement dates those sessions are built from: the returning window before, the next day after."""
    return sorted({d for day in partitions for d in days_between(sessions.read_from(day, semantics), day + ONE_DAY)})


@dataclass(frozen=True)
class SilverPlan:
    """Which Bronze days a run reads and which partitions it rewrites."""

    run_days: tuple[dt.date, ...]  # the days asked for (every Bronze day on a full refresh)
    days: tuple[dt.date, ...]  # measurement and quarantine partitions rewritten
    bronze_days: tuple[dt.date, ...]  # Bronze days read (every version of each)
    session_days: tuple[dt.date, ...]  # session partitions rewritten
    session_read_days: tuple[dt.date, ...]  # measurement partitions the sessions are built from
    full_refresh: bool
    # Each stored Bronze day's newest version when the plan was made: what the run consumes (``record_consumed``).
    bronze_versions: tuple[tuple[dt.date, str], ...] = ()

    @property
    def partitions(self) -> list[dt.date] | None:
        """The partitions this run's frames are cut to: None (all) on a full refresh."""
        return None if self.full_refresh else list(self.days)

    def describe(self) -> str:
        kind = "full refresh" if self.full_refresh else "incremental"
        return (f"{kind}: measurements {_span(self.days)} from Bronze days {_span(self.bronze_days)}; "
                f"sessions {_span(self.session_days)}")


def _span(days: tuple[dt.date, ...]) -> str:
    if not days:
        return "none"
    if len(days) <= 4:
        return ", ".join(map(str, days))
    gaps = "" if len(days) == (days[-1] - days[0]).days + 1 else ", with gaps"
    return f"{days[0]}..{days[-1]} ({len(days)} days{gaps})"


def plan(params: Params, registry: Registry, full_refresh: bool = False, run_id: str = "") -> SilverPlan:
    """The run's plan, from the params and the Bronze manifests (every version's, a small read each).

    Beside the params' range, an incremental run covers every day its own ingest
    fetched (``run_id`` in the manifests): ingest refetches young days stored
    empty even before the range, and what it found there must reach Silver.
    """
    stored = sorted(bronze_days(registry))
    files = parse.list_bronze_files(registry, stored)
    fetched_now = {f.bronze_date for f in files if run_id and f.run_id == run_id}
    unread = unconsumed_days(files, read_consumed(registry))
    run_days = stored if full_refresh else sorted(
        fetched_now.union(unread, days_between(params.dates.date_from, params.dates.date_to))
    )
    partitions, reads = partitions_and_reads(run_days, files)
    return SilverPlan(
        run_days=tuple(run_days),
        days=tuple(partitions),
        bronze_days=tuple(reads),
        session_days=tuple(session_days(partitions)),
        session_read_days=tuple(session_read_days(partitions, params.semantics)),
        full_refresh=full_refresh,
        bronze_versions=tuple(sorted(latest_versions(files).items())),
    )


def latest_versions(files: Iterable[parse.BronzeFile]) -> dict[dt.date, str]:
    """Each Bronze day's newest version (its lineage name; names sort by fetch time)."""
    latest: dict[dt.date, str] = {}
    for f in files:
        latest[f.bronze_date] = max(latest.get(f.bronze_date, ""), f.bronze_file)
    return latest


def read_consumed(registry: Registry) -> dict[dt.date, str] | None:
    """What the last complete build read of each Bronze day; None before the first one recorded it."""
    if not storage.exists(registry.bronze_consumed):
        return None
    return {dt.date.fromisoformat(day): name for day, name in storage.read_json(registry.bronze_consumed).items()}


def unconsumed_days(files: Iterable[parse.BronzeFile], consumed: dict[dt.date, str] | None) -> list[dt.date]:
    """Bronze days holding a version no complete build has read.

    An ingest of its own (the cloud workflow ingests before the job; ``--stages
    ingest``), or a young empty day refetched outside the range, stores versions
    that the next run's dates would not cover: without this, a test the portal
    published late would sit in Bronze where no reader looks.
    """
    if consumed is None:
        return []
    return sorted(day for day, name in latest_versions(files).items() if consumed.get(day) != name)


def record_consumed(registry: Registry, silver_plan: SilverPlan) -> None:
    """After Gold: the Bronze versions this run's Silver and Gold were built from are consumed.

    Those the plan saw, not those stored now: a version stored after the plan
    was made stays unconsumed, and the next run reads it. The first record (or
    a full refresh) takes every day the plan saw stored as consumed.
    """
    consumed = read_consumed(registry)
    first = consumed is None or silver_plan.full_refresh
    seen = dict(silver_plan.bronze_versions)
    days = seen if first else silver_plan.bronze_days
    latest = {day: seen[day] for day in days if day in seen}
    merged = {**({} if first else consumed), **latest}
    storage.write_json(registry.bronze_consumed, {day.isoformat(): name for day, name in sorted(merged.items())})


@dataclass
class FlaggedBronze:
    """Bronze records of the planned days, flagged; persisted until the writes are done."""

    frame: DataFrame
    files: list[parse.BronzeFile]
    accounting: accounting.Accounting
    drift: parse.FieldDrift
    key_metadata: dict[str, str]  # the pseudonym key's fingerprint, recorded on each Silver commit


def flag_bronze(spark: SparkSession, params: Params, registry: Registry, silver_plan: SilverPlan) -> FlaggedBronze:
    """Read the planned Bronze days, flag every record, and check that each is accounted for."""
    files = parse.list_bronze_files(registry, silver_plan.bronze_days)
    size_session(spark, sum(f.record_count for f in files), params)  # shuffles and codegen, to the records read
    key = pseudonym.load_checked_key(params, registry, silver_plan.full_refresh)
    flagged = measurements.flag_records(parse.read_bronze(spark, files), pseudonym.key_frame(spark, key),
                                        params.semantics)
    flagged = flagged.persist(StorageLevel.MEMORY_AND_DISK)
    counts = accounting.count_accounting(
        flagged, parse.manifest_records(files), silver_plan.partitions, silver_plan.run_days
    )
    return FlaggedBronze(flagged, files, counts, parse.field_drift(files), pseudonym.commit_metadata(key))


def write_measurements(flagged: FlaggedBronze, registry: Registry, silver_plan: SilverPlan) -> None:
    """Commit the measurement and quarantine partitions of the plan (after the accounting holds)."""
    flagged.accounting.require_balanced()
    only = silver_plan.partitions
    for spec, frame in ((MEASUREMENTS, measurements.to_measurements(flagged.frame, only)),
                        (QUARANTINE, measurements.to_quarantine(flagged.frame, only))):
        lakehouse.replace_partitions(
            frame, spec, registry.table_path(spec.name), drop=silver_plan.days, replace_all=silver_plan.full_refresh,
            metadata=flagged.key_metadata,
        )
    flagged.frame.unpersist()


def build_sessions(spark: SparkSession, params: Params, registry: Registry, silver_plan: SilverPlan) -> DataFrame:
    """Sessions of the rewritten session dates, from the committed measurements they need."""
    source = lakehouse.read_table(
        spark, registry.table_path(MEASUREMENTS.name), MEASUREMENTS, only=silver_plan.session_read_days
    )
    if silver_plan.full_refresh:  # every date: every user
        return sessions.sessionise(source, params.semantics)
    return sessions.sessions_of(source, params.semantics, silver_plan.session_days)


def write_sessions(frame: DataFrame, registry: Registry, silver_plan: SilverPlan, key_metadata: dict[str, str]) -> None:
    """Commit the plan's session partitions, recording the key their user ids were made with."""
    lakehouse.replace_partitions(
        frame, SESSIONS, registry.table_path(SESSIONS.name), drop=silver_plan.session_days,
        replace_all=silver_plan.full_refresh, metadata=key_metadata,
    )  # fmt: skip


def written(spark: SparkSession, registry: Registry, silver_plan: SilverPlan) -> tuple[DataFrame, DataFrame]:
    """The committed measurements and sessions this run rewrote, for the quality checks."""
    return (
        lakehouse.read_table(spark, registry.table_path(MEASUREMENTS.name), MEASUREMENTS, only=silver_plan.days),
        lakehouse.read_table(spark, registry.table_path(SESSIONS.name), SESSIONS, only=silver_plan.session_days),
    )


def rewritten(silver_plan: SilverPlan) -> dict[str, list[dt.date] | None]:
    """Each Silver table's partitions the plan rewrites (None: all, a full refresh)."""
    sessions_only = None if silver_plan.full_refresh else list(silver_plan.session_days)
    return {MEASUREMENTS.name: silver_plan.partitions, QUARANTINE.name: silver_plan.partitions,
            SESSIONS.name: sessions_only}


def outputs(registry: Registry, silver_plan: SilverPlan) -> list[dict]:
    """Run-manifest entries: each Silver table with the partitions this run rewrote (None: all, a full refresh)."""
    from gnp.quality.results import table_output

    return [table_output(registry, name, only=only) for name, only in rewritten(silver_plan).items()]


def quarantine_reasons(spark: SparkSession, registry: Registry, silver_plan: SilverPlan):
    """Quarantined records of the run's days per reason (a record can have several), as pandas."""
    rejected = lakehouse.read_table(spark, registry.table_path(QUARANTINE.name), QUARANTINE, only=silver_plan.days)
    return (rejected.select(F.explode("reasons").alias("reason")).groupBy("reason").count()
            .orderBy(F.desc("count")).toPandas())
