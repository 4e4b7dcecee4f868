"""Silver measurements and quarantine from raw Bronze records.

``flag_records`` composes the steps, each a DataFrame -> DataFrame transform:
typed and cleaned columns, the keyed pseudonym, the quarantine reasons, the
quarantine copy of the record, the duplicate flag, the partition. Its result is
split by ``to_measurements`` and ``to_quarantine`` and counted by
``accounting.count_accounting``: every Bronze record is kept, quarantined or a
duplicate, exactly once.

A test is filed under its own local date (``measurement_date``), whatever
request (Bronze day) returned it: an API that filters by UTC day, or publishes
late, returns some tests under the next day's request. A record whose time is
unreadable has no date of its own and is filed under its Bronze day
(``partition_date``). Deduplication by measurement_id keeps one copy: a valid
copy before an invalid one, then a copy from its own day's request before one
from another day's, then the latest fetch (then the later file name, then the
later position). So a valid test is never displaced by a broken or out-of-day
copy; a measurement with no valid copy is quarantined once, the others are
counted as duplicates.

A record with a missing or unreadable place is kept with a null place: the
place is not needed to trust the measurement, and Gold counts what it leaves
out. The IP never leaves this step: ``user_id`` replaces it, in the quarantine
copy of the record too.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from gnp.core.config import SemanticsParams
from gnp.core.schemas import MEASUREMENTS, QUARANTINE
from gnp.core.columns import conform_to_spec
from gnp.silver import cleaning as C
from gnp.silver.parse import API_FIELDS, CORRUPT_RECORD

IP_FIELD = "client_ip"
ID_FIELD = "measurement_id"
TIME_FIELD = "measurement_time"
MAX_LOSS_PCT = 100.0
# A record the JSON reader could not parse is kept as text, cut to this length,
# with anything shaped like an IP address (three or four octets) removed.
CORRUPT_TEXT_CHARS = 2000
IP_LIKE_PATTERN = r"\b\d{1,3}(?:\.\d{1,3}){2,3}\b"
IP_REMOVED = "<ip removed>"

CODES = {  # Silver column <- API field, a code sent as a float
    "connection_id": "connection_id",
    "municipality_id": "connection_municipality_id",
    "regional_unit_id": "connection_regional_unit_id",
    "periphery_id": "connection_periphery_id",
}
TEXTS = {
    "os_name": "client_operating_system",
    "os_version": "client_operating_system_version",
    "os_architecture": "client_operating_system_architecture",
    "isp": "ISP",
    "municipality": "connection_municipality",
    "regional_unit": "connection_regional_unit",
    "periphery": "connection_periphery",
}
MEASURED = {
    "download_mbps": "measured_downstream_mbps",
    "upload_mbps": "measured_upstream_mbps",
    "rtt_ms": "measured_rtt_msec",
    "loss_pct": "measured_loss_percentage",
    "jitter_ms": "measured_jitter_msec",
}
CONTRACTS = {"contract_download_mbps": "contract_download_mbps", "contract_upload_mbps": "contract_upload_mbps"}
PLACE_COLUMNS = ("periphery_id", "regional_unit_id")  # what Gold groups by
KEY_COLUMN = "pseudonym_key"
INNER_KEY_COLUMN = f"{KEY_COLUMN}_inner"  # HMAC's padded keys (see cleaning.pseudonymise)
OUTER_KEY_COLUMN = f"{KEY_COLUMN}_outer"
API_PREFIX = "api_"
TIME_TEXT = "measurement_time_text"

LINEAGE = ("bronze_file", "bronze_date", "fetched_at", "row_id")
PARTITION = "partition_date"  # the Silver partition a record belongs to, kept or quarantined


def _api(field: str) -> Column:
    """A field as the API sent it (text), kept beside the typed columns until the quarantine copy is made."""
    return F.col(f"`{API_PREFIX}{field}`")


def upper_limits(semantics: SemanticsParams) -> dict[str, float]:
    """Above these a measured value is physically implausible (jitter shares the RTT limit)."""
    return {
        "download_mbps": semantics.max_download_mbps,
        "upload_mbps": semantics.max_upload_mbps,
        "rtt_ms": semantics.max_rtt_ms,
        "loss_pct": MAX_LOSS_PCT,
        "jitter_ms": semantics.max_rtt_ms,
    }


def with_typed_columns(raw: DataFrame) -> DataFrame:
    """Raw Bronze strings (see ``parse.read_bronze``) -> typed Silver columns beside the API text.

    The time is cleaned and converted once, in selects of their own, because
    four columns and two reasons derive from it.
    """
    api = raw.select(
        *[F.col(f"`{f}`").alias(f"{API_PREFIX}{f}") for f in API_FIELDS], CORRUPT_RECORD, *LINEAGE
    ).withColumn(TIME_TEXT, C.null_if_missing(_api(TIME_FIELD)))
    with_time = api.withColumn("measured_at", C.local_time_to_utc(F.col(TIME_TEXT)))
    readable = F.col("measured_at").isNotNull()
    return with_time.select(
        "*",
        C.parse_id(_api(ID_FIELD)).alias("measurement_id"),
        F.when(readable, C.local_date(F.col(TIME_TEXT))).alias("measurement_date"),
        F.when(readable, C.local_hour(F.col(TIME_TEXT))).alias("measurement_hour_local"),
        C.is_dst_ambiguous(F.col("measured_at"), F.col(TIME_TEXT)).alias("is_dst_ambiguous"),
        *[C.clean_code(_api(f)).alias(name) for name, f in CODES.items()],
        *[C.parse_number(_api(f)).alias(name) for name, f in MEASURED.items()],
        *[C.null_if_missing(_api(f)).alias(name) for name, f in TEXTS.items()],
        *[C.positive_or_null(C.parse_number(_api(f))).alias(name) for name, f in CONTRACTS.items()],
        C.clean_postal_code(_api("connection_postal_code")).alias("postal_code"),
    )


def with_user_id(df: DataFrame, key_frame: DataFrame) -> DataFrame:
    """Add ``user_id``, the keyed pseudonym of the IP.

    The key arrives as data (``pseudonym.key_frame``), not as a literal, so it
    never appears in a query plan, an explain output or an error message.
    """
    return (
        df.crossJoin(F.broadcast(key_frame))
        .withColumn("user_id", C.pseudonymise(_api(IP_FIELD), F.col(INNER_KEY_COLUMN), F.col(OUTER_KEY_COLUMN)))
        .drop(INNER_KEY_COLUMN, OUTER_KEY_COLUMN)
    )


def is_negative(value: Column) -> Column:
    return value < 0


def is_absurd(value: Column, limit: float) -> Column:
    return value > limit


def is_unparseable(value: Column, text: Column) -> Column:
    """Something was sent, and it could not be read (the text is looked at only when the value is null)."""
    return value.isNull() & C.null_if_missing(text).isNotNull()


def is_missing(value: Column, text: Column) -> Column:
    """Nothing usable was sent (the text is looked at only when the value is null)."""
    return value.isNull() & C.null_if_missing(text).isNull()


def quarantine_reasons(semantics: SemanticsParams) -> list[tuple[str, Column]]:
    """(reason, condition) pairs, in the order a record is judged; the first that holds is its ``reason``."""
    corrupt = F.col(CORRUPT_RECORD).isNotNull()
    measurement_id, measured_at = F.col("measurement_id"), F.col("measured_at")
    reasons = [
        ("malformed_json", corrupt),
        ("missing_measurement_id", is_missing(measurement_id, _api(ID_FIELD)) & ~corrupt),
        ("unparseable_measurement_id", is_unparseable(measurement_id, _api(ID_FIELD))),
        ("missing_measurement_time", measured_at.isNull() & F.col(TIME_TEXT).isNull() & ~corrupt),
        ("unparseable_measurement_time", measured_at.isNull() & F.col(TIME_TEXT).isNotNull()),
        ("missing_client_ip", F.col("user_id").isNull() & ~corrupt),
    ]
    for name, limit in upper_limits(semantics).items():
        value = F.col(name)
        reasons += [
            (f"unparseable_{name}", is_unparseable(value, _api(MEASURED[name]))),
            (f"negative_{name}", is_negative(value)),
            (f"absurd_{name}", is_absurd(value, limit)),
        ]
    return reasons


def with_quarantine_reasons(df: DataFrame, semantics: SemanticsParams) -> DataFrame:
    """Add ``reasons``: every rule the record breaks, in judging order (empty when it is fine).

    The array is built only for records that break a rule: for the others a
    chain of ORs, which stops at nothing, costs less than an array per record.
    """
    rules = quarantine_reasons(semantics)
    breaks_any = reduce(operator.or_, [condition for _, condition in rules])
    flags = [F.when(condition, F.lit(name)) for name, condition in rules]
    return df.withColumn(
        "reasons", F.when(breaks_any, F.array_compact(F.array(*flags))).otherwise(F.array().cast("array<string>"))
    )


def has_reasons() -> Column:
    return F.size("reasons") > 0


def record_json() -> Column:
    """The record as received with the IP replaced by ``user_id``; malformed text cut and scrubbed."""
    fields = [F.col("user_id") if f == IP_FIELD else _api(f).alias(f) for f in API_FIELDS]
    as_received = F.to_json(F.struct(*fields), {"ignoreNullFields": "false"})
    scrubbed = F.left(F.regexp_replace(CORRUPT_RECORD, IP_LIKE_PATTERN, IP_REMOVED), F.lit(CORRUPT_TEXT_CHARS))
    return F.coalesce(scrubbed, as_received)


def with_record_json(df: DataFrame) -> DataFrame:
    """Add ``record_json`` for records with reasons, then drop the API text (and so the IP)."""
    api_columns = [f"{API_PREFIX}{f}" for f in API_FIELDS]
    return df.withColumn("record_json", F.when(has_reasons(), record_json())).drop(*api_columns, TIME_TEXT, CORRUPT_RECORD)


def is_from_other_day() -> Column:
    """The record came back under another day's request than its own date (null date: no)."""
    return F.coalesce(F.col("measurement_date") != F.col("bronze_date"), F.lit(False))


