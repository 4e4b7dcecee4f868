"""The dashboard's figures: which query feeds which chart, and its caption.

Gold is cut by slice (area, ISP), so every figure follows every filter: the
selection's own slice, or the areas one level below it at the selected ISP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pandas as pd

from gnp.core.config import Params
from gnp.dashboard import charts, geo, queries
from gnp.dashboard.queries import Filters

STATE_OK, STATE_EMPTY, STATE_SUPPRESSED = "ok", "empty", "suppressed"
MAP = "periphery_map"  # the figure whose clicks select a periphery
ZOOM_HINT = "Drag to pan, scroll to zoom, double-click to reset; hover a point for its values."
BELOW = ("areas one level below the selection (the peripheries of Greece, the regional units of a periphery, "
         "or the selected regional unit) at the selected ISP")


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    query: Callable[..., pd.DataFrame]
    chart: Callable[[pd.DataFrame], object]
    interactive: bool
    note: str
    wide: bool = False
    hint: str = ""  # how to interact: shown on the live page only
    plots_counts_only: bool = False  # tests or sessions, which Gold keeps even in suppressed cells


def dashboard_figures(params: Params) -> tuple[Figure, ...]:
    """Every figure in page order, with the run's attainment thresholds in its labels."""
    high, low = params.semantics.attainment_high, params.semantics.attainment_low
    window = params.semantics.returning_window_days
    k = params.semantics.k_anonymity
    worst = Figure("worst_attainment_regions", "Regions with the worst attainment", queries.worst_attainment_regions,
                   partial(charts.worst_regions_table, high_threshold=high, low_threshold=low), False,
                   "Areas one level below the selection (the peripheries of Greece, or the regional units of the "
                   "selected periphery) at the selected ISP, ranked by share of user-days reaching the threshold; "
                   "suppressed ones listed last.")
    return (
        Figure(MAP, "Median download by periphery", geo.periphery_values, partial(geo.periphery_map, k=k), True,
               "Every periphery at the selected ISP: median download over users, exact for one whole ISO week or "
               "calendar month, else ≈ users-weighted mean of daily medians. Paler: fewer than "
               f"{geo.THIN_WEIGHT} users (user-days); grey: suppressed (fewer than {k} users) or no tests; "
               "outlined: the selected periphery. Mount Athos is no periphery and has no figure.",
               hint="Click a periphery to select it (the periphery filter follows); hover one for its figure and "
                    "why it is drawn as it is."),
        worst,
        Figure("speeds_over_time", "Download and upload over time", queries.speeds_over_time,
               charts.speeds_over_time, True,
               f"Daily median over users, one line per area: {BELOW}; smoothed as a 7-day rolling mean.", wide=True,
               hint="Click a legend entry to isolate an area (shift-click for several, click elsewhere to reset)."),
        Figure("tests_per_day", "Tests per day", queries.tests_per_day, charts.tests_per_day, False,
               f"Stacked by area: {BELOW}.", wide=True, plots_counts_only=True),
        Figure("rtt_vs_jitter", "Round-trip time against jitter", queries.rtt_vs_jitter, charts.rtt_vs_jitter,
               True, "One point per area (one level below the selection, at the selected ISP) and day; "
               "size is the number of users.", hint=ZOOM_HINT),
        Figure("upload_vs_download", "Upload against download", queries.upload_vs_download,
               charts.upload_vs_download, True,
               "One point per area (one level below the selection, at the selected ISP) and day, log scales; "
               "the dashed line is upload = download.", hint=ZOOM_HINT),
        Figure("frustration_staircase", "The frustration staircase", queries.frustration_staircase,
               charts.frustration_staircase, False,
               "The selection's sessions (placed by their first test) by number of tests in the session; lines: "
               f"median download and median loss of those sessions ({charts.SESSIONS_MEDIAN_NOTE})."),
        Figure("retention", "New or transient against returning sessions", queries.retention, charts.retention,
               False, "The selection's sessions (placed by their first test); returning: the user's previous "
               f"session ended at most {window} days earlier.",
               plots_counts_only=True),
        Figure("cohort_retention", "Weekly cohorts", queries.cohort_retention, charts.cohort_heatmap, False,
               "Users first seen in the selection in a week (rows: weeks starting in the period) with a session in "
               "it N weeks later."),
        Figure("attainment_by_periphery", "Contract attainment per periphery", queries.attainment_by_periphery,
               partial(charts.attainment_by_periphery, high_threshold=high, low_threshold=low), False,
               "Every periphery at the selected ISP: share of user-days whose median download reached the "
               "threshold of the contracted speed; the selected periphery (or that of the selected regional unit) "
               "is highlighted."),
        Figure("attainment_by_isp", "Contract attainment per ISP", queries.attainment_by_isp,
               partial(charts.attainment_by_isp, high_threshold=high, low_threshold=low), False,
               "Every ISP in the selected area; the selected ISP is highlighted."),
        Figure("hourly_profile", "Median download by local hour", queries.hourly_profile, charts.hourly_profile,
               False, f"The selection's tests by local hour; evening dips are congestion ({charts.MEDIAN_NOTE}); "
               "'s' marks a suppressed hour."),
        Figure("speed_histogram", "Speed distribution", queries.speed_histogram, charts.speed_histogram, False,
               "The selection's users by their monthly median download (a user counted once per month), "
               "log-spaced buckets; whole months touching the period."),
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


def caption(figure: Figure, frame: pd.DataFrame, k: int, live: bool = False) -> list[str]:
    """The figure's method note, how to interact (live page only) and its suppression, as sentences."""
    note = suppression_note(frame, k)
    return [figure.note, figure.hint if live else "", *([note] if note else [])]


@dataclass(frozen=True)
class Drawn:
    """One figure for one selection: its state, its data, the chart (None unless state is ok), caption."""

    figure: Figure
    state: str
    frame: pd.DataFrame
    chart: object | None
    caption: list[str]
    filters: Filters | None = None  # the selection drawn: every figure follows all of it


def draw(figure: Figure, gold, f: Filters, k: int, live: bool = False) -> Drawn:
    frame = figure.query(gold, f)
    state = figure_state(frame, figure.plots_counts_only)
    chart = figure.chart(frame) if state == STATE_OK else None
    return Drawn(figure, state, frame, chart, caption(figure, frame, k, live), f)
