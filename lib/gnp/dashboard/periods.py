"""Exact statistics over whole ISO weeks and months, and when a previous period is worth comparing with.

Gold's ``area_isp_period_metrics`` holds, per week and per month, the median
over users of each user's median of the period (see gnp.gold.periods): for a
date range that is exactly one ISO week (Monday to Sunday) or one calendar
month, a selection's median is read, not rebuilt. Any other range (a few
days, two months, a week and a day) still averages smaller medians: the
users-weighted mean of the medians of the whole weeks or months it is made of
when it is made of several, else of its daily medians, and the result says
so (``is_exact``, ``grain``, ``note``).

A previous period is compared only when it holds tests on most of its days
(``has_most_days``): a month against a "previous month" of three days of
data says nothing about change. Every query is portable SQL with ``@name``
parameters through ``GoldSource``, as in queries.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from gnp.core.dates import month_start, period_end
from gnp.core.schemas import ALL_ISPS, PERIOD_MONTH, PERIOD_WEEK
from gnp.dashboard.queries import (AT_THE_ISP, SUPPRESSION_COUNTS, THE_SLICE, Filters, kept_sum, weighted_mean,
                                   with_suppression_flag)
from gnp.dashboard.source import GoldSource

DAYS = "day"  # grain of a range made of neither whole weeks nor whole months
MOST_DAYS = 0.5  # a previous period is compared when more than this share of its days has tests
EXACT_COLUMNS = ("tests", "users", "download_median_mbps", "upload_median_mbps", "download_p25_mbps",
                 "download_p75_mbps", "rtt_median_ms", "jitter_median_ms", "loss_median_pct")
_MEDIANS = ("download_median_mbps", "upload_median_mbps")


@dataclass(frozen=True)
class Cover:
    """How a date range is made of periods: ``kind`` week, month or day, and the starts of the whole ones."""

    kind: str
    starts: tuple[dt.date, ...]

    @property
    def is_exact(self) -> bool:
        """One whole week or month: its statistics are Gold's, not an average of parts."""
        return self.kind != DAYS and len(self.starts) == 1


