"""Both stages whole, through the steps their notebooks call, in-process: every check passes and is saved,
the run manifest gets each stage's outputs, and a critical Gold check that fails restores every Gold table."""

from __future__ import annotations

import datetime as dt

import pytest

from gnp.core import context, manifest
from gnp.core.schemas import TABLES
from gnp.gold import steps as gold_steps
from gnp.lake import lakehouse
from gnp.orchestration import runplan
from gnp.quality import checks as quality
from gnp.silver import steps as silver_steps
from silver.bronze_factories import lake_params, record, write_day

DAY = dt.date(2025, 10, 26)
GOLD = [n for n, spec in TABLES.items() if spec.layer == "gold" and n != "quality_results"]


@pytest.fixture
def ctx(tmp_path, monkeypatch):
    monkeypatch.setenv("GNP_PSEUDONYM_KEY", "steps-test-key-0123456789abcdef0123")
    params = lake_params(tmp_path)
    params = params.model_copy(update={"dates": params.dates.model_copy(update={"date_from": DAY, "date_to": DAY})})
    built = context.of_params(params, run_id="run-steps")
    ips = [f"10.0.{n // 200}.{n % 200}" for n in range(12)]
    write_day(built.registry, DAY, [record(n, f"{DAY} {8 + n % 12:02d}:00:00", ip=ips[n % 12]) for n in range(1, 25)])
    return built


def test_the_stages_run_whole_check_everything_and_a_failed_gold_check_undoes_gold(spark, ctx):
    plan = runplan.compute(ctx.params, ctx.registry, ctx.run_id, full_refresh=False)
    shuffle = "spark.sql.shuffle.partitions"
    spark.conf.set(shuffle, "7")
    silver = silver_steps.run(ctx, spark, plan.silver)
    assert spark.conf.get(shuffle) == "2", "Silver sized its shuffles to the 24 Bronze records it read"
    assert silver.checks and all(c.passed for c in silver.checks if c.severity == quality.CRITICAL), silver.checks
    assert {o["name"] for o in manifest.read_outputs(ctx.registry, ctx.run_id, "silver")} == {
        "measurements", "quarantine", "sessions"}

    gold = gold_steps.start(ctx, spark, plan.gold)
    spark.conf.set(shuffle, "7")
    gold.build_and_write()
    assert spark.conf.get(shuffle) == "2", "Gold sized its shuffles to the measurements it read"
    assert all(c.passed for c in gold.check()) and {c.stage for c in gold.checks} == {"gold"}, gold.checks
    saved = {r.stage for r in lakehouse.read_table(spark, ctx.registry.table_path("quality_results"),
                                                   TABLES["quality_results"]).select("stage").collect()}
    assert saved == {"silver", "gold"}
    assert all(lakehouse.version(ctx.registry.table_path(n)) == 0 for n in GOLD)

    # A critical check that fails: every Gold table goes back to what it was before the stage (here: none).
    gold.checks.append(quality.result(gold.run, "gold", "broken_on_purpose", quality.CRITICAL, False, "1", "0"))
    with pytest.raises(quality.QualityError, match="broken_on_purpose"):
        gold.keep_or_restore()
    assert {n: lakehouse.version(ctx.registry.table_path(n)) for n in GOLD} == dict.fromkeys(GOLD)
    assert lakehouse.version(ctx.registry.table_path("measurements")) == 0, "Silver passed its checks: kept"
