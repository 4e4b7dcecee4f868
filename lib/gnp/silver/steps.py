"""The Silver stage, step by step: the one place that says in which order its steps run.

Notebook 20 calls the steps one per cell and shows what each reports; a test
calls ``run`` (the same steps, in the same order) in-process on its Spark
session. The steps are thin: the logic is in ``stage``, ``measurements``,
``sessions`` and ``quality``.

    silver = steps.start(ctx, spark, plan.silver)   # the versions a failure restores
    silver.flag()                      # read and flag the planned Bronze days; the accounting
    silver.write_measurements()        # measurements and quarantine
    silver.write_sessions()            # sessions of the rewritten session dates
    silver.check()                     # quality checks, saved to quality_results
    silver.keep_or_restore()           # a critical failure restores every Silver table, and raises
    silver.record_outputs()            # the run manifest's entries
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession

from gnp.bronze import volume
from gnp.core import manifest
from gnp.core.context import RunContext
from gnp.quality import audit, results
from gnp.quality import checks as quality
from gnp.silver import stage

ORDER = ("flag", "write_measurements", "write_sessions", "check", "keep_or_restore", "record_outputs")
WRITES = ("flag", "write_measurements", "write_sessions")  # the steps that build and commit, without the checks that read back


@dataclass
class SilverRun:
    """One Silver stage of one run: what each step made, for the next step and for the notebook's views."""

    ctx: RunContext
    spark: SparkSession
    plan: stage.SilverPlan
    before: dict[str, int | None]
    run: quality.RunInfo
    flagged: stage.FlaggedBronze | None = None
    sessions: DataFrame | None = None
    written: tuple[DataFrame, DataFrame] | None = None
    checks: list[quality.CheckResult] = field(default_factory=list)

    def flag(self) -> stage.FlaggedBronze:
        self.flagged = stage.flag_bronze(self.spark, self.ctx.params, self.ctx.registry, self.plan)
        return self.flagged

    def write_measurements(self) -> None:
        stage.write_measurements(self.flagged, self.ctx.registry, self.plan)

    def write_sessions(self) -> None:
        self.sessions = stage.build_sessions(self.spark, self.ctx.params, self.ctx.registry, self.plan)
        stage.write_sessions(self.sessions, self.ctx.registry, self.plan, self.flagged.key_metadata)

    def check(self) -> list[quality.CheckResult]:
        measurements, sessions = self.written = stage.written(self.spark, self.ctx.registry, self.plan)
        counts = self.flagged.accounting
        self.checks = [
            *quality.evaluate_checks(self.run, "silver",
                                     quality.silver_targets(measurements, sessions, self.ctx.params.semantics)),
            quality.accounting_check(self.run, counts.bronze_records, counts.silver_rows, counts.quarantine_rows,
                                     counts.duplicates, counts.other_partitions),
            quality.schema_drift_check(self.run, self.flagged.drift.new, self.flagged.drift.missing),
            *quality.day_volume_checks(self.run, volume.day_volumes(self.ctx.registry, self.plan.run_days)),
        ]
        results.save_quality_results(self.spark, self.ctx.registry, self.run, "silver", self.checks)
        return self.checks

    def keep_or_restore(self) -> None:
        """Keep the new versions if every critical check passed; else restore them all and raise."""
        audit.keep_or_restore(self.spark, self.ctx.registry, self.before, self.checks)

    def record_outputs(self) -> list[dict]:
        outputs = stage.outputs(self.ctx.registry, self.plan)
        manifest.record_outputs(self.ctx.params, self.ctx.run_id, "silver", outputs)
        return outputs


def start(ctx: RunContext, spark: SparkSession, plan: stage.SilverPlan) -> SilverRun:
    """The stage for the run's Silver plan (``runplan.for_context(ctx).silver``), and the versions a failure restores."""
    return SilverRun(ctx, spark, plan, audit.versions_before(ctx.registry, stage.WRITTEN_TABLES),
                     results.run_info(ctx.run_id))


def run(ctx: RunContext, spark: SparkSession, plan: stage.SilverPlan, steps: tuple[str, ...] = ORDER) -> SilverRun:
    """Every step, in the notebook's order (tests, and anything that runs the stage without its notebook)."""
    silver = start(ctx, spark, plan)
    for step in steps:
        assert step in ORDER, f"{step} is no step of this stage: {ORDER}"
        getattr(silver, step)()
    return silver
