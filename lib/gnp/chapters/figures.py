"""The chapters' charts (pure: frame -> Altair chart) and how a notebook shows them and its findings.

Every chart takes the one chart module's look (``gnp.dashboard.charts.finish``)
and is shown as SVG by its renderer (``show``), not as Vega-Lite JSON
for a browser to draw: an executed notebook then carries its pictures, so
JupyterLab, nbconvert and the run's book show them with no network and no
JavaScript. Suppressed cells are drawn grey and labelled, never as zero.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
from IPython.display import Markdown

from gnp.chapters import wording as w
from gnp.dashboard import geo
from gnp.dashboard.charts import BUCKET_ORDER, SUPPRESSED_COLOR, SUPPRESSED_TEXT, USER_TYPE_LABELS, finish
from gnp.dashboard.render import show  # noqa: F401  (what the chapter notebooks call to draw a chart)

WIDTH, BAR_STEP = 620, 18
SPEED_SCHEME = alt.Scale(scheme="viridis")


def say(sentences: list[str]) -> Markdown:
    """Findings as a Markdown list (an empty section says nothing)."""
    return Markdown("\n".join(f"- {s}" for s in sentences))


def ranking_bars(ranked: pd.DataFrame, title: str, what: str) -> alt.TopLevelMixin:
    """Horizontal bars of median download (exact or ≈, as the ranking says), fastest on top; thin rows paler,
    suppressed rows labelled."""
    unit = w.unit_of(ranked)
    exact = bool(len(ranked)) and bool(ranked["is_exact"].iloc[0]) if "is_exact" in ranked else False
    per = {"day": "daily", "week": "weekly", "month": "monthly"}.get(unit, unit)
    how = f"exact median over users of their {unit} medians" if exact else f"≈ users-weighted mean of {per} medians"
    frame = ranked.assign(status=ranked["is_thin"].map({True: "thin (few user-days)", False: "ranked"}),
                          shown_mbps=ranked["download_median_mbps"].fillna(0))
    order = frame["label"].tolist()
    base = alt.Chart().encode(y=alt.Y("label:N", sort=order, title=None))
    bars = base.mark_bar().encode(
        x=alt.X("shown_mbps:Q", title=f"Median download, Mbps ({how})"),
        color=alt.Color("status:N", title=None, scale=alt.Scale(domain=["ranked", "thin (few user-days)"],
                                                                 range=["#3b6ea8", "#a9c4e2"])),
        tooltip=[alt.Tooltip("label:N", title=what), alt.Tooltip("download_median_mbps:Q", format=".1f", title="Mbps"),
                 alt.Tooltip("user_days:Q", format=",.0f", title=w.weight_word(ranked).capitalize()),
                 alt.Tooltip("suppressed_days:Q", title=f"{unit.capitalize()}s suppressed")],
    ).transform_filter("!datum.is_suppressed")
    hidden = base.mark_text(align="left", dx=4, color=SUPPRESSED_COLOR).encode(
        x=alt.datum(0), text=alt.value(SUPPRESSED_TEXT)).transform_filter("datum.is_suppressed")
    chart = alt.layer(bars, hidden, data=frame).properties(width=WIDTH, height=alt.Step(BAR_STEP))
    return finish(chart, title)


def periphery_map(ranked: pd.DataFrame, k: int, title: str) -> alt.TopLevelMixin:
    """The dashboard's map of the peripheries, coloured by the ranking's median download (exact or ≈, as the
    ranking says); a periphery on few user-days paler, a suppressed one grey, each saying why on hover."""
    values = pd.DataFrame({
        "periphery_id": ranked["area_id"].astype(str), "area": ranked["label"],
        "download_median_mbps": ranked["download_median_mbps"], "weight": ranked["user_days"],
        "weight_word": w.weight_word(ranked), "tests": float("nan"), "is_suppressed": ranked["is_suppressed"],
        "is_exact": ranked["is_exact"] if "is_exact" in ranked else False, "is_selected": False})
    return geo.periphery_map(values, k, title)


def area_heatmap(area_days: pd.DataFrame, level: str, title: str) -> alt.TopLevelMixin:
    """Area by day, coloured by the day's median download; suppressed days grey."""
    frame = area_days[area_days["area_level"] == level].copy()
    frame["day"] = pd.to_datetime(frame["measurement_date"]).dt.strftime("%Y-%m-%d")
    order = (frame.groupby("area")["download_median_mbps"].mean().sort_values(ascending=False).index.tolist())
    # invalid=None: a suppressed cell (no median) is drawn, grey; Vega-Lite's default would drop it unseen.
    rect = alt.Chart(frame).mark_rect(invalid=None).encode(
        x=alt.X("day:O", title=None, axis=alt.Axis(labelAngle=-60)),
        y=alt.Y("area:N", sort=order, title=None),
        color=alt.condition("datum.is_suppressed", alt.value(SUPPRESSED_COLOR),
                            alt.Color("download_median_mbps:Q", title="Mbps", scale=SPEED_SCHEME)),
        tooltip=[alt.Tooltip("area:N"), alt.Tooltip("day:O", title="Day"),
                 alt.Tooltip("download_median_mbps:Q", format=".1f", title="Median download, Mbps"),
                 alt.Tooltip("users:Q", title="Users"), alt.Tooltip("is_suppressed:N", title="Suppressed")],
    ).properties(width=WIDTH, height=alt.Step(BAR_STEP))
    return finish(rect, title)


