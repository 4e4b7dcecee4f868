"""Period statistics by hand: a user's period median is over their tests of the period, not their daily medians.

The week of Monday 31 March 2025 crosses into April. In Attica (periphery 9)
with Nova: user A tests 10, 20, 30 on 31 March and 100 on 1 April (daily
medians 20 and 100: their mean and median are 60, the period median of A's
four tests is 25); user B tests 50 on 2 April. Both engines (Spark's Gold and
the DuckDB reference) are checked against the same hand-computed rows.
"""

import datetime as dt
import math

import duckdb
import pandas as pd
import pytest
from silver_factories import measurement, measurements_df

from gnp.core.config import SemanticsParams
from gnp.core.dates import period_end
from gnp.core.schemas import AREA_ISP_PERIOD_METRICS, MEASUREMENTS
from gnp.devtools.reference_sql import SilverRelations, reference_gold
from gnp.gold.periods import area_isp_period_metrics, days_of_periods, periods_to_rebuild, periods_touching
from gnp.quality.checks import RunInfo, evaluate_checks, gold_targets
from gnp.serving.warehouse import duckdb_type

MON, TUE, WED = dt.date(2025, 3, 31), dt.date(2025, 4, 1), dt.date(2025, 4, 2)
MARCH, APRIL = dt.date(2025, 3, 1), dt.date(2025, 4, 1)
TESTS = [  # id, user, day, download, upload
    (1, "A", MON, 10.0, 1.0), (2, "A", MON, 20.0, 2.0), (3, "A", MON, 30.0, 3.0), (4, "A", TUE, 100.0, 4.0),
    (5, "B", WED, 50.0, 8.0),
]
COUNTRY = dict(area_level="country", area_id="GR", isp="all")
EXPECTED = {  # (period_kind, period_start): hand-computed figures of every slice (A and B are in every one)
    # A's four tests: median 25 (not 60); B 50. Over users [25, 50]: p25 31.25, median 37.5, p75 43.75.
    ("week", MON): dict(period_end=dt.date(2025, 4, 6), tests=4 + 1, users=2, download_p25_mbps=31.25,
                        download_median_mbps=37.5, download_p75_mbps=43.75,
                        download_logavg_mbps=math.sqrt(25 * 50), download_mean_test_mbps=210 / 5,
                        upload_median_mbps=(2.5 + 8) / 2, is_suppressed=False),
    # March: A alone, tests 10, 20, 30 -> 20.
    ("month", MARCH): dict(period_end=dt.date(2025, 3, 31), tests=3, users=1, download_median_mbps=20.0,
                           download_logavg_mbps=20.0, upload_median_mbps=2.0, is_suppressed=False),
    # April: A 100 (one test), B 50 -> 75.
    ("month", APRIL): dict(period_end=dt.date(2025, 4, 30), tests=2, users=2, download_median_mbps=75.0,
                           download_p25_mbps=62.5, download_logavg_mbps=math.sqrt(100 * 50),
                           upload_median_mbps=6.0, is_suppressed=False),
}


def _rows():
    return [measurement(i, u, d, 20, "9", dl, ul, isp="Nova", regional_unit_id="45") for i, u, d, dl, ul in TESTS]


def _spark_rows(spark, k):
    return [r.asDict() for r in area_isp_period_metrics(measurements_df(spark, _rows()), k).collect()]


def _duckdb_rows(k):
    con = duckdb.connect()
    frame = pd.DataFrame(_rows(), columns=MEASUREMENTS.column_names)
    typed = ", ".join(f"CAST({c.name} AS {duckdb_type(c.type)}) AS {c.name}" for c in MEASUREMENTS.columns)
    con.register("rows", frame)
    con.execute(f"CREATE TABLE measurements AS SELECT {typed} FROM rows")
    found = reference_gold(con, SemanticsParams(k_anonymity=k), SilverRelations(measurements="measurements"),
                           ("area_isp_period_metrics",))["area_isp_period_metrics"]
    dates = {c.name for c in AREA_ISP_PERIOD_METRICS.columns if c.type == "date"}
    return [{k: (v.date() if k in dates else (None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v))
             for k, v in row.items()} for row in found.to_dict("records")]


def _only(rows, **key):
    found = [r for r in rows if all(r[k] == v for k, v in key.items())]
    assert len(found) == 1, f"expected one row for {key}, found {len(found)}: {found}"
    return found[0]


