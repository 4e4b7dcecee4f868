"""One query per dashboard figure, over Gold only.

Every function is ``(gold, filters) -> DataFrame``. The SQL is standard (no
DuckDB-only syntax) with ``@name`` parameters, so BigQuery can run the same
text; table ids come from the registry through ``GoldSource.table``.

Gold is cut by slice (area level, area, ISP), each slice computed from its own
tests, so a selection reads its own slice and a breakdown reads the slices one
level below: nothing is rebuilt from the medians of parts across areas or ISPs.
Across the days of a period it has to be: a median of a union cannot be rebuilt
from daily medians, so period "medians" are the users-weighted mean of the
daily medians (sessions-weighted for the staircase), and the UI says so.
Suppressed cells (fewer than k users) carry null user counts and statistics
but keep their activity counts (tests, sessions): they are left out of every
users-based figure and counted, and a figure whose cells are all suppressed
reports ``is_suppressed`` instead of a number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd

from gnp.core.schemas import ALL_ISPS, AREA_COUNTRY, AREA_PERIPHERY, AREA_REGIONAL_UNIT, COUNTRY_ID
from gnp.dashboard.source import GoldSource

WORST_REGIONS_SHOWN = 5
IN_PERIOD = "measurement_date BETWEEN @date_from AND @date_to"
SESSIONS_IN_PERIOD = "session_date BETWEEN @date_from AND @date_to"
THE_SLICE = ("area_level = @area_level", "area_id = @area_id", "isp = @isp")
AT_THE_ISP = "isp = @isp"
CONSTANT_PARAMS = {"country_level": AREA_COUNTRY, "periphery_level": AREA_PERIPHERY,
                   "regional_unit_level": AREA_REGIONAL_UNIT, "all_isps": ALL_ISPS}


@dataclass(frozen=True)
class Filters:
    """The dashboard's selection; None means "all". The UI sets a regional unit only with its periphery."""

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

    @property
    def area_level(self) -> str:
        if self.regional_unit_id:
            return AREA_REGIONAL_UNIT
        return AREA_PERIPHERY if self.periphery_id else AREA_COUNTRY

    @property
    def area_id(self) -> str:
        return self.regional_unit_id or self.periphery_id or COUNTRY_ID

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
            "area_level": self.area_level, "area_id": self.area_id, "isp": self.isp or ALL_ISPS,
            "periphery_id": self.periphery_id, **CONSTANT_PARAMS,
        }


def regions_below(f: Filters) -> tuple[str, ...]:
    """Areas one level below the selection: Greece's peripheries, or the selected periphery's regional units."""
    if f.periphery_id:
        return ("area_level = @regional_unit_level", "periphery_id = @periphery_id")
    if f.regional_unit_id:
        return THE_SLICE[:2]
    return ("area_level = @periphery_level",)


def breakdown_areas(f: Filters) -> tuple[str, ...]:
    """The areas a breakdown figure draws: those one level below, or a selected regional unit alone."""
    return THE_SLICE[:2] if f.regional_unit_id else regions_below(f)


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
PERIOD_OF_DAY = "CASE WHEN measurement_date >= @date_from THEN 'current' ELSE 'previous' END AS period"


def with_suppression_flag(frame: pd.DataFrame) -> pd.DataFrame:
    """A period aggregate is suppressed when every cell it was built from was."""
    out = frame.copy()
    out["cells"] = out["cells"].astype("int64")
    out["suppressed_cells"] = out["suppressed_cells"].fillna(0).astype("int64")
    out["is_suppressed"] = out["suppressed_cells"] == out["cells"]
    return out


def _daily_cells(gold: GoldSource, f: Filters, columns: str) -> pd.DataFrame:
    sql = (f"SELECT measurement_date, area_id, area, {columns}, is_suppressed "
           f"FROM {gold.table('area_isp_metrics')} {_where(IN_PERIOD, *breakdown_areas(f), AT_THE_ISP)} "
           f"ORDER BY area, measurement_date")
    return gold.frame(sql, f.sql_params())


