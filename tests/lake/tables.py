"""Small made-up tables for the lake's tests (and the audit's): a spec, rows, and the days they fall on."""

from __future__ import annotations

import datetime as dt

from gnp.core.schemas import Column, TableSpec

UTC = dt.timezone.utc
D1, D2, D3 = dt.date(2025, 10, 25), dt.date(2025, 10, 26), dt.date(2025, 10, 27)
THINGS = TableSpec(
    name="things",
    layer="silver",
    grain="one row per thing",
    key=("thing_id",),
    partition_by="thing_date",
    cluster_by=("owner",),
    columns=(
        Column("thing_id", "bigint", "key", nullable=False),
        Column("thing_date", "date", "partition", nullable=False),
        Column("owner", "string", "who"),
        Column("value", "double", "how much"),
        Column("seen_at", "timestamp", "when, UTC"),
        Column("tags", "array<string>", "labels"),
    ),
)


def things(spark, rows):
    return spark.createDataFrame(rows, THINGS.ddl())


def row(thing_id, day, owner="a", value=1.0):
    return (thing_id, day, owner, value, dt.datetime(2025, 10, 26, 1, 30, tzinfo=UTC), ["x"] if value else None)


BASE = [row(1, D1), row(2, D1, "b", None), row(3, D2), row(4, D3, None, 2.5), row(5, D3, "c")]


# Three columns only, for the test that goes through a Spark Connect server in a process of its own.
SMALL = TableSpec(name="things", layer="silver", grain="one row per thing", key=("thing_id",), partition_by="day",
              cluster_by=(), columns=(Column("thing_id", "bigint", "key", nullable=False),
                                      Column("day", "date", "partition", nullable=False), Column("owner", "string", "who")))
S1, S2 = dt.date(2025, 1, 1), dt.date(2025, 1, 2)
