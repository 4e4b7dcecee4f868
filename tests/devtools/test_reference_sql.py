import datetime as dt
import random

import duckdb
import pandas as pd
import pytest
from silver_factories import ISPS, measurement, measurements_df, random_silver, session, sessions_df

from gnp.core.config import SemanticsParams
from gnp.core.schemas import (
    AREA_ISP_METRICS,
    COHORT_RETENTION,
    HOURLY_PROFILE,
    MEASUREMENTS,
    SESSIONS,
    TABLES,
    TableSpec,
)
from gnp.devtools.reference_sql import SilverRelations, compare_table, compare_tables, reference_gold, register_silver
from gnp.gold import gold_tables, reduce_measurements
from gnp.serving.warehouse import duckdb_type

SEMANTICS = SemanticsParams(k_anonymity=3, histogram_buckets_per_decade=4)
EVERY_CELL = SemanticsParams(k_anonymity=1, histogram_buckets_per_decade=4)
DAY = dt.date(2025, 3, 3)  # a Monday
SLICE_LEVELS = {"country", "periphery", "regional_unit"}
SESSIONS_ONLY_ISP = "Inalan"


def _random_silver() -> tuple[list[dict], list[dict]]:
    """random_silver, with sessions given a provider and places the labels of a slice must survive.

    Some tests name a regional unit but no periphery, a second spelling of the
    unit's name, or another periphery for the unit; one provider appears only
    in sessions.
    """
    measurements, sessions = random_silver(seed=7, tests=4000, users=80, days=40)
    rng = random.Random(11)
    for row in measurements:
        roll = rng.random()
        if roll < 0.03:
            row.update(periphery_id=None, periphery=None)
        elif roll < 0.05 and row["regional_unit"]:
            row["regional_unit"] += " (β)"
        elif roll < 0.07 and row["regional_unit_id"]:
            row.update(periphery_id="12", periphery="ΚΡΗΤΗΣ")
    for row in sessions:
        row["isp"] = rng.choice((*ISPS, SESSIONS_ONLY_ISP))
    return measurements, sessions


def _silver_in_duckdb(
    measurements: list[dict], sessions: list[dict]
) -> tuple[duckdb.DuckDBPyConnection, SilverRelations]:
    """Silver rows as typed DuckDB tables, so the SQL can be checked without Spark."""
    con = duckdb.connect()
    for spec, rows in ((MEASUREMENTS, measurements), (SESSIONS, sessions)):
        frame = pd.DataFrame(rows, columns=spec.column_names)
        typed = ", ".join(f"CAST({c.name} AS {duckdb_type(c.type)}) AS {c.name}" for c in spec.columns)
        con.register("silver_rows", frame)
        con.execute(f"CREATE TABLE {spec.name} AS SELECT {typed} FROM silver_rows")
        con.unregister("silver_rows")
    return con, SilverRelations(measurements=MEASUREMENTS.name, sessions=SESSIONS.name)


def _sorted(frame: pd.DataFrame, spec: TableSpec, columns: list[str]) -> pd.DataFrame:
    return frame[columns].sort_values(list(spec.key)).reset_index(drop=True)


@pytest.fixture(scope="module")
def silver_files(spark, tmp_path_factory):
    """A few thousand random Silver rows written as Parquet, partitioned as the lakehouse does."""
    folder = tmp_path_factory.mktemp("silver")
    measurements, sessions = _random_silver()
    measurements_df(spark, measurements).write.partitionBy("measurement_date").parquet(str(folder / "measurements"))
    sessions_df(spark, sessions).write.partitionBy("session_date").parquet(str(folder / "sessions"))
    return {"measurements": [str(folder / "measurements")], "sessions": [str(folder / "sessions")]}


