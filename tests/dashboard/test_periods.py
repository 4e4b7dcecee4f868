"""Exact period statistics read from Gold, and when a previous period may be compared.

Gold here is computed by the DuckDB reference from hand-made Silver rows, so
the figures are the pipeline's own: in March 2025 user A tests 10, 20, 30 on
Monday 3 March and 100 on the 4th (A's median of the month: 25), user B tests
50 on the 5th. The month's median over users is 37.5; the daily cells' median
figures are 20, 100 and 50 (one user each), whose users-weighted mean, the
old ≈ figure, is 56.67. February has tests on three days only (A, 40 each).
"""

import datetime as dt

import duckdb
import pandas as pd
import pytest
from silver_factories import measurement

from dashboard.synthetic_gold import write_gold_duckdb, write_params
from gnp.core.config import SemanticsParams, load_params
from gnp.core.registry import Registry
from gnp.core.schemas import MEASUREMENTS
from gnp.dashboard.periods import (
    cover,
    has_most_days,
    period_cells,
    previous_range,
    range_totals,
    selection_period_totals,
)
from gnp.dashboard.queries import THE_SLICE, Filters
from gnp.dashboard.source import GoldSource, duckdb_executor
from gnp.devtools.reference_sql import SilverRelations, reference_gold
from gnp.serving.warehouse import duckdb_type

MARCH, FEBRUARY = dt.date(2025, 3, 1), dt.date(2025, 2, 1)
TESTS = [  # id, user, day, download
    (1, "A", dt.date(2025, 3, 3), 10.0), (2, "A", dt.date(2025, 3, 3), 20.0), (3, "A", dt.date(2025, 3, 3), 30.0),
    (4, "A", dt.date(2025, 3, 4), 100.0), (5, "B", dt.date(2025, 3, 5), 50.0),
    (6, "A", dt.date(2025, 2, 10), 40.0), (7, "A", dt.date(2025, 2, 11), 40.0), (8, "A", dt.date(2025, 2, 12), 40.0),
]


def _or_none(value):
    return None if pd.isna(value) else value


def _gold_frames(k: int) -> dict[str, pd.DataFrame]:
    con = duckdb.connect()
    rows = [measurement(i, u, d, 12, "9", dl, upload=dl / 10, isp="Nova") for i, u, d, dl in TESTS]
    typed = ", ".join(f"CAST({c.name} AS {duckdb_type(c.type)}) AS {c.name}" for c in MEASUREMENTS.columns)
    con.register("rows", pd.DataFrame(rows, columns=MEASUREMENTS.column_names))
    con.execute(f"CREATE TABLE measurements AS SELECT {typed} FROM rows")
    con.execute("CREATE TABLE sessions AS SELECT * FROM (SELECT NULL::VARCHAR AS session_id) WHERE false")
    con.execute("ALTER TABLE sessions ADD COLUMN session_date DATE")
    for c in ("user_id", "periphery_id", "periphery", "regional_unit_id", "isp"):
        con.execute(f"ALTER TABLE sessions ADD COLUMN {c} VARCHAR")
    silver = SilverRelations(measurements="measurements", sessions="sessions")
    return reference_gold(con, SemanticsParams(k_anonymity=k), silver, ("area_isp_metrics", "area_isp_period_metrics"))


@pytest.fixture(scope="module", params=[1, 2], ids=["k1", "k2"])
def gold(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"period-gold-k{request.param}")
    write_gold_duckdb(folder / "warehouse.duckdb", _gold_frames(request.param))
    registry = Registry.from_params(load_params(write_params(folder, folder / "warehouse.duckdb")))
    con = duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True)
    yield request.param, GoldSource(registry, duckdb_executor(con))
    con.close()


def test_a_range_is_exact_only_when_it_is_one_whole_week_or_month():
    assert cover(MARCH, dt.date(2025, 3, 31)) == (found := cover(MARCH, dt.date(2025, 3, 31))) and found.is_exact
    assert (found.kind, found.starts) == ("month", (MARCH,))
    week = cover(dt.date(2025, 3, 3), dt.date(2025, 3, 9))
    assert (week.kind, week.starts, week.is_exact) == ("week", (dt.date(2025, 3, 3),), True)
    two_weeks = cover(dt.date(2025, 3, 3), dt.date(2025, 3, 16))
    assert (two_weeks.kind, len(two_weeks.starts), two_weeks.is_exact) == ("week", 2, False)
    assert cover(FEBRUARY, dt.date(2025, 3, 31)).starts == (FEBRUARY, MARCH)
    assert cover(dt.date(2025, 3, 3), dt.date(2025, 3, 5)).kind == "day"
    assert cover(dt.date(2025, 3, 4), dt.date(2025, 3, 10)).kind == "day"  # seven days, not Monday to Sunday
    assert cover(dt.date(2027, 2, 1), dt.date(2027, 2, 28)).kind == "month"  # also four whole weeks


