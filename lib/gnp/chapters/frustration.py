"""Chapter 80: the frustration staircase, returning users and weekly cohorts, explained on the data.

The staircase groups sessions by how many tests a user ran in a row (1, 2-3,
4+): people retest when a line disappoints, so the steps should show worse
speeds and more loss as they climb. Pure functions from the staircase,
retention and cohort queries to the sentences that say whether this data
shows it.
"""

from __future__ import annotations

import math

import pandas as pd

from gnp.chapters import wording as w
from gnp.dashboard import queries

QUERIES = {"staircase": queries.frustration_staircase, "retention": queries.retention, "cohorts": queries.cohort_retention}
FIRST_STEP, TOP_STEP = "1", "4+"


def staircase_sentences(steps: pd.DataFrame, k: int) -> list[str]:
    """What share of sessions each step holds, and whether the top step is slower and lossier than the first."""
    if steps.empty:
        return ["Gold holds no sessions for this period."]
    total = steps["sessions"].sum()
    by = steps.set_index("behaviour_bucket")
    sentences = []
    if FIRST_STEP in by.index:
        share = by.loc[FIRST_STEP, "sessions"] / total if total else math.nan
        sentences.append(f"Of {w.count(total)} sessions, {w.pct(share)} were a single test; the rest were people "
                         f"testing again within the same session.")
    first_ok = FIRST_STEP in by.index and not by.loc[FIRST_STEP, "is_suppressed"]
    top_ok = TOP_STEP in by.index and not by.loc[TOP_STEP, "is_suppressed"]
    if not (first_ok and top_ok):
        missing = [s for s, ok in ((FIRST_STEP, first_ok), (TOP_STEP, top_ok)) if not ok]
        sentences.append(f"The step{'s' if len(missing) > 1 else ''} of {w.names(missing)}-test sessions had fewer "
                         f"than {k} users on every day, so the staircase cannot be read for this period.")
        return sentences
    one, top = by.loc[FIRST_STEP], by.loc[TOP_STEP]
    slower = top["median_download_mbps"] < one["median_download_mbps"]
    ratio = w.times(one["median_download_mbps"], top["median_download_mbps"])
    speed = (f"Sessions of 4 or more tests had a median download of {w.mbps(top['median_download_mbps'])}, against "
             f"{w.mbps(one['median_download_mbps'])} for single tests")
    speed += (f": {ratio} times slower." if slower and ratio
              else ": not slower, so here retesting does not mark a slow line.")
    sentences.append(speed)
    if not (math.isnan(top["median_loss_pct"]) or math.isnan(one["median_loss_pct"])):
        more = "more" if top["median_loss_pct"] > one["median_loss_pct"] else "no more"
        sentences.append(f"They also lost {more} packets (median loss {top['median_loss_pct']:.2f}% against "
                         f"{one['median_loss_pct']:.2f}%).")
    if slower:
        sentences.append("People test again when the line disappoints: the staircase is frustration made visible.")
    return sentences


def retention_sentences(daily: pd.DataFrame) -> list[str]:
    """How much of the activity came from users who were back within the returning window."""
    if daily.empty or not daily["sessions"].sum():
        return ["Gold holds no sessions by user type for this period."]
    by_type = daily.groupby("user_type")["sessions"].sum()
    total = by_type.sum()
    returning = by_type.get("returning", 0) / total
    days = daily["session_date"].nunique()
    sentences = [f"Over {days} day{'s' if days != 1 else ''}, {w.pct(returning)} of {w.count(total)} sessions came "
                 f"from returning users (back within the returning window), the rest from new or transient ones."]
    hidden = daily["is_suppressed"].astype(bool).mean()
    if hidden > 0:
        sentences.append(f"User counts are hidden on {w.pct(hidden)} of the day and user-type cells (too few users); "
                         f"session counts are kept there, so the shares above count every session.")
    return sentences


def week_one_retention(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Cohorts whose second week (weeks_since_first = 1) is in Gold and not suppressed."""
    second = cohorts[(cohorts["weeks_since_first"] == 1) & ~cohorts["is_suppressed"].astype(bool)]
    return second[second["retention_share"].notna()]


def cohort_sentences(cohorts: pd.DataFrame, k: int) -> list[str]:
    if cohorts.empty:
        return ["No weekly cohort starts in this period."]
    firsts = cohorts[cohorts["weeks_since_first"] == 0]
    shown = week_one_retention(cohorts)
    if shown.empty:
        reason = ("the period is too short to follow a cohort into its second week"
                  if cohorts["weeks_since_first"].max() < 1 else
                  f"every cohort's second week had fewer than {k} users")
        return [f"{len(firsts)} weekly cohort{'s' if len(firsts) != 1 else ''} start in the period, but {reason}."]
    share = w.weighted(shown["retention_share"], shown["cohort_users"])
    best = shown.sort_values(["retention_share", "cohort_week"], ascending=[False, True]).iloc[0]
    sentences = [f"Of the users first seen in a week, ≈{w.pct(share)} tested again the following week "
                 f"(over {len(shown)} cohort{'s' if len(shown) != 1 else ''}, weighted by cohort size)."]
    if len(shown) >= 2:
        sentences.append(f"The stickiest cohort was the week of {w.day(best['cohort_week'])}, with "
                         f"{w.pct(best['retention_share'])} back in its second week.")
    hidden = int(firsts["is_suppressed"].astype(bool).sum())
    if hidden:
        sentences.append(f"{hidden} cohort{'s' if hidden != 1 else ''} had fewer than {k} users and "
                         f"{'is' if hidden == 1 else 'are'} not shown.")
    return sentences


def findings(frames: dict[str, pd.DataFrame], k: int) -> dict[str, list[str]]:
    return {
        "staircase": staircase_sentences(frames["staircase"], k),
        "retention": retention_sentences(frames["retention"]),
        "cohorts": cohort_sentences(frames["cohorts"], k),
    }
