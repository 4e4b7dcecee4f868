import datetime as dt
import hashlib
import hmac
import json

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from silver_factories import spec_frame

from gnp.core.config import SemanticsParams
from gnp.core.registry import Registry
from gnp.core.schemas import MEASUREMENTS, QUARANTINE
from gnp.silver import measurements as M
from gnp.silver import parse
from gnp.silver.accounting import AccountingError, count_accounting
from gnp.silver.pseudonym import key_frame
from silver.bronze_factories import lake_params, record, write_day

UTC = dt.timezone.utc
KEY = b"0123456789abcdef0123456789abcdef"
IP = "80.191.12"
USER = hmac.new(KEY, IP.encode(), hashlib.sha256).hexdigest()
D1 = dt.date(2025, 10, 26)
T1 = dt.datetime(2025, 10, 27, 6, 0, tzinfo=UTC)
T2 = dt.datetime(2025, 10, 28, 6, 0, tzinfo=UTC)
SEMANTICS = SemanticsParams(max_download_mbps=10_000.0, max_upload_mbps=10_000.0, max_rtt_ms=60_000.0)


def _flag(spark, tmp_path, versions):
    """Write Bronze versions [(records, fetched_at)] of D1 and flag them; returns (flagged, files)."""
    registry = Registry.from_params(lake_params(tmp_path))
    for records, fetched_at in versions:
        write_day(registry, D1, records, fetched_at=fetched_at)
    files = parse.list_bronze_files(registry, [D1])
    flagged = M.flag_records(parse.read_bronze(spark, files), key_frame(spark, KEY), SEMANTICS)
    return flagged, files


def _silver_row(measurement_id, measured_at, fetched_at, bronze_file, **overrides):
    row = dict(
        measurement_id=measurement_id, measured_at=measured_at, measurement_date=D1,
        measurement_hour_local=10, is_dst_ambiguous=False, user_id=USER, connection_id="5551",
        download_mbps=48.5, upload_mbps=4.9, rtt_ms=21.0, loss_pct=0.0, jitter_ms=1.5, os_name="Windows",
        os_version="10", os_architecture="x86_64", isp="Cosmote", contract_download_mbps=50.0,
        contract_upload_mbps=5.0, postal_code="19016", municipality_id="44", municipality="ΣΠΑΤΩΝ - ΑΡΤΕΜΙΔΟΣ",
        regional_unit_id="47", regional_unit="Ανατολικής Αττικής", periphery_id="9", periphery="ΑΤΤΙΚΗΣ",
        fetched_at=fetched_at, bronze_file=bronze_file,
    )  # fmt: skip
    row.update(overrides)
    return row


def test_records_become_typed_measurements_with_clean_codes_and_nulls(spark, tmp_path):
    records = [
        record(1),
        record(2, time="2025-10-26 03:30:00", ISP="", connection_regional_unit="NaN",
               connection_municipality="NaN", connection_postal_code="NaN", contract_download_mbps=0.0),
        record(3, time="2025-10-26 23:59:00", connection_periphery_id=None, connection_periphery=None,
               measured_jitter_msec=None, connection_id="77"),
    ]  # fmt: skip
    flagged, files = _flag(spark, tmp_path, [(records, T1)])
    f1 = files[0].bronze_file

    found = M.to_measurements(flagged)

    expected = spec_frame(spark, MEASUREMENTS, [
        _silver_row(1, dt.datetime(2025, 10, 26, 8, 0, tzinfo=UTC), T1, f1),
        # the repeated autumn hour: first occurrence (UTC+3), marked
        _silver_row(2, dt.datetime(2025, 10, 26, 0, 30, tzinfo=UTC), T1, f1, measurement_hour_local=3,
                    is_dst_ambiguous=True, isp=None, regional_unit=None, municipality=None, postal_code=None,
                    contract_download_mbps=None),
        # a missing place is kept, with a null place
        _silver_row(3, dt.datetime(2025, 10, 26, 21, 59, tzinfo=UTC), T1, f1, measurement_hour_local=23,
                    periphery_id=None, periphery=None, jitter_ms=None, connection_id="77"),
    ])  # fmt: skip
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)
    accounting = count_accounting(flagged, parse.manifest_records(files))
    assert accounting.as_dict() == dict(
        bronze_records=3, silver_rows=3, quarantine_rows=0, duplicates=0, rows_without_place=1, other_partitions=0,
        kept_from_other_day=0, outside_plan=0, manifest_records=3,
    ), accounting


