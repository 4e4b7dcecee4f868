"""Audit before publish on real Delta tables: a failed critical check restores the versions from before the stage."""

import datetime as dt

import pytest
from lake.tables import BASE, D1, THINGS, row, things

from gnp.lake import lakehouse
from gnp.quality import audit
from gnp.quality import checks as quality

RUN = quality.RunInfo("run-audit", dt.date(2025, 10, 28), dt.datetime(2025, 10, 28, tzinfo=dt.timezone.utc))


class Lake:
    """What audit needs of a Registry: where each table lives."""

    def __init__(self, root):
        self.root = root

    def table_path(self, name):
        return str(self.root / name)


def test_a_failed_critical_check_restores_every_table_of_the_stage_and_says_so(spark, tmp_path):
    lake = Lake(tmp_path)
    lakehouse.overwrite(things(spark, BASE), THINGS, lake.table_path("old"))
    published = lakehouse.current_files(lake.table_path("old"))
    before = audit.versions_before(lake, ["old", "new"])  # "new" does not exist yet
    lakehouse.replace_partitions(things(spark, [row(9, D1, "bad")]), THINGS, lake.table_path("old"), drop=[D1])
    lakehouse.overwrite(things(spark, BASE), THINGS, lake.table_path("new"))
    failed = [quality.result(RUN, "gold", "broken_on_purpose", quality.CRITICAL, False, "1", "0"),
              quality.result(RUN, "gold", "a_warning", quality.WARNING, False, "1", "0")]

    with pytest.raises(quality.QualityError, match=r"(?s)broken_on_purpose.*restored old to version 0, new removed"):
        audit.keep_or_restore(spark, lake, before, failed)

    assert lakehouse.current_files(lake.table_path("old")) == published, "the failing version stayed current"
    assert lakehouse.history(lake.table_path("old"))[0]["operation"] == "RESTORE"
    assert lakehouse.version(lake.table_path("new")) is None


def test_passing_checks_keep_the_new_versions(spark, tmp_path):
    lake = Lake(tmp_path)
    lakehouse.overwrite(things(spark, BASE), THINGS, lake.table_path("old"))
    before = audit.versions_before(lake, ["old"])
    lakehouse.replace_partitions(things(spark, [row(9, D1)]), THINGS, lake.table_path("old"), drop=[D1])
    warning = [quality.result(RUN, "gold", "a_warning", quality.WARNING, False, "1", "0")]

    audit.keep_or_restore(spark, lake, before, warning)

    assert lakehouse.version(lake.table_path("old")) == 1