def speeds_over_time(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Daily median download and upload over users, per area one level below the selection, at its ISP."""
    return _daily_cells(gold, f, "users, download_median_mbps, upload_median_mbps")


def tests_per_day(gold: GoldSource, f: Filters) -> pd.DataFrame:
    return _daily_cells(gold, f, "tests, users")


def rtt_vs_jitter(gold: GoldSource, f: Filters) -> pd.DataFrame:
    return _daily_cells(gold, f, "users, rtt_median_ms, jitter_median_ms")


def upload_vs_download(gold: GoldSource, f: Filters) -> pd.DataFrame:
    return _daily_cells(gold, f, "users, download_median_mbps, upload_median_mbps")


def _attainment_by(gold: GoldSource, f: Filters, key: str, conditions: tuple[str, ...],
                   selected: str | None) -> pd.DataFrame:
    """Period attainment per ``key`` (area_id or isp); ``key`` and ``label`` name each row."""
    label = "area" if key == "area_id" else key
    sql = (f"SELECT {key} AS key, MAX({label}) AS label, MAX(area_level) AS area_level, "
           f"{kept_sum('user_days')} AS user_days, "
           f"{weighted_mean('share_reaching_low', 'user_days')} AS share_reaching_low, "
           f"{weighted_mean('share_reaching_high', 'user_days')} AS share_reaching_high, "
           f"{weighted_mean('median_attainment', 'user_days')} AS median_attainment, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('contract_attainment')} {_where(IN_PERIOD, *conditions)} "
           f"GROUP BY {key} ORDER BY {key}")
    out = with_suppression_flag(gold.frame(sql, f.sql_params()))
    out["is_selected"] = out["key"] == selected if selected else False
    return out


def attainment_by_periphery(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Every periphery at the selected ISP (a ranking needs them all); the selected one is ``is_selected``."""
    return _attainment_by(gold, f, "area_id", ("area_level = @periphery_level", AT_THE_ISP), f.periphery_id)


def attainment_by_isp(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Every ISP in the selected area; the selected one is ``is_selected``."""
    return _attainment_by(gold, f, "isp", (*THE_SLICE[:2], "isp <> @all_isps"), f.isp)


def worst_attainment_regions(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """The areas one level below the selection, at the selected ISP, with the lowest share reaching the high
    threshold; suppressed ones listed last, a selected regional unit flagged ``is_selected``."""
    frame = _attainment_by(gold, f, "area_id", (*regions_below(f), AT_THE_ISP), f.regional_unit_id)
    ranked = frame[~frame["is_suppressed"]].sort_values(["share_reaching_high", "label"]).head(WORST_REGIONS_SHOWN)
    return pd.concat([ranked, frame[frame["is_suppressed"]]], ignore_index=True)


def frustration_staircase(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Per behaviour bucket over the period, for the selection's slice."""
    sql = (f"SELECT behaviour_bucket, SUM(sessions) AS sessions, {kept_sum('users')} AS users, "
           f"{weighted_mean('median_download_mbps', 'sessions')} AS median_download_mbps, "
           f"{weighted_mean('median_loss_pct', 'sessions')} AS median_loss_pct, "
           f"{weighted_mean('median_jitter_ms', 'sessions')} AS median_jitter_ms, "
           f"{weighted_mean('median_rtt_ms', 'sessions')} AS median_rtt_ms, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('frustration_staircase')} {_where(SESSIONS_IN_PERIOD, *THE_SLICE)} "
           f"GROUP BY behaviour_bucket ORDER BY behaviour_bucket")
    return with_suppression_flag(gold.frame(sql, f.sql_params()))


def retention(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Daily sessions of the selection's slice by user type."""
    sql = (f"SELECT session_date, user_type, sessions, users, is_suppressed "
           f"FROM {gold.table('user_retention')} {_where(SESSIONS_IN_PERIOD, *THE_SLICE)} "
           f"ORDER BY session_date, user_type")
    return gold.frame(sql, f.sql_params())


def cohort_retention(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """The slice's weekly cohorts first seen in the period, with every later week Gold holds."""
    sql = (f"SELECT cohort_week, weeks_since_first, cohort_users, active_users, retention_share, is_suppressed "
           f"FROM {gold.table('cohort_retention')} "
           f"{_where('cohort_week BETWEEN @week_from AND @date_to', *THE_SLICE)} "
           f"ORDER BY cohort_week, weeks_since_first")
    return gold.frame(sql, f.sql_params())


def _hourly(gold: GoldSource, f: Filters, by: tuple[str, ...], conditions: tuple[str, ...]) -> pd.DataFrame:
    """≈ median download per local hour (and ``by``) over the period: users-weighted mean of daily hourly medians."""
    keys = ", ".join((*by, "hour_local"))
    sql = (f"SELECT {keys}, SUM(tests) AS tests, {kept_sum('users')} AS users, "
           f"{weighted_mean('median_download_mbps', 'users')} AS median_download_mbps, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('hourly_profile')} {_where(IN_PERIOD, *conditions)} "
           f"GROUP BY {keys} ORDER BY {keys}")
    return with_suppression_flag(gold.frame(sql, f.sql_params()))


def hourly_profile(gold: GoldSource, f: Filters) -> pd.DataFrame:
    return _hourly(gold, f, (), THE_SLICE)


def speed_histogram(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """The slice's users per log-spaced download bucket, over the whole months the period touches."""
    sql = (f"SELECT bucket_index, MIN(bucket_lower_mbps) AS bucket_lower_mbps, "
           f"MAX(bucket_upper_mbps) AS bucket_upper_mbps, {kept_sum('users')} AS users, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('speed_histogram')} "
           f"{_where('month BETWEEN @month_from AND @date_to', *THE_SLICE)} "
           f"GROUP BY bucket_index ORDER BY bucket_index")
    return with_histogram_shares(with_suppression_flag(gold.frame(sql, f.sql_params())))


def with_histogram_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of users per bucket, and drawable edges on a log axis.

    The open last bucket gets an upper edge one step up; the first bucket
    starts at 0 Mbps, which a log axis cannot place, so it is drawn from one
    step below its upper edge (its tooltip still says 0).
    """
    out = frame.copy()
    total = out["users"].sum(min_count=1)
    out["share_of_users"] = out["users"] / total if total else float("nan")
    positive = out["bucket_lower_mbps"] > 0
    ratio = (out["bucket_upper_mbps"] / out["bucket_lower_mbps"].where(positive)).dropna()
    step = ratio.iloc[-1] if len(ratio) else 10.0
    out["bucket_upper_drawn_mbps"] = out["bucket_upper_mbps"].fillna(out["bucket_lower_mbps"] * step)
    out["bucket_lower_drawn_mbps"] = out["bucket_lower_mbps"].where(positive, out["bucket_upper_drawn_mbps"] / step)
    return out


# --- Every area, or every provider, of a selection: the chapters' rankings --------------------------------------


def area_days(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Every area (country, periphery, regional unit) per day of the period, at the selection's ISP."""
    sql = (f"SELECT measurement_date, area_level, area_id, area, periphery, tests, users, "
           f"download_median_mbps, upload_median_mbps, rtt_median_ms, is_suppressed "
           f"FROM {gold.table('area_isp_metrics')} {_where(IN_PERIOD, AT_THE_ISP)} "
           f"ORDER BY area_level, area_id, measurement_date")
    return gold.frame(sql, f.sql_params())


def provider_days(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """The selected area per provider per day (the slice over every provider included, as isp 'all')."""
    sql = (f"SELECT measurement_date, isp, tests, users, download_median_mbps, upload_median_mbps, "
           f"rtt_median_ms, is_suppressed FROM {gold.table('area_isp_metrics')} {_where(IN_PERIOD, *THE_SLICE[:2])} "
           f"ORDER BY isp, measurement_date")
    return gold.frame(sql, f.sql_params())


def provider_hours(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """The selected area per provider (and 'all') and local hour over the period."""
    return _hourly(gold, f, ("isp",), THE_SLICE[:2])


def provider_attainment(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """The selected area per provider (and 'all') over the period: share of user-days reaching the thresholds."""
    frame = _attainment_by(gold, f, "isp", THE_SLICE[:2], None)
    return frame.rename(columns={"key": "isp"}).drop(columns=["label", "area_level", "is_selected"])