def with_duplicate_flag(df: DataFrame) -> DataFrame:
    """Add ``is_duplicate``: every copy of a measurement_id but the one kept (see the module docstring)."""
    best_first = Window.partitionBy("measurement_id").orderBy(
        has_reasons().asc(), is_from_other_day().asc(),
        F.col("fetched_at").desc(), F.col("bronze_file").desc(), F.col("row_id").desc(),
    )  # fmt: skip
    copy_number = F.row_number().over(best_first.rowsBetween(Window.unboundedPreceding, Window.currentRow))
    return df.withColumn("is_duplicate", F.col("measurement_id").isNotNull() & (copy_number > 1))


def with_partition_date(df: DataFrame) -> DataFrame:
    """Add ``partition_date``: the record's own local date, or its Bronze day when the time is unreadable."""
    return df.withColumn(PARTITION, F.coalesce("measurement_date", "bronze_date"))


def flag_records(raw: DataFrame, key_frame: DataFrame, semantics: SemanticsParams) -> DataFrame:
    """Raw Bronze records -> one row per record with its Silver values, reasons, partition and duplicate flag."""
    return (
        raw.transform(with_typed_columns)
        .transform(with_user_id, key_frame)
        .transform(with_quarantine_reasons, semantics)
        .transform(with_record_json)
        .transform(with_duplicate_flag)
        .transform(with_partition_date)
    )


