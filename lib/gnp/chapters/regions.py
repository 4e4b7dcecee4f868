"""Chapter 60: where Greece's internet is fastest and slowest, and how that changed over the period.

Pure functions from the ``area_days`` query (every area per day, over every
provider) and ``area_periods`` (its whole weeks or months, exact, when the
range is made of them) to rankings, a first-half/second-half comparison and the sentences
that state them.
"""

from __future__ import annotations

import pandas as pd

from gnp.chapters import wording as w
from gnp.core.dates import period_end
from gnp.core.schemas import AREA_COUNTRY, AREA_PERIPHERY, AREA_REGIONAL_UNIT
from gnp.dashboard import periods, queries

QUERIES = {"area_days": queries.area_days, "area_periods": periods.area_periods}
MEASURES = ("download_median_mbps", "upload_median_mbps")
LEVEL_WORDS = {AREA_PERIPHERY: ("periphery", "peripheries"), AREA_REGIONAL_UNIT: ("regional unit", "regional units")}


def _at(cells: pd.DataFrame | None, level: str) -> pd.DataFrame | None:
    return None if cells is None else cells[cells["area_level"] == level]


def ranking(area_days: pd.DataFrame, level: str, area_periods: pd.DataFrame | None = None) -> pd.DataFrame:
    """Areas of one level, fastest first by median download over the range (exact for one whole week or
    month, else ≈); suppressed ones last."""
    summary = w.summarise_range(_at(area_days, level), _at(area_periods, level), "area_id", "area", MEASURES)
    return summary.sort_values(["is_suppressed", "download_median_mbps", "label"],
                               ascending=[True, False, True], ignore_index=True)


def fastest_and_slowest(ranked: pd.DataFrame, level: str, k: int) -> list[str]:
    """Who is fastest and slowest at one area level, how far apart, and what could not be ranked."""
    one, many = LEVEL_WORDS[level]
    shown = ranked[~ranked["is_suppressed"]]
    hidden = ranked.loc[ranked["is_suppressed"], "label"].tolist()
    if shown.empty:
        return [f"No {one} had {k} or more users on any {w.unit_of(ranked)} of the period, so none can be "
                f"ranked."]
    pool, thin = w.solid_first(shown)
    top, bottom = pool.iloc[0], pool.iloc[-1]
    sentences = []
    if len(shown) == 1:
        sentences.append(f"Only one {one} can be ranked: {top['label']}, with a median download of "
                         f"{w.row_mbps(top, 'download_median_mbps')}{w.thin_note(top)}.")
    else:
        ratio = w.times(top["download_median_mbps"], bottom["download_median_mbps"])
        weights = w.weight_word(ranked)
        among = f"{len(pool)} {many} " + (f"with {w.THIN_USER_DAYS} or more {weights}" if thin else "ranked")
        sentences.append(
            f"Of {among}, the fastest was {top['label']} with a median download of "
            f"{w.row_mbps(top, 'download_median_mbps')}{w.thin_note(top)}, and the slowest {bottom['label']} with "
            f"{w.row_mbps(bottom, 'download_median_mbps')}" + (f", {ratio} times slower" if ratio else "")
            + f"{w.thin_note(bottom)}.")
        if thin:
            rest, are = ("rests", "is") if len(thin) == 1 else ("rest", "are")
            sentences.append(f"{len(thin)} more {rest} on fewer than {w.THIN_USER_DAYS} {weights} ({w.names(thin)}) "
                             f"and {are} not compared here: a handful of users moves such figures.")
        elif shown["is_thin"].all():
            sentences.append(f"Every ranked {one} rests on fewer than {w.THIN_USER_DAYS} {weights}, so this "
                             f"ranking is indicative only.")
    partial = shown[shown["suppressed_days"] > 0]
    if len(partial):
        unit = w.unit_of(ranked)
        sentences.append(f"For {len(partial)} of the {many} shown, some {unit}s had fewer than {k} users and are "
                         f"left out of their figures ({w.count(partial['suppressed_days'].sum())} "
                         f"area-{unit}s in all).")
    note = w.suppressed_note(hidden, "its figures" if len(hidden) == 1 else "their figures", k)
    return sentences + ([note] if note else [])


