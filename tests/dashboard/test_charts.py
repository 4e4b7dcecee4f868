"""Chart builders on small Gold frames: their specs, and their real SVG rendering through vl-convert."""

from __future__ import annotations

import datetime as dt
import re

import altair as alt
import pandas as pd
import pytest

from gnp.dashboard import charts
from gnp.dashboard import queries as q
from gnp.dashboard.render import chart_svg, charts_svg, with_native_tooltips
from gnp.gold.histogram import speed_bucket_edges

D = dt.date
PERIOD = q.Filters(D(2025, 1, 8), D(2025, 2, 6))


def units(spec: dict) -> list[dict]:
    """Every single-view spec inside a (layered, faceted, concatenated) spec."""
    found = [spec] if "mark" in spec else []
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            found += units(child)
    if "spec" in spec:
        found += units(spec["spec"])
    return found


def speeds_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "measurement_date": pd.to_datetime(["2025-01-08", "2025-01-09", "2025-01-08", "2025-01-09"]),
        "area_id": ["9", "9", "11", "11"], "area": ["ΑΤΤΙΚΗΣ", "ΑΤΤΙΚΗΣ", "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ", "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ"],
        "users": [40, 38, None, None], "download_median_mbps": [80.0, 78.0, None, None],
        "upload_median_mbps": [10.0, 9.0, None, None], "is_suppressed": [False, False, True, True]})


def attainment_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "key": ["9", "11", "6"], "label": ["ΑΤΤΙΚΗΣ", "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ", "ΙΟΝΙΩΝ ΝΗΣΩΝ"], "area_level": "periphery",
        "user_days": [900.0, None, 40.0], "share_reaching_low": [0.9, None, 0.5],
        "share_reaching_high": [0.75, None, 0.3], "median_attainment": [0.9, None, 0.6], "cells": [30, 30, 30],
        "suppressed_cells": [0, 30, 20], "is_suppressed": [False, True, False], "is_selected": [False, False, True]})


def test_every_chart_sets_a_greek_font_and_has_tooltips(gold):
    pairs = [(q.speeds_over_time, charts.speeds_over_time), (q.tests_per_day, charts.tests_per_day),
             (q.rtt_vs_jitter, charts.rtt_vs_jitter), (q.upload_vs_download, charts.upload_vs_download),
             (q.frustration_staircase, charts.frustration_staircase), (q.retention, charts.retention),
             (q.cohort_retention, charts.cohort_heatmap), (q.attainment_by_periphery, charts.attainment_by_periphery),
             (q.attainment_by_isp, charts.attainment_by_isp), (q.hourly_profile, charts.hourly_profile),
             (q.speed_histogram, charts.speed_histogram), (q.worst_attainment_regions, charts.worst_regions_table)]
    for query, build in pairs:
        spec = build(query(gold, PERIOD)).to_dict()
        assert spec["config"]["font"].startswith("DejaVu Sans"), f"{build.__name__}: font {spec['config']['font']}"
        tipped = [u for u in units(spec) if "tooltip" in u.get("encoding", {})]
        assert tipped, f"expected tooltips in {build.__name__}"


def test_speeds_smooth_over_seven_days_and_isolate_areas_from_the_legend():
    spec = charts.speeds_over_time(speeds_frame()).to_dict()
    inner = spec["spec"]
    window = next(t for t in inner["transform"] if "window" in t)
    assert window["frame"] == [-6, 0] and window["groupby"] == ["area", "measure"]
    param = spec["params"][0]  # Altair lifts a faceted view's selection to the top level
    assert param["select"] == {"type": "point", "fields": ["area"]} and param["bind"] == "legend"
    assert inner["encoding"]["opacity"]["condition"]["param"] == param["name"]
    assert spec["facet"]["row"]["field"] == "measure" and spec["resolve"]["scale"]["y"] == "independent"


def test_staircase_has_bars_and_two_lines_on_independent_axes(gold):
    spec = charts.frustration_staircase(q.frustration_staircase(gold, PERIOD)).to_dict()
    marks = [(u["mark"]["type"], u["encoding"].get("y", {}).get("field")) for u in spec["layer"]]
    assert marks[:3] == [("bar", "sessions"), ("line", "median_download_mbps"), ("line", "median_loss_pct")]
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert spec["layer"][2]["encoding"]["y"]["axis"]["orient"] == "right"


def test_upload_against_download_draws_the_identity_line_on_equal_log_axes():
    spec = charts.upload_vs_download(speeds_frame()).to_dict()
    line = next(u for u in spec["layer"] if u["mark"]["type"] == "line")
    assert line["encoding"]["x"]["field"] == line["encoding"]["y"]["field"] == "mbps"
    points = spec["layer"][0]["encoding"]
    assert points["x"]["scale"] == points["y"]["scale"] and points["x"]["scale"]["type"] == "log"


def test_attainment_orders_by_share_puts_suppressed_last_and_labels_it():
    frame = attainment_frame()
    chart = charts.attainment_by_periphery(frame)
    spec = chart.to_dict()
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["ΑΤΤΙΚΗΣ", "ΙΟΝΙΩΝ ΝΗΣΩΝ", "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ"]
    svg = chart_svg(chart)
    assert "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ" in svg and ">suppressed<" in svg, "expected the suppressed periphery labelled"
    assert "#e76f51" in svg, "expected the selected periphery highlighted"


