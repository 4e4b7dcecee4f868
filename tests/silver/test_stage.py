"""A test lands once, on its own date, whatever request returned it; incremental runs equal a full run.

Real Spark, real Bronze files (the Bronze writer, and once the real ingest from
the fake API over HTTP), the real Silver and Gold stage functions the
notebooks call.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from gnp.bronze import ingest as bronze
from gnp.core import context
from gnp.core.registry import Registry
from gnp.core.schemas import TABLES
from gnp.source import fake_api
from gnp.gold import stage as gold_stage
from gnp.gold import steps as gold_steps
from gnp.lake import lakehouse
from gnp.orchestration import runplan
from gnp.silver import parse
from gnp.silver import stage as silver_stage
from gnp.silver import steps as silver_steps
from silver.bronze_factories import lake_params, record, write_day

UTC = dt.timezone.utc
DAY, NEXT = dt.date(2025, 11, 5), dt.date(2025, 11, 6)
T_DAY = dt.datetime(2025, 11, 6, 6, 0, tzinfo=UTC)
T_NEXT = dt.datetime(2025, 11, 7, 6, 0, tzinfo=UTC)  # the next day's answer is fetched later
KEY = "stage-test-pseudonym-key-0123456789abcdef"
SILVER = ("measurements", "quarantine", "sessions")
GOLD = tuple(n for n, spec in TABLES.items() if spec.layer == "gold" and n != "quality_results")

DAY_ANSWER = [
    record(1, f"{DAY} 10:00:00", ip="10.0.0.1"),
    record(2, f"{DAY} 12:00:00", ip="10.0.0.2", measured_downstream_mbps=30.0),
    record(4, f"{DAY} 20:00:00", ip="10.0.0.3"),
]
NEXT_ANSWER = [
    record(3, f"{DAY} 23:00:00", ip="10.0.0.4"),  # served only under the next day's request
    record(2, f"{DAY} 12:00:00", ip="10.0.0.2", measured_downstream_mbps=99.0),  # served under both days
    record(5, f"{NEXT} 10:00:00", ip="10.0.0.1"),
    record(6, "06/11/2025 10:00", ip="10.0.0.5"),  # unreadable time: quarantined on its Bronze day
]


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch):
    monkeypatch.setenv("GNP_PSEUDONYM_KEY", KEY)


def _params(tmp_path, first, last):
    params = lake_params(tmp_path)
    return params.model_copy(update={"dates": params.dates.model_copy(update={"date_from": first, "date_to": last})})


def _run(spark, params, full_refresh=False, gold=True):
    """Silver then (unless ``gold`` is False) Gold, through the steps notebooks 20 and 30 call (their writes; the
    checks' read-backs are tested with the stages whole in test_steps.py); returns both plans and Silver's
    accounting. Gold's fourteen tables are most of a run's time here: a Silver test skips them."""
    ctx = context.of_params(params, full_refresh=full_refresh)
    plan = runplan.for_context(ctx)
    silver = silver_steps.run(ctx, spark, plan.silver, silver_steps.WRITES)
    if gold:
        gold_steps.run(ctx, spark, plan.gold, gold_steps.WRITES)
    silver_stage.record_consumed(ctx.registry, plan.silver)  # the runner's, once the build succeeded
    return plan.silver, plan.gold, silver.flagged.accounting


def _table(spark, params, name):
    """The table's current rows, sorted by its key: read with delta-rs (a Spark read and toPandas cost far more per
    table, and these tests compare seventeen tables twice)."""
    spec = TABLES[name]
    table = lakehouse.delta_table(Registry.from_params(params).table_path(name))
    assert table is not None, f"{name} was never committed"
    frame = table.to_pyarrow_table(columns=list(spec.column_names)).to_pandas()
    arrays = [c for c in frame.columns if frame[c].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any()]
    frame = frame.assign(**{c: frame[c].map(lambda v: tuple(v) if v is not None else None) for c in arrays})
    return frame.sort_values(list(spec.key)).reset_index(drop=True)


def _assert_same_tables(spark, found_params, expected_params, names):
    for name in names:
        found, expected = _table(spark, found_params, name), _table(spark, expected_params, name)
        pd.testing.assert_frame_equal(found, expected, check_dtype=False, obj=f"table {name}")


@pytest.fixture(scope="module")
def full_run(spark, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("full")
    params = _params(tmp, DAY, NEXT)
    registry = Registry.from_params(params)
    write_day(registry, DAY, DAY_ANSWER, fetched_at=T_DAY)
    write_day(registry, NEXT, NEXT_ANSWER, fetched_at=T_NEXT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GNP_PSEUDONYM_KEY", KEY)
        return params, _run(spark, params, full_refresh=True)


def test_each_test_lands_once_on_its_own_date_and_a_valid_own_day_copy_wins(spark, full_run):
    params, (silver_plan, _, accounting) = full_run
    kept = _table(spark, params, "measurements")[["measurement_id", "measurement_date", "download_mbps"]]

    found = sorted(map(tuple, kept.itertuples(index=False)))

    expected = [(1, DAY, 48.5), (2, DAY, 30.0), (3, DAY, 48.5), (4, DAY, 48.5), (5, NEXT, 48.5)]
    assert found == expected, f"expected {expected}, found {found}"
    quarantined = _table(spark, params, "quarantine")
    assert list(zip(quarantined.measurement_id, quarantined.measurement_date, quarantined.reason)) == [
        (6, NEXT, "unparseable_measurement_time")
    ]
    assert (accounting.duplicates, accounting.kept_from_other_day, accounting.other_partitions) == (1, 1, 0), accounting


def test_daily_incremental_runs_give_the_full_runs_tables(spark, tmp_path, full_run):
    """Day by day, as the daily run does; then the first day again: every Silver and Gold table equals the full run's."""
    expected_params, _ = full_run
    day_params, next_params = _params(tmp_path, DAY, DAY), _params(tmp_path, NEXT, NEXT)
    registry = Registry.from_params(day_params)
    write_day(registry, DAY, DAY_ANSWER, fetched_at=T_DAY)
    _run(spark, day_params, gold=False)  # Silver only: the next run rewrites every Gold day this one would build
    write_day(registry, NEXT, NEXT_ANSWER, fetched_at=T_NEXT)

    silver_plan, gold_plan, accounting = _run(spark, next_params)

    # The next day's Bronze holds tests of the day before: both are rewritten, in Silver and in Gold.
    assert silver_plan.days == (DAY, NEXT) and silver_plan.bronze_days == (DAY, NEXT), silver_plan
    assert DAY in gold_plan.days and NEXT in gold_plan.days, gold_plan
    assert accounting.is_balanced and accounting.other_partitions == 0, accounting
    _assert_same_tables(spark, next_params, expected_params, SILVER + GOLD)
    recorded = {o["name"]: o["partitions"] for o in silver_stage.outputs(registry, silver_plan)}
    assert recorded == {"measurements": [str(DAY), str(NEXT)], "quarantine": [str(DAY), str(NEXT)],
                        "sessions": [str(DAY - dt.timedelta(days=1)), str(DAY), str(NEXT)]}, recorded

    silver_plan, _, accounting = _run(spark, day_params)  # the first day alone reads the next day's Bronze too

    assert (silver_plan.days, silver_plan.bronze_days) == ((DAY,), (DAY, NEXT)), silver_plan
    assert (accounting.other_partitions, accounting.duplicates, accounting.kept_from_other_day) == (2, 1, 1), accounting
    _assert_same_tables(spark, day_params, expected_params, SILVER + GOLD)


