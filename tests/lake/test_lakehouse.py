import datetime as dt
import os

import duckdb
import pytest
from chispa import assert_df_equality

from gnp.core import storage
from gnp.core.schemas import Column, TableSpec
from gnp.lake import lakehouse
from gnp.lake.spark import COMMIT_METADATA_CONF

from lake.tables import BASE, D1, D2, D3, THINGS, UTC, row, things


@pytest.fixture
def run_id(spark):
    spark.conf.set(COMMIT_METADATA_CONF, "run-test")
    yield "run-test"
    spark.conf.unset(COMMIT_METADATA_CONF)


def test_replacing_one_partition_is_one_commit_that_leaves_the_other_files_as_they_were(spark, tmp_path, run_id):
    path = str(tmp_path / "things")
    assert lakehouse.overwrite(things(spark, BASE), THINGS, path) == 0
    before = {d: lakehouse.current_files(path, only=[d]) for d in (D1, D2, D3)}

    version = lakehouse.replace_partitions(things(spark, [row(30, D2, "z", 9.0), row(31, D2)]), THINGS, path, drop=[D2])

    assert version == 1, f"expected one commit, found version {version}"
    after = {d: lakehouse.current_files(path, only=[d]) for d in (D1, D2, D3)}
    assert {d: after[d] for d in (D1, D3)} == {d: before[d] for d in (D1, D3)}, "untouched partitions changed"
    assert len(after[D2]) == 1 and after[D2] != before[D2], "expected D2 in one new file"
    expected = things(spark, [r for r in BASE if r[1] != D2] + [row(30, D2, "z", 9.0), row(31, D2)])
    assert_df_equality(lakehouse.read_table(spark, path, THINGS), expected, ignore_row_order=True, ignore_nullable=True)
    newest = lakehouse.history(path)[0]
    assert (newest["version"], newest["run_id"], newest["parameters"]["mode"]) == (1, run_id, "Overwrite"), newest
    assert "thing_date" in newest["parameters"].get("predicate", ""), f"expected a replaceWhere, found {newest}"
    # the previous version stays readable (time travel)
    assert lakehouse.read_table(spark, path, THINGS, at_version=0).count() == len(BASE)
    # The rows a stage will read, counted from the log's file statistics alone (its shuffles are sized by them).
    in_d2 = sum(1 for r in BASE if r[1] == D2)
    assert lakehouse.row_count(path) == len(BASE) - in_d2 + 2
    assert (lakehouse.row_count(path, only=[D2]), lakehouse.row_count(path, only=[D1, D3])) == (2, len(BASE) - in_d2)
    assert lakehouse.row_count(str(tmp_path / "never-written")) == 0


def test_drop_empties_partitions_that_lost_all_rows_and_rows_outside_it_are_refused(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)

    lakehouse.replace_partitions(things(spark, [row(6, D1)]), THINGS, path, drop=[D1, D2])

    assert list(lakehouse.partitions(path)) == [D1.isoformat(), D3.isoformat()]
    with pytest.raises(Exception, match="DELTA_REPLACE_WHERE_MISMATCH"):
        lakehouse.replace_partitions(things(spark, [row(7, D3)]), THINGS, path, drop=[D1])
    assert lakehouse.version(path) == 1, "nothing was committed"
    lakehouse.overwrite(things(spark, [row(7, D2)]), THINGS, path)
    assert list(lakehouse.partitions(path)) == [D2.isoformat()]
    assert [r.thing_id for r in lakehouse.read_table(spark, path, THINGS, only=[D2]).collect()] == [7]


def test_an_absent_table_reads_as_an_empty_frame_with_the_spec_columns(spark, tmp_path):
    path = str(tmp_path / "never")
    assert lakehouse.version(path) is None and lakehouse.current_files(path) == [] and lakehouse.history(path) == []
    empty = lakehouse.read_table(spark, path, THINGS)
    assert empty.count() == 0 and empty.columns == THINGS.column_names