def test_suppressed_cells_are_labelled_not_drawn_as_zero_in_the_heatmap():
    frame = pd.DataFrame({"cohort_week": pd.to_datetime(["2025-01-06", "2025-01-06", "2025-01-13"]),
                          "weeks_since_first": [0, 1, 0], "cohort_users": [200, 200, None],
                          "active_users": [200, 60, None], "retention_share": [1.0, 0.3, None],
                          "is_suppressed": [False, False, True]})
    svg = chart_svg(charts.cohort_heatmap(frame))
    assert svg.count(">suppressed<") == 1 and ">30%<" in svg and ">0%<" not in svg.split("Retention")[0]


def test_worst_regions_table_lists_ranked_rows_then_suppressed():
    frame = attainment_frame().iloc[[2, 0, 1]].reset_index(drop=True)
    data = charts.worst_regions_table(frame).to_dict()["datasets"]
    rows = pd.DataFrame(next(iter(data.values())))
    names = rows[rows["column"] == "Periphery"].sort_values("rank")["text"].tolist()
    assert names == ["Periphery", "ΙΟΝΙΩΝ ΝΗΣΩΝ", "ΑΤΤΙΚΗΣ", "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ"], f"expected header then rows: {names}"
    assert rows[rows["rank"] == 3]["text"].tolist()[1:] == ["suppressed"] * 3
    assert rows[rows["rank"] == 1]["tone"].iloc[0] == "selected"
    units = frame.assign(area_level="regional_unit", label=["Πειραιώς", "Κεντρικού Τομέα Αθηνών", "Χίου"])
    data = charts.worst_regions_table(units).to_dict()["datasets"]
    columns = set(pd.DataFrame(next(iter(data.values())))["column"])
    assert "Regional unit" in columns and "Periphery" not in columns, f"expected a regional unit header: {columns}"


def test_histogram_bars_span_their_log_bucket_edges():
    frame = q.with_histogram_shares(pd.DataFrame({
        "bucket_index": [0, 1], "bucket_lower_mbps": [10.0, 100.0], "bucket_upper_mbps": [100.0, None],
        "users": [3.0, 1.0], "cells": [1, 1], "suppressed_cells": [0, 0], "is_suppressed": [False, False]}))
    encoding = charts.speed_histogram(frame).to_dict()["encoding"]
    assert encoding["x"]["scale"]["type"] == "log" and encoding["x2"]["field"] == "bucket_upper_drawn_mbps"
    assert encoding["x"]["scale"]["domain"] == [10.0, 1000.0]


def test_histogram_draws_the_zero_to_one_bucket_on_its_log_axis():
    # Gold's first bucket is [0, 1): a log axis cannot start at 0, which once left the chart with no bars.
    edges = speed_bucket_edges(4)
    frame = q.with_histogram_shares(pd.DataFrame({
        "bucket_index": range(len(edges)), "bucket_lower_mbps": edges,
        "bucket_upper_mbps": [*edges[1:], None], "users": [2.0, 1.0] + [0.0] * (len(edges) - 3) + [1.0],
        "cells": 1, "suppressed_cells": 0, "is_suppressed": False}))

    domain = charts.speed_histogram(frame).to_dict()["encoding"]["x"]["scale"]["domain"]
    svg = chart_svg(charts.speed_histogram(frame))

    assert domain[0] == pytest.approx(10 ** -0.25) and domain[1] == pytest.approx(10 ** 4.25), domain
    widths = [float(w) for w in re.findall(r'aria-roledescription="rect mark" d="M[-\d.e]+,[-\d.e]+h([-\d.e]+)v', svg)]
    assert len(widths) == len(edges) and all(w > 0 for w in widths), f"expected {len(edges)} bars, found {widths}"
    assert "From, Mbps: 0; To, Mbps: 1;" in svg, "the first bucket's tooltip still says it starts at 0"


@pytest.mark.parametrize("svg, expected", [
    ('<path aria-label="x: 1; n: Αττική" d="M0"/>', '<path aria-label="x: 1; n: Αττική" d="M0"><title>x: 1; n: Αττική</title></path>'),
    ('<text aria-label="a &amp; b">t</text>', '<text aria-label="a &amp; b"><title>a &amp; b</title>t</text>'),
    ('<path d="M0"/>', '<path d="M0"/>'),
])
def test_native_tooltips_copy_aria_labels_into_titles(svg, expected):
    assert with_native_tooltips(svg) == expected


def test_rendered_svg_keeps_greek_text_and_hover_titles():
    svg = chart_svg(charts.rtt_vs_jitter(pd.DataFrame({
        "measurement_date": pd.to_datetime(["2025-01-08"]), "area_id": ["9"], "area": ["ΑΤΤΙΚΗΣ"], "users": [40],
        "rtt_median_ms": [20.0], "jitter_median_ms": [3.0], "is_suppressed": [False]})))
    titles = [part.split("</title>")[0] for part in svg.split("<title>")[1:]]
    assert ">ΑΤΤΙΚΗΣ<" in svg and any("Area: ΑΤΤΙΚΗΣ" in t and "RTT, ms: 20.0" in t for t in titles), titles


def test_a_chart_that_would_fetch_data_is_refused_alone():
    good = charts.retention(pd.DataFrame({"session_date": pd.to_datetime(["2025-01-08"]), "user_type": ["returning"],
                                          "sessions": [12], "users": [9], "is_suppressed": [False]}))
    fetching = alt.Chart("https://example.invalid/data.csv").mark_point().encode(x="a:Q")
    found = charts_svg([good, fetching])
    assert found[0].startswith("<svg") and found[1] is None, "expected the remote-data chart refused, the other drawn"
