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

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

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


def _text(df: DataFrame, name: str) -> SparkColumn:
    return F.col(name) if name in df.columns else F.lit(None).cast("string")


def _area(level: str, area_id: SparkColumn, area: SparkColumn, periphery_id: SparkColumn,
          periphery: SparkColumn) -> SparkColumn:
    return F.struct(
        F.lit(level).alias("area_level"), area_id.alias("area_id"), area.alias("area"),
        periphery_id.alias("periphery_id"), periphery.alias("periphery"),
    )


def areas(df: DataFrame) -> SparkColumn:
    """The areas a row belongs to: the country always, its periphery and regional unit when known."""
    none = F.lit(None).cast("string")
    periphery_id, periphery = _text(df, "periphery_id"), _text(df, "periphery")
    unit_id = _text(df, "regional_unit_id")
    candidates = F.array(
        _area(AREA_COUNTRY, F.lit(COUNTRY_ID), F.lit(COUNTRY_NAME), none, none),
        F.when(periphery_id.isNotNull(),
               _area(AREA_PERIPHERY, periphery_id, periphery, periphery_id, periphery)),
        F.when(unit_id.isNotNull(),
               _area(AREA_REGIONAL_UNIT, unit_id, _text(df, "regional_unit"), periphery_id, periphery)),
    )
    return F.filter(candidates, lambda a: a.isNotNull())


def isps(df: DataFrame) -> SparkColumn:
    """'all' always, and the row's own provider when it has one."""
    return F.filter(F.array(F.lit(ALL_ISPS), _text(df, "isp")), lambda i: i.isNotNull())


def with_slices(df: DataFrame) -> DataFrame:
    """One row per input row and slice it belongs to: ``area_level, area_id, isp`` and the area labels.

    The input's place columns (periphery, regional unit, their names, isp) are
    replaced by the slice columns; every other column is kept as it is.
    """
    kept = [c for c in df.columns if c not in PLACE_COLUMNS]
    by_area = df.select(*kept, F.explode(areas(df)).alias(_AREA), isps(df).alias("__isps"))
    exploded = by_area.select(*kept, _AREA, F.explode("__isps").alias("isp"))  # one generator per select
    return exploded.select(
        *kept, *[F.col(f"{_AREA}.{c}").alias(c) for c in ("area_level", "area_id")], "isp",
        *[F.col(f"{_AREA}.{c}").alias(c) for c in SLICE_LABELS],
    )


__all__ = ["PLACE_COLUMNS", "SLICE_KEY", "SLICE_LABELS", "areas", "isps", "with_slices"]
