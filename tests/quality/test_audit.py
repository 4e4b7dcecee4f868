"""Audit before publish on real Delta tables: a failed critical check restores the versions from before the stage."""

import datetime as dt

import pandas as pd
import pytest
from lake.tables import BASE, D1, D2, D3, THINGS, row, things
from silver.bronze_factories import lake_params, record, write_day

from gnp.core import context
from gnp.core.registry import Registry
from gnp.core.schemas import TABLES
from gnp.lake import lakehouse
from gnp.orchestration import runplan
from gnp.quality import audit
from gnp.quality import checks as quality
from gnp.serving import warehouse
from gnp.silver import steps as silver_steps

RUN = quality.RunInfo("run-audit", dt.date(2025, 10, 28), dt.datetime(2025, 10, 28, tzinfo=dt.timezone.utc))


class Lake:
    """What audit needs of a Registry: where each table lives."""

    def __init__(self, root):
        self.root = root
        self.audited = str(root / "_audited.json")

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
    assert audit.read_audited(lake) == {"old": 2}, "expected the restored version recorded as audited, new absent"


def test_passing_checks_keep_the_new_versions(spark, tmp_path):
    lake = Lake(tmp_path)
    lakehouse.overwrite(things(spark, BASE), THINGS, lake.table_path("old"))
    before = audit.versions_before(lake, ["old"])
    lakehouse.replace_partitions(things(spark, [row(9, D1)]), THINGS, lake.table_path("old"), drop=[D1])
    warning = [quality.result(RUN, "gold", "a_warning", quality.WARNING, False, "1", "0")]

    assert audit.read_audited(lake) == {}, "expected the record made before the stage wrote, from no audited table"
    audit.keep_or_restore(spark, lake, before, warning)

    assert lakehouse.version(lake.table_path("old")) == 1
    assert audit.read_audited(lake) == {"old": 1}


# A run stopped between its commits and its checks ---------------------------------------------------------
# Here the stage's writes run without its checks, in-process: the lake is left as a kill there leaves it. A real
# SIGKILL right after a commit, and the next `gnp run` recovering, is tests/e2e/test_pipeline.py's two-at-once test.

KEY = "audit-test-pseudonym-key-0123456789abcdef"
SILVER = ("measurements", "quarantine", "sessions")


def _silver(spark, folder, day, steps=silver_steps.ORDER):
    params = lake_params(folder)
    params = params.model_copy(update={"dates": params.dates.model_copy(update={"date_from": day, "date_to": day})})
    ctx = context.of_params(params, run_id=f"run-{day}")
    silver_steps.run(ctx, spark, runplan.for_context(ctx).silver, steps)
    return Registry.from_params(params)


def _table(spark, registry, name):
    """The table's current rows, sorted by its key, read with delta-rs (a Spark read and toPandas cost more)."""
    spec = TABLES[name]
    frame = lakehouse.delta_table(registry.table_path(name)).to_pyarrow_table(columns=list(spec.column_names)).to_pandas()
    arrays = [c for c in frame.columns if any(hasattr(v, "__len__") and not isinstance(v, str) for v in frame[c])]
    frame = frame.assign(**{c: frame[c].map(lambda v: v if v is None else tuple(v)) for c in arrays})
    return frame.sort_values(list(spec.key)).reset_index(drop=True)


def test_a_run_stopped_between_commit_and_check_is_restored_and_the_next_run_equals_an_uninterrupted_one(
    spark, tmp_path, monkeypatch
):
    monkeypatch.setenv("GNP_PSEUDONYM_KEY", KEY)
    stopped, clean = tmp_path / "stopped", tmp_path / "clean"
    for folder in (stopped, clean):
        registry = Registry.from_params(lake_params(folder))
        for day, ids in ((D1, (1, 2)), (D2, (3, 4)), (D3, (5,))):
            write_day(registry, day, [record(i, f"{day} 1{i}:00:00", ip=f"10.0.0.{i}") for i in ids])
    registry = _silver(spark, stopped, D1)
    audited = audit.read_audited(registry)
    assert set(audited) == set(SILVER), audited

    _silver(spark, stopped, D2, silver_steps.WRITES)  # committed, never checked: an OOM or a lost host stops it here

    ahead = audit.unaudited(registry)  # quarantine: day 2 quarantined nothing, and an empty replace commits nothing
    moved = {n: audited[n] for n in SILVER if lakehouse.version(registry.table_path(n)) != audited[n]}
    assert ahead == moved and {"measurements", "sessions"} <= set(ahead), f"expected {moved} ahead, found {ahead}"
    # Meanwhile readers read the audited versions: the DuckDB views hold day 1 only.
    warehouse.refresh_duckdb(registry)
    days = warehouse.query(registry, "SELECT DISTINCT measurement_date FROM silver.measurements").measurement_date
    assert sorted(d.date() if hasattr(d, "date") else d for d in days) == [D1], f"DuckDB read unchecked days: {days}"

    assert audit.restore_unaudited(registry, "next-run") == ahead  # what the runner does under the lock, first
    assert audit.unaudited(registry) == {}
    assert lakehouse.history(registry.table_path("measurements"), 1)[0]["operation"] == "RESTORE"
    _silver(spark, stopped, D3)

    _silver(spark, clean, D1, silver_steps.WRITES)  # the same days, never interrupted
    expected = _silver(spark, clean, D3, silver_steps.WRITES)
    for name in SILVER:
        pd.testing.assert_frame_equal(_table(spark, registry, name), _table(spark, expected, name),
                                      check_dtype=False, obj=f"table {name}")
    assert audit.read_audited(registry) == {n: lakehouse.version(registry.table_path(n)) for n in SILVER}
