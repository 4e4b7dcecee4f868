import datetime as dt
import glob
import os

import duckdb
import pytest
from chispa import assert_df_equality

from gnp import lakehouse, storage
from gnp.schemas import Column, TableSpec

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


def leaf_bytes(table_path: str, day: dt.date) -> dict[str, bytes]:
    leaf = lakehouse.partitions(table_path)[day.isoformat()]
    return {os.path.basename(p): open(p, "rb").read() for p in sorted(glob.glob(os.path.join(leaf, "*.parquet")))}


def write_folders(table_path: str) -> list[str]:
    return storage.listdir(os.path.join(table_path, lakehouse.WRITES))


def test_replacing_one_partition_leaves_the_others_byte_identical(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    before = {day: leaf_bytes(path, day) for day in (D1, D3)}
    leaves_before = lakehouse.partitions(path)

    snapshot = lakehouse.replace_partitions(things(spark, [row(30, D2, "z", 9.0), row(31, D2)]), THINGS, path)

    leaves_after = lakehouse.partitions(path)
    assert {d: leaves_after[d.isoformat()] for d in (D1, D3)} == {d: leaves_before[d.isoformat()] for d in (D1, D3)}
    assert {day: leaf_bytes(path, day) for day in (D1, D3)} == before, "untouched partitions changed"
    assert leaves_after[D2.isoformat()] != leaves_before[D2.isoformat()]
    assert snapshot["version"] == 2
    expected = things(spark, [r for r in BASE if r[1] != D2] + [row(30, D2, "z", 9.0), row(31, D2)])
    assert_df_equality(lakehouse.read_table(spark, path, THINGS), expected, ignore_row_order=True, ignore_nullable=True)


def test_the_same_write_twice_gives_the_same_table_and_the_same_bytes(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    first = lakehouse.read_table(spark, path, THINGS).collect()
    first_bytes = {day: list(leaf_bytes(path, day).values()) for day in (D1, D2, D3)}

    lakehouse.overwrite(things(spark, list(reversed(BASE))), THINGS, path)

    assert sorted(lakehouse.read_table(spark, path, THINGS).collect()) == sorted(first)
    assert {day: list(leaf_bytes(path, day).values()) for day in (D1, D2, D3)} == first_bytes


def test_a_crash_before_the_snapshot_leaves_the_previous_version_and_a_rerun_completes(spark, tmp_path, monkeypatch):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    change = things(spark, [row(40, D1, "new")])

    def crash(*args, **kwargs):
        raise RuntimeError("killed before the commit")

    monkeypatch.setattr(lakehouse, "_commit", crash)
    with pytest.raises(RuntimeError):
        lakehouse.replace_partitions(change, THINGS, path)
    monkeypatch.undo()

    assert len(write_folders(path)) == 2, "the crashed write left its files"
    assert_df_equality(lakehouse.read_table(spark, path, THINGS), things(spark, BASE), ignore_row_order=True, ignore_nullable=True)

    lakehouse.replace_partitions(change, THINGS, path)

    expected = things(spark, [r for r in BASE if r[1] != D1] + [row(40, D1, "new")])
    assert_df_equality(lakehouse.read_table(spark, path, THINGS), expected, ignore_row_order=True, ignore_nullable=True)
    assert len(write_folders(path)) == 2, "expected the orphan gone: the current write and the previous one remain"


def test_readers_of_the_previous_version_keep_working_until_the_next_commit(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    v1_files = lakehouse.current_files(path)
    lakehouse.overwrite(things(spark, BASE[:2]), THINGS, path)
    assert all(glob.glob(f) for f in v1_files), "the previous version was deleted at once"
    lakehouse.overwrite(things(spark, BASE[:1]), THINGS, path)
    assert not any(glob.glob(f) for f in v1_files), "expected the version before the previous one deleted"
    assert len(write_folders(path)) == 2


def test_drop_removes_partitions_that_lost_all_rows_and_overwrite_is_exact(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)

    lakehouse.replace_partitions(things(spark, [row(6, D1)]), THINGS, path, drop=[D1, D2])

    assert list(lakehouse.partitions(path)) == [D1.isoformat(), D3.isoformat()]
    lakehouse.overwrite(things(spark, [row(7, D2)]), THINGS, path)
    assert list(lakehouse.partitions(path)) == [D2.isoformat()]
    assert [r.thing_id for r in lakehouse.read_table(spark, path, THINGS, only=[D2]).collect()] == [7]


def test_an_empty_table_reads_as_an_empty_frame_with_the_spec_columns(spark, tmp_path):
    path = str(tmp_path / "never")
    assert lakehouse.read_snapshot(path) is None and lakehouse.current_files(path) == []
    empty = lakehouse.read_table(spark, path, THINGS)
    assert empty.count() == 0 and empty.columns == THINGS.column_names


def test_each_partition_is_one_self_contained_file_duckdb_can_read(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    files = lakehouse.current_files(path, only=[D1, D3])

    assert [len(glob.glob(f)) for f in files] == [1, 1], files
    listed = ", ".join(f"'{f}'" for f in files)
    found = duckdb.sql(
        f"SELECT thing_id, thing_date, owner FROM read_parquet([{listed}], hive_partitioning = false) ORDER BY thing_id"
    ).fetchall()
    assert found == [(1, D1, "a"), (2, D1, "b"), (4, D3, None), (5, D3, "c")], found


def test_a_null_partition_value_is_refused_and_nothing_is_committed(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    with pytest.raises(lakehouse.LakehouseError, match="null thing_date"):
        lakehouse.replace_partitions(things(spark, [row(8, None)]), THINGS, path)
    assert lakehouse.read_snapshot(path)["version"] == 1


def test_partitions_of_another_column_layout_are_refused_with_how_to_rebuild(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    wider = TableSpec(**{**THINGS.__dict__, "columns": (*THINGS.columns, Column("isp", "string", "provider"))})
    more = spark.createDataFrame([(*row(6, D1), "Nova")], wider.ddl())

    with pytest.raises(lakehouse.LakehouseError, match=r"added \['isp'\].*--full-refresh"):
        lakehouse.replace_partitions(more, wider, path)

    assert lakehouse.read_snapshot(path)["version"] == 1, "nothing was committed"
    every_day = spark.createDataFrame([(*row(i, d), "Nova") for i, d in enumerate((D1, D2, D3))], wider.ddl())
    lakehouse.replace_partitions(every_day, wider, path)  # replaces every stored partition: nothing mixed
    assert lakehouse.read_snapshot(path)["columns"][-1] == "isp string"


def test_a_snapshot_from_before_columns_were_recorded_is_checked_against_its_files(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    snapshot = lakehouse.read_snapshot(path)
    del snapshot["columns"]
    storage.write_json(os.path.join(path, lakehouse.SNAPSHOT), snapshot)
    narrower = TableSpec(**{**THINGS.__dict__, "columns": THINGS.columns[:-1]})

    lakehouse.replace_partitions(things(spark, [row(6, D1)]), THINGS, path)  # same columns: fine
    del_again = lakehouse.read_snapshot(path)
    del del_again["columns"]
    storage.write_json(os.path.join(path, lakehouse.SNAPSHOT), del_again)
    with pytest.raises(lakehouse.LakehouseError, match=r"removed \['tags'\]"):
        lakehouse.replace_partitions(things(spark, [row(7, D2)]).drop("tags"), narrower, path)
