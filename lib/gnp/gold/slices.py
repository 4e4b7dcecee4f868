"""Slices: the cuts of Gold by area (country, periphery, regional unit) and ISP.

A row (a test, or a session by its first test) belongs to up to six slices:
the country, its periphery and its regional unit when known, each for every
provider ('all') and for its own provider when the API named one. Each Gold
statistic is computed per slice from the rows themselves, so a figure for
"Attica, Nova" is a median over Attica's Nova users, never a blend of other
cells. Exploding keeps the rows' partitioning, so the per-user reductions that
follow still need no shuffle (see build).
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from gnp.core.columns import quoted, sql_string
from gnp.core.schemas import (
    ALL_ISPS,
    AREA_COUNTRY,
    AREA_PERIPHERY,
    AREA_REGIONAL_UNIT,
    COUNTRY_ID,
    COUNTRY_NAME,
    SLICE_KEY,
)

SLICE_LABELS = ("area", "periphery_id", "periphery")
PLACE_COLUMNS = ("periphery_id", "periphery", "regional_unit_id", "regional_unit", "isp")  # what slicing reads
_AREA = "__area"


_NULL = "CAST(NULL AS STRING)"


def _area(level: str, area_id: str, area: str, periphery_id: str, periphery: str) -> str:
    return (f"named_struct('area_level', {sql_string(level)}, 'area_id', {area_id}, 'area', {area}, "
            f"'periphery_id', {periphery_id}, 'periphery', {periphery})")


def _areas(columns: set[str]) -> str:
    """SQL: the areas a row belongs to: the country always, its periphery and regional unit when known."""
    text = {name: quoted(name) if name in columns else _NULL for name in PLACE_COLUMNS}
    periphery_id, periphery, unit_id = text["periphery_id"], text["periphery"], text["regional_unit_id"]
    candidates = ", ".join((
        _area(AREA_COUNTRY, sql_string(COUNTRY_ID), sql_string(COUNTRY_NAME), _NULL, _NULL),
        f"CASE WHEN {periphery_id} IS NOT NULL THEN "
        f"{_area(AREA_PERIPHERY, periphery_id, periphery, periphery_id, periphery)} END",
        f"CASE WHEN {unit_id} IS NOT NULL THEN "
        f"{_area(AREA_REGIONAL_UNIT, unit_id, text['regional_unit'], periphery_id, periphery)} END",
    ))
    return f"filter(array({candidates}), a -> a IS NOT NULL)"


def _isps(columns: set[str]) -> str:
    """SQL: 'all' always, and the row's own provider when it has one."""
    isp = quoted("isp") if "isp" in columns else _NULL
    return f"filter(array({sql_string(ALL_ISPS)}, {isp}), i -> i IS NOT NULL)"


def with_slices(df: DataFrame) -> DataFrame:
    """One row per input row and slice it belongs to: ``area_level, area_id, isp`` and the area labels.

    The input's place columns (periphery, regional unit, their names, isp) are
    replaced by the slice columns; every other column is kept as it is. (SQL text:
    see ``gnp.core.columns``.)
    """
    columns = df.columns
    kept = [quoted(c) for c in columns if c not in PLACE_COLUMNS]
    by_area = df.selectExpr(*kept, f"explode({_areas(set(columns))}) AS {_AREA}", f"{_isps(set(columns))} AS __isps")
    exploded = by_area.selectExpr(*kept, _AREA, "explode(__isps) AS isp")  # one generator per select
    return exploded.selectExpr(
        *kept, *[f"{_AREA}.{c} AS {c}" for c in ("area_level", "area_id")], "isp",
        *[f"{_AREA}.{c} AS {c}" for c in SLICE_LABELS],
    )


__all__ = ["PLACE_COLUMNS", "SLICE_KEY", "SLICE_LABELS", "with_slices"]