def cover(date_from: dt.date, date_to: dt.date) -> Cover:
    """Whole calendar months if the range is made of them, else whole ISO weeks, else days.

    Months win when both fit (February 2027 runs Monday 1 to Sunday 28): one
    month is exact where four weeks would only be averaged.
    """
    if date_from.day == 1 and period_end(PERIOD_MONTH, month_start(date_to)) == date_to and date_from <= date_to:
        starts, month = [], date_from
        while month <= date_to:
            starts.append(month)
            month = period_end(PERIOD_MONTH, month) + dt.timedelta(days=1)
        return Cover(PERIOD_MONTH, tuple(starts))
    days = (date_to - date_from).days + 1
    if date_from.weekday() == 0 and days > 0 and days % 7 == 0:
        return Cover(PERIOD_WEEK, tuple(date_from + dt.timedelta(weeks=i) for i in range(days // 7)))
    return Cover(DAYS, ())


def previous_range(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """The period to compare with: the previous months for whole months, else the same number of days before."""
    made_of = cover(date_from, date_to)
    if made_of.kind == PERIOD_MONTH:
        end = date_from - dt.timedelta(days=1)
        start = date_from
        for _ in made_of.starts:
            start = month_start(start - dt.timedelta(days=1))
        return start, end
    length = dt.timedelta(days=(date_to - date_from).days + 1)
    return date_from - length, date_from - dt.timedelta(days=1)


def has_most_days(days_with_tests: int, date_from: dt.date, date_to: dt.date, share: float = MOST_DAYS) -> bool:
    """Whether a period holds tests on more than ``share`` of its days (the headline compares only then)."""
    days = (date_to - date_from).days + 1
    return days > 0 and days_with_tests > share * days


def comparison_note(days_with_tests: int, date_from: dt.date, date_to: dt.date) -> str:
    """The sentence the headline shows instead of a change when the previous period is too thin ('' if not)."""
    if has_most_days(days_with_tests, date_from, date_to):
        return ""
    days = (date_to - date_from).days + 1
    return (f"No comparison: the previous period ({date_from:%d %b %Y} to {date_to:%d %b %Y}) has tests on "
            f"{days_with_tests} of its {days} days.")


def approximation_note(made_of: Cover) -> str:
    """What a range's medians are, in one sentence."""
    if made_of.is_exact:
        return f"Exact: the median over users of each user's median for the {made_of.kind}."
    if made_of.kind != DAYS:
        return (f"≈ users-weighted mean of the medians of {len(made_of.starts)} whole {made_of.kind}s "
                f"(each exact); a median over the whole range is not stored.")
    return "≈ users-weighted mean of daily medians: the range is not one whole ISO week or calendar month."


def _slice_params(f: Filters) -> dict:
    """The selection's slice only: the range comes separately (the previous period is read with the same slice)."""
    return {"area_level": f.area_level, "area_id": f.area_id, "isp": f.isp or ALL_ISPS}


def daily_counts(gold: GoldSource, f: Filters, date_from: dt.date, date_to: dt.date) -> tuple[int, int | None]:
    """(days with tests, user-days of unsuppressed days) of the selection's slice over the range.

    Suppressed days count as days with tests: their tests are kept, only
    their users are hidden.
    """
    sql = (f"SELECT COUNT(DISTINCT CASE WHEN tests > 0 THEN measurement_date END) AS days, "
           f"{kept_sum('users')} AS user_days FROM {gold.table('area_isp_metrics')} "
           f"WHERE measurement_date BETWEEN @range_from AND @range_to AND {' AND '.join(THE_SLICE)}")
    frame = gold.frame(sql, {"range_from": date_from, "range_to": date_to, **_slice_params(f)})
    if frame.empty:
        return 0, None
    user_days = frame["user_days"].iloc[0]
    return int(frame["days"].iloc[0]), None if pd.isna(user_days) else int(user_days)


def days_with_tests(gold: GoldSource, f: Filters, date_from: dt.date, date_to: dt.date) -> int:
    """Days of the range on which the selection's slice has tests."""
    return daily_counts(gold, f, date_from, date_to)[0]


def _period_totals(gold: GoldSource, f: Filters, made_of: Cover) -> pd.DataFrame:
    """One row from the period table: exact for one period, users-weighted over several."""
    exact = made_of.is_exact
    figures = ", ".join(
        (f"MAX({c}) AS {c}" if exact else f"{weighted_mean(c, 'users')} AS {c}") for c in _MEDIANS
    )
    users = "MAX(users)" if exact else "NULL"  # distinct users of one period; summed users would double count
    sql = (f"SELECT SUM(tests) AS tests, {users} AS users, {figures}, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('area_isp_period_metrics')} "
           f"WHERE period_kind = @period_kind AND period_start BETWEEN @first_start AND @last_start "
           f"AND {' AND '.join(THE_SLICE)}")
    params = {"period_kind": made_of.kind, "first_start": made_of.starts[0], "last_start": made_of.starts[-1],
              **_slice_params(f)}
    return with_suppression_flag(gold.frame(sql, params))


def _daily_totals(gold: GoldSource, f: Filters, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
    figures = ", ".join(f"{weighted_mean(c, 'users')} AS {c}" for c in _MEDIANS)
    sql = (f"SELECT SUM(tests) AS tests, NULL AS users, {figures}, {SUPPRESSION_COUNTS} "
           f"FROM {gold.table('area_isp_metrics')} "
           f"WHERE measurement_date BETWEEN @range_from AND @range_to AND {' AND '.join(THE_SLICE)}")
    return with_suppression_flag(gold.frame(sql, {"range_from": date_from, "range_to": date_to,
                                                  **_slice_params(f)}))


def range_totals(gold: GoldSource, f: Filters, date_from: dt.date, date_to: dt.date) -> dict:
    """The selection's tests, users and median download and upload over one range, with what they are.

    Keys: the figures (``users`` only when exact: distinct users of the
    period; ``user_days``, users summed per unsuppressed day, as the headline
    shows them), ``cells``/``suppressed_cells``/``is_suppressed`` (of the rows
    read), ``grain``, ``is_exact``, ``note``, ``days_with_tests``, ``days``.
    """
    made_of = cover(date_from, date_to)
    frame = _period_totals(gold, f, made_of) if made_of.kind != DAYS else _daily_totals(gold, f, date_from, date_to)
    row = frame.iloc[0].to_dict() if len(frame) else {}
    row = {k: (None if pd.isna(v) else v) for k, v in row.items()}
    if not row.get("cells"):
        row.update(cells=0, suppressed_cells=0, is_suppressed=False)
    if row["is_suppressed"]:
        row.update({c: None for c in _MEDIANS}, users=None)
    days, user_days = daily_counts(gold, f, date_from, date_to)
    return {**row, "user_days": user_days, "date_from": date_from, "date_to": date_to, "grain": made_of.kind,
            "is_exact": made_of.is_exact, "note": approximation_note(made_of),
            "days_with_tests": days, "days": (date_to - date_from).days + 1}


def selection_period_totals(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Current and previous period of the selection, one row each (``period``): tests, users, medians.

    The previous row carries ``is_comparable`` (it has tests on most of its
    days) and ``comparison_note`` (the sentence to show when it has not);
    the headline should compute a change only when ``is_comparable``.
    """
    previous_from, previous_to = previous_range(f.date_from, f.date_to)
    current = range_totals(gold, f, f.date_from, f.date_to)
    previous = range_totals(gold, f, previous_from, previous_to)
    current.update(period="current", is_comparable=True, comparison_note="")
    previous.update(period="previous", is_comparable=has_most_days(previous["days_with_tests"], previous_from,
                                                                   previous_to),
                    comparison_note=comparison_note(previous["days_with_tests"], previous_from, previous_to))
    return pd.DataFrame([current, previous])


def period_cells(gold: GoldSource, kind: str, date_from: dt.date, date_to: dt.date,
                 conditions: tuple[str, ...] = (), params: dict | None = None) -> pd.DataFrame:
    """Every ``kind`` (week or month) period lying wholly in the range, per slice matching ``conditions``.

    Exact per period (no cross-period averaging); suppressed cells come back
    flagged with null statistics. ``conditions`` are SQL over the slice
    columns with ``@name`` parameters given in ``params`` (e.g. queries.THE_SLICE
    with ``Filters.sql_params()``, or ``("isp = 'all'",)`` for every area).
    """
    if kind not in (PERIOD_WEEK, PERIOD_MONTH):
        raise ValueError(f"period kind must be {PERIOD_WEEK!r} or {PERIOD_MONTH!r}, not {kind!r}")
    where = " AND ".join(("period_kind = @period_kind", "period_start >= @range_from",
                          "period_end <= @range_to", *conditions))
    sql = (f"SELECT period_kind, period_start, period_end, area_level, area_id, isp, area, periphery_id, periphery, "
           f"{', '.join(EXACT_COLUMNS)}, is_suppressed FROM {gold.table('area_isp_period_metrics')} "
           f"WHERE {where} ORDER BY area_level, area_id, isp, period_start")
    return gold.frame(sql, {**(params or {}), "period_kind": kind, "range_from": date_from, "range_to": date_to})


def whole_period_cells(gold: GoldSource, f: Filters, conditions: tuple[str, ...]) -> pd.DataFrame:
    """Gold's exact cells of the period's whole weeks or months (months win), per slice matching ``conditions``
    (``@name`` parameters from ``f``); none when the period is not made of them: only then does a reader fall
    back to averaging daily medians."""
    made_of = cover(f.date_from, f.date_to)
    if made_of.kind == DAYS:
        return pd.DataFrame(columns=["period_kind", "period_start", "period_end", "area_level", "area_id", "isp",
                                     "area", "periphery_id", "periphery", *EXACT_COLUMNS, "is_suppressed"])
    return period_cells(gold, made_of.kind, f.date_from, f.date_to, conditions, f.sql_params())


def area_periods(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Every area at the selection's ISP per whole week or month of the period (exact medians over users)."""
    return whole_period_cells(gold, f, (AT_THE_ISP,))


def provider_periods(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """The selected area per provider (and 'all') per whole week or month of the period (exact medians)."""
    return whole_period_cells(gold, f, THE_SLICE[:2])
