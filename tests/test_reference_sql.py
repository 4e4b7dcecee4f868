import datetime as dt

import duckdb
import pandas as pd
import pytest

from gnp.config import SemanticsParams
from gnp.gold import gold_tables, reduce_measurements
from gnp.reference_sql import compare_table, compare_tables, reference_gold, register_silver
from gnp.schemas import HOURLY_PROFILE
from silver_factories import measurements_df, random_silver, sessions_df

SEMANTICS = SemanticsParams(k_anonymity=3, histogram_buckets_per_decade=4)


@pytest.fixture(scope="module")
def silver_files(spark, tmp_path_factory):
    """A few thousand random Silver rows written as Parquet, partitioned as the lakehouse does."""
    folder = tmp_path_factory.mktemp("silver")
    measurements, sessions = random_silver(seed=7, tests=4000, users=80, days=40)
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


def _hourly(**overrides):
    row = dict(measurement_date=dt.date(2025, 3, 3), periphery_id="9", hour_local=8, tests=4, users=3,
               median_download_mbps=12.5, is_suppressed=False)
    return pd.DataFrame([{**row, **overrides}], columns=HOURLY_PROFILE.column_names)


def test_compare_table_tolerates_last_bit_noise_and_reports_real_differences():
    same = compare_table(_hourly(median_download_mbps=12.5 + 1e-12), _hourly(), HOURLY_PROFILE)
    changed = compare_table(_hourly(median_download_mbps=12.6, users=None), _hourly(), HOURLY_PROFILE)
    moved = compare_table(_hourly(hour_local=9), _hourly(), HOURLY_PROFILE)

    assert same == [], f"expected no difference, found {same}"
    assert len(changed) == 2 and "median_download_mbps: expected 12.5, found 12.6" in changed[1], changed
    assert "users: expected 3, found None" in changed[0], changed
    assert [p.split(":")[1].strip().split(" ")[0] for p in moved] == ["row", "unexpected"], moved
