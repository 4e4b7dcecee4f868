"""Calendar helpers on plain dates (no Spark): day ranges, ISO weeks, months and the Gold period kinds."""

from __future__ import annotations

import datetime as dt

from gnp.core.schemas import PERIOD_WEEK


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every day from ``first`` to ``last``, both included."""
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def week_start(day: dt.date) -> dt.date:
    """Monday of the ISO week holding ``day``."""
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def period_end(kind: str, start: dt.date) -> dt.date:
    """The last day of the week (``PERIOD_WEEK``) or month starting on ``start``."""
    if kind == PERIOD_WEEK:
        return start + dt.timedelta(days=6)
    return month_end(start)


def period_days(kind: str, start: dt.date) -> list[dt.date]:
    return days_between(start, period_end(kind, start))
