"""The Gold stage, step by step: the one place that says in which order its steps run.

Notebook 30 calls the steps one per cell and shows what each reports; a test
calls ``run`` (the same steps, in the same order) in-process. The logic is in
``stage``, the table modules and ``quality``.

    gold = steps.start(ctx, spark, plan.gold)   # the versions a failure restores
    gold.build_and_write()                      # every Gold table's rewritten partitions
    gold.check()                                # each table's key and required columns, over the rows committed
    gold.keep_or_restore()                      # a critical failure restores every Gold table, and raises
    gold.vacuum()                               # the tables due a VACUUM
    gold.record_outputs()                       # the run manifest's entries

The local warehouse's views are serving's (a layer above): the notebook
refreshes them right after, with ``gnp.serving.warehouse.refresh_duckdb``.
Gold writes Gold's tables only. Which Bronze versions count as built (Silver's
``_bronze_consumed.json``) is the runner's to record, once the stages that
build and publish them have all succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from gnp.core import manifest
from gnp.core.context import RunContext
from gnp.gold import stage
from gnp.quality import audit, results
from gnp.quality import checks as quality

ORDER = ("build_and_write", "check", "keep_or_restore", "vacuum", "record_outputs")
WRITES = ("build_and_write",)  # the steps that build and commit, without the checks


@dataclass
class GoldRun:
    """One Gold stage of one run: what each step made, for the next step and for the notebook's views."""

    ctx: RunContext
    spark: SparkSession
    plan: stage.GoldPlan
    before: dict[str, int | None]
    run: quality.RunInfo
    written: dict[str, DataFrame] = field(default_factory=dict)
    checks: list[quality.CheckResult] = field(default_factory=list)
    vacuumed: list[str] = field(default_factory=list)

    def build_and_write(self) -> None:
        """Build every table and commit its rewritten partitions; the committed rows stay cached for the checks."""
        tables, reductions = stage.build(self.spark, self.ctx.params, self.ctx.registry, self.plan)
        rows = stage.committed_rows(tables, self.plan)
        for frame in rows.values():
            frame.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            stage.write(rows, self.ctx.registry, self.plan)
        except BaseException:
            self.release(rows)
            raise
        finally:
            reductions.unpersist()
        self.written = rows

    def check(self) -> list[quality.CheckResult]:
        """Each table's key and required columns, over the rows just committed (cached by the write)."""
        if not self.written:
            raise RuntimeError("gold.check() checks the rows build_and_write() committed: run that step first")
        self.checks = quality.evaluate_checks(self.run, "gold", quality.gold_targets(self.written))
        results.save_quality_results(self.spark, self.ctx.registry, self.run, "gold", self.checks)
        return self.checks

    def keep_or_restore(self) -> None:
        """Keep the new versions if every critical check passed; else restore them all and raise."""
        audit.keep_or_restore(self.spark, self.ctx.registry, self.before, self.checks)

    def vacuum(self) -> list[str]:
        """VACUUM the tables due (see ``gnp.lake.maintenance``); returns their names."""
        self.vacuumed = stage.vacuum(self.spark, self.ctx.registry, self.ctx.params.storage)
        return self.vacuumed

    def record_outputs(self) -> list[dict]:
        outputs = stage.outputs(self.ctx.registry, self.plan)
        manifest.record_outputs(self.ctx.params, self.ctx.run_id, "gold", outputs)
        return outputs

    def release(self, frames: dict[str, DataFrame] | None = None) -> None:
        """Drop the committed rows' cache (the frames stay usable: they recompute from Silver)."""
        for frame in (self.written if frames is None else frames).values():
            frame.unpersist()


def start(ctx: RunContext, spark: SparkSession, plan: stage.GoldPlan) -> GoldRun:
    """The stage for the run's Gold plan (``runplan.for_context(ctx).gold``), and the versions a failure restores."""
    return GoldRun(ctx, spark, plan, audit.versions_before(ctx.registry, stage.WRITTEN_TABLES),
                   results.run_info(ctx.run_id))


def run(ctx: RunContext, spark: SparkSession, plan: stage.GoldPlan, steps: tuple[str, ...] = ORDER) -> GoldRun:
    """Every step, in the notebook's order."""
    gold = start(ctx, spark, plan)
    for step in steps:
        assert step in ORDER, f"{step} is no step of this stage: {ORDER}"
        getattr(gold, step)()
    gold.release()
    return gold