def test_duplicates_across_fetches_keep_the_latest_copy_and_are_counted(spark, tmp_path):
    first = [record(1, measured_downstream_mbps=10.0), record(2), record(2)]  # id 2 twice in one answer too
    second = [record(1, measured_downstream_mbps=20.0)]
    flagged, files = _flag(spark, tmp_path, [(first, T1), (second, T2)])

    found = M.to_measurements(flagged).select("measurement_id", "download_mbps", "fetched_at", "bronze_file")

    expected = spark.createDataFrame(
        [(1, 20.0, T2, files[1].bronze_file), (2, 48.5, T1, files[0].bronze_file)],
        "measurement_id bigint, download_mbps double, fetched_at timestamp, bronze_file string",
    )
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)
    accounting = count_accounting(flagged, parse.manifest_records(files)).require_balanced()
    assert (accounting.silver_rows, accounting.duplicates) == (2, 2), accounting


def test_a_valid_copy_is_never_displaced_by_a_later_invalid_one(spark, tmp_path):
    flagged, files = _flag(spark, tmp_path, [([record(1)], T1), ([record(1, measured_downstream_mbps=-1.0)], T2)])
    found = M.to_measurements(flagged).select("measurement_id", "download_mbps", "fetched_at")
    expected = spark.createDataFrame([(1, 48.5, T1)], "measurement_id bigint, download_mbps double, fetched_at timestamp")
    assert_df_equality(found, expected, ignore_nullable=True)
    assert M.to_quarantine(flagged).count() == 0
    assert count_accounting(flagged).duplicates == 1


def test_a_test_with_no_valid_copy_is_quarantined_once_from_the_latest_fetch(spark, tmp_path):
    bad = [([record(1, measured_downstream_mbps=-1.0)], T1), ([record(1, measured_downstream_mbps=-2.0)], T2)]
    flagged, _ = _flag(spark, tmp_path, bad)
    found = M.to_quarantine(flagged).select("measurement_id", "reasons", "fetched_at")
    expected = spark.createDataFrame([(1, ["negative_download_mbps"], T2)], "measurement_id bigint, reasons array<string>, fetched_at timestamp")
    assert_df_equality(found, expected, ignore_nullable=True)
    assert (M.to_measurements(flagged).count(), count_accounting(flagged).duplicates) == (0, 1)


def test_a_test_is_filed_under_its_own_date_and_its_own_days_copy_wins(spark, tmp_path):
    """The 27th's request returns a test of the 26th, later than the 26th's own answer did."""
    registry = Registry.from_params(lake_params(tmp_path))
    write_day(registry, D1, [record(1, measured_downstream_mbps=10.0)], fetched_at=T1)
    late = [record(1, measured_downstream_mbps=20.0), record(2), record(3, time="2025-10-27 09:00:00")]
    write_day(registry, D1 + dt.timedelta(days=1), late, fetched_at=T2)
    files = parse.list_bronze_files(registry, [D1, D1 + dt.timedelta(days=1)])
    flagged = M.flag_records(parse.read_bronze(spark, files), key_frame(spark, KEY), SEMANTICS)

    found = M.to_measurements(flagged).select("measurement_id", "measurement_date", "download_mbps", "fetched_at")

    expected = spark.createDataFrame(
        [(1, D1, 10.0, T1), (2, D1, 48.5, T2), (3, D1 + dt.timedelta(days=1), 48.5, T2)],
        "measurement_id bigint, measurement_date date, download_mbps double, fetched_at timestamp",
    )
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)
    only_d1 = count_accounting(flagged, parse.manifest_records(files), [D1], [D1]).require_balanced()
    assert only_d1.as_dict() == dict(
        bronze_records=4, silver_rows=2, quarantine_rows=0, duplicates=1, rows_without_place=0,
        other_partitions=1, kept_from_other_day=1, outside_plan=0, manifest_records=4,
    ), only_d1  # fmt: skip
    assert M.to_measurements(flagged, [D1]).count() == 2


