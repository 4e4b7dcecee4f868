"""What can be selected: filter options, default period, and whether a selection has data."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

import pandas as pd

from gnp.core.dates import month_end, month_start
from gnp.dashboard.queries import CONSTANT_PARAMS, IN_PERIOD, THE_SLICE, Filters
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

    def default_filters(self, as_of: dt.date | None = None) -> Filters:
        """The latest calendar month Gold holds whole (its medians are exact), all of Greece, all ISPs; when
        Gold holds no whole month, its last DEFAULT_PERIOD_DAYS days.

        ``as_of`` (a run's last day) leaves out the days Gold holds after it, so a run's report shows the
        period as that run left it, also when later runs have added days since.
        """
        last = self.last_date if as_of is None or self.last_date is None else min(self.last_date, as_of)
        if last is None or last < self.first_date:
            return Filters(None, None)
        month = latest_whole_month(self.first_date, last)
        if month is not None:
            return Filters(month, month_end(month))
        start = max(self.first_date, last - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1))
        return Filters(start, last)


def latest_whole_month(first: dt.date, last: dt.date) -> dt.date | None:
    """First day of the last calendar month lying wholly between ``first`` and ``last``, or None."""
    month = month_start(last) if last == month_end(last) else month_start(month_start(last) - dt.timedelta(days=1))
    return month if first <= month else None


def _labelled(frame: pd.DataFrame, label: str, value: str) -> tuple[tuple[str, str], ...]:
    rows = frame.dropna(subset=[value]).drop_duplicates(subset=[value])
    pairs = [(str(r[label]) if pd.notna(r[label]) else str(r[value]), str(r[value])) for _, r in rows.iterrows()]
    return tuple(sorted(pairs, key=lambda p: greek_sort_key(p[0])))


def _as_date(value) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def filter_options(gold: GoldSource) -> Options:
    """Dates, places and ISPs as Gold's area_isp_metrics holds them (a place's name: its latest spelling)."""
    table = gold.table("area_isp_metrics")
    params = CONSTANT_PARAMS
    dates = gold.frame(f"SELECT MIN(measurement_date) AS first_date, MAX(measurement_date) AS last_date "
                       f"FROM {table} WHERE area_level = @country_level AND isp = @all_isps", params)
    peripheries = gold.frame(f"SELECT area_id AS periphery_id, MAX(area) AS periphery FROM {table} "
                             f"WHERE area_level = @periphery_level AND isp = @all_isps GROUP BY area_id", params)
    units = gold.frame(f"SELECT area_id AS regional_unit_id, MAX(area) AS regional_unit, "
                       f"MAX(periphery_id) AS periphery_id FROM {table} "
                       f"WHERE area_level = @regional_unit_level AND isp = @all_isps GROUP BY area_id", params)
    isps = gold.frame(f"SELECT DISTINCT isp FROM {table} WHERE area_level = @country_level AND isp <> @all_isps",
                      params)
    return Options(
        first_date=_as_date(dates["first_date"].iloc[0]),
        last_date=_as_date(dates["last_date"].iloc[0]),
        peripheries=_labelled(peripheries, "periphery", "periphery_id"),
        regional_units=units,
        isps=_labelled(isps, "isp", "isp"),
    )


def has_data(gold: GoldSource, f: Filters) -> bool:
    """Whether the selection's slice holds any Gold cell in the period (suppressed cells count as data)."""
    if not f.is_valid_period:
        return False
    cells = gold.frame(f"SELECT COUNT(*) AS n FROM {gold.table('area_isp_metrics')} "
                       f"WHERE {' AND '.join((IN_PERIOD, *THE_SLICE))}", f.sql_params())
    return int(cells["n"].iloc[0]) > 0