def halves(area_days: pd.DataFrame) -> tuple[list, list]:
    """The period's days with data, split into a first and a second half (the first the shorter)."""
    days = sorted(pd.to_datetime(area_days["measurement_date"]).dt.date.unique())
    return days[: len(days) // 2], days[len(days) // 2:]


def period_halves(area_periods: pd.DataFrame | None) -> tuple[list, list]:
    """The range's whole weeks or months split into a first and a second half; empty when fewer than two."""
    if area_periods is None or area_periods.empty:
        return [], []
    starts = sorted(pd.to_datetime(area_periods["period_start"]).dt.date.unique())
    return (starts[: len(starts) // 2], starts[len(starts) // 2:]) if len(starts) >= 2 else ([], [])


def _spans(area_days: pd.DataFrame, area_periods: pd.DataFrame | None) -> tuple[tuple, tuple] | None:
    """((first day, last day) of each half), by whole periods when the range is made of two or more."""
    first, second = period_halves(area_periods)
    if first:
        kind = area_periods["period_kind"].iloc[0]
        return ((first[0], period_end(kind, first[-1])), (second[0], period_end(kind, second[-1])))
    first, second = halves(area_days)
    return ((first[0], first[-1]), (second[0], second[-1])) if first else None


def _between(cells: pd.DataFrame, column: str, span: tuple) -> pd.DataFrame:
    dates = pd.to_datetime(cells[column]).dt.date
    return cells[(dates >= span[0]) & (dates <= span[1])]


def change(area_days: pd.DataFrame, level: str, area_periods: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per area of a level, median download in each half of the period and the relative change; only areas
    ranked (not suppressed) in both halves. A half that is one whole week or month is exact
    (``is_exact_before``/``_after``), else ≈."""
    spans = _spans(area_days, area_periods)
    if spans is None:
        return pd.DataFrame(columns=["area_id", "label", "change"])
    by_period = period_halves(area_periods)[0] != []
    sides = []
    for span in spans:
        if by_period:
            whole = _between(_at(area_periods, level), "period_start", span)
            sides.append(w.summarise_range(None, whole, "area_id", "area", MEASURES))
        else:
            daily = _between(_at(area_days, level), "measurement_date", span)
            sides.append(w.summarise_range(daily, None, "area_id", "area", MEASURES))
    both = sides[0].merge(sides[1], on=["area_id", "label"], suffixes=("_before", "_after"), how="inner")
    both = both[~both["is_suppressed_before"] & ~both["is_suppressed_after"]].copy()
    both["change"] = both["download_median_mbps_after"] / both["download_median_mbps_before"] - 1
    return both.sort_values(["change", "label"], ascending=[False, True], ignore_index=True)


def change_sentences(area_days: pd.DataFrame, area_periods: pd.DataFrame | None = None) -> list[str]:
    """How Greece's median download moved between the halves of the period, and which peripheries moved most."""
    spans = _spans(area_days, area_periods)
    if spans is None:
        return ["The period holds a single day with data, so there is no change over time to describe."]
    (first, last), (second, end) = spans
    country = change(area_days, AREA_COUNTRY, area_periods)
    span = (f"Between the first half of the period ({w.period(first, last)}) and the second "
            f"({w.period(second, end)})")
    if country.empty:
        sentences = [f"{span}, Greece as a whole had too few users in one of them to compare."]
    else:
        c = country.iloc[0]
        before = w.mbps(c["download_median_mbps_before"], c["is_exact_before"])
        after = w.mbps(c["download_median_mbps_after"], c["is_exact_after"])
        exact = c["is_exact_before"] and c["is_exact_after"]
        sentences = [f"{span}, Greece's median download went from {before} to {after} ({w.signed_pct(c['change'])})"
                     + (f", each an exact median over users of the {c['unit_before']}." if exact else ".")]
    moved = change(area_days, AREA_PERIPHERY, area_periods)
    weights = w.weight_word(moved.rename(columns={"unit_before": "unit", "is_exact_before": "is_exact"}))
    solid = moved[~moved["is_thin_before"] & ~moved["is_thin_after"]]
    hedge = ""
    if len(solid) >= 2:
        moved, which = solid, f"{len(solid)} peripheries with {w.THIN_USER_DAYS} or more {weights} in both halves"
    else:
        which = f"{len(moved)} peripheries with enough users in both halves"
        if (moved["is_thin_before"] | moved["is_thin_after"]).any():
            hedge = f" Most rest on fewer than {w.THIN_USER_DAYS} {weights} in a half: read these as indicative."
    if len(moved) >= 2:
        up, down = moved.iloc[0], moved.iloc[-1]
        rise = f"{up['label']} rose most ({w.signed_pct(up['change'])})" if up["change"] > 0 \
            else f"none rose; {up['label']} changed least ({w.signed_pct(up['change'])})"
        fall = f"{down['label']} fell most ({w.signed_pct(down['change'])})" if down["change"] < 0 \
            else f"none fell; {down['label']} gained least ({w.signed_pct(down['change'])})"
        sentences.append(f"Of the {which}, {rise}, and {fall}.{hedge}")
    return sentences


def findings(frames: dict[str, pd.DataFrame], k: int) -> dict[str, list[str]]:
    """Every sentence of the chapter, by section."""
    days, whole = frames["area_days"], frames.get("area_periods")
    if days.empty:
        return {"ranking": ["Gold holds no data for this period."], "units": [], "change": []}
    return {
        "ranking": fastest_and_slowest(ranking(days, AREA_PERIPHERY, whole), AREA_PERIPHERY, k),
        "units": fastest_and_slowest(ranking(days, AREA_REGIONAL_UNIT, whole), AREA_REGIONAL_UNIT, k),
        "change": change_sentences(days, whole),
    }
