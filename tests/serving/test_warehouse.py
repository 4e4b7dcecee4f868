import datetime as dt

import pandas as pd
import pytest
from pyspark.sql import functions as F
from silver_factories import measurement, measurements_df, spec_frame

from gnp.core.registry import Registry
from gnp.core.schemas import MEASUREMENTS, REGIONAL_METRICS, TABLES
from gnp.serving.warehouse import DUCKDB_TYPES, query, refresh_duckdb

D1 = dt.date(2025, 3, 3)
D2 = dt.date(2025, 3, 4)


@pytest.fixture
def registry(tmp_path):
    return Registry(lake=str(tmp_path / "lake"), bronze=str(tmp_path / "lake" / "bronze"), artifacts=str(tmp_path / "artifacts"),
                    duckdb_path=str(tmp_path / "wh" / "warehouse.duckdb"), bigquery_project=None,
                    silver_dataset="silver", gold_dataset="gold", warehouse_kind="duckdb")


def _write_measurements(spark, folder, ids_and_days):
    rows = [measurement(i, f"u{i}", d, 9, "9", 10.0 * i) for i, d in ids_and_days]
    measurements_df(spark, rows).write.partitionBy("measurement_date").parquet(str(folder))
    return str(folder)


def test_refresh_creates_a_typed_view_for_every_table(spark, registry):
    counts = refresh_duckdb(registry, {})

    assert counts == {}
    views = query(registry, "SELECT schema_name || '.' || view_name AS id FROM duckdb_views() WHERE NOT internal")
    expected_ids = sorted(registry.table_id(n) for n in TABLES)
    assert sorted(views.id) == expected_ids, f"expected {expected_ids}, found {sorted(views.id)}"
    described = query(registry, f"DESCRIBE SELECT * FROM {registry.table_id('measurements')}")
    expected = [(c.name, DUCKDB_TYPES[c.type]) for c in MEASUREMENTS.columns]
    found = [(n, t.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ")) for n, t in zip(described.column_name, described.column_type)]
    assert found == expected, f"expected {expected}, found {found}"


def test_views_read_spark_parquet_with_partition_columns_and_utc_timestamps(spark, registry, tmp_path):
    folder = _write_measurements(spark, tmp_path / "v1", [(1, D1), (2, D1), (3, D2)])

    refresh_duckdb(registry, {"measurements": [folder]})

    found = query(registry, "SELECT measurement_id, measurement_date, measured_at, download_mbps "
                            "FROM silver.measurements WHERE measurement_date = $day ORDER BY 1", {"day": D1})
    expected = pd.DataFrame({
        "measurement_id": [1, 2],
        "measurement_date": pd.to_datetime([D1, D1]),
        "measured_at": pd.to_datetime(["2025-03-03 07:00", "2025-03-03 07:00"]).tz_localize("UTC"),
        "download_mbps": [10.0, 20.0],
    })
    found["measurement_date"] = pd.to_datetime(found["measurement_date"])
    found["measured_at"] = found["measured_at"].dt.tz_convert("UTC").astype(expected["measured_at"].dtype)
    pd.testing.assert_frame_equal(found, expected, check_dtype=False)


def test_refresh_switches_snapshots_and_keeps_views_of_tables_left_out(spark, registry, tmp_path):
    old = _write_measurements(spark, tmp_path / "v1", [(1, D1)])
    new = _write_measurements(spark, tmp_path / "v2", [(1, D1), (2, D2)])
    gold_rows = [dict(measurement_date=D1, periphery_id="9", tests=3, is_suppressed=True)]
    spec_frame(spark, REGIONAL_METRICS, gold_rows).write.parquet(str(tmp_path / "g1"))
    refresh_duckdb(registry, {"measurements": [old], "regional_metrics": [str(tmp_path / "g1")]})

    refresh_duckdb(registry, {"measurements": [new]})

    ids = query(registry, "SELECT list(measurement_id ORDER BY measurement_id) AS ids FROM silver.measurements").ids[0]
    assert list(ids) == [1, 2], f"expected the new snapshot [1, 2], found {list(ids)}"
    gold = query(registry, "SELECT periphery_id, tests, users, is_suppressed FROM gold.regional_metrics")
    found = (gold.shape, gold.periphery_id[0], gold.tests[0], pd.isna(gold.users[0]), bool(gold.is_suppressed[0]))
    assert found == ((1, 4), "9", 3, True, True), f"expected the untouched gold view, found {gold}"


def test_views_expose_exactly_the_spec_columns_whatever_the_files_hold(spark, registry, tmp_path):
    rows = [dict(measurement_date=D1, periphery_id="9", tests=3, is_suppressed=False)]
    drifted = spec_frame(spark, REGIONAL_METRICS, rows).drop("loss_mean_pct").withColumn("extra", F.lit("x"))
    drifted.write.parquet(str(tmp_path / "drifted"))

    refresh_duckdb(registry, {"regional_metrics": [str(tmp_path / "drifted") + "/*.parquet"]})

    found = query(registry, "SELECT * FROM gold.regional_metrics")
    assert list(found.columns) == REGIONAL_METRICS.column_names
    assert pd.isna(found.loss_mean_pct[0]) and found.tests[0] == 3


def test_an_empty_folder_gives_an_empty_view_and_unknown_tables_are_refused(registry, tmp_path):
    (tmp_path / "empty").mkdir()

    refresh_duckdb(registry, {"sessions": [str(tmp_path / "empty")]})

    assert query(registry, "SELECT count(*) AS n FROM silver.sessions").n[0] == 0
    with pytest.raises(KeyError, match="not_a_table"):
        refresh_duckdb(registry, {"not_a_table": []})


def test_a_view_keeps_answering_after_later_commits_and_a_vacuum_until_its_refresh(spark, registry):
    from gnp.lake import lakehouse

    path = registry.table_path("measurements")
    rows = [measurement(i, f"u{i}", d, 9, "9", 10.0 * i) for i, d in [(1, D1), (2, D1), (3, D2)]]
    lakehouse.overwrite(measurements_df(spark, rows), MEASUREMENTS, path)
    refresh_duckdb(registry, {"measurements": lakehouse.current_files(path)})  # pins version 0's files
    lakehouse.overwrite(measurements_df(spark, rows[:1]), MEASUREMENTS, path)
    lakehouse.replace_partitions(measurements_df(spark, rows[2:]), MEASUREMENTS, path, drop=[D2])
    lakehouse.vacuum(spark, path, retain_days=7)

    pinned = query(registry, "SELECT count(*) AS n FROM silver.measurements")
    assert pinned.n[0] == 3, "the view lost the version it was refreshed to"
    refresh_duckdb(registry)
    assert query(registry, "SELECT count(*) AS n FROM silver.measurements").n[0] == 2