def test_spark_gold_equals_the_duckdb_sql_reference(spark, silver_files):
    measurements = spark.read.parquet(*silver_files["measurements"])
    sessions = spark.read.parquet(*silver_files["sessions"])
    spark_gold = {name: df.toPandas() for name, df in
                  gold_tables(reduce_measurements(measurements), sessions, SEMANTICS).items()}
    con = duckdb.connect()
    register_silver(con, silver_files)

    expected = reference_gold(con, SEMANTICS)

    differences = {name: found for name, found in compare_tables(spark_gold, expected).items() if found}
    assert not differences, f"Spark and DuckDB disagree: {differences}"
    sizes = {name: len(frame) for name, frame in expected.items()}
    assert all(sizes.values()), f"expected every reference table to have rows, found {sizes}"
    suppressed = {name: int(frame.is_suppressed.sum()) for name, frame in expected.items()}
    assert suppressed["hourly_profile"] > 0 and suppressed["regional_metrics"] < sizes["regional_metrics"], suppressed
    periods = expected["area_isp_period_metrics"]
    assert set(periods.period_kind) == {"week", "month"}, set(periods.period_kind)
    by_grain = (("days", expected["area_isp_metrics"]), ("months", periods.query("period_kind == 'month'")))
    fine = {name: frame.query("area_level == 'regional_unit' and isp != 'all'").is_suppressed.mean()
            for name, frame in by_grain}
    assert fine["months"] < fine["days"], f"expected fewer suppressed unit x ISP cells by month than by day: {fine}"
    sliced = {name: frame for name, frame in expected.items() if "area_level" in frame.columns}
    cuts = {name: (set(frame.area_level), set(frame.isp)) for name, frame in sliced.items()}
    assert all(levels == SLICE_LEVELS and {"all", *ISPS[:3]} <= isps for levels, isps in cuts.values()), (
        f"expected every sliced table to have all three levels, 'all' and 3 ISPs, found {cuts}")


def test_regional_tables_are_the_all_isp_rows_of_area_isp_metrics():
    con, silver = _silver_in_duckdb(*_random_silver())
    gold = reference_gold(con, SEMANTICS, silver, ("area_isp_metrics", "regional_metrics", "regional_unit_metrics"))
    every_isp = gold["area_isp_metrics"].query("isp == 'all'")
    peripheries = every_isp.query("area_level == 'periphery'").drop(columns=["area_level", "isp", "area"])
    units = every_isp.query("area_level == 'regional_unit'").drop(columns=["area_level", "isp"]).rename(
        columns={"area_id": "regional_unit_id", "area": "regional_unit"})
    for table, rows in (("regional_metrics", peripheries.drop(columns=["periphery_id"]).rename(
            columns={"area_id": "periphery_id"})), ("regional_unit_metrics", units)):
        spec_columns = list(gold[table].columns)
        found, expected = gold[table], rows[spec_columns]
        assert len(found) > 10, f"{table}: expected rows, found {len(found)}"
        differences = compare_table(found, expected, TABLES[table])
        assert differences == [], f"{table} is not the all-ISP {table} rows of area_isp_metrics: {differences}"


def _tiny_day() -> tuple[list[dict], list[dict]]:
    """Tests of one day: a user in two regional units of Attica, one without a place, one without a download."""
    measurements = [
        measurement(1, "u1", DAY, 9, "9", 10.0, isp="Nova", regional_unit_id="45"),
        measurement(2, "u1", DAY, 9, "9", 30.0, isp=None, regional_unit_id="47", minute=20),
        measurement(3, "u2", DAY, 10, None, 20.0, isp="Cosmote"),
        measurement(4, "u3", DAY, 11, "2", None, isp="Nova", regional_unit_id="16"),
    ]
    sessions = [session("u1", DAY, 9, 2, "9", regional_unit_id="45", isp="Nova")]
    return measurements, sessions


