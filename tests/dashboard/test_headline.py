"""The headline's medians are exact over a whole month and marked "≈" otherwise; its changes need a previous
period with tests on most of its days.

Gold is computed by the DuckDB reference from hand-made Silver rows (as in
test_periods.py): in March 2025 user A tests 10, 20, 30 on Monday 3 March and
100 on the 4th, user B 50 on the 5th, so March's median over users of their
monthly medians is 37.5 (the old ≈ figure, a mean of daily medians, 56.67);
February has tests on 3 of its 28 days. Every user has a 50 Mbps contract.
The app test reads the synthetic Gold, whose January 2025 is whole.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
from silver_factories import measurement

from dashboard.synthetic_gold import write_gold_duckdb, write_params
from gnp.core.config import SemanticsParams, load_params
from gnp.core.registry import Registry
from gnp.core.schemas import MEASUREMENTS
from gnp.dashboard import markup
from gnp.dashboard.app import Dashboard
from gnp.dashboard.headline import headline
from gnp.dashboard.queries import Filters
from gnp.dashboard.selection import filter_options
from gnp.dashboard.source import GoldSource, duckdb_executor, open_gold
from gnp.devtools.reference_sql import SilverRelations, reference_gold
from gnp.serving.warehouse import duckdb_type

MARCH, MARCH_END = dt.date(2025, 3, 1), dt.date(2025, 3, 31)
TESTS = [  # id, user, day, download
    (1, "A", dt.date(2025, 3, 3), 10.0), (2, "A", dt.date(2025, 3, 3), 20.0), (3, "A", dt.date(2025, 3, 3), 30.0),
    (4, "A", dt.date(2025, 3, 4), 100.0), (5, "B", dt.date(2025, 3, 5), 50.0),
    (6, "A", dt.date(2025, 2, 10), 40.0), (7, "A", dt.date(2025, 2, 11), 40.0), (8, "A", dt.date(2025, 2, 12), 40.0),
]
TABLES = ("area_isp_metrics", "area_isp_period_metrics", "contract_attainment")


def _gold_frames() -> dict[str, pd.DataFrame]:
    con = duckdb.connect()
    rows = [measurement(i, u, d, 12, "9", dl, upload=dl / 10, contract=50.0, isp="Nova") for i, u, d, dl in TESTS]
    typed = ", ".join(f"CAST({c.name} AS {duckdb_type(c.type)}) AS {c.name}" for c in MEASUREMENTS.columns)
    con.register("rows", pd.DataFrame(rows, columns=MEASUREMENTS.column_names))
    con.execute(f"CREATE TABLE measurements AS SELECT {typed} FROM rows")
    con.execute("CREATE TABLE sessions AS SELECT * FROM (SELECT NULL::VARCHAR AS session_id) WHERE false")
    con.execute("ALTER TABLE sessions ADD COLUMN session_date DATE")
    for c in ("user_id", "periphery_id", "periphery", "regional_unit_id", "isp"):
        con.execute(f"ALTER TABLE sessions ADD COLUMN {c} VARCHAR")
    silver = SilverRelations(measurements="measurements", sessions="sessions")
    return reference_gold(con, SemanticsParams(k_anonymity=1), silver, TABLES)


@pytest.fixture(scope="module")
def gold(tmp_path_factory):
    folder = tmp_path_factory.mktemp("headline-gold")
    write_gold_duckdb(folder / "warehouse.duckdb", _gold_frames())
    registry = Registry.from_params(load_params(write_params(folder, folder / "warehouse.duckdb")))
    con = duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True)
    yield GoldSource(registry, duckdb_executor(con))
    con.close()


def test_a_whole_month_shows_its_exact_median_and_no_change_against_a_thin_previous_month(gold):
    cards = headline(gold, Filters(MARCH, MARCH_END)).set_index("metric")

    download = cards.loc["download_median_mbps"]
    assert download["value"] == pytest.approx(37.5) and download["label"] == "Median download over users", download
    assert download["note"] == "" and cards.loc["upload_median_mbps", "value"] == pytest.approx(3.75)
    why = "No comparison: the previous period (01 Feb 2025 to 28 Feb 2025) has tests on 3 of its 28 days."
    assert cards["change"].isna().all(), cards["change"]
    assert (cards["comparison_note"] == why).all(), cards["comparison_note"]
    assert cards.loc["share_reaching_high", "value"] == pytest.approx(2 / 3), "A's 20 on 3 March did not reach 40"

    assert "user_days" not in cards.index and cards.loc["users", "label"] == "Distinct users"
    assert cards.loc["users", "value"] == 2, "A and B: the month's distinct users, not users summed per day"

    html = markup.headline_html(cards.reset_index())
    median_card = html.split('data-metric="download_median_mbps"')[1].split("gnp-card")[0]
    assert "37.5 Mbps" in median_card and "≈" not in median_card and why not in median_card, median_card
    assert html.count(why) == 1 and "vs previous period" not in html, "expected the reason said once, above the cards"


def test_a_range_of_days_is_marked_approximate_and_compared_when_the_previous_days_have_tests(gold):
    # 5 March against 4 March (one day, with tests): compared. Daily medians: B's 50 against A's 100.
    cards = headline(gold, Filters(dt.date(2025, 3, 5), dt.date(2025, 3, 5))).set_index("metric")

    download = cards.loc["download_median_mbps"]
    assert download["label"] == "Median download over users ≈" and download["note"].startswith("≈"), download
    assert download["change"] == pytest.approx(-50.0) and download["comparison_note"] == "", download
    assert cards.loc["tests", "label"] == "Tests" and cards.loc["tests", "note"] == ""
    assert cards.loc["user_days", "label"] == "Users (summed per day)" and "users" not in cards.index
    assert cards.loc["share_reaching_high", "change"] == pytest.approx(0.0), "both days every user-day reached it"
    html = markup.headline_html(cards.reset_index())
    assert "-50.0 % vs previous period" in html and download["note"] in html


def test_attainment_is_compared_with_the_previous_months_not_as_many_days_before(gold):
    # March against February (thin): no change. 2-5 March against 26 Feb-1 Mar (no tests): none either.
    for f in (Filters(MARCH, MARCH_END), Filters(dt.date(2025, 3, 2), dt.date(2025, 3, 5))):
        share = headline(gold, f).set_index("metric").loc["share_reaching_high"]
        assert pd.isna(share["change"]) and share["comparison_note"].startswith("No comparison"), (f, share)


def test_the_app_headline_over_a_whole_month_of_synthetic_gold_is_exact(gold_params):
    with open_gold(gold_params) as source:
        dash = Dashboard(gold_params, filter_options(source))
    dash.date_from.value, dash.date_to.value = dt.date(2025, 1, 1), dt.date(2025, 1, 31)
    month = dash.headline.value
    median = month.split('data-metric="download_median_mbps"')[1].split("gnp-card")[0]
    assert "≈" not in median and "vs previous period" in median, median  # December: tests on 23 of 31 days
    dash.date_from.value = dt.date(2025, 1, 2)
    days = dash.headline.value.split('data-metric="download_median_mbps"')[1].split("gnp-card")[0]
    assert "Median download over users ≈" in days and "daily medians" in days, days


def test_the_app_opens_on_the_latest_whole_month_with_its_distinct_users(gold_params):
    with open_gold(gold_params) as source:
        dash = Dashboard(gold_params, filter_options(source))
    assert (dash.date_from.value, dash.date_to.value) == (dt.date(2025, 1, 1), dt.date(2025, 1, 31))
    users = dash.headline.value.split('data-metric="users"')[1].split("gnp-card")[0]
    assert "Distinct users" in users and "vs previous period" in users, users
    assert "≈" not in dash.headline.value.split('class="gnp-footnote"')[0], "expected every median exact"
    dash.date_from.value = dt.date(2025, 1, 2)
    assert 'data-metric="user_days"' in dash.headline.value and 'data-metric="users"' not in dash.headline.value
