"""When to VACUUM: each table at most once every ``storage.vacuum_every_days``.

VACUUM lists every file of a table to find those no recent version needs. On a
lake with history that listing, for fourteen tables, was most of a daily Gold
stage's tail (44 s of a 40,000-row history's daily run). It frees nothing a
weekly VACUUM would not: a file becomes deletable only ``vacuum_retain_days``
after the commit that removed it, so a file now lingers at most
``retain + every`` days, and readers of a pinned version are as safe as before.

A table younger than ``vacuum_retain_days`` (its first commit is that recent)
is not due even if never vacuumed: every file it ever removed was removed less
than the retention ago, so VACUUM could delete nothing. This spares a new lake
(a first ``make run``, every test lake) fourteen VACUUMs that list and free
nothing, about 40 s of its Gold stage on 2 cores.

Delta's own VACUUM commits are switched off (see ``lake.spark``), so the lake
keeps when each table was last vacuumed in one small file beside the tables
(``Registry.maintenance``): one read and one write per run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from pyspark.sql import SparkSession

from gnp.core import storage
from gnp.core.registry import Registry
from gnp.lake import lakehouse


def due(
    last_vacuumed: Mapping[str, str],
    names: Iterable[str],
    now: dt.datetime,
    every_days: int,
    created: Mapping[str, dt.datetime | None] | None = None,
    retain_days: int = 0,
) -> list[str]:
    """The tables among ``names`` last vacuumed ``every_days`` or more before ``now``, or never vacuumed.

    A never-vacuumed table whose first commit (``created``) is less than
    ``retain_days`` old is left out: it holds no file VACUUM may delete yet.
    An unknown creation time (no table, or a log whose first commit is gone) counts as old.
    """
    every, retain = dt.timedelta(days=every_days), dt.timedelta(days=retain_days)
    created = created or {}

    def is_due(name: str) -> bool:
        if name in last_vacuumed:
            return now - dt.datetime.fromisoformat(last_vacuumed[name]) >= every
        born = created.get(name)
        return born is None or now - born >= retain

    return [name for name in names if is_due(name)]


def read_record(registry: Registry) -> dict[str, str]:
    """Table name -> ISO time of its last VACUUM by this lake's runs (empty before the first)."""
    return storage.read_json(registry.maintenance) if storage.exists(registry.maintenance) else {}


def vacuum_due(
    spark: SparkSession,
    registry: Registry,
    names: Iterable[str],
    retain_days: int,
    every_days: int,
    now: dt.datetime | None = None,
) -> list[str]:
    """VACUUM the tables that are due and record when; returns their names (empty: none was due)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    record = read_record(registry)
    names = list(names)
    never = [name for name in names if name not in record]
    created = {name: lakehouse.created_at(registry.table_path(name)) for name in never}
    vacuumed = due(record, names, now, every_days, created, retain_days)
    for name in vacuumed:
        lakehouse.vacuum(spark, registry.table_path(name), retain_days)
        record[name] = now.isoformat()
    if vacuumed:
        storage.write_json(registry.maintenance, dict(sorted(record.items())))
    return vacuumed
