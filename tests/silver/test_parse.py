import datetime as dt

from chispa import assert_df_equality

from gnp.core.registry import Registry
from gnp.silver import parse
from silver.bronze_factories import lake_params, record, write_day

UTC = dt.timezone.utc
D1, D2 = dt.date(2025, 10, 26), dt.date(2025, 10, 27)
T1 = dt.datetime(2025, 10, 27, 6, 0, tzinfo=UTC)
T2 = dt.datetime(2025, 10, 28, 6, 0, 0, 123456, tzinfo=UTC)


def _registry(tmp_path) -> Registry:
    return Registry.from_params(lake_params(tmp_path))


def test_lists_every_version_with_lineage_from_its_name_and_manifest(tmp_path):
    registry = _registry(tmp_path)
    first = write_day(registry, D1, [record(1), record(2)], fetched_at=T1)
    second = write_day(registry, D1, [record(1)], fetched_at=T2)
    empty = write_day(registry, D2, [], fetched_at=T1)

    files = parse.list_bronze_files(registry, [D2, D1, D1, dt.date(2025, 10, 28)])

    found = [(f.bronze_file, f.bronze_date, f.fetched_at, f.record_count) for f in files]
    expected = [
        (f"measurement_date=2025-10-26/{first.name}.json.gz", D1, T1, 2),
        (f"measurement_date=2025-10-26/{second.name}.json.gz", D1, T2, 1),
        (f"measurement_date=2025-10-27/{empty.name}.json.gz", D2, T1, 0),
    ]
    assert found == expected, f"expected {expected}, found {found}"
    latest = parse.list_bronze_files(registry, [D1], latest_only=True)
    assert [f.fetched_at for f in latest] == [T2], f"expected only the latest version, found {latest}"
    assert parse.manifest_records(files) == 3


def test_reads_every_value_as_its_text_with_lineage_and_positions(spark, tmp_path):
    registry = _registry(tmp_path)
    write_day(registry, D1, [record(1), record(2, connection_municipality_id=None, ISP="", measured_rtt_msec="fast")], fetched_at=T1)
    write_day(registry, D1, [record(3, connection_regional_unit="NaN")], fetched_at=T2)
    files = parse.list_bronze_files(registry, [D1])

    raw = parse.read_bronze(spark, files)

    found = raw.select(
        "measurement_id", "connection_municipality_id", "connection_postal_code", "ISP", "measured_rtt_msec",
        "connection_regional_unit", "bronze_file", "bronze_date", "fetched_at",
    )
    f1, f2 = files[0].bronze_file, files[1].bronze_file
    expected = spark.createDataFrame(
        [
            ("1", "44.0", "19016.0", "Cosmote", "21.0", "Ανατολικής Αττικής", f1, D1, T1),
            ("2", None, "19016.0", "", "fast", "Ανατολικής Αττικής", f1, D1, T1),
            ("3", "44.0", "19016.0", "Cosmote", "21.0", "NaN", f2, D1, T2),
        ],
        "measurement_id string, connection_municipality_id string, connection_postal_code string, ISP string, "
        "measured_rtt_msec string, connection_regional_unit string, bronze_file string, bronze_date date, "
        "fetched_at timestamp",
    )
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)
    positions = raw.groupBy("bronze_file").agg({"row_id": "max"}).join(
        raw.groupBy("bronze_file").agg({"row_id": "min"}), "bronze_file", how="inner"
    )
    spans = {r.bronze_file: r["max(row_id)"] - r["min(row_id)"] for r in positions.collect()}
    assert spans == {f1: 1, f2: 0}, f"expected consecutive row ids per file, found spans {spans}"


def test_a_new_or_missing_field_reads_without_error_and_is_reported(spark, tmp_path):
    registry = _registry(tmp_path)
    dropped = record(1)
    del dropped["ISP"]
    write_day(registry, D1, [dropped], fetched_at=T1)
    write_day(registry, D2, [record(2, time="2025-10-27 09:00:00", connection_type="fibre")], fetched_at=T1)
    write_day(registry, dt.date(2025, 10, 28), [], fetched_at=T1)  # an empty day says nothing about fields
    files = parse.list_bronze_files(registry, [D1, D2, dt.date(2025, 10, 28)])

    found = parse.read_bronze(spark, files).select("measurement_id", "ISP")
    drift = parse.field_drift(files)

    expected = spark.createDataFrame([("1", None), ("2", "Cosmote")], "measurement_id string, ISP string")
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)
    assert (drift.missing, drift.new, drift.has_drift) == (("ISP",), ("connection_type",), True), drift
    assert drift.files_with_drift == (files[0].bronze_file, files[1].bronze_file), drift
    assert drift.as_dict()["new"] == ["connection_type"]


def test_no_drift_when_fields_match(tmp_path):
    registry = _registry(tmp_path)
    write_day(registry, D1, [record(1)], fetched_at=T1)
    drift = parse.field_drift(parse.list_bronze_files(registry, [D1]))
    assert not drift.has_drift and drift.seen == tuple(sorted(parse.API_FIELDS)), drift


def test_a_body_that_is_not_json_becomes_one_corrupt_record(spark, tmp_path):
    registry = _registry(tmp_path)
    write_day(registry, D1, [record(1)], fetched_at=T1, body=b'[{"measurement_id": 1, "client_ip": "80.191.12"')
    raw = parse.read_bronze(spark, parse.list_bronze_files(registry, [D1]))
    rows = raw.select("measurement_id", parse.CORRUPT_RECORD).collect()
    assert [(r[0], r[1][:20]) for r in rows] == [(None, '[{"measurement_id": ')], rows


def test_no_files_read_as_an_empty_frame_with_the_same_columns(spark):
    raw = parse.read_bronze(spark, [])
    assert raw.count() == 0
    assert raw.schema == parse.RAW_FRAME_SCHEMA
