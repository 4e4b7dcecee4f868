"""The dashboard's figures: which query feeds which chart, which filters each can follow, and its caption.

Gold does not cross every dimension (no ISP split except contract attainment,
no geography for the staircase or the cohorts), so each figure declares the
filters it follows and its caption says plainly what it shows instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import pandas as pd

from gnp.config import Params
from gnp.dashboard import charts, queries
from gnp.dashboard.queries import Filters

PERIPHERY, REGIONAL_UNIT, ISP = "periphery", "regional_unit", "isp"
STATE_OK, STATE_EMPTY, STATE_SUPPRESSED = "ok", "empty", "suppressed"
GEOGRAPHY = frozenset({PERIPHERY, REGIONAL_UNIT})
ZOOM_HINT = "Drag to pan, scroll to zoom, double-click to reset; hover a point for its values."
_NOT_FOLLOWED = {
    REGIONAL_UNIT: "Gold has no regional-unit split for this figure: it shows the whole periphery.",
    PERIPHERY: "Gold holds this figure for the whole country only: the area filter does not apply.",
    ISP: "Gold has no ISP split for this figure: it shows all ISPs.",
}


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    query: Callable[..., pd.DataFrame]
    chart: Callable[[pd.DataFrame], object]
    follows: frozenset[str]
    interactive: bool
    note: str
    wide: bool = False
    hint: str = ""  # how to interact: shown on the live page only
    plots_counts_only: bool = False  # tests or sessions, which Gold keeps even in suppressed cells


def dashboard_figures(params: Params) -> tuple[Figure, ...]:
    """Every figure in page order, with the run's attainment thresholds in its labels."""
    high, low = params.semantics.attainment_high, params.semantics.attainment_low
    window = params.semantics.returning_window_days
    return (
        Figure("speeds_over_time", "Download and upload over time", queries.speeds_over_time,
               charts.speeds_over_time, GEOGRAPHY, True,
               "Daily median over users per area, smoothed as a 7-day rolling mean.", wide=True,
               hint="Click a legend entry to isolate an area (shift-click for several, click elsewhere to reset)."),
        Figure("tests_per_day", "Tests per day", queries.tests_per_day, charts.tests_per_day, GEOGRAPHY, False,
               "Stacked by area.", wide=True, plots_counts_only=True),
        Figure("rtt_vs_jitter", "Round-trip time against jitter", queries.rtt_vs_jitter, charts.rtt_vs_jitter,
               GEOGRAPHY, True, "One point per area and day; size is the number of users.", hint=ZOOM_HINT),
        Figure("upload_vs_download", "Upload against download", queries.upload_vs_download,
               charts.upload_vs_download, GEOGRAPHY, True,
               "One point per area and day, log scales; the dashed line is upload = download.", hint=ZOOM_HINT),
        Figure("frustration_staircase", "The frustration staircase", queries.frustration_staircase,
               charts.frustration_staircase, frozenset(), False,
               "Sessions by number of tests in the session; lines: median download and median loss of those "
               f"sessions ({charts.MEDIAN_NOTE}, weighted by sessions)."),
        Figure("retention", "New or transient against returning sessions", queries.retention, charts.retention,
               frozenset({PERIPHERY}), False,
               f"Returning: the user's previous session ended at most {window} days earlier.",
               plots_counts_only=True),
        Figure("cohort_retention", "Weekly cohorts", queries.cohort_retention, charts.cohort_heatmap,
               frozenset(), False,
               "Users first seen in a week (rows, weeks starting in the period) still active N weeks later."),
        Figure("attainment_by_periphery", "Contract attainment per periphery", queries.attainment_by_periphery,
               partial(charts.attainment_by_periphery, high_threshold=high, low_threshold=low),
               frozenset({PERIPHERY}), False,
               "Share of user-days whose median download reached the threshold of the contracted speed; "
               "the selected periphery is highlighted."),
        Figure("attainment_by_isp", "Contract attainment per ISP", queries.attainment_by_isp,
               partial(charts.attainment_by_isp, high_threshold=high, low_threshold=low),
               frozenset({ISP}), False, "The selected ISP is highlighted."),
        Figure("hourly_profile", "Median download by local hour", queries.hourly_profile, charts.hourly_profile,
               frozenset({PERIPHERY}), False,
               f"Evening dips are congestion ({charts.MEDIAN_NOTE}); 's' marks a suppressed hour."),
        Figure("speed_histogram", "Speed distribution", queries.speed_histogram, charts.speed_histogram,
               frozenset({PERIPHERY}), False,
               "Users by their monthly median download, log-spaced buckets; whole months touching the period."),
        Figure("worst_attainment_regions", "Regions with the worst attainment", queries.worst_attainment_regions,
               partial(charts.worst_regions_table, high_threshold=high, low_threshold=low),
               frozenset({PERIPHERY}), False,
               "Peripheries ranked by share of user-days reaching the threshold; suppressed ones listed last."),
    )


