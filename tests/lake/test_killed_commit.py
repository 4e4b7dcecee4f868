"""Writers SIGKILLed inside their commits, JVM and all, as a crash or the OOM killer would: their data files are on
disk, their commits are not. A first commit leaves no table, whose leftovers the next run clears; a later one
leaves the table at its last version, and its files are read by nobody. Either way the next write commits as if
nothing happened. The writer is a process of its own (tests/lake/killed_writer.py), with a local Spark of its own,
killed once both of its writes (a table's first commit, another's second) have files on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chispa import assert_df_equality
from lake.tables import BASE, D1, THINGS, row, things

from gnp.lake import lakehouse

pytestmark = pytest.mark.slow
WRITER = Path(__file__).with_name("killed_writer.py")


def data_files(table: Path) -> set[Path]:
    return {p for p in table.rglob("*.parquet") if lakehouse.DELTA_LOG not in p.parts} if table.exists() else set()


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """The two tables once the writer is killed, and each one's files of the killed write."""
    first, later = (tmp_path_factory.mktemp("killed") / name for name in ("first", "later"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WRITER.parent.parent), os.environ.get("PYTHONPATH", "")])}
    writer = subprocess.Popen([sys.executable, str(WRITER), str(first), str(later)], stdout=subprocess.PIPE,
                              text=True, env=env, start_new_session=True)
    try:
        lines = []
        while (line := writer.stdout.readline()) and line.strip() != "writing":
            lines.append(line)
        assert line, f"the writer ended before its writes: {lines}"
        before, deadline = {t: data_files(t) for t in (first, later)}, time.monotonic() + 300
        while True:
            new = {t: data_files(t) - before[t] for t in (first, later)}
            if all(new.values()):
                break
            assert writer.poll() is None and time.monotonic() < deadline, f"the writes put no file on disk: {new}"
            time.sleep(0.002)
        os.killpg(writer.pid, signal.SIGKILL)  # this process and its JVM at once
        writer.wait(timeout=30)
        rest = writer.stdout.read()
        assert "committed:" not in rest, rest
        return first, later, new
    finally:
        if writer.poll() is None:
            os.killpg(writer.pid, signal.SIGKILL)


def test_a_first_commit_killed_midway_leaves_no_table_and_the_next_write_builds_it(spark, killed):
    table, _, new = killed
    assert new[table] and not lakehouse.is_delta(str(table)), "expected data files and no commit"
    assert lakehouse.version(str(table)) is None
    assert lakehouse.read_table(spark, str(table), THINGS).count() == 0, "a folder without a commit is no table"

    assert lakehouse.remove_uncommitted(str(table)) is True  # what the next run does under the lock
    assert not table.exists()
    assert lakehouse.overwrite(things(spark, BASE), THINGS, str(table)) == 0
    assert_df_equality(lakehouse.read_table(spark, str(table), THINGS), things(spark, BASE),
                       ignore_row_order=True, ignore_nullable=True)


def test_a_later_commit_killed_midway_leaves_the_last_version_and_the_next_write_commits_after_it(spark, killed):
    _, table, new = killed
    assert lakehouse.version(str(table)) == 0, "the killed write must not have committed"
    assert new[table] and all(f.exists() for f in new[table]), "expected the killed write's files on disk"
    assert_df_equality(lakehouse.read_table(spark, str(table), THINGS), things(spark, BASE),
                       ignore_row_order=True, ignore_nullable=True)
    assert lakehouse.remove_uncommitted(str(table)) is False  # a committed table is never taken for leftovers

    assert lakehouse.replace_partitions(things(spark, [row(9, D1, "z")]), THINGS, str(table), drop=[D1]) == 1
    expected = things(spark, [r for r in BASE if r[1] != D1] + [row(9, D1, "z")])
    assert_df_equality(lakehouse.read_table(spark, str(table), THINGS), expected,
                       ignore_row_order=True, ignore_nullable=True)
    read = {Path(f).name for f in lakehouse.current_files(str(table))}
    assert read and not {f.name for f in new[table]} & read, "a file of the killed write is in the current version"
