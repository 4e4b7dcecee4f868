"""One query per dashboard figure, over Gold only.

Every function is ``(gold, filters) -> DataFrame``. The SQL is standard (no
DuckDB-only syntax) with ``@name`` parameters, so BigQuery can run the same
text; table ids come from the registry through ``GoldSource.table``.

Statistics over a period are re-aggregated from daily Gold cells, which hold
medians over users. A median of a union cannot be rebuilt from the medians of
its parts, so period "medians" here are the users-weighted mean of the daily
medians (sessions-weighted for the staircase). The UI labels them as such.
Suppressed cells (fewer than k users) carry null user counts and statistics
but keep their activity counts (tests, sessions): they are left out of every
users-based figure and counted, and a figure whose cells are all suppressed
reports ``is_suppressed`` instead of a number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd

from gnp.dashboard.source import GoldSource

ALL_PERIPHERIES = "all"  # user_retention's periphery_id for the whole country
DIMENSION_PERIPHERY = "periphery"  # contract_attainment.dimension values
DIMENSION_ISP = "isp"
WORST_REGIONS_SHOWN = 5


@dataclass(frozen=True)
class Filters:
    """The dashboard's selection; None means "all"."""

    date_from: dt.date | None
    date_to: dt.date | None
    periphery_id: str | None = None
    regional_unit_id: str | None = None
    isp: str | None = None

    @property
    def is_valid_period(self) -> bool:
        return self.date_from is not None and self.date_to is not None and self.date_from <= self.date_to

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> "Filters":
        """The period of equal length that ends the day before this one starts."""
        return replace(self, date_from=self.date_from - dt.timedelta(days=self.days),
                       date_to=self.date_from - dt.timedelta(days=1))

    def sql_params(self) -> dict:
        prev = self.previous()
        return {
            "date_from": self.date_from, "date_to": self.date_to,
            "previous_from": prev.date_from,
            "week_from": self.date_from - dt.timedelta(days=self.date_from.weekday()),
            "month_from": self.date_from.replace(day=1),
            "periphery_id": self.periphery_id, "regional_unit_id": self.regional_unit_id,
            "isp": self.isp,
        }


@dataclass(frozen=True)
class Level:
    """Which Gold table answers a geographic selection, and which column names its areas."""

    table: str
    area_id: str
    area: str
    conditions: tuple[str, ...]


def breakdown_level(f: Filters) -> Level:
    """One level below the selection: peripheries for Greece, regional units for a periphery."""
    if f.regional_unit_id:
        return Level("regional_unit_metrics", "regional_unit_id", "regional_unit",
                     ("regional_unit_id = @regional_unit_id",))
    if f.periphery_id:
        return Level("regional_unit_metrics", "regional_unit_id", "regional_unit",
                     ("periphery_id = @periphery_id",))
    return Level("regional_metrics", "periphery_id", "periphery", ())


def total_level(f: Filters) -> Level:
    """The selection itself, at the finest Gold table that holds it whole."""
    if f.regional_unit_id:
        return breakdown_level(f)
    if f.periphery_id:
        return Level("regional_metrics", "periphery_id", "periphery", ("periphery_id = @periphery_id",))
    return Level("regional_metrics", "periphery_id", "periphery", ())


def _where(*conditions: str) -> str:
    return "WHERE " + " AND ".join(conditions)


def weighted_mean(value: str, weight: str) -> str:
    """SQL: mean of ``value`` weighted by ``weight`` over unsuppressed, non-null cells."""
    kept = f"NOT is_suppressed AND {value} IS NOT NULL"
    return (f"SUM(CASE WHEN {kept} THEN {value} * {weight} END) / "
            f"NULLIF(SUM(CASE WHEN {kept} THEN {weight} END), 0)")


def kept_sum(value: str) -> str:
    return f"SUM(CASE WHEN NOT is_suppressed THEN {value} END)"


SUPPRESSION_COUNTS = "COUNT(*) AS cells, SUM(CASE WHEN is_suppressed THEN 1 ELSE 0 END) AS suppressed_cells"


def with_suppression_flag(frame: pd.DataFrame) -> pd.DataFrame:
    """A period aggregate is suppressed when every cell it was built from was."""
    out = frame.copy()
    out["cells"] = out["cells"].astype("int64")
    out["suppressed_cells"] = out["suppressed_cells"].fillna(0).astype("int64")
    out["is_suppressed"] = out["suppressed_cells"] == out["cells"]
    return out