def hourly_lines(hours: pd.DataFrame, title: str) -> alt.TopLevelMixin:
    """≈ median download by local hour, one line per provider (suppressed hours are gaps)."""
    frame = hours[~hours["is_suppressed"]]
    chart = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("hour_local:Q", title="Local hour", scale=alt.Scale(domain=[0, 23])),
        y=alt.Y("median_download_mbps:Q", title="Median download, Mbps (≈)"),
        color=alt.Color("isp:N", title="Provider"),
        tooltip=[alt.Tooltip("isp:N", title="Provider"), alt.Tooltip("hour_local:Q", title="Hour"),
                 alt.Tooltip("median_download_mbps:Q", format=".1f", title="Mbps"),
                 alt.Tooltip("users:Q", format=",.0f", title="User-hours")],
    ).properties(width=WIDTH, height=260)
    return finish(chart, title)


def attainment_bars(attainment: pd.DataFrame, high: float, title: str) -> alt.TopLevelMixin:
    frame = attainment.assign(shown=attainment["share_reaching_high"].fillna(0))
    order = frame.sort_values("shown", ascending=False)["isp"].tolist()
    base = alt.Chart().encode(y=alt.Y("isp:N", sort=order, title=None))
    bars = base.mark_bar(color="#4c9a6a").encode(
        x=alt.X("shown:Q", title=f"Share of user-days at ≥ {high:.0%} of contract (≈)", axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("isp:N", title="Provider"),
                 alt.Tooltip("share_reaching_high:Q", format=".0%", title="Share"),
                 alt.Tooltip("user_days:Q", format=",.0f", title="User-days")],
    ).transform_filter("!datum.is_suppressed")
    hidden = base.mark_text(align="left", dx=4, color=SUPPRESSED_COLOR).encode(
        x=alt.datum(0), text=alt.value(SUPPRESSED_TEXT)).transform_filter("datum.is_suppressed")
    return finish(alt.layer(bars, hidden, data=frame).properties(width=WIDTH, height=alt.Step(BAR_STEP)), title)


def staircase_bars(steps: pd.DataFrame, title: str) -> alt.TopLevelMixin:
    """Sessions per step beside the step's ≈ median download."""
    base = alt.Chart(steps).encode(x=alt.X("behaviour_bucket:N", sort=BUCKET_ORDER, title="Tests in the session"))
    tooltip = [alt.Tooltip("behaviour_bucket:N", title="Tests"), alt.Tooltip("sessions:Q", format=",.0f"),
               alt.Tooltip("median_download_mbps:Q", format=".1f", title="Mbps"),
               alt.Tooltip("median_loss_pct:Q", format=".2f", title="Loss %")]
    sessions = base.mark_bar(color="#8c6bb1").encode(y=alt.Y("sessions:Q", title="Sessions"), tooltip=tooltip)
    speed = base.mark_bar(color="#3b6ea8").encode(
        y=alt.Y("median_download_mbps:Q", title="Median download, Mbps (≈)"), tooltip=tooltip,
    ).transform_filter("!datum.is_suppressed")
    return finish(alt.hconcat(sessions.properties(width=260, height=220), speed.properties(width=260, height=220)),
                  title)


def retention_area(daily: pd.DataFrame, title: str) -> alt.TopLevelMixin:
    frame = daily.assign(who=daily["user_type"].map(USER_TYPE_LABELS).fillna(daily["user_type"]))
    chart = alt.Chart(frame).mark_area().encode(
        x=alt.X("session_date:T", title=None, axis=alt.Axis(format="%d %b")),
        y=alt.Y("sessions:Q", stack=True, title="Sessions"),
        color=alt.Color("who:N", title="User type"),
        tooltip=[alt.Tooltip("session_date:T", title="Day"), alt.Tooltip("who:N", title="User type"),
                 alt.Tooltip("sessions:Q", format=",.0f")],
    ).properties(width=WIDTH, height=220)
    return finish(chart, title)


def cohort_heatmap(cohorts: pd.DataFrame, title: str) -> alt.TopLevelMixin:
    frame = cohorts.assign(week=pd.to_datetime(cohorts["cohort_week"]).dt.strftime("%Y-%m-%d"))
    chart = alt.Chart(frame).mark_rect(invalid=None).encode(  # suppressed cells drawn grey, not dropped
        x=alt.X("weeks_since_first:O", title="Weeks since first seen"),
        y=alt.Y("week:O", title="Cohort (week of first test)"),
        color=alt.condition("datum.is_suppressed", alt.value(SUPPRESSED_COLOR),
                            alt.Color("retention_share:Q", title="Back", scale=alt.Scale(scheme="blues"),
                                      legend=alt.Legend(format="%"))),
        tooltip=[alt.Tooltip("week:O", title="Cohort"), alt.Tooltip("weeks_since_first:O", title="Week"),
                 alt.Tooltip("retention_share:Q", format=".0%", title="Back"),
                 alt.Tooltip("cohort_users:Q", title="Cohort users")],
    ).properties(width=alt.Step(40), height=alt.Step(22))
    return finish(chart, title)
