"""How the chapters write numbers, names and caveats, and the summary every ranking starts from.

A ranking sums daily cells over the window. Period "medians" are the
users-weighted mean of daily medians (a median of a union cannot be rebuilt
from daily medians), so sentences write them with "≈". When the range is made of
whole ISO weeks or calendar months, figures come from Gold's period table
(``summarise_range``): exact for one whole period, written without "≈"; a
mean of several whole periods keeps the "≈". A day whose cell is
suppressed (fewer than k users) adds nothing to the figure and is counted; an
area or provider with every day suppressed is not ranked but named; one whose
kept user-days are few is ranked and called thin.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from gnp.dashboard import periods

THIN_USER_DAYS = 50  # below this many user-days a period figure moves a lot with a few users: say so
APPROX = "≈"


def mbps(value: float, exact: bool = False) -> str:
    """Mbps with "≈" unless the figure is an exact median (one whole period read from Gold)."""
    sign = "" if exact else APPROX
    return f"{sign}{value:,.1f} Mbps" if value < 100 else f"{sign}{value:,.0f} Mbps"


def row_mbps(row, column: str) -> str:
    return mbps(row[column], bool(row.get("is_exact", False)))


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
    """The chapter's scope, first in every chapter, with what its medians are (exact or ≈)."""
    made_of = periods.cover(date_from, date_to)
    if made_of.is_exact:
        how = (f"medians over the {made_of.kind} are exact (each user's median of the {made_of.kind}, then the "
               f"median over users); figures from other tables stay {APPROX} users-weighted means of daily ones")
    elif made_of.kind != periods.DAYS:
        how = (f"medians over the range are {APPROX} users-weighted means of the exact medians of its "
               f"{len(made_of.starts)} whole {made_of.kind}s, and comparisons between them are exact when each "
               f"side is one {made_of.kind}")
    else:
        how = (f"the range is not made of whole ISO weeks or calendar months, so figures over several days are "
               f"{APPROX} users-weighted means of daily medians")
    return f"This chapter reads Gold for {period(date_from, date_to)}. Cells with fewer than {k} users are " \
           f"suppressed there; {how}."


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


def summarise_range(daily: pd.DataFrame, whole: pd.DataFrame | None, key: str, label: str,
                    measures: tuple[str, ...]) -> pd.DataFrame:
    """``summarise`` over Gold's whole-period cells when the range is made of them, else over daily cells.

    Adds ``unit`` (day, week or month: what ``days``/``suppressed_days``
    count) and ``is_exact`` (one whole period: its figures are Gold's exact
    medians over users, not a mean of smaller medians).
    """
    if whole is None or whole.empty:
        return summarise(daily, key, label, measures).assign(unit="day", is_exact=False)
    out = summarise(whole, key, label, measures)
    return out.assign(unit=whole["period_kind"].iloc[0], is_exact=whole["period_start"].nunique() == 1)


def unit_of(summary: pd.DataFrame) -> str:
    """What a summary's rows were summed over: day, week or month."""
    return summary["unit"].iloc[0] if len(summary) and "unit" in summary else "day"


def weight_word(summary) -> str:
    """What a summary's ``user_days`` counts: users of one period, else user-days (or user-weeks, user-months)."""
    if len(summary) == 0 or "unit" not in summary:
        return "user-days"
    first = summary.iloc[0] if isinstance(summary, pd.DataFrame) else summary
    return "users" if first["is_exact"] else f"user-{first['unit']}s"


def solid_first(shown: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The rows to name fastest and slowest from: those with enough user-days when at least two have,
    else every shown row (each then hedged); and the thin ones left out of that comparison."""
    solid = shown[~shown["is_thin"]]
    if len(solid) >= 2:
        return solid, shown.loc[shown["is_thin"], "label"].tolist()
    return shown, []


def thin_note(row) -> str:
    """' (only N user-days: read with care)' for a thin row, else ''."""
    return f" (only {count(row['user_days'])} {weight_word(row)}: read with care)" if row["is_thin"] else ""


def suppressed_note(hidden: list[str], what: str, k: int) -> str:
    """The sentence naming what could not be ranked because every cell had fewer than k users."""
    if not hidden:
        return ""
    verb = "was" if len(hidden) == 1 else "were"
    return (f"{names(sorted(hidden))} {verb} left out: every day of the period had fewer than {k} users there, "
            f"so Gold suppresses {what} to protect privacy.")
