"""Local copies of gs:// objects and uploads of local folders, against fake-gcs-server (slow) and locally (fast)."""

import datetime as dt
import os
import secrets

import pytest
from chispa import assert_df_equality
from pyspark.sql import types as T

from bigquery_emulator import running_fake_gcs
from gnp import lakehouse, staging, storage
from gnp.schemas import Column, TableSpec


# --- fast: no Cloud Storage --------------------------------------------------

def test_local_locations_are_their_own_copies(tmp_path):
    path = str(tmp_path / "bronze" / "x.json.gz")

    found = (staging.local_path(path), staging.local_copy(path), staging.local_copies([path]))

    assert found == (path, path, [path]), f"expected the path unchanged, found {found}"


def test_a_copy_mirrors_the_uri_under_the_cache_dir_so_its_last_segments_are_the_objects(tmp_path, monkeypatch):
    monkeypatch.setenv(staging.CACHE_DIR_ENV, str(tmp_path))

    found = staging.local_path("gs://bronze-b/hyperion/measurement_date=2025-10-26/v1.json.gz")

    expected = str(tmp_path / "gs" / "bronze-b" / "hyperion" / "measurement_date=2025-10-26" / "v1.json.gz")
    assert found == expected, f"expected {expected}, found {found}"


@pytest.mark.parametrize(
    ("location", "expected"),
    [("gs://b/x", True), ("memory://x", True), ("file:///tmp/x", False), ("/tmp/x", False), ("rel/x", False)],
)
def test_only_uris_other_than_file_are_remote(location, expected):
    assert staging.is_remote(location) is expected, f"{location}: expected remote={expected}"


# --- slow: against fake-gcs-server --------------------------------------------

@pytest.fixture(scope="module")
def gcs_endpoint(tmp_path_factory):
    with running_fake_gcs(tmp_path_factory.mktemp("fake-gcs")) as endpoint:
        yield endpoint


@pytest.fixture
def bucket(gcs_endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    monkeypatch.setenv(staging.CACHE_DIR_ENV, str(tmp_path / "cache"))
    name = f"b-{secrets.token_hex(4)}"
    storage.filesystem("gs://").mkdir(name)
    return f"gs://{name}"


@pytest.mark.slow
def test_a_remote_file_is_downloaded_once(bucket):
    location = f"{bucket}/hyperion/measurement_date=2025-10-26/v1.json.gz"
    storage.write_bytes(location, b"first")

    first = staging.local_copy(location)
    storage.filesystem(location).rm(location)  # a second download would now fail
    again = staging.local_copy(location)

    assert first == again == staging.local_path(location), f"expected one cached path, found {first}, {again}"
    with open(again, "rb") as fh:
        content = fh.read()
    assert content == b"first", f"expected the object's bytes, found {content!r}"


@pytest.mark.slow
def test_a_remote_folder_is_copied_whole_with_its_subfolders(bucket):
    folder = f"{bucket}/t/_writes/w1"
    objects = {"__d=2025-10-26/part-0.parquet": b"a", "__d=2025-10-27/part-0.parquet": b"bb", "_SUCCESS": b""}
    for name, data in objects.items():
        storage.write_bytes(f"{folder}/{name}", data)

    [copy] = staging.local_copies([folder])

    found = {
        os.path.relpath(os.path.join(d, f), copy): open(os.path.join(d, f), "rb").read()
        for d, _, files in os.walk(copy) for f in files
    }
    assert found == objects, f"expected {objects}, found {found}"
    leftovers = [n for n in os.listdir(os.path.dirname(copy)) if staging.PARTIAL_MARK in n]
    assert leftovers == [], f"expected no partial downloads left, found {leftovers}"


@pytest.mark.slow
def test_upload_folder_sends_every_file_but_hidden_ones_under_the_same_names(bucket, tmp_path):
    local = tmp_path / "write"
    (local / "__d=2025-10-26").mkdir(parents=True)
    (local / "__d=2025-10-26" / "part-0.parquet").write_bytes(b"rows")
    (local / "__d=2025-10-26" / ".part-0.parquet.crc").write_bytes(b"crc")
    (local / "_SUCCESS").write_bytes(b"")

    uploaded = staging.upload_folder(str(local), f"{bucket}/t/_writes/w2")

    expected = [f"{bucket}/t/_writes/w2/_SUCCESS", f"{bucket}/t/_writes/w2/__d=2025-10-26/part-0.parquet"]
    listed = sorted(f"gs://{p}" for p in storage.filesystem(bucket).find(f"{bucket}/t/_writes/w2"))
    assert sorted(uploaded) == listed == sorted(expected), f"expected {expected}, found {uploaded} and {listed}"
    assert storage.read_bytes(expected[1]) == b"rows", "expected the file's bytes in the bucket"


EVENTS = TableSpec(
    name="events",
    layer="silver",
    grain="one row per event",
    key=("event_id",),
    partition_by="event_date",
    cluster_by=("user_id",),
    columns=(
        Column("event_id", "bigint", "id", nullable=False),
        Column("event_date", "date", "day", nullable=False),
        Column("user_id", "string", "user"),
    ),
)
EVENTS_SCHEMA = T.StructType(
    [
        T.StructField("event_id", T.LongType(), False),
        T.StructField("event_date", T.DateType(), False),
        T.StructField("user_id", T.StringType(), True),
    ]
)
D1, D2 = dt.date(2025, 10, 25), dt.date(2025, 10, 26)


@pytest.mark.slow
def test_a_gcs_lakehouse_table_round_trips_through_local_files(spark, bucket, tmp_path, monkeypatch):
    table = f"{bucket}/lake/silver/events"
    rows = [(1, D1, "u1"), (2, D1, None), (3, D2, "u2")]
    lakehouse.replace_partitions(spark.createDataFrame(rows, EVENTS_SCHEMA), EVENTS, table)
    lakehouse.replace_partitions(spark.createDataFrame([(4, D2, "u3")], EVENTS_SCHEMA), EVENTS, table)
    monkeypatch.setenv(staging.CACHE_DIR_ENV, str(tmp_path / "another-machine"))  # nothing cached: download

    found = lakehouse.read_table(spark, table, EVENTS)

    expected = spark.createDataFrame([(1, D1, "u1"), (2, D1, None), (4, D2, "u3")], EVENTS_SCHEMA)
    assert_df_equality(found, expected, ignore_row_order=True, ignore_nullable=True)
    objects = storage.filesystem(table).find(table)
    snapshot = storage.read_json(f"{table}/{lakehouse.SNAPSHOT}")
    leaves = sorted(snapshot["partitions"].values())
    assert len(leaves) == 2 and all(any(f"/{leaf}/" in o for o in objects) for leaf in leaves), (
        f"expected both current leaves in the bucket, found {objects} for {leaves}"
    )
    hidden = [o for o in objects if o.rsplit("/", 1)[-1].startswith(".")]
    assert hidden == [], f"expected no Hadoop checksum objects, found {hidden}"