def test_rejected_records_are_quarantined_with_every_reason_and_their_position(spark, tmp_path):
    records = [
        record(1),
        record(2, measured_downstream_mbps=-5.0, measured_rtt_msec=1e9),
        record(3, measured_upstream_mbps=20000.0, measured_loss_percentage=101.0, measured_jitter_msec=-1.0),
        record(None),
        record("4.5"),
        record(5, time="2025-10-26 25:10:00"),
        record(6, time="NaN"),
        record(7, ip=None),
        record(8, ip="NaN", measured_downstream_mbps="fast"),
        record(9, time="2025-10-27 00:10:00"),  # the next day's test in this day's answer: kept, on its date
        record(10, time="2025-10-27 00:20:00", measured_rtt_msec=-1.0),  # quarantined on its own date
    ]
    flagged, files = _flag(spark, tmp_path, [(records, T1)])
    f1 = files[0].bronze_file

    found = M.to_quarantine(flagged).drop("record_json")

    rows = [
        (1, 2, ["negative_download_mbps", "absurd_rtt_ms"]),
        (2, 3, ["absurd_upload_mbps", "absurd_loss_pct", "negative_jitter_ms"]),
        (3, None, ["missing_measurement_id"]),
        (4, None, ["unparseable_measurement_id"]),
        (5, 5, ["unparseable_measurement_time"]),
        (6, 6, ["missing_measurement_time"]),
        (7, 7, ["missing_client_ip"]),
        (8, 8, ["missing_client_ip", "unparseable_download_mbps"]),
        (10, 10, ["negative_rtt_ms"]),
    ]
    expected = spec_frame(spark, QUARANTINE, [
        dict(bronze_file=f1, record_index=i, measurement_id=mid, reason=reasons[0], reasons=reasons, fetched_at=T1,
             measurement_date=D1 + dt.timedelta(days=int(mid == 10)))
        for i, mid, reasons in rows
    ]).drop("record_json")  # fmt: skip
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)
    accounting = count_accounting(flagged, parse.manifest_records(files)).require_balanced()
    assert (accounting.silver_rows, accounting.quarantine_rows, accounting.kept_from_other_day) == (2, 9, 1), accounting


def test_quarantine_keeps_the_record_as_received_with_the_ip_replaced_by_user_id(spark, tmp_path):
    flagged, _ = _flag(spark, tmp_path, [([record(2, measured_downstream_mbps=-5.0, ISP="")], T1)])
    (text,) = M.to_quarantine(flagged).select("record_json").first()
    found = json.loads(text)
    assert "client_ip" not in found and found["user_id"] == USER, found
    assert (found["measured_downstream_mbps"], found["ISP"], found["connection_periphery_id"]) == ("-5.0", "", "9.0")


def test_a_malformed_body_is_quarantined_without_its_ips(spark, tmp_path):
    body = f'[{{"measurement_id": 1, "client_ip": "{IP}"}}, {{"client_ip": "10.1.2.3"'.encode()
    registry = Registry.from_params(lake_params(tmp_path))
    write_day(registry, D1, [record(1)], fetched_at=T1, body=body)
    files = parse.list_bronze_files(registry, [D1])
    flagged = M.flag_records(parse.read_bronze(spark, files), key_frame(spark, KEY), SEMANTICS)

    found = M.to_quarantine(flagged).select("record_index", "reasons", "record_json").first()

    assert (found.record_index, found.reasons) == (0, ["malformed_json"]), found
    assert IP not in found.record_json and "10.1.2.3" not in found.record_json, found.record_json
    assert count_accounting(flagged).is_balanced


def test_no_output_column_holds_the_ip_or_a_plain_hash_of_it(spark, tmp_path):
    records = [record(1), record(2, measured_downstream_mbps=-1.0), record(None), record(3, time="bad")]
    flagged, _ = _flag(spark, tmp_path, [(records, T1)])
    forbidden = {IP, hashlib.sha256(IP.encode()).hexdigest(), hashlib.md5(IP.encode()).hexdigest(),
                 hashlib.sha1(IP.encode()).hexdigest()}  # fmt: skip
    for frame in (M.to_measurements(flagged), M.to_quarantine(flagged)):
        text = " ".join(str(v) for row in frame.collect() for v in row).lower()
        leaked = {f for f in forbidden if f.lower() in text}
        assert not leaked, f"expected no IP or plain hash of it in {frame.columns}, found {leaked}"


def test_accounting_fails_when_a_record_falls_through_or_the_read_missed_records(spark, tmp_path):
    flagged, files = _flag(spark, tmp_path, [([record(1), record(2)], T1)])
    broken = flagged.withColumn(
        "is_duplicate", F.when(F.col("measurement_id") == 2, F.lit(None).cast("boolean")).otherwise(F.col("is_duplicate"))
    )
    with pytest.raises(AccountingError, match=r"expected bronze records 2 .* found 1"):
        count_accounting(broken).require_balanced()
    with pytest.raises(AccountingError, match=r"manifests: 3"):
        count_accounting(flagged, parse.manifest_records(files) + 1).require_balanced()


def test_the_negative_and_absurd_conditions_spare_null_and_the_limits(spark):
    df = spark.createDataFrame([(None,), (0.0,), (100.0,), (100.5,), (-0.1,)], "v double")
    v = F.col("v")
    valid = v.isNull() | (~M.is_negative(v) & ~M.is_absurd(v, 100.0))
    found = [r.ok for r in df.select(valid.alias("ok")).collect()]
    assert found == [True, True, True, False, False], found
