"""Read Bronze days into raw string columns, with lineage and the fields each version carried.

Every API field is read as a string: Spark's JSON reader stores any JSON value
as its text when the schema says string, so ``44.0``, ``"NaN"`` or a word where
a number belongs all survive to be judged by the cleaning step instead of
failing the read. A field the API adds is ignored by the explicit schema and a
field it drops reads as null; both are reported by ``field_drift`` from the
manifests, which list every field name a version carried.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from gnp.bronze import index as bronze_index
from gnp.bronze import ingest as bronze
from gnp.core.registry import Registry
from gnp.source.contract import FIELDS as API_FIELDS

CORRUPT_RECORD = "_corrupt_record"
RAW_SCHEMA = T.StructType(
    [T.StructField(name, T.StringType()) for name in API_FIELDS]
    + [T.StructField(CORRUPT_RECORD, T.StringType())]
)
LINEAGE_SCHEMA = T.StructType(
    [
        T.StructField("file_name", T.StringType()),
        T.StructField("bronze_file", T.StringType()),
        T.StructField("bronze_date", T.DateType()),
        T.StructField("fetched_at", T.TimestampType()),
    ]
)
RAW_FRAME_SCHEMA = T.StructType(RAW_SCHEMA.fields + LINEAGE_SCHEMA.fields[1:] + [T.StructField("row_id", T.LongType())])
MANIFEST_READERS = 16  # manifests are tiny; in GCS each read is a round trip


@dataclass(frozen=True)
class BronzeFile:
    """One stored version of one Bronze day, with what its manifest says about it."""

    location: str  # path or URI of the data object
    bronze_file: str  # "<day folder>/<object name>": the lineage value in Silver
    bronze_date: dt.date  # the measurement day the version was fetched for
    fetched_at: dt.datetime  # UTC
    record_count: int
    fields: tuple[str, ...]  # every field name the version's records carried
    # Local dates of the measurements in the body (the manifest's ``measurement_dates``): a test can come
    # back under another day's request, and Silver files it under its own date (see ``silver.stage``).
    measurement_dates: tuple[dt.date, ...] = ()
    run_id: str | None = None  # the pipeline run that fetched it (None for versions from outside a run)


@dataclass(frozen=True)
class FieldDrift:
    """Fields seen in Bronze against the fields the pipeline expects."""

    expected: tuple[str, ...]
    seen: tuple[str, ...]
    missing: tuple[str, ...]  # expected, absent from at least one version with records
    new: tuple[str, ...]  # carried by at least one version, not expected (ignored by the read)
    files_with_drift: tuple[str, ...]

    @property
    def has_drift(self) -> bool:
        return bool(self.missing or self.new)

    def as_dict(self) -> dict:
        return {
            "expected": list(self.expected),
            "seen": list(self.seen),
            "missing": list(self.missing),
            "new": list(self.new),
            "files_with_drift": list(self.files_with_drift),
        }


def _lineage_name(version: bronze.BronzeVersion) -> str:
    folder = version.folder.rstrip("/").rsplit("/", 1)[-1]
    return f"{folder}/{version.name}{bronze.DATA_SUFFIX}"


def list_bronze_files(registry: Registry, days: Iterable[dt.date], *, latest_only: bool = False) -> list[BronzeFile]:
    """Complete Bronze versions of the given days (all versions, or only each day's latest).

    Reading every version lets deduplication keep the latest copy of a
    measurement while counting the older ones; ``latest_only`` trades that for
    less reading when each fetch returns the whole day. What the manifests say
    comes from the Bronze index, which reads only the manifests it lacks.
    """
    versions, days = [], sorted(set(days))
    with ThreadPoolExecutor(MANIFEST_READERS) as pool:
        for day_versions in pool.map(lambda day: bronze.list_versions(registry, day), days):
            versions += day_versions[-1:] if latest_only else day_versions
        manifests = bronze_index.summaries(registry, versions, pool.map, listed_days=() if latest_only else days)
    return [
        BronzeFile(
            location=v.data_path,
            bronze_file=_lineage_name(v),
            bronze_date=v.day,
            fetched_at=v.fetched_at,
            record_count=int(m["record_count"]),
            fields=tuple(m.get("fields", ())),
            measurement_dates=manifest_dates(m, v.day),
            run_id=m.get("run_id"),
        )
        for v, m in zip(versions, manifests)
    ]


def manifest_dates(manifest: dict, day: dt.date) -> tuple[dt.date, ...]:
    """The local measurement dates a version holds, from its manifest.

    Manifests written before ``measurement_dates`` existed only count the
    records outside their day: none means the day alone; some are assumed to
    be from the day before or after (``silver.stage`` refuses to write if a
    record of such a version falls outside the partitions it planned).
    """
    if "measurement_dates" in manifest:
        return tuple(dt.date.fromisoformat(d) for d in manifest["measurement_dates"])
    if not int(manifest["record_count"]):
        return ()
    if not int(manifest.get("records_outside_day", 1)):
        return (day,)
    return (day - dt.timedelta(days=1), day, day + dt.timedelta(days=1))


def _lineage_rows(files: list[BronzeFile]) -> list[tuple]:
    """(object name, lineage) per version with records: the name alone identifies it among them.

    Names are ``<fetched-at>-<checksum of the body>``, so two versions share a
    name only when fetched together with identical bodies: empty days, which
    have no rows to join.
    """
    with_rows = [f for f in files if f.record_count]
    rows = {f.bronze_file.rsplit("/", 1)[-1]: (f.bronze_file, f.bronze_date, f.fetched_at) for f in with_rows}
    if len(rows) != len(with_rows):
        raise ValueError("two Bronze versions with records share an object name: their lineage would mix")
    return [(name, *lineage) for name, lineage in rows.items()]


def read_bronze(spark: SparkSession, files: list[BronzeFile]) -> DataFrame:
    """Raw records of the given Bronze versions: every API field as a string, plus lineage.

    Lineage columns: ``bronze_file``, ``bronze_date``, ``fetched_at`` and
    ``row_id``, an id that increases by one from record to record within a file
    (a file is never split between tasks), so a record's position in its file is
    ``row_id`` minus the file's smallest ``row_id``. ``_corrupt_record`` holds
    the text of anything the JSON reader could not parse.
    """
    if not files:
        return spark.createDataFrame([], RAW_FRAME_SCHEMA)
    # Joined on the object name, which the scan gives for free; a per-row regex on the path cost a third of the read.
    lineage = spark.createDataFrame(_lineage_rows(files), LINEAGE_SCHEMA)
    records = (
        spark.read.schema(RAW_SCHEMA)
        .option("multiLine", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .json([f.location for f in files])  # gs:// through the GCS connector; the scan gives each object's name
        .select(
            *[F.col(f"`{name}`") for name in RAW_SCHEMA.fieldNames()],
            F.col("_metadata.file_name").alias("file_name"),
            # Directly on the scan: ids are consecutive within each task's files, in file order.
            F.monotonically_increasing_id().alias("row_id"),
        )
    )
    return records.join(F.broadcast(lineage), "file_name", how="left").select(RAW_FRAME_SCHEMA.fieldNames())


def manifest_records(files: Iterable[BronzeFile]) -> int:
    """Records the manifests say the versions hold: what the read must account for."""
    return sum(f.record_count for f in files)


def field_drift(files: Iterable[BronzeFile], expected: Iterable[str] = API_FIELDS) -> FieldDrift:
    """Which expected fields some version lacked and which unexpected fields appeared.

    Versions without records (an empty day) carry no fields and are skipped.
    """
    expected = tuple(expected)
    seen: set[str] = set()
    missing: set[str] = set()
    drifted = []
    for f in files:
        if not f.record_count:
            continue
        fields = set(f.fields)
        seen |= fields
        file_missing = set(expected) - fields
        missing |= file_missing
        if file_missing or fields - set(expected):
            drifted.append(f.bronze_file)
    return FieldDrift(
        expected=expected,
        seen=tuple(sorted(seen)),
        missing=tuple(m for m in expected if m in missing),
        new=tuple(sorted(seen - set(expected))),
        files_with_drift=tuple(drifted),
    )
