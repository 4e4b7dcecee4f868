"""The run plan: the dates and partitions a run reads and rewrites, for every Silver and Gold table.

One plan per run, computed in one place: the runner computes it after ingest
(the plan must see what this run fetched) and before the first stage that uses
it, and writes it once as ``runs/<run id>/plan.json``. The Silver, Gold and
publish notebooks load it by run id (``for_stage``) and none plans again, so a
Bronze version stored while the run goes on changes nothing in it: the plan
records the versions it saw, Gold marks only those consumed, and the next run
finds the new one unconsumed. A notebook run on its own (no run id, or a run
that recorded no plan) computes the plan itself and says so.

The Silver plan comes from the Bronze manifests (``silver.stage.plan``), the
Gold plan from the Silver plan (``gold.stage.plan``), each table's partitions
from those two (``silver.stage.rewritten``, ``gold.stage.rewritten``). Publish
receives ``tables`` and checks them against what the stages recorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

from gnp.core import manifest
from gnp.core.config import Params
from gnp.core.context import RunContext
from gnp.core.errors import UsageError
from gnp.core.registry import Registry
from gnp.gold import stage as gold_stage
from gnp.gold.stage import GoldPlan
from gnp.silver import stage as silver_stage
from gnp.silver.stage import SilverPlan

Partitions = tuple[dt.date, ...] | None  # None: every partition (a full refresh, or a whole-history table)


@dataclass(frozen=True)
class RunPlan:
    """What one run reads and rewrites: the Silver and Gold plans, and each table's partitions rewritten."""

    run_id: str  # empty for a notebook run on its own
    silver: SilverPlan
    gold: GoldPlan
    tables: dict[str, Partitions]  # every Silver and Gold table but quality_results
    origin: str = field(default="", compare=False)  # where this copy came from; not part of the plan

    @property
    def full_refresh(self) -> bool:
        return self.silver.full_refresh

    def describe(self) -> str:
        return f"run plan, {self.origin}. Silver {self.silver.describe()}. Gold {self.gold.describe()}"


def compute(params: Params, registry: Registry, run_id: str, full_refresh: bool, origin: str = "computed") -> RunPlan:
    """The run's plan from the params and the Bronze manifests (no Spark: a small read per Bronze version)."""
    silver = silver_stage.plan(params, registry, full_refresh, run_id)
    gold = gold_stage.plan(silver)
    rewritten = {**silver_stage.rewritten(silver), **gold_stage.rewritten(gold)}
    tables = {name: None if only is None else tuple(only) for name, only in rewritten.items()}
    return RunPlan(run_id, silver, gold, tables, origin)


def to_json(plan: RunPlan) -> dict:
    """The plan as JSON types: dates as ISO strings, None (every partition) as null."""
    return {
        "run_id": plan.run_id,
        "silver": {f.name: _encode(getattr(plan.silver, f.name)) for f in fields(SilverPlan)},
        "gold": {f.name: _encode(getattr(plan.gold, f.name)) for f in fields(GoldPlan)},
        "tables": {name: _encode(only) for name, only in plan.tables.items()},
    }


def from_json(data: dict, origin: str = "") -> RunPlan:
    """``to_json``'s inverse: ``from_json(to_json(plan)) == plan``."""
    silver = SilverPlan(**{f.name: _decode(f.name, data["silver"][f.name]) for f in fields(SilverPlan)})
    gold = GoldPlan(**{f.name: _decode(f.name, data["gold"][f.name]) for f in fields(GoldPlan)})
    tables = {name: None if only is None else _dates(only) for name, only in data["tables"].items()}
    return RunPlan(data["run_id"], silver, gold, tables, origin)


def _encode(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def _dates(values: list[str]) -> tuple[dt.date, ...]:
    return tuple(dt.date.fromisoformat(v) for v in values)


def _decode(name: str, value):
    if name == "full_refresh":
        return bool(value)
    if name == "bronze_versions":  # (Bronze day, its newest version's lineage name) pairs
        return tuple((dt.date.fromisoformat(day), version) for day, version in value)
    return _dates(value)


def record(plan: RunPlan, registry: Registry) -> str:
    """Write the plan once into its run's folder (create-only, as every run artifact); returns where."""
    return manifest.record_plan(registry, plan.run_id, to_json(plan))


def load(registry: Registry, run_id: str) -> RunPlan | None:
    """The plan the run recorded; None outside a run or when the run recorded none."""
    recorded = manifest.read_plan(registry, run_id)
    if recorded is None:
        return None
    return from_json(recorded, origin=f"recorded by the runner at {manifest.plan_location(registry, run_id)}")


def for_context(ctx: RunContext) -> RunPlan:
    """The plan a stage works to, from its run context: the run's recorded plan, else one computed here."""
    return for_stage(ctx.params, ctx.registry, ctx.run_id, ctx.full_refresh)


def for_stage(params: Params, registry: Registry, run_id: str, full_refresh: bool) -> RunPlan:
    """The plan a stage notebook works to: its run's recorded plan, else one computed here (a notebook run alone).

    Raises:
        UsageError: the notebook's ``full_refresh`` is not the one the run was planned with.
    """
    recorded = load(registry, run_id)
    if recorded is None:
        why = "no run id" if not run_id else f"run {run_id} recorded no plan"
        return compute(params, registry, run_id, full_refresh, origin=f"computed by this notebook ({why})")
    if recorded.full_refresh != full_refresh:
        raise UsageError(
            f"run {run_id} was planned with full_refresh={recorded.full_refresh} but this notebook was given "
            f"full_refresh={full_refresh}; give it the run's value, or no run id to plan afresh"
        )
    return recorded
