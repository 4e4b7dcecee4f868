"""Audit before publish: a stage's new table versions stay current only if its critical checks pass.

A stage notes its tables' Delta versions before it writes (``versions_before``),
commits, checks the committed partitions, records every result in
``quality_results``, then calls ``keep_or_restore``. On a failed critical check
each table is restored to its version from before the stage (a RESTORE commit;
a table the stage created is removed).

What passed is recorded: each table's last version whose checks passed (or
that a failure restored to one that had), in one small file beside the tables
(``Registry.audited``). Readers read that version, not the current one: the
DuckDB refresh, publish and time travel (``readable_versions``). So a version
between its commit and its check is never read, even when the process dies
there (an OOM, a kill, a lost host) and nothing restores it. The next run,
holding the lake lock and before anything else, restores every table that is
ahead of its audited version (``restore_unaudited``), so its stages start from
versions that passed, as an uninterrupted run would. The record is written
before a lake's first stage writes anything, so a table with no audited
version is one no check ever passed: it is removed. A lake from before the
record takes its current versions as audited, once.

``quality_results`` is not audited: every stage appends its results, the
failing ones too, and nothing restores it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pyspark.sql import SparkSession

from gnp.core import storage
from gnp.core.registry import Registry
from gnp.core.schemas import QUALITY_RESULTS, TABLES
from gnp.lake import lakehouse
from gnp.quality import checks as quality

AUDITED_TABLES = tuple(name for name in TABLES if name != QUALITY_RESULTS.name)


def read_audited(registry: Registry) -> dict[str, int] | None:
    """Table name -> its last audited version; None when this lake has no record yet."""
    path = registry.audited
    return {name: int(v) for name, v in storage.read_json(path).items()} if storage.exists(path) else None


def record_audited(registry: Registry, versions: Mapping[str, int | None]) -> None:
    """Record ``versions`` as audited (None: the table is gone, and so is its entry); the others stay."""
    record = read_audited(registry) or {}
    record.update({name: v for name, v in versions.items() if v is not None})
    for name in (n for n, v in versions.items() if v is None):
        record.pop(name, None)
    storage.write_json(registry.audited, dict(sorted(record.items())))


def ensure_record(registry: Registry) -> dict[str, int]:
    """The record, first written from the tables as they are (a new lake: none; an older lake: its current ones)."""
    record = read_audited(registry)
    if record is None:
        current = {name: lakehouse.version(registry.table_path(name)) for name in AUDITED_TABLES}
        record_audited(registry, current)
        record = read_audited(registry) or {}
    return record


def readable_versions(registry: Registry, names: Iterable[str] = TABLES) -> dict[str, int | None]:
    """The version of each table a reader may read: its audited one (None: nothing passed yet, read nothing).

    ``quality_results``, and every table of a lake without a record, are read at their current version.
    """
    record = read_audited(registry)
    return {name: record.get(name) if record is not None and name in AUDITED_TABLES
            else lakehouse.version(registry.table_path(name)) for name in names}  # fmt: skip


def unaudited(registry: Registry) -> dict[str, int | None]:
    """Tables ahead of their audited version (rows committed, never checked) -> the version to go back to."""
    record = ensure_record(registry)
    ahead = {}
    for name in AUDITED_TABLES:
        path = registry.table_path(name)
        audited = record.get(name)
        if lakehouse.version(path) is not None and lakehouse.data_changed_after(path, -1 if audited is None else audited):
            ahead[name] = audited
    return ahead


def restore_unaudited(registry: Registry, run_id: str = "") -> dict[str, int | None]:
    """Put every table ahead of its audited version back to it (no Spark); returns what was restored.

    Call it only while holding the lake lock, before any stage: a stage in progress looks the same.
    """
    ahead = unaudited(registry)
    for name, version in ahead.items():
        lakehouse.restore_without_spark(registry.table_path(name), version, run_id)
    record_audited(registry, {name: lakehouse.version(registry.table_path(name)) for name in ahead})
    return ahead


def versions_before(registry: Registry, names: Iterable[str]) -> dict[str, int | None]:
    """Each table's current version (None: not created yet), to restore on failure."""
    ensure_record(registry)
    return {name: lakehouse.version(registry.table_path(name)) for name in names}


def keep_or_restore(
    spark: SparkSession, registry: Registry, before: dict[str, int | None], results: Sequence[quality.CheckResult]
) -> None:
    """Keep the new versions if every critical check passed (they become the audited ones); else restore
    ``before``, record those as audited, and raise QualityError."""
    try:
        quality.assert_critical_passed(results)
    except quality.QualityError as exc:
        for name, version in before.items():
            lakehouse.restore(spark, registry.table_path(name), version)
        record_audited(registry, {name: lakehouse.version(registry.table_path(name)) for name in before})
        restored = ", ".join(f"{name} to version {v}" if v is not None else f"{name} removed (it was new)"
                             for name, v in before.items())
        raise quality.QualityError(f"{exc}\nNothing of this stage is published: restored {restored}.") from None
    record_audited(registry, {name: lakehouse.version(registry.table_path(name)) for name in before})
