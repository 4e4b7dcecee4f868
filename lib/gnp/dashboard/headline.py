"""Headline figures: the selection's totals for the period, against the previous period."""

from __future__ import annotations

import math

import pandas as pd

from gnp.dashboard.queries import Filters, attainment_totals, selection_totals
from gnp.dashboard.source import GoldSource

HEADLINE_COLUMNS = ["metric", "label", "value", "previous", "change", "change_unit", "unit", "is_suppressed"]
CURRENT, PREVIOUS = "current", "previous"
_SELECTION_METRICS = (
    ("tests", "Tests", ""),
    ("user_days", "Users (summed per day)", ""),
    ("download_median_mbps", "Median download over users ≈", "Mbps"),
    ("upload_median_mbps", "Median upload over users ≈", "Mbps"),
)
_STATISTICS = {"user_days", "download_median_mbps", "upload_median_mbps", "share_reaching_high"}  # null when suppressed


def _period_value(frame: pd.DataFrame, period: str, column: str) -> tuple[float | None, bool]:
    """(value, suppressed) of one period; a missing period is (None, False)."""
    row = frame[frame["period"] == period]
    if row.empty:
        return None, False
    value = row[column].iloc[0]
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    return (None if missing else float(value)), bool(row["is_suppressed"].iloc[0])


def _change(value: float | None, previous: float | None, unit: str) -> float | None:
    if value is None or previous is None:
        return None
    if unit == "pp":
        return (value - previous) * 100
    return None if previous == 0 else (value / previous - 1) * 100


def headline_frame(totals: pd.DataFrame, attainment: pd.DataFrame, high_threshold: float = 0.8) -> pd.DataFrame:
    """One row per headline metric; statistics of an all-suppressed selection are null and flagged."""
    rows = []
    sources = [(totals, metric, label, unit, "%") for metric, label, unit in _SELECTION_METRICS]
    share_label = f"User-days reaching {high_threshold:.0%} of contract"
    sources.append((attainment, "share_reaching_high", share_label, "share", "pp"))
    for frame, metric, label, unit, change_unit in sources:
        value, suppressed = _period_value(frame, CURRENT, metric)
        previous, previous_suppressed = _period_value(frame, PREVIOUS, metric)
        is_statistic = metric in _STATISTICS
        rows.append({
            "metric": metric, "label": label, "value": value,
            "previous": None if (is_statistic and previous_suppressed) else previous,
            "change": _change(value, previous, change_unit), "change_unit": change_unit, "unit": unit,
            "is_suppressed": bool(is_statistic and suppressed),
        })
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def headline(gold: GoldSource, f: Filters, high_threshold: float = 0.8) -> pd.DataFrame:
    """Tests, users, medians and contract attainment of the selection's slice, with the change."""
    return headline_frame(selection_totals(gold, f), attainment_totals(gold, f), high_threshold)
