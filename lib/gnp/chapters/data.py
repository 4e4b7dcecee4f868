"""The chapters' Gold queries: portable SQL with ``@name`` parameters, run through ``GoldSource``.

Each query is ``(gold, window) -> DataFrame`` and reads one Gold table over the
chapter's date window. Daily cells come back as they are (suppressed ones
included, flagged), so the findings can say how much of the picture was
hidden; aggregations across days happen in the findings, where they are
tested. ``load`` opens Gold once for all of a chapter's queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gnp.core.context import RunContext
from gnp.core.errors import GnpError
from gnp.core.schemas import ALL_ISPS, AREA_COUNTRY, COUNTRY_ID
from gnp.dashboard import periods
from gnp.dashboard.queries import SUPPRESSION_COUNTS, kept_sum, weighted_mean, with_suppression_flag
from gnp.dashboard.source import GoldSource, open_gold

COUNTRY = f"area_level = '{AREA_COUNTRY}' AND area_id = '{COUNTRY_ID}'"
EVERY_ISP = f"isp = '{ALL_ISPS}'"


@dataclass(frozen=True)
class Window:
    """The days a chapter reads: the run's days (a notebook opened alone: its defaults' days)."""

    date_from: dt.date
    date_to: dt.date

    @classmethod
    def of(cls, ctx: RunContext) -> "Window":
        return cls(ctx.date_from, ctx.date_to)

    def sql_params(self) -> dict:
        # cohort weeks start on a Monday, possibly before the first day of the window
        week_from = self.date_from - dt.timedelta(days=self.date_from.weekday())
        return {"date_from": self.date_from, "date_to": self.date_to, "week_from": week_from}


def area_days(gold: GoldSource, w: Window) -> pd.DataFrame:
    """Every area (country, periphery, regional unit) per day, over every ISP."""
    sql = (f"SELECT measurement_date, area_level, area_id, area, periphery, tests, users, "
           f"download_median_mbps, upload_median_mbps, rtt_median_ms, is_suppressed "
           f"FROM {gold.table('area_isp_metrics')} "
           f"WHERE measurement_date BETWEEN @date_from AND @date_to AND {EVERY_ISP} "
           f"ORDER BY area_level, area_id, measurement_date")
    return gold.frame(sql, w.sql_params())


def _whole_periods(gold: GoldSource, w: Window, condition: str) -> pd.DataFrame:
    """Gold's exact cells of the window's whole weeks or months (months win), or none when the window is
    not made of them: only then do the findings fall back to averaging daily medians."""
    made_of = periods.cover(w.date_from, w.date_to)
    if made_of.kind == periods.DAYS:
        return pd.DataFrame(columns=["period_kind", "period_start", "period_end", "area_level", "area_id", "isp",
                                     "area", "periphery_id", "periphery", *periods.EXACT_COLUMNS, "is_suppressed"])
    return periods.period_cells(gold, made_of.kind, w.date_from, w.date_to, (condition,))


def area_periods(gold: GoldSource, w: Window) -> pd.DataFrame:
    """Every area over every ISP per whole week or month of the window (exact medians over users)."""
    return _whole_periods(gold, w, EVERY_ISP)


def provider_periods(gold: GoldSource, w: Window) -> pd.DataFrame:
    """Greece per provider (and 'all') per whole week or month of the window (exact medians over users)."""
    return _whole_periods(gold, w, COUNTRY)


def provider_days(gold: GoldSource, w: Window) -> pd.DataFrame:
    """Greece per provider per day (the slice over every provider included, as isp 'all')."""
    sql = (f"SELECT measurement_date, isp, tests, users, download_median_mbps, upload_median_mbps, "
           f"rtt_median_ms, is_suppressed FROM {gold.table('area_isp_metrics')} "
           f"WHERE measurement_date BETWEEN @date_from AND @date_to AND {COUNTRY} "
           f"ORDER BY isp, measurement_date")
    return gold.frame(sql, w.sql_params())


def provider_hours(gold: GoldSource, w: Window) -> pd.DataFrame:
    """Greece per provider and local hour over the window: ≈ users-weighted mean of daily hourly medians."""
    sql = (f"SELECT isp, hour_local, SUM(tests) AS tests, {kept_sum('users')} AS users, "
           f"{weighted_mean('median_download_mbps', 'users')} AS median_download_mbps, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('hourly_profile')} "
           f"WHERE measurement_date BETWEEN @date_from AND @date_to AND {COUNTRY} "
           f"GROUP BY isp, hour_local ORDER BY isp, hour_local")
    return with_suppression_flag(gold.frame(sql, w.sql_params()))


def provider_attainment(gold: GoldSource, w: Window) -> pd.DataFrame:
    """Greece per provider over the window: share of user-days reaching the contract thresholds."""
    sql = (f"SELECT isp, {kept_sum('user_days')} AS user_days, "
           f"{weighted_mean('share_reaching_low', 'user_days')} AS share_reaching_low, "
           f"{weighted_mean('share_reaching_high', 'user_days')} AS share_reaching_high, "
           f"{weighted_mean('median_attainment', 'user_days')} AS median_attainment, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('contract_attainment')} "
           f"WHERE measurement_date BETWEEN @date_from AND @date_to AND {COUNTRY} GROUP BY isp ORDER BY isp")
    return with_suppression_flag(gold.frame(sql, w.sql_params()))


def staircase(gold: GoldSource, w: Window) -> pd.DataFrame:
    """Greece, every provider: sessions and their quality per behaviour bucket (tests per session)."""
    sql = (f"SELECT behaviour_bucket, SUM(sessions) AS sessions, {kept_sum('users')} AS users, "
           f"{weighted_mean('median_download_mbps', 'sessions')} AS median_download_mbps, "
           f"{weighted_mean('median_loss_pct', 'sessions')} AS median_loss_pct, "
           f"{weighted_mean('median_rtt_ms', 'sessions')} AS median_rtt_ms, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('frustration_staircase')} "
           f"WHERE session_date BETWEEN @date_from AND @date_to AND {COUNTRY} AND {EVERY_ISP} "
           f"GROUP BY behaviour_bucket ORDER BY behaviour_bucket")
    return with_suppression_flag(gold.frame(sql, w.sql_params()))


def retention(gold: GoldSource, w: Window) -> pd.DataFrame:
    """Greece, every provider: daily sessions by user type (returning, new or transient)."""
    sql = (f"SELECT session_date, user_type, sessions, users, is_suppressed "
           f"FROM {gold.table('user_retention')} "
           f"WHERE session_date BETWEEN @date_from AND @date_to AND {COUNTRY} AND {EVERY_ISP} "
           f"ORDER BY session_date, user_type")
    return gold.frame(sql, w.sql_params())


def cohorts(gold: GoldSource, w: Window) -> pd.DataFrame:
    """Greece, every provider: weekly cohorts first seen in the window, with every later week Gold holds."""
    sql = (f"SELECT cohort_week, weeks_since_first, cohort_users, active_users, retention_share, is_suppressed "
           f"FROM {gold.table('cohort_retention')} "
           f"WHERE cohort_week BETWEEN @week_from AND @date_to AND {COUNTRY} AND {EVERY_ISP} "
           f"ORDER BY cohort_week, weeks_since_first")
    return gold.frame(sql, w.sql_params())


Query = Callable[[GoldSource, Window], pd.DataFrame]


class NoWarehouse(GnpError, FileNotFoundError):
    """The chapters read Gold from the warehouse, and there is none yet."""


def load(ctx: RunContext, queries: dict[str, Query]) -> dict[str, pd.DataFrame]:
    """Run a chapter's queries over the run's days on one short-lived read-only connection; frames by name."""
    params, registry = ctx.params, ctx.registry
    if registry.warehouse_kind == "duckdb" and not Path(registry.duckdb_path).exists():
        raise NoWarehouse(f"no warehouse at {registry.duckdb_path}: the chapters read Gold, so run the pipeline "
                          f"first (`make run`, or `gnp run --params {params.params_file}`)")
    w = Window.of(ctx)
    with open_gold(params) as gold:
        return {name: query(gold, w) for name, query in queries.items()}