def _daily_cells(gold: GoldSource, f: Filters, level: Level, columns: str) -> pd.DataFrame:
    sql = (f"SELECT measurement_date, {level.area_id} AS area_id, {level.area} AS area, {columns}, is_suppressed "
           f"FROM {gold.table(level.table)} "
           f"{_where('measurement_date BETWEEN @date_from AND @date_to', *level.conditions)} "
           f"ORDER BY area, measurement_date")
    return gold.frame(sql, f.sql_params())


def speeds_over_time(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Daily median download and upload over users, per area one level below the selection."""
    return _daily_cells(gold, f, breakdown_level(f), "users, download_median_mbps, upload_median_mbps")


def tests_per_day(gold: GoldSource, f: Filters) -> pd.DataFrame:
    return _daily_cells(gold, f, breakdown_level(f), "tests, users")


def rtt_vs_jitter(gold: GoldSource, f: Filters) -> pd.DataFrame:
    return _daily_cells(gold, f, breakdown_level(f), "users, rtt_median_ms, jitter_median_ms")


def upload_vs_download(gold: GoldSource, f: Filters) -> pd.DataFrame:
    return _daily_cells(gold, f, breakdown_level(f), "users, download_median_mbps, upload_median_mbps")


def selection_totals(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Current and previous period totals of the selection: one row per period."""
    level = total_level(f)
    sql = (f"SELECT period, SUM(tests) AS tests, SUM(users) AS user_days, "
           f"{weighted_mean('download_median_mbps', 'users')} AS download_median_mbps, "
           f"{weighted_mean('upload_median_mbps', 'users')} AS upload_median_mbps, {SUPPRESSION_COUNTS} "
           f"FROM (SELECT CASE WHEN measurement_date >= @date_from THEN 'current' ELSE 'previous' END AS period, "
           f"tests, users, download_median_mbps, upload_median_mbps, is_suppressed "
           f"FROM {gold.table(level.table)} "
           f"{_where('measurement_date BETWEEN @previous_from AND @date_to', *level.conditions)}) AS in_period "
           f"GROUP BY period")
    return with_suppression_flag(gold.frame(sql, f.sql_params()))


def attainment_scope(f: Filters) -> tuple[str, str | None]:
    """(dimension, parameter name of its value or None for all): Gold has no ISP x area split."""
    if f.isp:
        return DIMENSION_ISP, "isp"
    if f.periphery_id:
        return DIMENSION_PERIPHERY, "periphery_id"
    return DIMENSION_PERIPHERY, None


def attainment_totals(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Share of user-days reaching the high threshold, current and previous period."""
    dimension, value_param = attainment_scope(f)
    conditions = ["dimension = @dimension", "measurement_date BETWEEN @previous_from AND @date_to"]
    if value_param:
        conditions.append(f"dimension_value = @{value_param}")
    sql = (f"SELECT period, {kept_sum('user_days')} AS user_days, "
           f"{weighted_mean('share_reaching_high', 'user_days')} AS share_reaching_high, {SUPPRESSION_COUNTS} "
           f"FROM (SELECT CASE WHEN measurement_date >= @date_from THEN 'current' ELSE 'previous' END AS period, "
           f"user_days, share_reaching_high, is_suppressed FROM {gold.table('contract_attainment')} "
           f"{_where(*conditions)}) AS in_period GROUP BY period")
    return with_suppression_flag(gold.frame(sql, {**f.sql_params(), "dimension": dimension}))


def _attainment_by(gold: GoldSource, f: Filters, dimension: str, selected: str | None) -> pd.DataFrame:
    sql = (f"SELECT dimension_value, MAX(dimension_label) AS label, {kept_sum('user_days')} AS user_days, "
           f"{weighted_mean('share_reaching_low', 'user_days')} AS share_reaching_low, "
           f"{weighted_mean('share_reaching_high', 'user_days')} AS share_reaching_high, "
           f"{weighted_mean('median_attainment', 'user_days')} AS median_attainment, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('contract_attainment')} "
           f"{_where('dimension = @dimension', 'measurement_date BETWEEN @date_from AND @date_to')} "
           f"GROUP BY dimension_value ORDER BY dimension_value")
    out = with_suppression_flag(gold.frame(sql, {**f.sql_params(), "dimension": dimension}))
    out["is_selected"] = out["dimension_value"] == selected if selected else False
    return out


def attainment_by_periphery(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """All peripheries (a ranking needs them all); the selected one is flagged ``is_selected``."""
    return _attainment_by(gold, f, DIMENSION_PERIPHERY, f.periphery_id)


def attainment_by_isp(gold: GoldSource, f: Filters) -> pd.DataFrame:
    return _attainment_by(gold, f, DIMENSION_ISP, f.isp)


def worst_attainment_regions(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """The peripheries with the lowest share reaching the high threshold; suppressed ones listed last."""
    frame = attainment_by_periphery(gold, f)
    ranked = frame[~frame["is_suppressed"]].sort_values(["share_reaching_high", "label"]).head(WORST_REGIONS_SHOWN)
    return pd.concat([ranked, frame[frame["is_suppressed"]]], ignore_index=True)


def frustration_staircase(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Per behaviour bucket over the period. Gold holds the staircase for the whole country only."""
    sql = (f"SELECT behaviour_bucket, SUM(sessions) AS sessions, {kept_sum('users')} AS users, "
           f"{weighted_mean('median_download_mbps', 'sessions')} AS median_download_mbps, "
           f"{weighted_mean('median_loss_pct', 'sessions')} AS median_loss_pct, "
           f"{weighted_mean('median_jitter_ms', 'sessions')} AS median_jitter_ms, "
           f"{weighted_mean('median_rtt_ms', 'sessions')} AS median_rtt_ms, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('frustration_staircase')} "
           f"{_where('session_date BETWEEN @date_from AND @date_to')} "
           f"GROUP BY behaviour_bucket ORDER BY behaviour_bucket")
    return with_suppression_flag(gold.frame(sql, f.sql_params()))


def retention(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Daily sessions by user type for the periphery (Gold has no regional-unit split)."""
    sql = (f"SELECT session_date, user_type, sessions, users, is_suppressed "
           f"FROM {gold.table('user_retention')} "
           f"{_where('session_date BETWEEN @date_from AND @date_to', 'periphery_id = @retention_area')} "
           f"ORDER BY session_date, user_type")
    return gold.frame(sql, {**f.sql_params(), "retention_area": f.periphery_id or ALL_PERIPHERIES})


def cohort_retention(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Weekly cohorts first seen in the period, with every later week Gold holds."""
    sql = (f"SELECT cohort_week, weeks_since_first, cohort_users, active_users, retention_share, is_suppressed "
           f"FROM {gold.table('cohort_retention')} "
           f"{_where('cohort_week BETWEEN @week_from AND @date_to')} "
           f"ORDER BY cohort_week, weeks_since_first")
    return gold.frame(sql, f.sql_params())


def hourly_profile(gold: GoldSource, f: Filters) -> pd.DataFrame:
    area = ("periphery_id = @periphery_id",) if f.periphery_id else ()
    sql = (f"SELECT hour_local, SUM(tests) AS tests, {kept_sum('users')} AS users, "
           f"{weighted_mean('median_download_mbps', 'users')} AS median_download_mbps, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('hourly_profile')} "
           f"{_where('measurement_date BETWEEN @date_from AND @date_to', *area)} "
           f"GROUP BY hour_local ORDER BY hour_local")
    return with_suppression_flag(gold.frame(sql, f.sql_params()))


def speed_histogram(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Users per log-spaced download bucket, over the whole months the period touches."""
    area = ("periphery_id = @periphery_id",) if f.periphery_id else ()
    sql = (f"SELECT bucket_index, MIN(bucket_lower_mbps) AS bucket_lower_mbps, "
           f"MAX(bucket_upper_mbps) AS bucket_upper_mbps, {kept_sum('users')} AS users, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('speed_histogram')} "
           f"{_where('month BETWEEN @month_from AND @date_to', *area)} "
           f"GROUP BY bucket_index ORDER BY bucket_index")
    return with_histogram_shares(with_suppression_flag(gold.frame(sql, f.sql_params())))


def with_histogram_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of users per bucket, and a drawable upper edge for the open last bucket."""
    out = frame.copy()
    total = out["users"].sum(min_count=1)
    out["share_of_users"] = out["users"] / total if total else float("nan")
    ratio = (out["bucket_upper_mbps"] / out["bucket_lower_mbps"]).dropna()
    step = ratio.iloc[-1] if len(ratio) else 10.0
    out["bucket_upper_drawn_mbps"] = out["bucket_upper_mbps"].fillna(out["bucket_lower_mbps"] * step)
    return out
