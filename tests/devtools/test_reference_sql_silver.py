"""The DuckDB SQL Silver equals Spark's Silver on the same Bronze, table by table."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from silver.bronze_factories import lake_params, record, write_day

from gnp.core.config import SemanticsParams
from gnp.core.registry import Registry
from gnp.core.schemas import MEASUREMENTS, QUARANTINE, SESSIONS
from gnp.source import sample
from gnp.devtools.reference_sql import compare_table
from gnp.devtools.reference_sql.silver import QUARANTINE_RELATION, build_silver, hmac_pads
from gnp.silver import accounting, measurements, parse, pseudonym, sessions

KEY = b"0123456789abcdef" * 4
DAYS = [dt.date(2025, 10, 25) + dt.timedelta(days=i) for i in range(3)]  # the DST change is on the 26th
REFETCHED = dt.datetime(2025, 10, 28, 6, 0, tzinfo=dt.timezone.utc)


def _edge_records() -> list[dict]:
    """Hand-made trouble for the last day: markers, sessions straddling midnight, a 30-minute gap."""
    return [
        record(1, "2025-10-27 23:50:00", ip="10.0.1"),
        record(2, "2025-10-27 23:59:59", ip="10.0.1", measured_downstream_mbps="NaN", ISP=""),
        record(3, "2025-10-27 10:00:00", ip="10.0.2"),
        record(4, "2025-10-27 10:30:00", ip="10.0.2", connection_periphery_id=None),  # exactly the gap
        record(5, "2025-10-27 11:00:01", ip="10.0.2"),
        record(6, "2025-10-27 12:00:00", ip=None),
        record(7, "27/10/2025 12:00", ip="10.0.3"),
        record(8.0, " 2025-10-27 12:00:00 ", ip=" 10.0.3 ", measured_rtt_msec=-1.0),
        record(9, "2025-10-26 12:00:00", ip="10.0.4"),  # another day's test: kept, on its own date
        record(10, "2025-10-26 12:30:00", ip="10.0.4", measured_rtt_msec=-1.0),  # quarantined on its own date
        # missing-value markers in any case: kept, with nulls (not quarantined as unreadable)
        record(11, "2025-10-27 13:00:00", ip="10.0.5", ISP="NONE", connection_periphery=" nUlL ",
               measured_jitter_msec="NAN", connection_postal_code="None", connection_periphery_id="nan"),
        record(12, "2025-10-27 13:10:00", ip="10.0.5", measured_upstream_mbps=" NaN ", ISP="\u00a0NaN",
               client_operating_system="nOnE", connection_regional_unit="ΝΑΝ"),  # ΝΑΝ: Greek letters, a name
    ]


def _copies_of(day: dt.date) -> list[dict]:
    """Later copies of the day's tests under another day's request: valid, and invalid; the own-day copy wins."""
    own = sample.records_for_day(day, seed=3, tests_per_day=400, users=300, dirt_rate=0.05)
    return [{**own[0], "measured_downstream_mbps": 1.0}, {**own[1], "measured_upstream_mbps": -3.0}]


@pytest.fixture(scope="module")
def bronze(tmp_path_factory):
    params = lake_params(tmp_path_factory.mktemp("bronze"))
    registry = Registry.from_params(params)
    for day in DAYS:
        write_day(registry, day, sample.records_for_day(day, seed=3, tests_per_day=400, users=300, dirt_rate=0.05))
    refetch = sample.records_for_day(DAYS[-1], seed=3, tests_per_day=400, users=300, dirt_rate=0.05)
    write_day(registry, DAYS[-1], refetch + _edge_records() + _copies_of(DAYS[1]), fetched_at=REFETCHED)
    return params.semantics, parse.list_bronze_files(registry, DAYS)


@pytest.fixture(scope="module")
def spark_silver(spark, bronze):
    semantics, files = bronze
    flagged = measurements.flag_records(
        parse.read_bronze(spark, files), pseudonym.key_frame(spark, KEY), semantics
    ).cache()
    found = {
        "measurements": measurements.to_measurements(flagged).toPandas(),
        "quarantine": measurements.to_quarantine(flagged).toPandas(),
        "sessions": sessions.sessionise(measurements.to_measurements(flagged), semantics).toPandas(),
    }
    counts = accounting.count_accounting(flagged)
    flagged.unpersist()
    return found, counts


@pytest.fixture(scope="module")
def sql_silver(bronze):
    semantics, files = bronze
    con = duckdb.connect()
    counts = build_silver(con, files, KEY, semantics)
    tables = {
        "measurements": con.execute("SELECT * FROM ref_silver.measurements").df(),
        "quarantine": con.execute(f"SELECT * FROM {QUARANTINE_RELATION}").df(),
        "sessions": con.execute("SELECT * FROM ref_silver.sessions").df(),
    }
    return tables, counts


def _hashable(frame):
    """Array cells (quarantine reasons) as tuples, which compare_table can test for equality."""
    arrays = [c for c in frame.columns if frame[c].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any()]
    return frame.assign(**{c: frame[c].map(tuple) for c in arrays})


def test_sql_counts_equal_spark_accounting(spark_silver, sql_silver):
    (found, accounting), (tables, counts) = spark_silver, sql_silver
    expected = {k: v for k, v in accounting.as_dict().items() if k != "manifest_records"}
    expected["sessions"] = len(found["sessions"])

    assert counts.as_dict() == expected, f"expected Spark's {expected}, found {counts.as_dict()}"
    assert min(counts.quarantine_rows, counts.duplicates, counts.rows_without_place, counts.kept_from_other_day) > 0, counts


@pytest.mark.parametrize("spec", [MEASUREMENTS, QUARANTINE, SESSIONS], ids=lambda s: s.name)
def test_sql_silver_tables_equal_spark_cell_by_cell(spark_silver, sql_silver, spec):
    (found, _), (tables, _) = spark_silver, sql_silver

    differences = compare_table(_hashable(found[spec.name]), _hashable(tables[spec.name]), spec)

    assert not differences, f"Spark and DuckDB Silver disagree on {spec.name}: {differences}"


def test_hmac_pads_reproduce_hmac_sha256_for_long_and_short_keys():
    import hashlib
    import hmac

    con = duckdb.connect()
    for key in (b"short", b"x" * 100):
        inner, outer = hmac_pads(key)
        found = con.execute("SELECT sha256(? || unhex(sha256(? || encode(?))))", [outer, inner, "80.191.12"]).fetchone()[0]
        expected = hmac.new(key, b"80.191.12", hashlib.sha256).hexdigest()
        assert found == expected, f"key of {len(key)} bytes: expected {expected}, found {found}"


def test_an_empty_file_list_is_refused():
    with pytest.raises(ValueError, match="no Bronze files"):
        build_silver(duckdb.connect(), [], KEY, SemanticsParams())


def test_records_with_markers_in_any_case_are_kept_with_nulls_by_both(spark_silver, sql_silver):
    (found, _), (tables, _) = spark_silver, sql_silver
    columns = ["measurement_id", "isp", "periphery", "periphery_id", "postal_code", "jitter_ms", "upload_mbps",
               "os_name", "regional_unit"]
    expected = [
        {"measurement_id": 11, "isp": None, "periphery": None, "periphery_id": None, "postal_code": None,
         "jitter_ms": None, "upload_mbps": 4.9, "os_name": "Windows", "regional_unit": "Ανατολικής Αττικής"},
        {"measurement_id": 12, "isp": "\u00a0NaN", "periphery": "ΑΤΤΙΚΗΣ", "periphery_id": "9",
         "postal_code": "19016", "jitter_ms": 1.5, "upload_mbps": None, "os_name": None, "regional_unit": "ΝΑΝ"},
    ]
    for engine, frame in (("Spark", found["measurements"]), ("DuckDB", tables["measurements"])):
        rows = frame[frame.measurement_id.isin([11, 12])].sort_values("measurement_id")[columns]
        rows = rows.astype(object).where(rows.notna(), None).to_dict("records")
        assert rows == expected, f"{engine}: expected {expected}, found {rows}"