def test_the_previous_of_whole_months_is_the_months_before():
    assert previous_range(MARCH, dt.date(2025, 3, 31)) == (FEBRUARY, dt.date(2025, 2, 28))
    assert previous_range(FEBRUARY, dt.date(2025, 3, 31)) == (dt.date(2024, 12, 1), dt.date(2025, 1, 31))
    assert previous_range(dt.date(2025, 3, 3), dt.date(2025, 3, 9)) == (dt.date(2025, 2, 24), dt.date(2025, 3, 2))


def test_a_previous_period_is_compared_only_when_most_of_its_days_have_tests():
    assert has_most_days(15, FEBRUARY, dt.date(2025, 2, 28))
    assert not has_most_days(14, FEBRUARY, dt.date(2025, 2, 28))
    assert not has_most_days(3, FEBRUARY, dt.date(2025, 2, 28))
    assert not has_most_days(0, MARCH, FEBRUARY)  # an empty range


def test_a_whole_month_reads_the_exact_median_over_users_of_their_monthly_medians(gold):
    k, source = gold

    totals = selection_period_totals(source, Filters(MARCH, dt.date(2025, 3, 31)))

    current, previous = totals.set_index("period").loc["current"], totals.set_index("period").loc["previous"]
    assert current["is_exact"] and current["grain"] == "month" and current["tests"] == 5, current
    assert current["download_median_mbps"] == pytest.approx(37.5), "A's median of the month 25, B's 50"
    assert current["users"] == 2 and current["upload_median_mbps"] == pytest.approx(3.75), current
    assert not current["is_suppressed"] and current["days_with_tests"] == 3, current
    assert _or_none(current["user_days"]) == (None if k == 2 else 3), "one user on each of three days"
    # February: A alone (suppressed at k=2), tests on 3 of 28 days: shown, but not compared with.
    assert (previous["date_from"], previous["date_to"]) == (FEBRUARY, dt.date(2025, 2, 28))
    assert not previous["is_comparable"] and "3 of its 28 days" in previous["comparison_note"], previous
    assert previous["is_suppressed"] == (k == 2) and previous["tests"] == 3, previous
    assert _or_none(previous["download_median_mbps"]) == (None if k == 2 else pytest.approx(40.0)), previous


def test_other_ranges_say_what_is_still_approximated(gold):
    k, source = gold
    days = range_totals(source, Filters(dt.date(2025, 3, 3), dt.date(2025, 3, 5)),
                        dt.date(2025, 3, 3), dt.date(2025, 3, 5))
    weeks = range_totals(source, Filters(None, None), dt.date(2025, 3, 3), dt.date(2025, 3, 16))

    assert (days["grain"], days["is_exact"]) == ("day", False) and days["note"].startswith("≈"), days
    # Each day holds one user: at k=2 every daily cell is suppressed; at k=1 the old ≈ figure, (20+100+50)/3.
    assert days["download_median_mbps"] == (None if k == 2 else pytest.approx(170 / 3)), days
    assert days["is_suppressed"] == (k == 2), days
    # Two whole weeks: the second holds nothing, so the weighted mean is the first week's exact 37.5.
    assert (weeks["grain"], weeks["is_exact"], weeks["users"]) == ("week", False, None), weeks
    assert weeks["download_median_mbps"] == pytest.approx(37.5) and "2 whole weeks" in weeks["note"], weeks


def test_period_cells_lists_the_whole_periods_in_the_range(gold):
    k, source = gold
    f = Filters(FEBRUARY, dt.date(2025, 3, 31))

    months = period_cells(source, "month", FEBRUARY, dt.date(2025, 3, 31), THE_SLICE, f.sql_params())
    weeks = period_cells(source, "week", FEBRUARY, dt.date(2025, 3, 31), ("area_level = 'periphery'",))

    assert [d.date() for d in months["period_start"]] == [FEBRUARY, MARCH], months
    assert months["download_median_mbps"].tolist()[1] == pytest.approx(37.5)
    assert months["is_suppressed"].tolist() == [k == 2, False], months
    # Weeks wholly inside: 3 Feb .. 24 Mar with data in two of them; the week of 31 March runs into April.
    starts = {d.date() for d in weeks["period_start"]}
    assert starts == {dt.date(2025, 2, 10), dt.date(2025, 3, 3)} and set(weeks["isp"]) == {"all", "Nova"}, weeks
    with pytest.raises(ValueError, match="period kind"):
        period_cells(source, "year", FEBRUARY, MARCH)
