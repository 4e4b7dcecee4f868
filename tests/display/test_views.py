import datetime as dt

import altair as alt
import pandas as pd

from gnp.quality.checks import CheckResult
from gnp.display import common as views


def check(name, passed, severity="critical"):
    return CheckResult("r", dt.date(2025, 10, 27), "silver", name, severity, passed, "1", "0",
                       dt.datetime(2025, 10, 27, tzinfo=dt.timezone.utc))


def test_table_puts_thousands_separators_on_numbers_and_hides_the_index():
    frame = pd.DataFrame({"name": ["a", "b"], "rows": [1234567, 12], "mb": [1234.56, None]})

    html = views.table(frame, decimals=1).to_html()

    assert "1,234,567" in html and "1,234.6" in html, html
    assert "nan" not in html, "a missing value must show as an empty cell"
    assert 'class="row_heading' not in html, "the index must be hidden"


def test_relative_strips_the_root_and_keeps_other_locations():
    assert views.relative("/home/x/lake/bronze/day=1/a.gz", "/home/x/lake") == "bronze/day=1/a.gz"
    assert views.relative("gs://b/lake/silver", "gs://b/lake/") == "silver"
    assert views.relative("gs://other/x", "gs://b/lake") == "gs://other/x"
    assert views.relative(None, "/lake") is None


def test_checks_summary_counts_passed_and_names_what_failed():
    passed = [check(f"c{i}", True) for i in range(23)]

    assert views.checks_summary(passed) == "23 of 23 quality checks passed."
    assert views.checks_summary([*passed, check("w", False, "warning"), check("x", False)]) == (
        "23 of 25 quality checks passed; 1 critical failed, 1 warnings (below).")
    assert views.checks_summary([]) == "No quality check ran."


def test_failed_checks_lists_only_failures_critical_first():
    found = views.failed_checks([check("ok", True), check("w", False, "warning"), check("x", False)])

    assert found["check"].tolist() == ["x", "w"]
    assert list(found.columns) == ["check", "severity", "observed", "expected"]
    assert views.failed_checks([check("ok", True)]).empty


def test_checks_shows_a_table_only_when_something_failed():
    assert len(views.checks([check("ok", True)])) == 1
    assert len(views.checks([check("ok", True), check("x", False)])) == 2


def test_show_draws_svg_offline():
    chart = views.finish(alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q"), "T")

    svg = views.show(chart).data

    assert svg.lstrip().startswith("<svg") and "http" not in svg.split(">", 1)[1].replace("http://www.w3.org", "")


def test_outputs_table_shows_locations_under_the_lake_and_partitions_in_brief():
    outputs = [{"name": "measurements", "location": "/home/u/lake/silver/measurements", "rows": 12345,
                "partition_by": "measurement_date", "partitions": ["2025-10-26", "2025-10-27"]},
               {"name": "sessions", "location": "/home/u/lake/silver/sessions", "rows": 7,
                "partition_by": "session_date", "partitions": None},
               {"name": "cohorts", "location": "/home/u/lake/gold/c", "rows": 1, "partition_by": "cohort_week",
                "partitions": ["a", "b", "c", "d"]}]

    html = views.outputs_table(outputs, "/home/u/lake").to_html()

    assert "/home/u" not in html and "silver/measurements" in html and "12,345" in html
    assert "2025-10-26, 2025-10-27" in html and "every partition" in html and "4: a..d" in html


def test_plural_and_size_read_as_words():
    assert [views.plural(1, "day"), views.plural(2000, "day"), views.plural(2, "retry", "retries")] == [
        "1 day", "2,000 days", "2 retries"]
    assert [views.size(812), views.size(35_787), views.size(2_500_000), views.size(1.2e9)] == [
        "812 B", "35.8 kB", "2.5 MB", "1.2 GB"]
