"""The chapters' charts, drawn to SVG as a notebook shows them: what is drawn, and that a suppressed cell is
labelled or grey, never a bar or a point at zero."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from gnp.chapters import figures, regions
from gnp.dashboard.charts import SUPPRESSED_COLOR, SUPPRESSED_TEXT
from gnp.dashboard.render import chart_svg

D1, D2 = dt.date(2025, 10, 25), dt.date(2025, 10, 26)


def marks(svg: str, role: str) -> list[str]:
    """The aria-labels (field: value; ...) of every mark of one role (bar, point, rect mark, text mark, area, ...)."""
    return re.findall(rf'aria-label="([^"]*)"[^>]*aria-roledescription="{role}"', svg)


def fills(svg: str, role: str) -> list[str]:
    return re.findall(rf'aria-roledescription="{role}"[^>]*fill="([^"]+)"', svg)


def suppressed_labels(svg: str) -> list[str]:
    """The rows labelled as suppressed (the aria-label of each text mark that says so)."""
    return re.findall(rf'aria-label="([^"]*)"[^>]*aria-roledescription="text mark"[^>]*>(?:<title>[^<]*</title>)?'
                      rf'{SUPPRESSED_TEXT}<', svg)


def area_days() -> pd.DataFrame:
    def cell(day, area_id, area, users, down, suppressed=False):
        return {"measurement_date": pd.Timestamp(day), "area_level": "periphery", "area_id": area_id, "area": area,
                "periphery": area, "tests": 1, "users": None if suppressed else users,
                "download_median_mbps": None if suppressed else down,
                "upload_median_mbps": None if suppressed else down / 10, "rtt_median_ms": 20.0,
                "is_suppressed": suppressed}

    return pd.DataFrame([row for day in (D1, D2) for row in (
        cell(day, "9", "ΑΤΤΙΚΗΣ", 200, 80.0), cell(day, "13", "ΚΡΗΤΗΣ", 100, 40.0),
        cell(day, "6", "ΙΟΝΙΩΝ ΝΗΣΩΝ", 10, 30.0), cell(day, "11", "ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ", None, None, suppressed=True),
    )])


def test_the_ranking_draws_a_bar_per_ranked_area_paler_when_thin_and_labels_a_suppressed_one():
    svg = chart_svg(figures.ranking_bars(regions.ranking(area_days(), "periphery"), "Peripheries", "Periphery"))

    bars = marks(svg, "bar")
    assert [b.split("label: ")[1].split(";")[0] for b in bars] == ["ΑΤΤΙΚΗΣ", "ΚΡΗΤΗΣ", "ΙΟΝΙΩΝ ΝΗΣΩΝ"], bars
    assert len(set(fills(svg, "bar"))) == 2, "expected the thin area's bar in the paler colour"
    assert [label for label in suppressed_labels(svg)] == ["label: ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ"], suppressed_labels(svg)
    assert "Peripheries" in svg


def test_attainment_bars_a_provider_per_share_and_labels_a_suppressed_one_instead_of_a_zero_bar():
    frame = pd.DataFrame({"isp": ["A", "B", "C"], "share_reaching_high": [0.8, 0.5, None], "user_days": [100, 60, 3],
                          "is_suppressed": [False, False, True]})
    svg = chart_svg(figures.attainment_bars(frame, 0.9, "Contracts"))

    assert [b.split("Provider: ")[1].split(";")[0] for b in marks(svg, "bar")] == ["A", "B"]
    assert "Share: 80%" in marks(svg, "bar")[0] and suppressed_labels(svg) == ["isp: C"]


def test_the_heatmaps_draw_a_suppressed_cell_grey_rather_than_leave_it_out():
    svg = chart_svg(figures.area_heatmap(area_days(), "periphery", "By day"))
    cells = dict(zip(marks(svg, "rect mark"), fills(svg, "rect mark")))
    assert len(cells) == 8, cells
    grey = [label for label, fill in cells.items() if fill == SUPPRESSED_COLOR]
    assert len(grey) == 2 and all("ΒΟΡΕΙΟΥ ΑΙΓΑΙΟΥ" in label for label in grey), grey

    cohorts = pd.DataFrame({"cohort_week": ["2025-10-06"] * 2 + ["2025-10-13"], "weeks_since_first": [0, 1, 0],
                            "retention_share": [1.0, 0.4, None], "cohort_users": [50, 50, 3],
                            "is_suppressed": [False, False, True]})
    svg = chart_svg(figures.cohort_heatmap(cohorts, "Cohorts"))
    cells = dict(zip(marks(svg, "rect mark"), fills(svg, "rect mark")))
    grey = [label for label, fill in cells.items() if fill == SUPPRESSED_COLOR]
    assert len(cells) == 3 and len(grey) == 1 and "2025-10-13" in grey[0], cells


def test_hourly_lines_leave_a_suppressed_hour_out_and_the_staircase_its_speed():
    hours = pd.DataFrame({"isp": ["A"] * 3 + ["B"] * 3, "hour_local": [8, 9, 10] * 2,
                          "median_download_mbps": [50.0, 40.0, 45.0, 20.0, None, 25.0], "users": [30, 30, 30, 9, 2, 9],
                          "is_suppressed": [False, False, False, False, True, False]})
    svg = chart_svg(figures.hourly_lines(hours, "Hours"))
    points = marks(svg, "point")
    assert len(points) == 5 and not any("Provider: B; Hour: 9" in p for p in points), points

    steps = pd.DataFrame({"behaviour_bucket": ["1", "2-3", "4+"], "sessions": [100, 30, 2],
                          "median_download_mbps": [60.0, 30.0, None], "median_loss_pct": [0.1, 0.5, None],
                          "is_suppressed": [False, False, True]})
    bars = marks(chart_svg(figures.staircase_bars(steps, "Staircase")), "bar")
    assert len(bars) == 5, bars  # three session counts, two speeds: the suppressed step has no speed bar
    assert sum("Tests: 4+" in b for b in bars) == 1


def test_retention_stacks_returning_and_new_users_under_their_labels_and_say_lists_findings():
    daily = pd.DataFrame({"session_date": pd.to_datetime([D1, D1, D2, D2]),
                          "user_type": ["returning", "new_or_transient"] * 2, "sessions": [10, 5, 12, 4]})
    svg = chart_svg(figures.retention_area(daily, "Retention"))
    assert {"Returning", "New or transient"} <= set(re.findall(r"User type: ([^;\"]+)", svg)), marks(svg, "area")

    assert figures.say(["One.", "Two."]).data == "- One.\n- Two."
    assert figures.say([]).data == ""
