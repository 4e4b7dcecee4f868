"""Dashboard queries against real DuckDB: the synthetic Gold, and tiny hand-made Gold tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.synthetic_gold import (
    ALWAYS_SUPPRESSED_ISP,
    ALWAYS_SUPPRESSED_PERIPHERY,
    ISPS,
    PERIPHERIES,
    write_gold_duckdb,
)
from gnp.core.registry import Registry
from gnp.core.schemas import ALL_ISPS, AREA_COUNTRY, AREA_PERIPHERY, AREA_REGIONAL_UNIT, COUNTRY_ID, TABLES
from gnp.dashboard import queries as q
from gnp.dashboard.periods import selection_period_totals
from gnp.dashboard.headline import headline, headline_frame
from gnp.dashboard.selection import Options, filter_options, greek_sort_key, has_data
from gnp.dashboard.source import GoldSource, SilverAccessError, duckdb_executor, to_duckdb_placeholders, used_params

D = dt.date
PERIOD = q.Filters(D(2025, 1, 8), D(2025, 2, 6))
PIRAEUS_NOVA = q.Filters(PERIOD.date_from, PERIOD.date_to, periphery_id="9", regional_unit_id="0903", isp="Nova")
EMPTY = q.Filters(D(2020, 1, 1), D(2020, 1, 31))
FIGURE_QUERIES = [q.speeds_over_time, q.tests_per_day, q.rtt_vs_jitter, q.upload_vs_download,
                  q.attainment_by_periphery, q.attainment_by_isp, q.worst_attainment_regions,
                  q.frustration_staircase, q.retention, q.cohort_retention, q.hourly_profile, q.speed_histogram]
DUCKDB_ONLY = [r"::", r"\$\w", r"\bILIKE\b", r"\bQUALIFY\b", r"\bEXCLUDE\b", r"\bCOLUMNS\(", r"\bLIST\(",
               r"\bstrftime\b", r"\bdate_trunc\b", r"\bFILTER\s*\("]


def spec_frame(table: str, rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=TABLES[table].column_names)


@pytest.fixture
def tiny_gold(tmp_path, gold_params):
    """A GoldSource over hand-made tables: ``tiny_gold({"regional_metrics": frame})``."""
    cons = []

    def make(frames: dict[str, pd.DataFrame]) -> GoldSource:
        path = tmp_path / f"tiny{len(cons)}.duckdb"
        write_gold_duckdb(path, frames)
        cons.append(duckdb.connect(str(path), read_only=True))
        return GoldSource(Registry.from_params(gold_params), duckdb_executor(cons[-1]))

    yield make
    for con in cons:
        con.close()


def metric_row(day: int, isp: str, tests: int, users: int | None, download: float | None,
               upload: float | None = None, suppressed: bool = False) -> dict:
    """A country-level area_isp_metrics row."""
    return {"measurement_date": D(2025, 1, day), "area_level": AREA_COUNTRY, "area_id": COUNTRY_ID, "isp": isp,
            "area": "ΕΛΛΑΔΑ", "tests": tests, "users": users, "download_median_mbps": download,
            "upload_median_mbps": upload, "is_suppressed": suppressed}


def in_slice(frame: pd.DataFrame, f: q.Filters, date_column: str = "measurement_date") -> pd.DataFrame:
    """The rows of a synthetic Gold table in the selection's own slice and period."""
    mask = ((frame["area_level"] == f.area_level) & (frame["area_id"] == f.area_id)
            & (frame["isp"] == (f.isp or ALL_ISPS)) & frame[date_column].between(f.date_from, f.date_to))
    return frame[mask]