def _check(rows, engine):
    assert len(rows) == 3 * 6, f"{engine}: expected 3 periods x 6 slices, found {len(rows)}"
    for (kind, start), expected in EXPECTED.items():
        for area in (COUNTRY, dict(area_level="periphery", area_id="9", isp="Nova"),
                     dict(area_level="regional_unit", area_id="45", isp="all")):
            row = _only(rows, period_kind=kind, period_start=start, **area)
            for column, value in expected.items():
                assert row[column] == pytest.approx(value), (
                    f"{engine} {kind} {start} {area} {column}: expected {value}, found {row[column]}")


def test_spark_period_median_is_over_the_users_tests_of_the_period(spark):
    _check(_spark_rows(spark, k=1), "spark")


def test_duckdb_reference_period_median_is_over_the_users_tests_of_the_period():
    _check(_duckdb_rows(k=1), "duckdb")


@pytest.mark.parametrize("engine", ["spark", "duckdb"])
def test_a_period_of_fewer_than_k_users_keeps_its_tests_and_nothing_else(spark, engine):
    rows = _spark_rows(spark, k=2) if engine == "spark" else _duckdb_rows(k=2)

    march = _only(rows, period_kind="month", period_start=MARCH, **COUNTRY)
    week = _only(rows, period_kind="week", period_start=MON, **COUNTRY)

    assert march["is_suppressed"] and march["tests"] == 3, march
    assert march["area"] == "ΕΛΛΑΔΑ" and march["period_end"] == dt.date(2025, 3, 31), march
    statistics = [c.name for c in AREA_ISP_PERIOD_METRICS.columns if c.type == "double"] + ["users"]
    assert all(march[c] is None for c in statistics), {c: march[c] for c in statistics}
    # The same user's days are suppressed one by one in the daily table (one user each); the week has two.
    assert not week["is_suppressed"] and week["download_median_mbps"] == 37.5, week


def test_periods_touching_days_cross_month_boundaries():
    assert periods_touching([MON]) == [("month", MARCH), ("week", MON)]
    assert periods_touching([MON, TUE]) == [("month", MARCH), ("week", MON), ("month", APRIL)]
    assert period_end("month", dt.date(2024, 2, 1)) == dt.date(2024, 2, 29)
    assert period_end("week", MON) == dt.date(2025, 4, 6)


def test_a_rewritten_partition_rebuilds_every_period_starting_on_it():
    monday_the_first = dt.date(2025, 9, 1)

    rebuilt = periods_to_rebuild([dt.date(2025, 9, 10)])

    # Partition 1 September holds the month and the week of Monday 1 September: both come back.
    assert rebuilt == [("month", monday_the_first), ("week", monday_the_first), ("week", dt.date(2025, 9, 8))]
    days = days_of_periods(rebuilt)
    assert (days[0], days[-1], len(days)) == (monday_the_first, dt.date(2025, 9, 30), 30)
    tail = days_of_periods(periods_to_rebuild([dt.date(2025, 9, 30)]))  # a Tuesday: its week ends 5 October
    assert (tail[0], tail[-1]) == (monday_the_first, dt.date(2025, 10, 5)), (tail[0], tail[-1])


def test_the_key_check_tells_a_week_from_a_month_starting_the_same_monday_and_catches_duplicates(spark):
    monday_the_first = dt.date(2025, 9, 1)
    rows = [measurement(1, "A", monday_the_first, 20, "9", 10.0, isp="Nova")]
    table = area_isp_period_metrics(measurements_df(spark, rows), 1)
    run = RunInfo("run-1", dt.date(2025, 9, 2), dt.datetime(2025, 9, 2, tzinfo=dt.timezone.utc))

    targets = gold_targets({"area_isp_period_metrics": table})
    targets["doubled"] = (table.unionByName(table), AREA_ISP_PERIOD_METRICS, [])

    results = {r.check_name: r for r in evaluate_checks(run, "gold", targets)}

    kinds = sorted({(r.period_kind, r.period_start) for r in table.collect()})
    assert kinds == [("month", monday_the_first), ("week", monday_the_first)], kinds
    assert results["area_isp_period_metrics.key_unique"].passed, results
    assert results["area_isp_period_metrics.key_not_null"].passed, results
    assert not results["doubled.key_unique"].passed, results
