"""What can be selected: filter options, default period, and whether a selection has data."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import pandas as pd

from gnp.dashboard.queries import DIMENSION_ISP, Filters, total_level
from gnp.dashboard.source import GoldSource

DEFAULT_PERIOD_DAYS = 30


def greek_sort_key(name: str | None) -> str:
    """Sort Greek names as a reader would: accents ignored (Άρτας next to Αιτωλ...)."""
    decomposed = unicodedata.normalize("NFD", name or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@dataclass(frozen=True)
class Options:
    """Choices for the filters, as (label, value) pairs in display order."""

    first_date: dt.date | None
    last_date: dt.date | None
    peripheries: tuple[tuple[str, str], ...]
    regional_units: pd.DataFrame  # regional_unit_id, regional_unit, periphery_id
    isps: tuple[tuple[str, str], ...]

    def regional_units_of(self, periphery_id: str | None) -> tuple[tuple[str, str], ...]:
        if not periphery_id:
            return ()
        units = self.regional_units[self.regional_units["periphery_id"] == periphery_id]
        return _labelled(units, "regional_unit", "regional_unit_id")

    def default_filters(self) -> Filters:
        """The last DEFAULT_PERIOD_DAYS days with data, all of Greece, all ISPs."""
        if self.last_date is None:
            return Filters(None, None)
        start = max(self.first_date, self.last_date - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1))
        return Filters(start, self.last_date)


def _labelled(frame: pd.DataFrame, label: str, value: str) -> tuple[tuple[str, str], ...]:
    rows = frame.dropna(subset=[value]).drop_duplicates(subset=[value])
    pairs = [(str(r[label]) if pd.notna(r[label]) else str(r[value]), str(r[value])) for _, r in rows.iterrows()]
    return tuple(sorted(pairs, key=lambda p: greek_sort_key(p[0])))


def _as_date(value) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def filter_options(gold: GoldSource) -> Options:
    dates = gold.frame(f"SELECT MIN(measurement_date) AS first_date, MAX(measurement_date) AS last_date "
                       f"FROM {gold.table('regional_metrics')}")
    peripheries = gold.frame(f"SELECT DISTINCT periphery_id, periphery FROM {gold.table('regional_metrics')}")
    units = gold.frame(f"SELECT DISTINCT regional_unit_id, regional_unit, periphery_id "
                       f"FROM {gold.table('regional_unit_metrics')}")
    isps = gold.frame(f"SELECT DISTINCT dimension_value, dimension_label FROM {gold.table('contract_attainment')} "
                      f"WHERE dimension = @dimension", {"dimension": DIMENSION_ISP})
    return Options(
        first_date=_as_date(dates["first_date"].iloc[0]),
        last_date=_as_date(dates["last_date"].iloc[0]),
        peripheries=_labelled(peripheries, "periphery", "periphery_id"),
        regional_units=units,
        isps=_labelled(isps, "dimension_label", "dimension_value"),
    )


def has_data(gold: GoldSource, f: Filters) -> bool:
    """Whether the selection holds any Gold cell in the period (suppressed cells count as data)."""
    if not f.is_valid_period:
        return False
    level = total_level(f)
    where = " AND ".join(("measurement_date BETWEEN @date_from AND @date_to", *level.conditions))
    cells = gold.frame(f"SELECT COUNT(*) AS n FROM {gold.table(level.table)} WHERE {where}", f.sql_params())
    if int(cells["n"].iloc[0]) == 0:
        return False
    if f.isp:
        isp_cells = gold.frame(
            f"SELECT COUNT(*) AS n FROM {gold.table('contract_attainment')} WHERE dimension = @dimension "
            f"AND dimension_value = @isp AND measurement_date BETWEEN @date_from AND @date_to",
            {**f.sql_params(), "dimension": DIMENSION_ISP})
        return int(isp_cells["n"].iloc[0]) > 0
    return True