def test_a_plan_refuses_nothing_it_can_place_and_old_manifests_assume_the_neighbouring_days():
    files = [
        parse.BronzeFile("x", "a", DAY, T_DAY, 3, (), (DAY,)),
        parse.BronzeFile("y", "b", NEXT, T_NEXT, 4, (), (DAY, NEXT)),
        parse.BronzeFile("z", "c", NEXT + dt.timedelta(days=1), T_NEXT, 0, (), ()),
    ]
    assert silver_stage.partitions_and_reads([DAY], files) == ([DAY], [DAY, NEXT])
    assert silver_stage.partitions_and_reads([NEXT], files) == ([DAY, NEXT], [DAY, NEXT])
    assert silver_stage.partitions_and_reads([NEXT + dt.timedelta(days=1)], files) == (
        [NEXT + dt.timedelta(days=1)], [NEXT + dt.timedelta(days=1)])  # fmt: skip
    old = {"record_count": 5, "records_outside_day": 1}
    assert parse.manifest_dates(old, NEXT) == (DAY, NEXT, NEXT + dt.timedelta(days=1))
    assert parse.manifest_dates({**old, "records_outside_day": 0}, NEXT) == (NEXT,)
    assert parse.manifest_dates({"record_count": 0}, NEXT) == ()


def test_a_plan_covers_the_days_its_own_ingest_fetched_outside_the_range():
    earlier = DAY - dt.timedelta(days=6)  # stored empty, refetched by this run's ingest, now with records
    files = [
        parse.BronzeFile("w", "w", earlier, T_DAY, 2, (), (earlier,), run_id="run-2"),
        parse.BronzeFile("x", "a", DAY, T_DAY, 3, (), (DAY,), run_id="run-1"),
        parse.BronzeFile("y", "b", NEXT, T_NEXT, 4, (), (NEXT,), run_id="run-2"),
    ]
    fetched_now = {f.bronze_date for f in files if f.run_id == "run-2"}
    assert fetched_now == {earlier, NEXT}
    assert silver_stage.partitions_and_reads(sorted(fetched_now | {NEXT}), files)[0] == [earlier, NEXT]


