"""VACUUM when due: each table at most once every ``storage.vacuum_every_days``."""

from __future__ import annotations

import datetime as dt

from gnp.core.registry import Registry
from gnp.lake import lakehouse, maintenance

NOW = dt.datetime(2025, 11, 3, 6, 0, tzinfo=dt.timezone.utc)


def test_due_picks_tables_never_vacuumed_or_vacuumed_long_enough_ago():
    last = {"a": (NOW - dt.timedelta(days=7)).isoformat(), "b": (NOW - dt.timedelta(days=6, hours=23)).isoformat()}
    assert maintenance.due(last, ["a", "b", "c"], NOW, every_days=7) == ["a", "c"]
    assert maintenance.due(last, ["a", "b", "c"], NOW, every_days=0) == ["a", "b", "c"]


def _registry(tmp_path) -> Registry:
    lake = str(tmp_path / "lake")
    return Registry(lake=lake, bronze=f"{lake}/bronze", artifacts=str(tmp_path / "artifacts"),
                    duckdb_path=str(tmp_path / "w.duckdb"), bigquery_project=None, silver_dataset="silver",
                    gold_dataset="gold", warehouse_kind="duckdb")


def test_a_daily_run_vacuums_each_table_once_a_week_and_remembers_it(tmp_path, monkeypatch):
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(lakehouse, "vacuum", lambda spark, path, retain: calls.append((path, retain)))
    registry = _registry(tmp_path)
    names = ["measurements", "regional_metrics"]

    first = maintenance.vacuum_due(None, registry, names, retain_days=9, every_days=7, now=NOW)
    assert first == names
    assert calls == [(registry.table_path(n), 9) for n in names]

    for day in range(1, 7):  # the next six daily runs: nothing due, nothing listed
        assert maintenance.vacuum_due(None, registry, names, 9, 7, now=NOW + dt.timedelta(days=day)) == []
    assert len(calls) == 2

    # a table added later is due at once; the others a week after their last VACUUM
    later = maintenance.vacuum_due(None, registry, [*names, "sessions"], 9, 7, now=NOW + dt.timedelta(days=6))
    assert later == ["sessions"]
    assert maintenance.vacuum_due(None, registry, names, 9, 7, now=NOW + dt.timedelta(days=7)) == names
    record = maintenance.read_record(registry)
    assert record["sessions"] == (NOW + dt.timedelta(days=6)).isoformat()
    assert record["measurements"] == (NOW + dt.timedelta(days=7)).isoformat()


def test_a_table_younger_than_the_retention_is_not_due_even_if_never_vacuumed():
    young, old = NOW - dt.timedelta(days=2), NOW - dt.timedelta(days=9)
    created = {"young": young, "old": old, "unknown": None}
    # Nothing it removed can be older than the retention yet: VACUUM would list files and free none.
    assert maintenance.due({}, ["young", "old", "unknown"], NOW, 7, created, retain_days=7) == ["old", "unknown"]
    # A table vacuumed before follows its schedule whatever its age.
    last = {"young": (NOW - dt.timedelta(days=8)).isoformat()}
    assert maintenance.due(last, ["young"], NOW, 7, created, retain_days=7) == ["young"]


def test_a_new_lakes_tables_are_not_vacuumed_until_they_could_hold_a_deletable_file(spark, tmp_path, monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(lakehouse, "vacuum", lambda spark, path, retain: calls.append(path))
    registry = _registry(tmp_path)
    spark.range(3).write.format("delta").save(registry.table_path("measurements"))
    born = lakehouse.created_at(registry.table_path("measurements"))

    assert maintenance.vacuum_due(spark, registry, ["measurements"], 7, 7, now=born + dt.timedelta(days=6)) == []
    assert calls == [] and maintenance.read_record(registry) == {}
    assert maintenance.vacuum_due(spark, registry, ["measurements"], 7, 7, now=born + dt.timedelta(days=7)) == [
        "measurements"]
    assert calls == [registry.table_path("measurements")]
