"""Headline figures: the selection's totals for the period, against the previous period when that is worth it.

The totals come from gnp.dashboard.periods: over one whole ISO week or calendar
month the medians are Gold's exact medians over users and shown as they are;
any other range is still approximated, so its median cards carry "≈" and the
note saying how. The previous period is ``periods.previous_range`` (the
previous months for whole months, else as many days before), and a change is
computed only when it holds tests on most of its days (``has_most_days``):
otherwise the headline says once why there is no change. Contract attainment
is compared with the same previous range under the same rule. Over one whole
week or month the users card counts the period's distinct users (Gold's
period table); over any other range, users summed per day.
"""

from __future__ import annotations

import math

import pandas as pd

from gnp.dashboard import periods
from gnp.dashboard.queries import (PERIOD_OF_DAY, SUPPRESSION_COUNTS, THE_SLICE, Filters, kept_sum, weighted_mean,
                                   with_suppression_flag)
from gnp.dashboard.source import GoldSource

HEADLINE_COLUMNS = ["metric", "label", "value", "previous", "change", "change_unit", "unit", "is_suppressed",
                    "note", "comparison_note"]
CURRENT, PREVIOUS = "current", "previous"
APPROX = "≈"
_SELECTION_METRICS = (  # metric, label, unit, a median (exact only over one whole week or month)
    ("tests", "Tests", "", False),
    ("user_days", "Users (summed per day)", "", False),
    ("download_median_mbps", "Median download over users", "Mbps", True),
    ("upload_median_mbps", "Median upload over users", "Mbps", True),
)
_DISTINCT_USERS = ("users", "Distinct users", "", False)  # replaces the summed users over one whole week or month
# null when suppressed
_STATISTICS = {"users", "user_days", "download_median_mbps", "upload_median_mbps", "share_reaching_high"}


def _row(frame: pd.DataFrame, period: str) -> dict:
    row = frame[frame["period"] == period]
    return row.iloc[0].to_dict() if len(row) else {}


def _value(row: dict, column: str) -> float | None:
    value = row.get(column)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _change(value: float | None, previous: float | None, unit: str) -> float | None:
    if value is None or previous is None:
        return None
    if unit == "pp":
        return (value - previous) * 100
    return None if previous == 0 else (value / previous - 1) * 100


def _comparison(totals: pd.DataFrame) -> tuple[bool, str]:
    """(compare?, why not): frames without the flags (older callers) compare as before."""
    previous = _row(totals, PREVIOUS)
    comparable = previous.get("is_comparable", True)
    return bool(True if comparable is None else comparable), previous.get("comparison_note") or ""


def headline_frame(totals: pd.DataFrame, attainment: pd.DataFrame, high_threshold: float = 0.8) -> pd.DataFrame:
    """One row per headline metric; statistics of an all-suppressed selection are null and flagged.

    ``totals`` is ``periods.selection_period_totals``: a median card is
    labelled "≈" with the row's ``note`` unless ``is_exact``, when the users
    card also becomes the period's distinct users; ``change`` is computed only
    when the previous row ``is_comparable``, else every row carries its
    ``comparison_note`` (the page shows it once).
    """
    comparable, why_not = _comparison(totals)
    current = _row(totals, CURRENT)
    exact = bool(current.get("is_exact", False))
    metrics = [_DISTINCT_USERS if exact and metric == "user_days" else (metric, label, unit, is_median)
               for metric, label, unit, is_median in _SELECTION_METRICS]
    sources = [(totals, metric, label, unit, "%", is_median) for metric, label, unit, is_median in metrics]
    sources.append((attainment, "share_reaching_high", f"User-days reaching {high_threshold:.0%} of contract",
                    "share", "pp", False))
    rows = []
    for frame, metric, label, unit, change_unit, is_median in sources:
        now, before = _row(frame, CURRENT), _row(frame, PREVIOUS)
        value, previous = _value(now, metric), _value(before, metric)
        is_statistic = metric in _STATISTICS
        approximated = is_median and not exact
        rows.append({
            "metric": metric, "label": f"{label} {APPROX}" if approximated else label, "value": value,
            "previous": None if (is_statistic and before.get("is_suppressed")) else previous,
            "change": _change(value, previous, change_unit) if comparable else None,
            "change_unit": change_unit, "unit": unit,
            "is_suppressed": bool(is_statistic and now.get("is_suppressed")),
            "note": (current.get("note") or "") if approximated else "",
            "comparison_note": "" if comparable else why_not,
        })
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def attainment_period_totals(gold: GoldSource, f: Filters) -> pd.DataFrame:
    """Share of the selection's user-days reaching the high threshold, current and ``periods.previous_range``.

    The previous range always ends the day before the current one starts, so
    one scan over both, split by day, reads them.
    """
    previous_from, _ = periods.previous_range(f.date_from, f.date_to)
    sql = (f"SELECT period, {kept_sum('user_days')} AS user_days, "
           f"{weighted_mean('share_reaching_high', 'user_days')} AS share_reaching_high, {SUPPRESSION_COUNTS} "
           f"FROM (SELECT {PERIOD_OF_DAY}, user_days, share_reaching_high, is_suppressed "
           f"FROM {gold.table('contract_attainment')} "
           f"WHERE measurement_date BETWEEN @previous_from AND @date_to AND {' AND '.join(THE_SLICE)}) AS in_period "
           f"GROUP BY period")
    return with_suppression_flag(gold.frame(sql, {**f.sql_params(), "previous_from": previous_from}))


def headline(gold: GoldSource, f: Filters, high_threshold: float = 0.8) -> pd.DataFrame:
    """Tests, users, medians and contract attainment of the selection's slice, with the change where it means
    something."""
    return headline_frame(periods.selection_period_totals(gold, f), attainment_period_totals(gold, f), high_threshold)