def figure_state(frame: pd.DataFrame, plots_counts_only: bool = False) -> str:
    if frame.empty:
        return STATE_EMPTY
    if not plots_counts_only and "is_suppressed" in frame and frame["is_suppressed"].all():
        return STATE_SUPPRESSED
    return STATE_OK


def suppression_note(frame: pd.DataFrame, k: int) -> str | None:
    """How many Gold cells behind the figure were suppressed, or None when none were."""
    if "suppressed_cells" in frame:
        hidden, total = int(frame["suppressed_cells"].sum()), int(frame["cells"].sum())
    elif "is_suppressed" in frame:
        hidden, total = int(frame["is_suppressed"].sum()), len(frame)
    else:
        return None
    if hidden == 0:
        return None
    return (f"{hidden} of {total} Gold cells suppressed (fewer than {k} users): their users and statistics "
            f"are left out (gaps, or marked 'suppressed'), never shown as zero.")


def _chosen(f: Filters) -> dict[str, str | None]:
    return {PERIPHERY: f.periphery_id, REGIONAL_UNIT: f.regional_unit_id, ISP: f.isp}


def set_filters(f: Filters) -> set[str]:
    return {name for name, value in _chosen(f).items() if value}


def selection_key(figure: Figure, f: Filters) -> tuple:
    """The part of the selection a figure depends on: the same key draws the same picture."""
    chosen = _chosen(f)
    return (f.date_from, f.date_to, *(chosen[name] if name in figure.follows else None for name in chosen))


def caption(figure: Figure, f: Filters, frame: pd.DataFrame, k: int, live: bool = False) -> list[str]:
    """The figure's method note, what it cannot filter, and its suppression, as sentences."""
    unfollowed = set_filters(f) - figure.follows
    if PERIPHERY in unfollowed:
        unfollowed.discard(REGIONAL_UNIT)
    lines = [figure.note, figure.hint if live else "",
             *(_NOT_FOLLOWED[name] for name in (PERIPHERY, REGIONAL_UNIT, ISP) if name in unfollowed)]
    note = suppression_note(frame, k)
    return lines + ([note] if note else [])


@dataclass(frozen=True)
class Drawn:
    """One figure for one selection: its state, its data, the chart (None unless state is ok), caption."""

    figure: Figure
    state: str
    frame: pd.DataFrame
    chart: object | None
    caption: list[str]
    key: tuple = ()


def recaptioned(drawn: Drawn, f: Filters, k: int, live: bool = False) -> Drawn:
    """The same picture under a new selection that it does not depend on: only the caption changes."""
    return replace(drawn, caption=caption(drawn.figure, f, drawn.frame, k, live))


def draw(figure: Figure, gold, f: Filters, k: int, live: bool = False) -> Drawn:
    frame = figure.query(gold, f)
    state = figure_state(frame, figure.plots_counts_only)
    chart = figure.chart(frame) if state == STATE_OK else None
    return Drawn(figure, state, frame, chart, caption(figure, f, frame, k, live), selection_key(figure, f))
