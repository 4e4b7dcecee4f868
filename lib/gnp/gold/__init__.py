"""Gold: business aggregates of Silver, one module per theme.

Every transform is DataFrame -> DataFrame and ends with the select of its
schemas.py spec. ``build`` wires them together, ``stage`` decides what a run
reads and rewrites, and ``steps`` is the stage's order, one step per notebook
cell. May import ``gnp.core``, ``gnp.lake``,
``gnp.source``, ``gnp.bronze``, ``gnp.quality`` and ``gnp.silver``.
"""

from gnp.gold.build import UserDayReductions, gold_tables, reduce_measurements
from gnp.gold.histogram import speed_bucket_edges
from gnp.gold.suppression import suppressed_cells

__all__ = [
    "UserDayReductions",
    "gold_tables",
    "reduce_measurements",
    "speed_bucket_edges",
    "suppressed_cells",
]
