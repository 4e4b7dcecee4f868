"""How the chapters write numbers, names and caveats, and the summary every ranking starts from.

A ranking sums daily cells over the window. Period "medians" are the
users-weighted mean of daily medians (a median of a union cannot be rebuilt
from daily medians), so sentences write them with "≈". A day whose cell is
suppressed (fewer than k users) adds nothing to the figure and is counted; an
area or provider with every day suppressed is not ranked but named; one whose
kept user-days are few is ranked and called thin.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

THIN_USER_DAYS = 50  # below this many user-days a period figure moves a lot with a few users: say so
APPROX = "≈"


def mbps(value: float) -> str:
    return f"{APPROX}{value:,.1f} Mbps" if value < 100 else f"{APPROX}{value:,.0f} Mbps"


def pct(share: float) -> str:
    """A share (0..1) as a whole percent."""
    return f"{share * 100:.0f}%"


def signed_pct(change: float) -> str:
    return "±0%" if round(change * 100) == 0 else f"{change * 100:+.0f}%"


def count(n: float) -> str:
    return f"{int(n):,}"


def day(d) -> str:
    return pd.Timestamp(d).strftime("%-d %b %Y")


def period(date_from: dt.date, date_to: dt.date) -> str:
    return day(date_from) if date_from == date_to else f"{day(date_from)} to {day(date_to)}"


def about(date_from: dt.date, date_to: dt.date, k: int) -> str:
    """The chapter's scope, first in every chapter."""
    return (f"This chapter reads Gold for {period(date_from, date_to)}. Cells with fewer than {k} users are "
            f"suppressed there; figures over several days are {APPROX} users-weighted means of daily medians.")


def names(items: list[str], limit: int = 4) -> str:
    """'A', 'A and B', 'A, B and C', or the first few and 'N others'."""
    items = list(items)
    if len(items) > limit:
        items = [*items[:limit - 1], f"{len(items) - limit + 1} others"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def times(a: float, b: float) -> str:
    """How many times a is b, for 'X is 2.3 times Y'; '' when not meaningful."""
    return f"{a / b:.1f}" if b and not math.isnan(b) and b > 0 else ""


def weighted(values: pd.Series, weights: pd.Series) -> float:
    kept = values.notna() & weights.notna() & (weights > 0)
    total = weights[kept].sum()
    return float((values[kept] * weights[kept]).sum() / total) if total else math.nan


def summarise(daily: pd.DataFrame, key: str, label: str, measures: tuple[str, ...]) -> pd.DataFrame:
    """One row per ``key``: its label, kept user-days, days and suppressed days, and each measure's
    users-weighted mean over its unsuppressed days; ``is_suppressed`` when every day was, ``is_thin``
    when the kept user-days are fewer than THIN_USER_DAYS."""
    rows = []
    for value, group in daily.groupby(key, sort=True):
        kept = group[~group["is_suppressed"].astype(bool)]
        row = {key: value, "label": group[label].dropna().iloc[0] if group[label].notna().any() else str(value),
               "user_days": float(kept["users"].sum()), "days": len(group),
               "suppressed_days": int(group["is_suppressed"].astype(bool).sum())}
        row.update({m: weighted(kept[m], kept["users"]) for m in measures})
        rows.append(row)
    out = pd.DataFrame(rows, columns=[key, "label", "user_days", "days", "suppressed_days", *measures])
    out["is_suppressed"] = out["suppressed_days"] == out["days"]
    out["is_thin"] = ~out["is_suppressed"] & (out["user_days"] < THIN_USER_DAYS)
    return out


def solid_first(shown: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows to name fastest and slowest from: those with enough user-days when at least two have,
    else every shown row (each then hedged); and the thin ones left out of that comparison."""
    solid = shown[~shown["is_thin"]]
    if len(solid) >= 2:
        return solid, shown.loc[shown["is_thin"], "label"].tolist()
    return shown, []


def thin_note(row) -> str:
    """' (only N user-days: read with care)' for a thin row, else ''."""
    return f" (only {count(row['user_days'])} user-days: read with care)" if row["is_thin"] else ""


def suppressed_note(hidden: list[str], what: str, k: int) -> str:
    """The sentence naming what could not be ranked because every cell had fewer than k users."""
    if not hidden:
        return ""
    verb = "was" if len(hidden) == 1 else "were"
    return (f"{names(sorted(hidden))} {verb} left out: every day of the period had fewer than {k} users there, "
            f"so Gold suppresses {what} to protect privacy.")
