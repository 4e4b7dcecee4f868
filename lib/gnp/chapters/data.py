"""How a chapter reads Gold: the run's days as a selection of all Greece, every provider, through the query layer.

The SQL is the dashboard's query layer's (``gnp.dashboard.queries`` and
``gnp.dashboard.periods``), written once: a chapter is a selection like any
other (Greece, every ISP, the run's days), so its queries are the dashboard's
``(gold, filters) -> DataFrame`` functions. Daily cells come back as they
are (suppressed ones included, flagged), so the findings can say how much of
the picture was hidden; aggregations across days happen in the findings,
where they are tested. ``load`` opens Gold once for all of a chapter's queries.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from gnp.core.context import RunContext
from gnp.core.errors import GnpError
from gnp.dashboard.queries import Filters
from gnp.dashboard.source import GoldSource, open_gold

Query = Callable[[GoldSource, Filters], pd.DataFrame]


class NoWarehouse(GnpError, FileNotFoundError):
    """The chapters read Gold from the warehouse, and there is none yet."""


def selection(ctx: RunContext) -> Filters:
    """What a chapter reads: all of Greece, every provider, over the run's days (opened alone: its defaults')."""
    return Filters(ctx.date_from, ctx.date_to)


def load(ctx: RunContext, queries: dict[str, Query]) -> dict[str, pd.DataFrame]:
    """Run a chapter's queries over the run's days on one short-lived read-only connection; frames by name."""
    params, registry = ctx.params, ctx.registry
    if registry.warehouse_kind == "duckdb" and not Path(registry.duckdb_path).exists():
        raise NoWarehouse(f"no warehouse at {registry.duckdb_path}: the chapters read Gold, so run the pipeline "
                          f"first (`make run`, or `gnp run --params {params.params_file}`)")
    f = selection(ctx)
    with open_gold(params) as gold:
        return {name: query(gold, f) for name, query in queries.items()}