def with_datetimes(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    return frame.assign(**{c: pd.to_datetime(frame[c]).astype("datetime64[ns]") for c in columns}) \
        .reset_index(drop=True)


def test_every_query_reads_only_gold_with_portable_sql(gold):
    for query in FIGURE_QUERIES:
        query(gold, PERIOD)
    headline(gold, PERIOD)
    filter_options(gold)
    has_data(gold, PIRAEUS_NOVA)
    tables = {t for sql in gold.log for t in re.findall(r"\b(?:FROM|JOIN)\s+([\w.`]+)", sql)}
    assert tables and all(t.startswith("gold.") for t in tables), \
        f"expected only gold.* tables, found {sorted(tables)}"
    offenders = [(pattern, sql) for sql in gold.log for pattern in DUCKDB_ONLY if re.search(pattern, sql, re.I)]
    assert offenders == [], f"expected portable SQL, found DuckDB-only syntax: {offenders[:2]}"


def test_a_silver_table_cannot_be_named(gold):
    with pytest.raises(SilverAccessError, match="measurements"):
        gold.table("measurements")


def test_bigquery_ids_come_from_the_registry_and_are_quoted(gold_params):
    registry = Registry.from_params(gold_params.model_copy(update={
        "warehouse": gold_params.warehouse.model_copy(update={"kind": "bigquery", "project": "my-proj"})}))
    source = GoldSource(registry, lambda sql, params: pd.DataFrame())
    assert source.table("regional_metrics") == "`my-proj.gold.regional_metrics`"


def test_placeholders_become_duckdb_and_only_used_params_are_sent():
    sql = "SELECT 1 WHERE a = @date_from AND b = @isp"
    assert to_duckdb_placeholders(sql) == "SELECT 1 WHERE a = $date_from AND b = $isp"
    assert used_params(sql, {"date_from": 1, "isp": None, "periphery_id": "9"}) == {"date_from": 1, "isp": None}


def test_previous_period_has_the_same_length_and_ends_the_day_before():
    f = q.Filters(D(2025, 1, 8), D(2025, 2, 6))
    assert (f.previous().date_from, f.previous().date_to, f.days) == (D(2024, 12, 9), D(2025, 1, 7), 30)
    params = f.sql_params()
    assert (params["week_from"], params["month_from"]) == (D(2025, 1, 6), D(2025, 1, 1))


@pytest.mark.parametrize("f, expected", [
    (PERIOD, (AREA_COUNTRY, COUNTRY_ID, ALL_ISPS)),
    (q.Filters(PERIOD.date_from, PERIOD.date_to, periphery_id="9", isp="Nova"), (AREA_PERIPHERY, "9", "Nova")),
    (PIRAEUS_NOVA, (AREA_REGIONAL_UNIT, "0903", "Nova")),
])
def test_the_selection_names_its_own_slice(f, expected):
    params = f.sql_params()
    found = (params["area_level"], params["area_id"], params["isp"])
    assert found == expected, f"expected slice {expected}, found {found}"


def test_a_regional_unit_and_isp_filter_returns_exactly_that_slices_gold_rows(gold, gold_frames):
    found = q.speeds_over_time(gold, PIRAEUS_NOVA)
    expected = in_slice(gold_frames["area_isp_metrics"], PIRAEUS_NOVA)[
        ["measurement_date", "area_id", "area", "users", "download_median_mbps", "upload_median_mbps",
         "is_suppressed"]]
    assert len(expected) == PIRAEUS_NOVA.days
    assert_frame_equal(with_datetimes(found, "measurement_date"), with_datetimes(expected, "measurement_date"),
                       check_dtype=False)


def test_breakdowns_are_one_level_below_the_selection_at_the_selected_isp(gold, gold_frames):
    attica_nova = q.Filters(PERIOD.date_from, PERIOD.date_to, periphery_id="9", isp="Nova")
    found = q.tests_per_day(gold, attica_nova)
    metrics = gold_frames["area_isp_metrics"]
    expected = metrics[(metrics["area_level"] == AREA_REGIONAL_UNIT) & (metrics["periphery_id"] == "9")
                       & (metrics["isp"] == "Nova") & metrics["measurement_date"].between(PERIOD.date_from,
                                                                                          PERIOD.date_to)]
    expected = expected.sort_values(["area", "measurement_date"])[
        ["measurement_date", "area_id", "area", "tests", "users", "is_suppressed"]]
    assert_frame_equal(with_datetimes(found, "measurement_date"), with_datetimes(expected, "measurement_date"),
                       check_dtype=False)
    assert set(found["area"]) == set(PERIPHERIES["9"][3]), f"expected Attica's regional units, found {set(found['area'])}"
    assert set(q.tests_per_day(gold, PERIOD)["area"]) == {p[0] for p in PERIPHERIES.values()}


def test_a_one_day_selection_reads_exactly_its_slices_cells(gold, gold_frames):
    day = D(2025, 1, 20)
    f = q.Filters(day, day, periphery_id="9", regional_unit_id="0903", isp="Nova")
    hourly = in_slice(gold_frames["hourly_profile"], f).sort_values("hour_local")
    found = q.hourly_profile(gold, f)
    assert_frame_equal(found[["hour_local", "tests", "users", "median_download_mbps", "is_suppressed"]],
                       hourly[["hour_local", "tests", "users", "median_download_mbps", "is_suppressed"]]
                       .reset_index(drop=True), check_dtype=False)
    stairs = in_slice(gold_frames["frustration_staircase"], f, "session_date").sort_values("behaviour_bucket")
    columns = ["behaviour_bucket", "sessions", "users", "median_download_mbps", "median_loss_pct", "is_suppressed"]
    assert_frame_equal(q.frustration_staircase(gold, f)[columns], stairs[columns].reset_index(drop=True),
                       check_dtype=False)
    retention = in_slice(gold_frames["user_retention"], f, "session_date").sort_values("user_type")
    columns = ["session_date", "user_type", "sessions", "users", "is_suppressed"]
    assert_frame_equal(with_datetimes(q.retention(gold, f), "session_date"),
                       with_datetimes(retention[columns], "session_date"), check_dtype=False)
    histogram = gold_frames["speed_histogram"]
    month = histogram[(histogram["month"] == D(2025, 1, 1)) & (histogram["area_id"] == "0903")
                      & (histogram["isp"] == "Nova")].sort_values("bucket_index")
    assert q.speed_histogram(gold, f)["users"].tolist() == month["users"].tolist()


def test_cohorts_are_the_slices_weeks_starting_in_the_period(gold, gold_frames):
    found = q.cohort_retention(gold, PIRAEUS_NOVA)
    cohorts = gold_frames["cohort_retention"]
    expected = cohorts[(cohorts["area_id"] == "0903") & (cohorts["isp"] == "Nova")
                       & cohorts["cohort_week"].between(D(2025, 1, 6), PIRAEUS_NOVA.date_to)]
    expected = expected.sort_values(["cohort_week", "weeks_since_first"])[
        ["cohort_week", "weeks_since_first", "cohort_users", "active_users", "retention_share", "is_suppressed"]]
    assert_frame_equal(with_datetimes(found, "cohort_week"), with_datetimes(expected, "cohort_week"),
                       check_dtype=False)


def test_attainment_per_periphery_at_the_isp_and_per_isp_in_the_area(gold, gold_frames):
    by_periphery = q.attainment_by_periphery(gold, PIRAEUS_NOVA)
    assert sorted(by_periphery["key"]) == sorted(PERIPHERIES)
    assert by_periphery.loc[by_periphery["is_selected"], "key"].tolist() == ["9"], \
        "expected the periphery of the selected regional unit highlighted"
    attainment = gold_frames["contract_attainment"]
    attica = attainment[(attainment["area_level"] == AREA_PERIPHERY) & (attainment["area_id"] == "9")
                        & (attainment["isp"] == "Nova")
                        & attainment["measurement_date"].between(PERIOD.date_from, PERIOD.date_to)]
    expected = (attica["share_reaching_high"] * attica["user_days"]).sum() / attica["user_days"].sum()
    found = by_periphery.set_index("key").loc["9", "share_reaching_high"]
    assert found == pytest.approx(expected), f"expected Attica at Nova {expected}, found {found}"
    by_isp = q.attainment_by_isp(gold, PIRAEUS_NOVA)
    assert sorted(by_isp["key"]) == sorted(ISPS), f"expected every ISP but 'all', found {by_isp['key'].tolist()}"
    assert by_isp.loc[by_isp["is_selected"], "key"].tolist() == ["Nova"]
    assert by_isp.set_index("key").loc[ALWAYS_SUPPRESSED_ISP, "is_suppressed"]


def test_worst_regions_are_one_level_below_with_the_selected_unit_flagged(gold):
    worst = q.worst_attainment_regions(gold, PIRAEUS_NOVA)
    assert set(worst["label"]) == set(PERIPHERIES["9"][3]) and set(worst["area_level"]) == {AREA_REGIONAL_UNIT}
    assert worst.loc[worst["is_selected"], "key"].tolist() == ["0903"]
    shares = worst["share_reaching_high"].tolist()
    assert shares == sorted(shares), f"expected ascending shares, found {shares}"


def test_an_empty_selection_gives_empty_frames_and_no_data(gold):
    for query in FIGURE_QUERIES:
        assert query(gold, EMPTY).empty, f"expected no rows from {query.__name__} for 2020"
    assert not has_data(gold, EMPTY)
    assert not has_data(gold, q.Filters(PERIOD.date_to, PERIOD.date_from)), "expected a reversed period to be empty"
    assert headline(gold, EMPTY)["value"].isna().all()


def test_an_always_suppressed_periphery_stays_suppressed_not_zero(gold):
    f = q.Filters(PERIOD.date_from, PERIOD.date_to, periphery_id=ALWAYS_SUPPRESSED_PERIPHERY)
    cards = headline(gold, f).set_index("metric")
    assert cards.loc[["user_days", "download_median_mbps", "upload_median_mbps", "share_reaching_high"],
                     "is_suppressed"].all()
    assert cards.loc["download_median_mbps", "value"] is None or pd.isna(cards.loc["download_median_mbps", "value"])
    assert cards.loc["tests", "value"] > 0, "expected the test count, which Gold keeps, still shown"
    ranking = q.attainment_by_periphery(gold, PERIOD).set_index("key")
    row = ranking.loc[ALWAYS_SUPPRESSED_PERIPHERY]
    assert row["is_suppressed"] and pd.isna(row["share_reaching_high"]), f"expected suppressed, found {row.to_dict()}"
    worst = q.worst_attainment_regions(gold, PERIOD)
    assert worst.iloc[-1]["key"] == ALWAYS_SUPPRESSED_PERIPHERY and len(worst) == 6
    isp_cards = headline(gold, q.Filters(PERIOD.date_from, PERIOD.date_to, isp=ALWAYS_SUPPRESSED_ISP))
    assert isp_cards.set_index("metric").loc["download_median_mbps", "is_suppressed"], \
        f"expected {ALWAYS_SUPPRESSED_ISP}'s median suppressed"


def test_period_median_is_the_users_weighted_mean_of_unsuppressed_daily_medians(tiny_gold):
    gold = tiny_gold({"area_isp_metrics": spec_frame("area_isp_metrics", [
        metric_row(8, "Nova", 10, 6, 10.0, 1.0),
        metric_row(9, "Nova", 20, 12, 40.0, None),  # null upload: left out of the upload mean only
        metric_row(10, "Nova", 3, None, None, None, suppressed=True),
        metric_row(1, "Nova", 5, 5, 20.0, 2.0),  # previous period
        metric_row(8, ALL_ISPS, 99, 90, 99.0, 9.0),  # another slice: not part of Nova's totals
    ])})
    nova = q.Filters(D(2025, 1, 8), D(2025, 1, 14), isp="Nova")
    assert not has_data(gold, q.Filters(D(2025, 1, 8), D(2025, 1, 14), isp="Inalan")), \
        "expected no data for an ISP without rows"
    columns = ["period", "tests", "user_days", "download_median_mbps", "upload_median_mbps", "cells", "suppressed_cells",
               "is_suppressed"]
    found = selection_period_totals(gold, nova).sort_values("period")[columns]
    expected = pd.DataFrame({
        "period": ["current", "previous"], "tests": [33.0, 5.0], "user_days": [18.0, 5.0],
        "download_median_mbps": [(10 * 6 + 40 * 12) / 18, 20.0], "upload_median_mbps": [1.0, 2.0],
        "cells": [3, 1], "suppressed_cells": [1, 0], "is_suppressed": [False, False]})
    assert_frame_equal(found.reset_index(drop=True), expected, check_dtype=False)


def test_staircase_weights_by_sessions_keeps_session_counts_and_flags_a_suppressed_bucket(tiny_gold):
    row = {"session_date": D(2025, 1, 8), "area_level": AREA_PERIPHERY, "area_id": "9", "isp": ALL_ISPS,
           "median_jitter_ms": 1.0, "median_rtt_ms": 10.0, "users": 9}
    gold = tiny_gold({"frustration_staircase": spec_frame("frustration_staircase", [
        row | {"behaviour_bucket": "1", "sessions": 30, "median_download_mbps": 60.0, "median_loss_pct": 0.1,
               "is_suppressed": False},
        row | {"behaviour_bucket": "1", "session_date": D(2025, 1, 9), "sessions": 10, "median_download_mbps": 20.0,
               "median_loss_pct": 0.5, "is_suppressed": False},
        row | {"behaviour_bucket": "4+", "sessions": 3, "users": None, "median_download_mbps": None,
               "median_loss_pct": None, "median_jitter_ms": None, "median_rtt_ms": None, "is_suppressed": True},
        row | {"behaviour_bucket": "1", "area_id": "8", "sessions": 500, "median_download_mbps": 1.0,
               "median_loss_pct": 9.0, "is_suppressed": False},  # another periphery: not in Attica's staircase
    ])})
    found = q.frustration_staircase(gold, q.Filters(D(2025, 1, 8), D(2025, 1, 9), periphery_id="9"))
    expected = pd.DataFrame({
        "behaviour_bucket": ["1", "4+"], "sessions": [40, 3], "users": [18.0, None],
        "median_download_mbps": [50.0, None], "median_loss_pct": [0.2, None], "median_jitter_ms": [1.0, None],
        "median_rtt_ms": [10.0, None], "cells": [2, 1], "suppressed_cells": [0, 1], "is_suppressed": [False, True]})
    assert_frame_equal(found, expected, check_dtype=False)


def test_histogram_shares_and_a_drawable_open_last_bucket():
    frame = pd.DataFrame({"bucket_index": [0, 1, 2], "bucket_lower_mbps": [1.0, 10.0, 100.0],
                          "bucket_upper_mbps": [10.0, 100.0, None], "users": [1.0, 3.0, None],
                          "cells": [1, 1, 1], "suppressed_cells": [0, 0, 1], "is_suppressed": [False, False, True]})
    found = q.with_histogram_shares(frame)
    assert found["share_of_users"].tolist()[:2] == [0.25, 0.75] and pd.isna(found["share_of_users"].iloc[2])
    assert found["bucket_upper_drawn_mbps"].tolist() == [10.0, 100.0, 1000.0]


def test_headline_changes_are_relative_for_counts_and_points_for_shares():
    totals = pd.DataFrame({"period": ["current", "previous"], "tests": [110.0, 100.0], "user_days": [50.0, None],
                           "download_median_mbps": [None, 40.0], "upload_median_mbps": [5.0, 4.0],
                           "is_suppressed": [True, False]})
    attainment = pd.DataFrame({"period": ["current"], "share_reaching_high": [0.6], "is_suppressed": [False]})
    found = headline_frame(totals, attainment, high_threshold=0.8).set_index("metric")
    assert found.loc["tests", "change"] == pytest.approx(10.0)
    assert found.loc["tests", "is_suppressed"] == False  # noqa: E712  (counts are kept by Gold)
    assert found.loc["download_median_mbps", "is_suppressed"] and pd.isna(found.loc["download_median_mbps", "change"])
    assert pd.isna(found.loc["share_reaching_high", "change"]), "expected no change without a previous period"
    assert found.loc["share_reaching_high", "label"] == "User-days reaching 80% of contract"


def test_filter_options_sort_greek_names_ignoring_accents(gold):
    options = filter_options(gold)
    assert [label for label, _ in options.regional_units_of("4")] == ["Άρτας", "Ιωαννίνων"]
    assert greek_sort_key("Άρτας") < greek_sort_key("Βοιωτίας")
    # Gold holds 9 Dec 2024 .. 6 Feb 2025: the page opens on January, the latest month it holds whole
    assert options.default_filters() == q.Filters(D(2025, 1, 1), D(2025, 1, 31))
    assert dataclasses.replace(options, first_date=D(2025, 1, 2)).default_filters() == PERIOD, \
        "expected the last 30 days when Gold holds no whole month"
    assert [value for _, value in options.isps] == ["COSMOTE", "Inalan", "Nova", "Vodafone", "ΔΕΗ Fiber"], \
        f"expected every ISP but {ALL_ISPS!r}, sorted, found {options.isps}"
    assert options.peripheries[0] == ("ΑΝΑΤΟΛΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ ΚΑΙ ΘΡΑΚΗΣ", "1")


def test_as_of_a_runs_last_day_the_default_period_leaves_out_the_days_gold_holds_after_it():
    """A run's report shows Gold as of the run's last day (gnp.dashboard.report.run_report_html)."""
    options = Options(D(2024, 12, 9), D(2025, 2, 6), (), pd.DataFrame(), ())
    assert options.default_filters(as_of=D(2025, 2, 6)) == q.Filters(D(2025, 1, 1), D(2025, 1, 31))
    assert options.default_filters(as_of=D(2024, 12, 31)) == q.Filters(D(2024, 12, 9), D(2024, 12, 31)), \
        "expected the 23 days Gold holds up to 31 Dec 2024: December is not whole"
    assert options.default_filters(as_of=D(2025, 1, 20)) == q.Filters(D(2024, 12, 22), D(2025, 1, 20))
    assert options.default_filters(as_of=D(2025, 3, 31)) == options.default_filters(), \
        "expected a day after Gold's last to change nothing"
    assert options.default_filters(as_of=D(2024, 12, 1)) == q.Filters(None, None), \
        "expected no period when Gold holds nothing up to that day"
