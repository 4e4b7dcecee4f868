"""Chapter 60: where Greece's internet is fastest and slowest, and how that changed over the period.

Pure functions from the ``area_days`` query (every area per day, over every
provider) to rankings, a first-half/second-half comparison and the sentences
that state them.
"""

from __future__ import annotations

import pandas as pd

from gnp.chapters import data
from gnp.chapters import wording as w
from gnp.schemas import AREA_COUNTRY, AREA_PERIPHERY, AREA_REGIONAL_UNIT

QUERIES = {"area_days": data.area_days}
MEASURES = ("download_median_mbps", "upload_median_mbps")
LEVEL_WORDS = {AREA_PERIPHERY: ("periphery", "peripheries"), AREA_REGIONAL_UNIT: ("regional unit", "regional units")}


def ranking(area_days: pd.DataFrame, level: str) -> pd.DataFrame:
    """Areas of one level, fastest first by ≈ period median download; suppressed ones last."""
    summary = w.summarise(area_days[area_days["area_level"] == level], "area_id", "area", MEASURES)
    return summary.sort_values(["is_suppressed", "download_median_mbps", "label"],
                               ascending=[True, False, True], ignore_index=True)


def fastest_and_slowest(ranked: pd.DataFrame, level: str, k: int) -> list[str]:
    """Who is fastest and slowest at one area level, how far apart, and what could not be ranked."""
    one, many = LEVEL_WORDS[level]
    shown = ranked[~ranked["is_suppressed"]]
    hidden = ranked.loc[ranked["is_suppressed"], "label"].tolist()
    if shown.empty:
        return [f"No {one} had {k} or more users on any day of the period, so none can be ranked."]
    pool, thin = w.solid_first(shown)
    top, bottom = pool.iloc[0], pool.iloc[-1]
    sentences = []
    if len(shown) == 1:
        sentences.append(f"Only one {one} can be ranked: {top['label']}, with a median download of "
                         f"{w.mbps(top['download_median_mbps'])}{w.thin_note(top)}.")
    else:
        ratio = w.times(top["download_median_mbps"], bottom["download_median_mbps"])
        among = f"{len(pool)} {many} " + (f"with {w.THIN_USER_DAYS} or more user-days" if thin else "ranked")
        sentences.append(
            f"Of {among}, the fastest was {top['label']} with a median download of "
            f"{w.mbps(top['download_median_mbps'])}{w.thin_note(top)}, and the slowest {bottom['label']} with "
            f"{w.mbps(bottom['download_median_mbps'])}" + (f", {ratio} times slower" if ratio else "")
            + f"{w.thin_note(bottom)}.")
        if thin:
            rest, are = ("rests", "is") if len(thin) == 1 else ("rest", "are")
            sentences.append(f"{len(thin)} more {rest} on fewer than {w.THIN_USER_DAYS} user-days ({w.names(thin)}) "
                             f"and {are} not compared here: a handful of users moves such figures.")
        elif shown["is_thin"].all():
            sentences.append(f"Every ranked {one} rests on fewer than {w.THIN_USER_DAYS} user-days, so this "
                             f"ranking is indicative only.")
    partial = shown[shown["suppressed_days"] > 0]
    if len(partial):
        sentences.append(f"For {len(partial)} of the {many} shown, some days had fewer than {k} users and are "
                         f"left out of their figures ({w.count(partial['suppressed_days'].sum())} area-days in all).")
    note = w.suppressed_note(hidden, "its figures" if len(hidden) == 1 else "their figures", k)
    return sentences + ([note] if note else [])


def halves(area_days: pd.DataFrame) -> tuple[list, list]:
    """The period's days with data, split into a first and a second half (the first the shorter)."""
    days = sorted(pd.to_datetime(area_days["measurement_date"]).dt.date.unique())
    return days[: len(days) // 2], days[len(days) // 2:]


def change(area_days: pd.DataFrame, level: str) -> pd.DataFrame:
    """Per area of a level, ≈ median download in each half of the period and the relative change;
    only areas ranked (not suppressed) in both halves."""
    first, second = halves(area_days)
    cells = area_days[area_days["area_level"] == level]
    dates = pd.to_datetime(cells["measurement_date"]).dt.date
    before = w.summarise(cells[dates.isin(first)], "area_id", "area", MEASURES)
    after = w.summarise(cells[dates.isin(second)], "area_id", "area", MEASURES)
    both = before.merge(after, on=["area_id", "label"], suffixes=("_before", "_after"), how="inner")
    both = both[~both["is_suppressed_before"] & ~both["is_suppressed_after"]].copy()
    both["change"] = both["download_median_mbps_after"] / both["download_median_mbps_before"] - 1
    return both.sort_values(["change", "label"], ascending=[False, True], ignore_index=True)


def change_sentences(area_days: pd.DataFrame) -> list[str]:
    """How Greece's median download moved between the halves of the period, and which peripheries moved most."""
    first, second = halves(area_days)
    if not first:
        return ["The period holds a single day with data, so there is no change over time to describe."]
    country = change(area_days, AREA_COUNTRY)
    span = (f"Between the first half of the period ({w.period(first[0], first[-1])}) and the second "
            f"({w.period(second[0], second[-1])})")
    if country.empty:
        sentences = [f"{span}, Greece as a whole had too few users in one of them to compare."]
    else:
        c = country.iloc[0]
        sentences = [f"{span}, Greece's median download went from {w.mbps(c['download_median_mbps_before'])} to "
                     f"{w.mbps(c['download_median_mbps_after'])} ({w.signed_pct(c['change'])})."]
    moved = change(area_days, AREA_PERIPHERY)
    solid = moved[~moved["is_thin_before"] & ~moved["is_thin_after"]]
    hedge = ""
    if len(solid) >= 2:
        moved, which = solid, f"{len(solid)} peripheries with {w.THIN_USER_DAYS} or more user-days in both halves"
    else:
        which = f"{len(moved)} peripheries with enough users in both halves"
        if (moved["is_thin_before"] | moved["is_thin_after"]).any():
            hedge = f" Most rest on fewer than {w.THIN_USER_DAYS} user-days in a half: read these as indicative."
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
    days = frames["area_days"]
    if days.empty:
        return {"ranking": ["Gold holds no data for this period."], "units": [], "change": []}
    return {
        "ranking": fastest_and_slowest(ranking(days, AREA_PERIPHERY), AREA_PERIPHERY, k),
        "units": fastest_and_slowest(ranking(days, AREA_REGIONAL_UNIT), AREA_REGIONAL_UNIT, k),
        "change": change_sentences(days),
    }
