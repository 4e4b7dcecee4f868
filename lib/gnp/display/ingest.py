"""What the ingest notebook shows: records, bytes and attempts per day, and the days that look empty or thin.

Pure functions of ``gnp.bronze.ingest.IngestSummary.to_frame()`` and
``gnp.bronze.volume.report()``: a frame in, a frame, chart or sentence out.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from gnp.bronze.volume import EMPTY, THIN, THIN_SHARE
from gnp.display import common as views

DAY_COLUMNS = ["measurement_date", "action", "records", "bytes", "stored_bytes", "attempts", "versions", "status"]
STATUS_COLORS = {"fetched": "#3b6ea8", "skipped": "#a9c4e2", EMPTY: "#c0392b", THIN: "#e69f00"}
MB = 1_000_000


def days_table(days: pd.DataFrame, volumes: pd.DataFrame) -> pd.DataFrame:
    """One row per day of the ingest, with what it looks like next to its neighbours (ok, empty or thin)."""
    frame = days.reindex(columns=DAY_COLUMNS).copy()
    looks = dict(zip(volumes["measurement_date"], volumes["status"]))
    frame["looks"] = [looks.get(d, "ok") for d in frame["measurement_date"]]
    return frame


def day_chart(days: pd.DataFrame) -> alt.TopLevelMixin:
    """Records, megabytes (as received) and fetch attempts per day; bars coloured by action, or by empty/thin."""
    frame = days.assign(
        day=pd.to_datetime(days["measurement_date"]).dt.strftime("%Y-%m-%d"),
        megabytes=days["bytes"] / MB,
        shown=[looks if looks in (EMPTY, THIN) else action for looks, action in zip(days["looks"], days["action"])],
    ).drop(columns=["measurement_date"])  # datetime.date objects are not JSON; ``day`` is its text
    color = alt.Color("shown:N", title=None, scale=alt.Scale(domain=list(STATUS_COLORS),
                                                             range=list(STATUS_COLORS.values())))
    tooltip = [alt.Tooltip("day:O", title="Day"), alt.Tooltip("action:N"), alt.Tooltip("looks:N", title="Looks"),
               alt.Tooltip("records:Q", format=",.0f"), alt.Tooltip("megabytes:Q", format=",.1f", title="MB"),
               alt.Tooltip("attempts:Q", format=",.0f")]
    base = alt.Chart(frame).mark_bar().encode(x=alt.X("day:O", title=None, axis=alt.Axis(labelAngle=-60)),
                                              color=color, tooltip=tooltip)
    records = base.encode(y=alt.Y("records:Q", title="Records")).properties(width=views.WIDTH, height=140)
    size = base.encode(y=alt.Y("megabytes:Q", title="MB as received")).properties(width=views.WIDTH, height=90)
    attempts = base.encode(y=alt.Y("attempts:Q", title="Attempts", axis=alt.Axis(tickMinStep=1))).properties(
        width=views.WIDTH, height=60)
    return views.finish(alt.vconcat(records, size, attempts), "Bronze days of this ingest")


def _days(frame: pd.DataFrame) -> str:
    shown = [pd.Timestamp(d).strftime("%Y-%m-%d") for d in frame["measurement_date"]]
    return ", ".join(shown[:6]) + (f" and {len(shown) - 6} more" if len(shown) > 6 else "")


def summary_sentences(days: pd.DataFrame, volumes: pd.DataFrame) -> list[str]:
    """What the ingest did, in words: days fetched and skipped, records, retries, and empty or thin days."""
    if days.empty:
        return ["No day of the range was fetched or found in Bronze."]
    fetched = days[days["action"] == "fetched"]
    retried = fetched[fetched["attempts"] > 1]
    skipped = len(days) - len(fetched)
    sentences = [
        f"{views.plural(len(fetched), 'day')} fetched ({views.plural(int(fetched['records'].sum()), 'record')}, "
        f"{views.size(fetched['bytes'].sum())} as received, {views.size(fetched['stored_bytes'].sum())} stored); "
        f"{views.plural(skipped, 'day')} already in Bronze, skipped.",
        "No fetch needed a retry." if retried.empty else
        f"{views.plural(len(retried), 'day')} needed more than one attempt "
        f"({views.plural(int(retried['attempts'].sum() - len(retried)), 'retry', 'retries')}): {_days(retried)}.",
    ]
    empty, thin = volumes[volumes["status"] == EMPTY], volumes[volumes["status"] == THIN]
    if empty.empty and thin.empty:
        sentences.append("Every stored day of the range looks complete next to its neighbours.")
    if len(empty):
        sentences.append(f"{views.plural(len(empty), 'day')} stored empty: {_days(empty)}.")
    if len(thin):
        sentences.append(f"{views.plural(len(thin), 'day')} thin (under {THIN_SHARE:.0%} of the median of its "
                         f"neighbours): {_days(thin)}.")
    return sentences
