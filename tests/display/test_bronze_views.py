import datetime as dt

import altair as alt
import pandas as pd

from gnp.display import common as views
from gnp.display import ingest as bronze_views

D = [dt.date(2025, 10, d) for d in (25, 26, 27, 28)]


def days_frame():
    return pd.DataFrame({
        "measurement_date": D,
        "action": ["skipped", "fetched", "fetched", "fetched"],
        "records": [1200, 0, 1500, 90],
        "bytes": [2_000_000, 10, 2_500_000, 150_000],
        "stored_bytes": [400_000, 30, 500_000, 30_000],
        "sha256": ["a", "b", "c", "d"],
        "status": [200, 200, 200, 200],
        "attempts": [1, 1, 3, 1],
        "fetched_at": ["t"] * 4,
        "versions": [1, 1, 1, 1],
        "location": ["/abs/lake/bronze/x"] * 4,
    })


VOLUMES = pd.DataFrame({"measurement_date": [D[1], D[3]], "records": [0, 90], "neighbours_median": [1350.0, 1350.0],
                        "status": ["empty", "thin"], "what_happens": ["again", "kept"]})


def test_days_table_drops_paths_and_says_which_days_look_empty_or_thin():
    found = bronze_views.days_table(days_frame(), VOLUMES)

    assert "location" not in found.columns and "sha256" not in found.columns
    assert found["looks"].tolist() == ["ok", "empty", "ok", "thin"]


def test_summary_sentences_count_days_retries_and_name_empty_and_thin_days():
    found = bronze_views.summary_sentences(days_frame(), VOLUMES)

    assert found == [
        "3 days fetched (1,590 records, 2.7 MB as received, 530.0 kB stored); 1 day already in Bronze, skipped.",
        "1 day needed more than one attempt (2 retries): 2025-10-27.",
        "1 day stored empty: 2025-10-26.",
        "1 day thin (under 20% of the median of its neighbours): 2025-10-28.",
    ]


def test_summary_sentences_when_all_is_well_and_when_nothing_ran():
    days = days_frame().assign(attempts=1)
    empty_volumes = VOLUMES.iloc[0:0]

    found = bronze_views.summary_sentences(days, empty_volumes)

    assert found[1:] == ["No fetch needed a retry.",
                         "Every stored day of the range looks complete next to its neighbours."]
    assert bronze_views.summary_sentences(days.iloc[0:0], empty_volumes) == [
        "No day of the range was fetched or found in Bronze."]


def test_day_chart_colours_empty_and_thin_days_and_draws_records_bytes_attempts():
    chart = bronze_views.day_chart(bronze_views.days_table(days_frame(), VOLUMES))

    spec = chart.to_dict()
    assert len(spec["vconcat"]) == 3
    data = next(iter(spec["datasets"].values()))
    assert [row["shown"] for row in data] == ["skipped", "empty", "fetched", "thin"]
    assert isinstance(chart, alt.VConcatChart)
    assert views.show(chart).data.lstrip().startswith("<svg"), "the chart must draw offline"
