"""The chart module: the one look of every chart (``finish``) and the dashboard's builders, pure functions from a
query's DataFrame to a chart. The stage views and the chapters build theirs with the same look and constants,
and every static chart is drawn by ``gnp.dashboard.render`` (``show`` in a notebook).

Every chart sets a font with Greek glyphs, shows tooltips, and marks
suppressed cells (fewer than k users) as "suppressed" instead of drawing them
as zero. Period "medians" are users-weighted means of daily medians and say so.
Layers take their data from ``alt.layer(..., data=frame)``: layers that each
carry the same frame make Altair hash it through ``DataFrame.to_string``,
which cost ~0.4 s per redraw.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

FONT = "DejaVu Sans, Noto Sans, Arial, sans-serif"  # DejaVu Sans has every Greek glyph the API sends
AREA_COLORS = alt.Scale(scheme="tableau20")
WIDE, NARROW, HEIGHT = 980, 440, 240
SUPPRESSED_TEXT = "suppressed"
SUPPRESSED_COLOR = "#9a9a9a"
BUCKET_ORDER = ["1", "2-3", "4+"]
USER_TYPE_LABELS = {"returning": "Returning", "new_or_transient": "New or transient"}
MEDIAN_NOTE = "≈ users-weighted mean of daily medians"
SESSIONS_MEDIAN_NOTE = "≈ sessions-weighted mean of daily medians"
AREA_LEVEL_TITLES = {"periphery": "Periphery", "regional_unit": "Regional unit"}
TABLE_WIDTH, TABLE_COLUMN_X = NARROW + 140, (0, 260, 385, 505)  # the names' column is the widest
SPEED_MEASURES = {"download_median_mbps": "Download", "upload_median_mbps": "Upload"}


def finish(chart: alt.TopLevelMixin, title: str | None = None) -> alt.TopLevelMixin:
    """The one look of every chart (dashboard, stage views, chapters), set in one call: every configure_* call
    copies the whole chart. A title, when given, goes on the chart (the dashboard's panels carry their own)."""
    if title is not None:
        chart = chart.properties(title=title)
    return chart.configure(font=FONT, legend=alt.LegendConfig(labelLimit=300, titleLimit=300),
                           axis=alt.AxisConfig(labelLimit=300), view=alt.ViewConfig(strokeWidth=0))


def _area_color(below: bool = False) -> alt.Color:
    """One colour per area, the same in every chart; narrow charts keep their legend below the plot."""
    legend = alt.Legend(orient="bottom", columns=2, labelLimit=210, symbolLimit=40) if below \
        else alt.Legend(symbolLimit=40)
    return alt.Color("area:N", title="Area", scale=AREA_COLORS, legend=legend)


def _date_x(title: str | None = None) -> alt.X:
    return alt.X("measurement_date:T", title=title, axis=alt.Axis(format="%d %b"))


def speeds_over_time(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Download and upload per area, 7-day rolling mean; click a legend entry to isolate an area."""
    long = frame.melt(id_vars=["measurement_date", "area", "users", "is_suppressed"],
                      value_vars=list(SPEED_MEASURES), var_name="measure", value_name="mbps")
    long["measure"] = long["measure"].map(SPEED_MEASURES)
    isolate = alt.selection_point(fields=["area"], bind="legend")
    lines = alt.Chart(long).transform_window(
        smoothed_mbps="mean(mbps)", frame=[-6, 0], groupby=["area", "measure"], sort=[{"field": "measurement_date"}],
    ).mark_line(interpolate="monotone").encode(
        x=_date_x(),
        y=alt.Y("smoothed_mbps:Q", title="Mbps, 7-day mean"),
        color=_area_color(),
        opacity=alt.condition(isolate, alt.value(1.0), alt.value(0.1)),
        tooltip=[alt.Tooltip("area:N", title="Area"), alt.Tooltip("measurement_date:T", title="Day"),
                 alt.Tooltip("smoothed_mbps:Q", title="7-day mean, Mbps", format=".1f"),
                 alt.Tooltip("mbps:Q", title="Median over users that day, Mbps", format=".1f"),
                 alt.Tooltip("users:Q", title="Users that day")],
    ).add_params(isolate).properties(width=WIDE - 300, height=HEIGHT - 40)
    return finish(lines.facet(row=alt.Row("measure:N", title=None, sort=list(SPEED_MEASURES.values())))
                   .resolve_scale(y="independent"))


def tests_per_day(frame: pd.DataFrame) -> alt.TopLevelMixin:
    bars = alt.Chart(frame).mark_bar().encode(
        x=alt.X("yearmonthdate(measurement_date):T", title=None, axis=alt.Axis(format="%d %b")),
        y=alt.Y("sum(tests):Q", title="Tests per day"),
        color=_area_color(),
        tooltip=[alt.Tooltip("area:N", title="Area"), alt.Tooltip("yearmonthdate(measurement_date):T", title="Day"),
                 alt.Tooltip("sum(tests):Q", title="Tests"), alt.Tooltip("sum(users):Q", title="Users")],
    ).properties(width=WIDE - 300, height=HEIGHT)
    return finish(bars)


def rtt_vs_jitter(frame: pd.DataFrame) -> alt.TopLevelMixin:
    points = alt.Chart(frame).transform_filter("isValid(datum.rtt_median_ms) && isValid(datum.jitter_median_ms)") \
        .mark_circle(opacity=0.6, clip=True).encode(
            x=alt.X("rtt_median_ms:Q", title="Median RTT over users, ms"),
            y=alt.Y("jitter_median_ms:Q", title="Median jitter over users, ms"),
            color=_area_color(below=True), size=alt.Size("users:Q", title="Users", legend=None),
            tooltip=[alt.Tooltip("area:N", title="Area"), alt.Tooltip("measurement_date:T", title="Day"),
                     alt.Tooltip("rtt_median_ms:Q", title="RTT, ms", format=".1f"),
                     alt.Tooltip("jitter_median_ms:Q", title="Jitter, ms", format=".1f"),
                     alt.Tooltip("users:Q", title="Users")],
        ).interactive().properties(width=NARROW, height=HEIGHT)
    return finish(points)


def upload_vs_download(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Each point an area-day; the dashed line is upload = download (symmetric service)."""
    speeds = pd.concat([frame["download_median_mbps"], frame["upload_median_mbps"]]).dropna()
    speeds = speeds[speeds > 0]
    low, high = (speeds.min(), speeds.max()) if len(speeds) else (1.0, 100.0)
    log = alt.Scale(type="log", domain=[low / 1.25, high * 1.25], nice=False)  # same on both axes: x=y at 45°
    points = alt.Chart(frame).transform_filter(
        "datum.download_median_mbps > 0 && datum.upload_median_mbps > 0").mark_circle(opacity=0.6, clip=True).encode(
        x=alt.X("download_median_mbps:Q", title="Median download over users, Mbps (log)", scale=log),
        y=alt.Y("upload_median_mbps:Q", title="Median upload over users, Mbps (log)", scale=log),
        color=_area_color(below=True),
        tooltip=[alt.Tooltip("area:N", title="Area"), alt.Tooltip("measurement_date:T", title="Day"),
                 alt.Tooltip("download_median_mbps:Q", title="Download, Mbps", format=".1f"),
                 alt.Tooltip("upload_median_mbps:Q", title="Upload, Mbps", format=".1f")],
    ).interactive()
    diagonal = alt.Chart(pd.DataFrame({"mbps": [low, high]})).mark_line(
        strokeDash=[4, 4], color="#555").encode(x="mbps:Q", y="mbps:Q")
    return finish(alt.layer(points, diagonal).properties(width=NARROW, height=HEIGHT))


def _suppressed_labels(base: alt.Chart, horizontal: bool) -> alt.Chart:
    """'suppressed' written where a suppressed category's mark would start (base holds the category axis)."""
    text = base.transform_filter("datum.is_suppressed").mark_text(
        text=SUPPRESSED_TEXT, color=SUPPRESSED_COLOR, align="left", dx=4, angle=0 if horizontal else 270)
    return text.encode(x=alt.datum(0)) if horizontal else text.encode(y=alt.value(HEIGHT))


def frustration_staircase(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Sessions per bucket as bars; median download and median loss as lines on their own axes."""
    base = alt.Chart().encode(x=alt.X("behaviour_bucket:N", title="Tests in the session", sort=BUCKET_ORDER,
                                           axis=alt.Axis(labelAngle=0)))
    tooltip = [alt.Tooltip("behaviour_bucket:N", title="Tests per session"),
               alt.Tooltip("sessions:Q", title="Sessions"),
               alt.Tooltip("median_download_mbps:Q", title=f"Median download, Mbps {SESSIONS_MEDIAN_NOTE}",
                           format=".1f"),
               alt.Tooltip("median_loss_pct:Q", title=f"Median loss, % {SESSIONS_MEDIAN_NOTE}", format=".2f")]
    bars = base.mark_bar(color="#c9d7e8").encode(
        y=alt.Y("sessions:Q", title="Sessions", axis=alt.Axis(titleColor="#5b7fa6")), tooltip=tooltip)
    download = base.mark_line(color="#1f77b4", point=True).encode(
        y=alt.Y("median_download_mbps:Q", title="Median download, Mbps",
                axis=alt.Axis(orient="right", titleColor="#1f77b4")), tooltip=tooltip)
    loss = base.mark_line(color="#d62728", point=True, strokeDash=[5, 3]).encode(
        y=alt.Y("median_loss_pct:Q", title="Median loss, %",
                axis=alt.Axis(orient="right", offset=58, titleColor="#d62728")), tooltip=tooltip)
    layered = alt.layer(bars, download, loss, _suppressed_labels(base, horizontal=False), data=frame)
    return finish(layered.resolve_scale(y="independent").properties(width=NARROW - 60, height=HEIGHT))


def retention(frame: pd.DataFrame) -> alt.TopLevelMixin:
    labelled = frame.assign(user_type=frame["user_type"].map(USER_TYPE_LABELS).fillna(frame["user_type"]))
    bars = alt.Chart(labelled).mark_bar().encode(  # Gold publishes sessions even for suppressed cells
        x=alt.X("yearmonthdate(session_date):T", title=None, axis=alt.Axis(format="%d %b")),
        y=alt.Y("sessions:Q", title="Sessions started", stack="zero"),
        color=alt.Color("user_type:N", title="Session", sort=list(USER_TYPE_LABELS.values()),
                        scale=alt.Scale(range=["#2a9d8f", "#e9c46a"])),
        tooltip=[alt.Tooltip("yearmonthdate(session_date):T", title="Day"), alt.Tooltip("user_type:N", title="Type"),
                 alt.Tooltip("sessions:Q", title="Sessions"), alt.Tooltip("users:Q", title="Users"),
                 alt.Tooltip("is_suppressed:N", title="Users suppressed")],
    ).properties(width=NARROW, height=HEIGHT)
    return finish(bars)


def cohort_heatmap(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Share of each weekly cohort active N weeks later; suppressed cells grey and labelled."""
    base = alt.Chart().encode(
        x=alt.X("weeks_since_first:O", title="Weeks since first session", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("yearmonthdate(cohort_week):O", title="Cohort (week starting)",
                axis=alt.Axis(format="%d %b %Y", formatType="time")),
        tooltip=[alt.Tooltip("yearmonthdate(cohort_week):T", title="Cohort week"),
                 alt.Tooltip("weeks_since_first:O", title="Weeks since first"),
                 alt.Tooltip("cohort_users:Q", title="Cohort users"), alt.Tooltip("active_users:Q", title="Active"),
                 alt.Tooltip("retention_share:Q", title="Retention", format=".0%"),
                 alt.Tooltip("is_suppressed:N", title="Suppressed")],
    )
    cells = base.transform_filter("!datum.is_suppressed").mark_rect().encode(
        color=alt.Color("retention_share:Q", title="Retention", scale=alt.Scale(scheme="blues", domain=[0, 1]),
                        legend=alt.Legend(format=".0%")))
    hidden = base.transform_filter("datum.is_suppressed").mark_rect(color="#e4e4e4")
    labels = base.transform_calculate(
        label=f"datum.is_suppressed ? '{SUPPRESSED_TEXT}' : format(datum.retention_share, '.0%')",
    ).mark_text(fontSize=10).encode(
        text="label:N",
        color=alt.condition("datum.retention_share > 0.6", alt.value("white"), alt.value("#333")))
    return finish(alt.layer(cells, hidden, labels, data=frame).properties(width=NARROW, height=HEIGHT))


def _attainment(frame: pd.DataFrame, label_title: str, high_threshold: float, low_threshold: float):
    # an explicit order: layers with different filters cannot share a field-based sort
    order = frame.sort_values(["is_suppressed", "share_reaching_high"], ascending=[True, False])["label"].tolist()
    base = alt.Chart().encode(y=alt.Y("label:N", title=None, sort=order))
    tooltip = [alt.Tooltip("label:N", title=label_title),
               alt.Tooltip("share_reaching_high:Q", title=f"User-days ≥ {high_threshold:.0%} of contract", format=".1%"),
               alt.Tooltip("share_reaching_low:Q", title=f"User-days ≥ {low_threshold:.0%} of contract", format=".1%"),
               alt.Tooltip("user_days:Q", title="User-days (unsuppressed)"),
               alt.Tooltip("suppressed_cells:Q", title="Suppressed days")]
    bars = base.transform_filter("!datum.is_suppressed").mark_bar().encode(
        x=alt.X("share_reaching_high:Q", title=f"Share of user-days reaching {high_threshold:.0%} of contract "
                f"(tick: {low_threshold:.0%})", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.condition("datum.is_selected", alt.value("#e76f51"), alt.value("#4c78a8")),
        tooltip=tooltip)
    ticks = base.transform_filter("!datum.is_suppressed").mark_tick(color="#222", thickness=2).encode(
        x="share_reaching_low:Q", tooltip=tooltip)
    return finish(alt.layer(bars, ticks, _suppressed_labels(base, horizontal=True), data=frame)
                   .properties(width=NARROW - 160, height=alt.Step(18)))


def attainment_by_periphery(frame: pd.DataFrame, high_threshold: float = 0.8, low_threshold: float = 0.5):
    return _attainment(frame, "Periphery", high_threshold, low_threshold)


def attainment_by_isp(frame: pd.DataFrame, high_threshold: float = 0.8, low_threshold: float = 0.5):
    return _attainment(frame, "ISP", high_threshold, low_threshold)


def hourly_profile(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Median download by local hour: the evening dip is congestion."""
    base = alt.Chart().encode(x=alt.X("hour_local:O", title="Local hour (Europe/Athens)",
                                           axis=alt.Axis(labelAngle=0)))
    line = base.transform_filter("!datum.is_suppressed").mark_line(point=True, color="#264653").encode(
        y=alt.Y("median_download_mbps:Q", title=f"Median download, Mbps", scale=alt.Scale(zero=False)),
        tooltip=[alt.Tooltip("hour_local:O", title="Hour"),
                 alt.Tooltip("median_download_mbps:Q", title=f"Median download, Mbps {MEDIAN_NOTE}", format=".1f"),
                 alt.Tooltip("users:Q", title="User-hours (unsuppressed)"), alt.Tooltip("tests:Q", title="Tests")])
    hidden = base.transform_filter("datum.is_suppressed").mark_text(
        text="s", color=SUPPRESSED_COLOR, baseline="bottom").encode(
        y=alt.value(HEIGHT), tooltip=[alt.Tooltip("hour_local:O", title="Hour suppressed (fewer than k users)")])
    return finish(alt.layer(line, hidden, data=frame).properties(width=NARROW, height=HEIGHT))


def speed_histogram(frame: pd.DataFrame) -> alt.TopLevelMixin:
    """Share of users per log-spaced bucket of their monthly median download."""
    edges = pd.concat([frame["bucket_lower_drawn_mbps"], frame["bucket_upper_drawn_mbps"]]).dropna()
    domain = [edges.min(), edges.max()] if len(edges) else [1, 1000]
    bars = alt.Chart(frame).transform_filter("isValid(datum.share_of_users)").mark_rect(
        stroke="white", strokeWidth=0.5, color="#4c78a8").encode(
        x=alt.X("bucket_lower_drawn_mbps:Q", title="Monthly median download per user, Mbps (log buckets)",
                scale=alt.Scale(type="log", domain=domain, nice=False)),
        x2="bucket_upper_drawn_mbps:Q",
        y=alt.Y("share_of_users:Q", title="Share of users", axis=alt.Axis(format="%")),
        y2=alt.datum(0),
        tooltip=[alt.Tooltip("bucket_lower_mbps:Q", title="From, Mbps", format=".3~r"),
                 alt.Tooltip("bucket_upper_mbps:Q", title="To, Mbps", format=".3~r"),
                 alt.Tooltip("users:Q", title="Users"),
                 alt.Tooltip("share_of_users:Q", title="Share", format=".1%")])
    return finish(bars.properties(width=NARROW, height=HEIGHT))


def worst_regions_table(frame: pd.DataFrame, high_threshold: float = 0.8, low_threshold: float = 0.5):
    """A small table: the areas with the lowest attainment, then the suppressed ones."""
    levels = frame["area_level"].dropna().unique() if "area_level" in frame else []
    area_title = AREA_LEVEL_TITLES.get(levels[0], "Area") if len(levels) == 1 else "Area"
    columns = [area_title, f"≥ {high_threshold:.0%} of contract", f"≥ {low_threshold:.0%} of contract", "User-days"]

    def cells(row) -> list[str]:
        if row["is_suppressed"]:
            return [row["label"], SUPPRESSED_TEXT, SUPPRESSED_TEXT, SUPPRESSED_TEXT]
        return [row["label"], f"{row['share_reaching_high']:.1%}", f"{row['share_reaching_low']:.1%}",
                f"{row['user_days']:,.0f}"]

    def tone(row) -> str:
        return "selected" if row["is_selected"] else SUPPRESSED_TEXT if row["is_suppressed"] else "ranked"

    rows = [{"rank": 0, "column": col, "text": col, "tone": "header"} for col in columns]
    rows += [{"rank": i + 1, "column": col, "text": text, "tone": tone(r)}
             for i, (_, r) in enumerate(frame.iterrows()) for col, text in zip(columns, cells(r))]
    table = pd.DataFrame(rows, columns=["rank", "column", "text", "tone"])
    table["x"] = table["column"].map(dict(zip(columns, TABLE_COLUMN_X)))
    base = alt.Chart().encode(x=alt.X("x:Q", axis=None, scale=alt.Scale(domain=[0, TABLE_WIDTH])),
                              y=alt.Y("rank:O", title=None, axis=None), text="text:N")
    header = base.transform_filter("datum.rank == 0").mark_text(align="left", fontWeight="bold")
    body = base.transform_filter("datum.rank > 0").mark_text(align="left").encode(
        color=alt.Color("tone:N", legend=None, scale=alt.Scale(
            domain=["ranked", "selected", SUPPRESSED_TEXT], range=["#222", "#e76f51", SUPPRESSED_COLOR])),
        tooltip=[alt.Tooltip("column:N", title="Column"), alt.Tooltip("text:N", title="Value")])
    return finish(alt.layer(header, body, data=table).properties(width=TABLE_WIDTH, height=alt.Step(20)))
