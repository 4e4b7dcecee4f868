"""A local run through its stages' library steps, in the runner's order, without papermill or kernels.

What ``gnp run`` does between and around its notebooks, step for step: take
the lake lock, recover what an interrupted run left (``runner.recover_lake``),
ingest, compute and record the plan, Silver's steps, Gold's steps, then (after
publish, which writes nothing locally) record the plan's Bronze versions as
consumed (``runner.record_consumed``). The report and the chapters only read.
``at_boundary`` is called after each stage: the crash test kills its process
there (tests/orchestration/killed_run.py).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import SparkSession

from gnp.bronze.ingest import ingest_range
from gnp.core import context, manifest
from gnp.core.config import Params
from gnp.gold import steps as gold_steps
from gnp.lake import lakelock
from gnp.orchestration import runner, runplan
from gnp.silver import steps as silver_steps

BOUNDARIES = ("ingest", "silver", "gold", "publish")  # after each of these stages


def run(params: Params, run_id: str, spark: Callable[[], SparkSession],
        at_boundary: Callable[[str], None] = lambda stage: None, log=print) -> context.RunContext:
    """One run on ``params``' lake; ``spark()`` gives the session once a stage needs one."""
    ctx = context.of_params(params, run_id=run_id)
    with lakelock.holding(ctx.registry.lake, run_id, params.storage.lock_wait_s):
        runner.recover_lake(ctx, log)
        summary = ingest_range(params, ctx.registry, run_id=run_id)
        manifest.record_outputs(params, run_id, "ingest", summary.outputs())
        at_boundary("ingest")
        session = spark()
        plan = runplan.compute(params, ctx.registry, run_id, full_refresh=False)
        runplan.record(plan, ctx.registry)
        silver_steps.run(ctx, session, plan.silver)
        at_boundary("silver")
        gold_steps.run(ctx, session, plan.gold)
        at_boundary("gold")
        runner.record_consumed(ctx)  # after publish (the runner's consumer stage), here a no-op
        at_boundary("publish")
    return ctx
