"""Dashboard queries against real DuckDB: the synthetic Gold, and tiny hand-made Gold tables."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.synthetic_gold import ALWAYS_SUPPRESSED_PERIPHERY, PERIPHERIES, write_gold_duckdb
from gnp.dashboard import queries as q
from gnp.dashboard.headline import attainment_scope_note, headline, headline_frame
from gnp.dashboard.selection import filter_options, greek_sort_key, has_data
from gnp.dashboard.source import GoldSource, SilverAccessError, duckdb_executor, to_duckdb_placeholders, used_params
from gnp.registry import Registry
from gnp.schemas import TABLES

D = dt.date
PERIOD = q.Filters(D(2025, 1, 8), D(2025, 2, 6))
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


def metric_row(day: int, periphery_id: str, tests: int, users: int | None, download: float | None,
               upload: float | None = None, suppressed: bool = False) -> dict:
    return {"measurement_date": D(2025, 1, day), "periphery_id": periphery_id, "periphery": f"P{periphery_id}",
            "tests": tests, "users": users, "download_median_mbps": download, "upload_median_mbps": upload,
            "is_suppressed": suppressed}


def test_every_query_reads_only_gold_with_portable_sql(gold):
    for query in FIGURE_QUERIES:
        query(gold, PERIOD)
    headline(gold, PERIOD)
    filter_options(gold)
    has_data(gold, q.Filters(PERIOD.date_from, PERIOD.date_to, "9", None, "Nova"))
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


def test_regional_unit_filter_returns_exactly_that_units_gold_rows(gold, gold_frames):
    f = q.Filters(PERIOD.date_from, PERIOD.date_to, periphery_id="9", regional_unit_id="0903")
    found = q.speeds_over_time(gold, f)
    units = gold_frames["regional_unit_metrics"]
    expected = units[(units["regional_unit_id"] == "0903") & units["measurement_date"].between(f.date_from, f.date_to)]
    expected = expected.rename(columns={"regional_unit_id": "area_id", "regional_unit": "area"})[
        ["measurement_date", "area_id", "area", "users", "download_median_mbps", "upload_median_mbps",
         "is_suppressed"]].assign(measurement_date=lambda d: pd.to_datetime(d["measurement_date"]))
    found = found.assign(measurement_date=found["measurement_date"].astype("datetime64[ns]"))
    assert_frame_equal(found.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)


def test_periphery_filter_breaks_down_into_its_regional_units(gold):
    areas = set(q.tests_per_day(gold, q.Filters(PERIOD.date_from, PERIOD.date_to, periphery_id="9"))["area"])
    assert areas == set(PERIPHERIES["9"][3]), f"expected Attica's regional units, found {areas}"
    assert set(q.tests_per_day(gold, PERIOD)["area"]) == {p[0] for p in PERIPHERIES.values()}


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
    ranking = q.attainment_by_periphery(gold, PERIOD).set_index("dimension_value")
    row = ranking.loc[ALWAYS_SUPPRESSED_PERIPHERY]
    assert row["is_suppressed"] and pd.isna(row["share_reaching_high"]), f"expected suppressed, found {row.to_dict()}"
    worst = q.worst_attainment_regions(gold, PERIOD)
    assert worst.iloc[-1]["dimension_value"] == ALWAYS_SUPPRESSED_PERIPHERY and len(worst) == 6


def test_period_median_is_the_users_weighted_mean_of_unsuppressed_daily_medians(tiny_gold):
    gold = tiny_gold({"regional_metrics": spec_frame("regional_metrics", [
        metric_row(8, "1", 10, 6, 10.0, 1.0),
        metric_row(9, "1", 20, 12, 40.0, None),  # null upload: left out of the upload mean only
        metric_row(10, "1", 3, None, None, None, suppressed=True),
        metric_row(1, "1", 5, 5, 20.0, 2.0),  # previous period
    ])})
    found = q.selection_totals(gold, q.Filters(D(2025, 1, 8), D(2025, 1, 14))).sort_values("period")
    expected = pd.DataFrame({
        "period": ["current", "previous"], "tests": [33.0, 5.0], "user_days": [18.0, 5.0],
        "download_median_mbps": [(10 * 6 + 40 * 12) / 18, 20.0], "upload_median_mbps": [1.0, 2.0],
        "cells": [3, 1], "suppressed_cells": [1, 0], "is_suppressed": [False, False]})
    assert_frame_equal(found.reset_index(drop=True), expected, check_dtype=False)


def test_staircase_weights_by_sessions_keeps_session_counts_and_flags_a_suppressed_bucket(tiny_gold):
    row = {"session_date": D(2025, 1, 8), "median_jitter_ms": 1.0, "median_rtt_ms": 10.0, "users": 9}
    gold = tiny_gold({"frustration_staircase": spec_frame("frustration_staircase", [
        row | {"behaviour_bucket": "1", "sessions": 30, "median_download_mbps": 60.0, "median_loss_pct": 0.1,
               "is_suppressed": False},
        row | {"behaviour_bucket": "1", "session_date": D(2025, 1, 9), "sessions": 10, "median_download_mbps": 20.0,
               "median_loss_pct": 0.5, "is_suppressed": False},
        row | {"behaviour_bucket": "4+", "sessions": 3, "users": None, "median_download_mbps": None,
               "median_loss_pct": None, "median_jitter_ms": None, "median_rtt_ms": None, "is_suppressed": True},
    ])})
    found = q.frustration_staircase(gold, q.Filters(D(2025, 1, 8), D(2025, 1, 9)))
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
    isp_scope = headline_frame(totals, attainment, 0.8, attainment_scope_note(q.Filters(D(2025, 1, 8), D(2025, 1, 9),
                                                                                       "9", "0903", "Nova")))
    assert isp_scope.set_index("metric").loc["share_reaching_high", "label"].endswith("(this ISP, all areas)")


def test_filter_options_sort_greek_names_ignoring_accents(gold):
    options = filter_options(gold)
    assert [label for label, _ in options.regional_units_of("4")] == ["Άρτας", "Ιωαννίνων"]
    assert greek_sort_key("Άρτας") < greek_sort_key("Βοιωτίας")
    assert options.default_filters() == PERIOD
    assert ("ΔΕΗ Fiber", "ΔΕΗ Fiber") in options.isps