def test_the_files_of_a_version_hold_the_partition_column_so_duckdb_reads_them_as_plain_parquet(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    files = lakehouse.current_files(path, only=[D1, D3])

    assert len(files) == 2 and all(os.path.exists(f) for f in files), files
    listed = ", ".join(f"'{f}'" for f in files)
    found = duckdb.sql(
        f"SELECT thing_id, thing_date, owner FROM read_parquet([{listed}], hive_partitioning = false) ORDER BY thing_id"
    ).fetchall()
    assert found == [(1, D1, "a"), (2, D1, "b"), (4, D3, None), (5, D3, "c")], found


def test_partitions_of_another_column_layout_are_refused_with_how_to_rebuild(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    wider = TableSpec(**{**THINGS.__dict__, "columns": (*THINGS.columns, Column("isp", "string", "provider"))})
    more = spark.createDataFrame([(*row(6, D1), "Nova")], wider.ddl())

    with pytest.raises(lakehouse.LakehouseError, match=r"added \['isp'\].*--full-refresh"):
        lakehouse.replace_partitions(more, wider, path, drop=[D1])

    assert lakehouse.version(path) == 0, "nothing was committed"
    lakehouse.overwrite(more, wider, path)  # a full refresh replaces the layout
    assert lakehouse.read_table(spark, path, wider).columns[-1] == "isp"


def test_restore_makes_the_previous_version_current_and_vacuum_keeps_what_recent_versions_need(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path)
    v0_files = lakehouse.current_files(path)
    lakehouse.overwrite(things(spark, BASE[:1]), THINGS, path)

    lakehouse.restore(spark, path, 0)

    assert lakehouse.version(path) == 2 and lakehouse.history(path)[0]["operation"] == "RESTORE"
    assert lakehouse.current_files(path) == v0_files
    lakehouse.overwrite(things(spark, BASE[:2]), THINGS, path)
    lakehouse.vacuum(spark, path, retain_days=7)
    assert all(os.path.exists(f) for f in v0_files), "a version of the last 7 days lost its files"
    lakehouse.vacuum(spark, path, retain_days=8)  # Delta keeps what the table property says, not RETAIN
    assert lakehouse.delta_table(path).metadata().configuration[lakehouse.RETENTION_PROPERTY] == "interval 8 days"
    assert lakehouse.read_table(spark, path, THINGS, at_version=0).count() == len(BASE)

    new = str(tmp_path / "new")
    lakehouse.overwrite(things(spark, BASE), THINGS, new)
    lakehouse.restore(spark, new, None)  # the table was new: it goes
    assert lakehouse.version(new) is None


def test_a_first_commit_that_never_finished_is_no_table_and_its_leftovers_can_be_cleared(tmp_path):
    # What a kill -9 during a table's first commit leaves: staged commits and data files, no commit.
    table = tmp_path / "gold" / "area_isp_period_metrics"
    (table / lakehouse.DELTA_LOG / "_staged_commits").mkdir(parents=True)
    (table / lakehouse.DELTA_LOG / "_staged_commits" / "00000000000000000000.uuid.json").write_text("{}")
    (table / "part-00000.parquet").write_bytes(b"PAR1")

    assert not lakehouse.is_delta(str(table))
    assert lakehouse.version(str(table)) is None and lakehouse.history(str(table)) == []
    assert lakehouse.versions({"t": str(table)}) == {"t": None}
    assert lakehouse.current_files(str(table)) == []

    assert lakehouse.remove_uncommitted(str(table)) is True
    assert not table.exists()
    assert lakehouse.remove_uncommitted(str(table)) is False  # nothing left: nothing to do


def test_a_committed_table_is_never_taken_for_leftovers(spark, tmp_path):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, [row(1, D1)]), THINGS, path)
    assert lakehouse.is_delta(path) and lakehouse.remove_uncommitted(path) is False
    assert lakehouse.version(path) == 0
    created = lakehouse.created_at(path)
    assert created is not None and abs((dt.datetime.now(UTC) - created).total_seconds()) < 600, created


def test_commit_metadata_is_read_back_through_restores_and_changed_partitions_span_versions(spark, tmp_path, run_id):
    path = str(tmp_path / "things")
    lakehouse.overwrite(things(spark, BASE), THINGS, path, metadata={"key": "old"})  # v0
    lakehouse.replace_partitions(things(spark, [row(9, D2)]), THINGS, path, drop=[D2], metadata={"key": "new"})  # v1
    assert lakehouse.written_with(path) == {"run_id": run_id, "key": "new"}
    assert lakehouse.history(path)[0]["run_id"] == run_id, "the run id must stay readable beside the metadata"
    assert lakehouse.changed_partitions(path, 0, 1) == [D2.isoformat()]

    lakehouse.restore(spark, path, 0)  # v2: Spark's RESTORE
    assert lakehouse.written_with(path) == {"run_id": run_id, "key": "old"}, "a RESTORE counts as what it restored"
    lakehouse.replace_partitions(things(spark, [row(8, D3)]), THINGS, path, drop=[D3], metadata={"key": "new"})  # v3
    lakehouse.restore_without_spark(path, 1, "run-next")  # v4: deltalake's RESTORE, no Spark
    assert lakehouse.written_with(path) == {"run_id": run_id, "key": "new"}
    assert lakehouse.changed_partitions(path, 3, 4) == [D2.isoformat(), D3.isoformat()]
    assert sorted(r.thing_id for r in lakehouse.read_table(spark, path, THINGS).collect()) == [1, 2, 4, 5, 9]
