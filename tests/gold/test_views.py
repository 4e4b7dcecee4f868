import datetime as dt

import pandas as pd
import pytest

from gnp.display import gold as views
from gnp.display.common import show

D1, D2, D3 = dt.date(2025, 10, 26), dt.date(2025, 10, 27), dt.date(2025, 10, 28)


def test_national_trend_keeps_greece_every_provider_by_day(spark):
    metrics = spark.createDataFrame(
        [(D2, "country", "all", 9, 40, 50.0, 10.0, False), (D1, "country", "all", 8, 30, 40.0, 9.0, False),
         (D1, "country", "Acme", 6, 10, 99.0, 9.0, False), (D1, "periphery", "all", 6, 10, 99.0, 9.0, False),
         (D3, "country", "all", None, 3, None, None, True)],
        "measurement_date date, area_level string, isp string, users bigint, tests bigint, "
        "download_median_mbps double, upload_median_mbps double, is_suppressed boolean",
    )

    found = views.national_trend(metrics)

    assert found["measurement_date"].tolist() == [D1, D2, D3]
    assert found["download_median_mbps"].tolist()[:2] == [40.0, 50.0]
    assert views.trend_sentence(found) == (
        "Over the 2 days built, the median user in Greece downloaded between 40.0 Mbps (26 Oct 2025) and "
        "50.0 Mbps (27 Oct 2025), from 8 to 9 users a day.")
    chart = views.trend_chart(found)
    data = next(iter(chart.to_dict()["datasets"].values()))
    assert len(data) == 4, "two days kept, download and upload; the suppressed day left out"
    assert "<svg" in show(chart).data, "the chart must draw offline"


def test_trend_sentence_when_every_day_is_suppressed():
    trend = pd.DataFrame({"measurement_date": [D1], "users": [None], "download_median_mbps": [None],
                          "is_suppressed": [True]})

    assert views.trend_sentence(trend) == "Greece as a whole is suppressed on every day built (1 day)."


@pytest.fixture
def levels(spark):
    hourly = spark.createDataFrame(
        [("country", "all", False), ("country", "all", True), ("regional_unit", "Acme", True),
         ("regional_unit", "Acme", True), ("regional_unit", "Acme", True), ("regional_unit", "Acme", True)],
        "area_level string, isp string, is_suppressed boolean",
    )
    period = spark.createDataFrame(
        [("week", "country", "all", False), ("month", "country", "all", False), ("month", "periphery", "all", True),
         ("week", "periphery", "all", True)],
        "period_kind string, area_level string, isp string, is_suppressed boolean",
    )
    regional = spark.createDataFrame([(False,), (False,)], "is_suppressed boolean")
    no_flag = spark.createDataFrame([(1,)], "x int")
    return views.suppression({"hourly_profile": hourly, "area_isp_period_metrics": period,
                              "regional_metrics": regional, "quality_results": no_flag})


def test_suppression_counts_per_table_grain_and_slice_level(levels):
    found = levels.set_index(["table_name", "grain", "area_level", "providers"])

    assert found.loc[("hourly_profile", "day", "regional_unit", "one provider"), "share"] == 1.0
    assert found.loc[("hourly_profile", "day", "country", "every provider"), "suppressed_cells"] == 1
    assert found.loc[("area_isp_period_metrics", "month", "periphery", "every provider"), "cells"] == 1
    assert found.loc[("regional_metrics", "day", "periphery", "every provider"), "share"] == 0.0
    assert "quality_results" not in set(levels["table_name"])


def test_suppression_sentences_say_what_is_mostly_suppressed_and_what_to_read_instead(levels):
    found = views.suppression_sentences(levels, 5)

    assert found == [
        "83% of hourly_profile cells are suppressed at day grain (5 of 6): fewer than k=5 users in the cell (one per "
        "measurement_date, area (country, periphery or regional unit) and ISP (or all), and local hour). "
        "The most suppressed slice (regional_unit, one provider) is at 100%, the least (country, every provider) "
        "at 50%. Speed statistics read better by week or month: area_isp_period_metrics is suppressed by month 50%; "
        "by week 50%."]


def test_suppression_sentences_when_nothing_is_mostly_suppressed(levels):
    few = levels[levels["table_name"] == "regional_metrics"]

    assert views.suppression_sentences(few, 5) == [
        "No table has more than 50% of its cells suppressed (fewer than k=5 users)."]
    assert "<svg" in show(views.suppression_chart(levels)).data
    spec = views.suppression_chart(levels).to_dict()
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"] == [0, 1]