def test_silver_rewrites_a_day_its_own_ingest_refilled_before_the_range(spark, tmp_path):
    earlier = DAY - dt.timedelta(days=6)
    params = _params(tmp_path, DAY, DAY)
    registry = Registry.from_params(params)
    write_day(registry, DAY, DAY_ANSWER, T_DAY)
    write_day(registry, earlier, [record(77, f"{earlier} 09:00:00", ip="10.0.0.7")], T_DAY, run_id="run-7")
    assert earlier not in silver_stage.plan(params, registry, run_id="run-6").run_days
    silver_plan = silver_stage.plan(params, registry, run_id="run-7")
    assert silver_plan.run_days == (earlier, DAY) and earlier in silver_plan.days
    assert earlier in gold_stage.plan(silver_plan).days


def test_days_with_a_version_no_build_has_read_are_unconsumed():
    files = [
        parse.BronzeFile("x", "d=1/v1", DAY, T_DAY, 3, (), (DAY,)),
        parse.BronzeFile("y", "d=1/v2", DAY, T_NEXT, 3, (), (DAY,)),
        parse.BronzeFile("z", "d=2/v1", NEXT, T_NEXT, 4, (), (NEXT,)),
    ]
    assert silver_stage.unconsumed_days(files, None) == []  # nothing recorded yet: nothing to catch up
    assert silver_stage.unconsumed_days(files, {DAY: "d=1/v2", NEXT: "d=2/v1"}) == []
    assert silver_stage.unconsumed_days(files, {DAY: "d=1/v1", NEXT: "d=2/v1"}) == [DAY]
    assert silver_stage.unconsumed_days(files, {DAY: "d=1/v2"}) == [NEXT]


def test_a_day_refilled_by_an_ingest_of_its_own_reaches_the_next_runs_silver(spark, tmp_path):
    # The cloud workflow ingests in one run and builds Silver and Gold in another: a day stored empty, then
    # refetched with records by the ingest, must be rebuilt by the next build even if its dates are elsewhere.
    earlier = DAY - dt.timedelta(days=6)
    write_day(registry := Registry.from_params(_params(tmp_path, DAY, DAY)), earlier, [], T_DAY)
    write_day(registry, DAY, DAY_ANSWER, T_DAY)
    _run(spark, _params(tmp_path, earlier, DAY), gold=False)
    assert silver_stage.plan(_params(tmp_path, NEXT, NEXT), registry).run_days == (NEXT,)

    write_day(registry, earlier, [record(77, f"{earlier} 09:00:00", ip="10.0.0.7")], T_NEXT, run_id="ingest-run")
    write_day(registry, NEXT, NEXT_ANSWER, T_NEXT, run_id="ingest-run")
    silver_plan, gold_plan, accounting = _run(spark, _params(tmp_path, NEXT, NEXT), gold=False)

    assert silver_plan.run_days == (earlier, NEXT) and earlier in gold_plan.days and accounting.is_balanced
    assert 77 in set(_table(spark, _params(tmp_path, NEXT, NEXT), "measurements").measurement_id)
    assert silver_stage.plan(_params(tmp_path, NEXT, NEXT), registry).run_days == (NEXT,)  # consumed now


class _LateApi(fake_api.FakeHyperionApi):
    """The fake API, answering the next day's request with a late test of the day and a copy of one."""

    def body_for(self, days):
        records = json.loads(super().body_for(days))
        if days == [NEXT]:
            own = json.loads(super().body_for([DAY]))
            records += [record(900001, f"{DAY} 23:59:00", ip="10.9.9.9"), {**own[0], "measured_downstream_mbps": 1.0}]
        return json.dumps(records, ensure_ascii=False).encode("utf-8")


def test_through_the_real_ingest_a_late_test_lands_on_its_own_date_once(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("GNP_TEST_TOKEN", "late-token-123")
    with _LateApi("late-token-123", seed=5, tests_per_day=40, users=30, dirt_rate=0.0) as api:
        params = _params(tmp_path, DAY, NEXT)
        source = params.source.model_copy(update={"kind": "api", "base_url": api.base_url, "token_env": "GNP_TEST_TOKEN"})
        params = params.model_copy(update={"source": source})
        registry = Registry.from_params(params)
        bronze.ingest_range(params, registry, progress=False)
    first = json.loads(bronze.latest_version(registry, DAY).read_body())[0]
    assert bronze.latest_version(registry, NEXT).manifest()["measurement_dates"] == [str(DAY), str(NEXT)]

    silver_plan, _, accounting = _run(spark, _params(tmp_path, DAY, DAY), gold=False)

    kept = _table(spark, params, "measurements").set_index("measurement_id")
    assert silver_plan.bronze_days == (DAY, NEXT) and accounting.is_balanced, (silver_plan, accounting)
    assert kept.loc[900001, "measurement_date"] == DAY
    own_copy = kept.loc[int(first["measurement_id"])]
    assert (own_copy.measurement_date, own_copy.download_mbps) == (DAY, float(first["measured_downstream_mbps"]))
    assert kept.index.is_unique