def in_partitions(partitions: Iterable[dt.date] | None) -> Column:
    """The record belongs to one of ``partitions`` (None: every partition, as in a full refresh)."""
    return F.lit(True) if partitions is None else F.col(PARTITION).isin(list(partitions))


def is_kept() -> Column:
    return ~F.col("is_duplicate") & ~has_reasons()


def is_quarantined() -> Column:
    return ~F.col("is_duplicate") & has_reasons()


def has_place() -> Column:
    return F.col(PLACE_COLUMNS[0]).isNotNull() & F.col(PLACE_COLUMNS[1]).isNotNull()


def to_measurements(flagged: DataFrame, partitions: Iterable[dt.date] | None = None) -> DataFrame:
    """The kept records of ``partitions`` (None: all) as ``schemas.MEASUREMENTS``."""
    return conform_to_spec(flagged.filter(is_kept() & in_partitions(partitions)), MEASUREMENTS)


def to_quarantine(flagged: DataFrame, partitions: Iterable[dt.date] | None = None) -> DataFrame:
    """The rejected records of ``partitions`` (None: all) as ``schemas.QUARANTINE``, dated by ``partition_date``."""
    first_rows = flagged.groupBy("bronze_file").agg(F.min("row_id").alias("first_row_id"))
    rejected = flagged.filter(is_quarantined() & in_partitions(partitions))
    rejected = rejected.join(F.broadcast(first_rows), "bronze_file", how="left")
    return conform_to_spec(
        rejected.select(
            "bronze_file",
            (F.col("row_id") - F.col("first_row_id")).alias("record_index"),
            "measurement_id",
            F.col(PARTITION).alias("measurement_date"),
            F.col("reasons")[0].alias("reason"),
            "reasons",
            "record_json",
            "fetched_at",
        ),
        QUARANTINE,
    )