def test_a_test_counts_once_in_every_slice_it_belongs_to():
    con, silver = _silver_in_duckdb(*_tiny_day())
    columns = ["area_level", "area_id", "isp", "area", "periphery_id", "periphery", "tests", "users", "sessions",
               "download_median_mbps"]
    attica, makedonia = "ΑΤΤΙΚΗΣ", "ΚΕΝΤΡΙΚΗΣ ΜΑΚΕΔΟΝΙΑΣ"
    rows = [
        ("country", "GR", "all", "ΕΛΛΑΔΑ", None, None, 4, 3, 1, 20.0),  # u1 median(10, 30), u2 20, u3 none
        ("country", "GR", "Cosmote", "ΕΛΛΑΔΑ", None, None, 1, 1, 0, 20.0),
        ("country", "GR", "Nova", "ΕΛΛΑΔΑ", None, None, 2, 2, 1, 10.0),
        ("periphery", "2", "Nova", makedonia, "2", makedonia, 1, 1, 0, None),
        ("periphery", "2", "all", makedonia, "2", makedonia, 1, 1, 0, None),
        ("periphery", "9", "Nova", attica, "9", attica, 1, 1, 1, 10.0),
        ("periphery", "9", "all", attica, "9", attica, 2, 1, 1, 20.0),
        ("regional_unit", "16", "Nova", "Θεσσαλονίκης", "2", makedonia, 1, 1, 0, None),
        ("regional_unit", "16", "all", "Θεσσαλονίκης", "2", makedonia, 1, 1, 0, None),
        ("regional_unit", "45", "Nova", "Κεντρικού Τομέα Αθηνών", "9", attica, 1, 1, 1, 10.0),
        ("regional_unit", "45", "all", "Κεντρικού Τομέα Αθηνών", "9", attica, 1, 1, 1, 10.0),
        ("regional_unit", "47", "all", "Ανατολικής Αττικής", "9", attica, 1, 1, 0, 30.0),
    ]
    expected = pd.DataFrame([(DAY, *row) for row in rows], columns=["measurement_date", *columns])

    found = reference_gold(con, EVERY_CELL, silver, ("area_isp_metrics",))["area_isp_metrics"]

    spec = AREA_ISP_METRICS
    found = found.assign(measurement_date=found.measurement_date.dt.date)
    pd.testing.assert_frame_equal(
        _sorted(found, spec, ["measurement_date", *columns]), _sorted(expected, spec, ["measurement_date", *columns]),
        check_dtype=False)


def test_a_users_cohort_is_their_first_week_in_the_slice():
    sessions = [session("u1", DAY, 9, 1, "9"), session("u1", DAY + dt.timedelta(days=9), 9, 1, "2")]
    con, silver = _silver_in_duckdb([], sessions)
    week0, week1 = DAY, DAY + dt.timedelta(days=7)
    rows = [  # area_level, area_id, cohort_week, weeks_since_first, cohort_users, active_users, retention_share
        ("country", "GR", week0, 0, 1, 1, 1.0), ("country", "GR", week0, 1, 1, 1, 1.0),
        ("periphery", "9", week0, 0, 1, 1, 1.0), ("periphery", "9", week0, 1, 1, 0, 0.0),
        ("regional_unit", "45", week0, 0, 1, 1, 1.0), ("regional_unit", "45", week0, 1, 1, 0, 0.0),
        ("periphery", "2", week1, 0, 1, 1, 1.0), ("regional_unit", "16", week1, 0, 1, 1, 1.0),
    ]
    columns = ["area_level", "area_id", "cohort_week", "weeks_since_first", "cohort_users", "active_users",
               "retention_share"]
    expected = pd.DataFrame(rows, columns=columns).assign(isp="all", is_suppressed=False)

    found = reference_gold(con, EVERY_CELL, silver, ("cohort_retention",))["cohort_retention"]

    spec = COHORT_RETENTION
    found = found.assign(cohort_week=found.cohort_week.dt.date)
    pd.testing.assert_frame_equal(_sorted(found, spec, spec.column_names), _sorted(expected, spec, spec.column_names),
                                  check_dtype=False)


def _hourly(**overrides):
    row = dict(measurement_date=dt.date(2025, 3, 3), area_level="periphery", area_id="9", isp="all", hour_local=8,
               tests=4, users=3, median_download_mbps=12.5, is_suppressed=False)
    return pd.DataFrame([{**row, **overrides}], columns=HOURLY_PROFILE.column_names)


def test_compare_table_tolerates_last_bit_noise_and_reports_real_differences():
    same = compare_table(_hourly(median_download_mbps=12.5 + 1e-12), _hourly(), HOURLY_PROFILE)
    changed = compare_table(_hourly(median_download_mbps=12.6, users=None), _hourly(), HOURLY_PROFILE)
    moved = compare_table(_hourly(hour_local=9), _hourly(), HOURLY_PROFILE)
    other_isp = compare_table(_hourly(isp="Nova"), _hourly(), HOURLY_PROFILE)

    assert same == [], f"expected no difference, found {same}"
    assert len(changed) == 2 and "median_download_mbps: expected 12.5, found 12.6" in changed[1], changed
    assert "users: expected 3, found None" in changed[0], changed
    assert [p.split(":")[1].strip().split(" ")[0] for p in moved] == ["row", "unexpected"], moved
    assert len(other_isp) == 2 and "row missing" in other_isp[0], other_isp
