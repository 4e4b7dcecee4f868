"""The single definition of every Silver and Gold table.

Spark transforms end with a ``select`` of exactly these columns (see
``spark_schema``), the local warehouse exposes them under the same names, and
the BigQuery publisher derives its load schema from the same specs
(``bigquery_type``). Change a table here and nowhere else.

Types are Spark SQL type names. Timestamps are UTC (``*_at``); dates and hours
marked ``local`` are Europe/Athens, as the regulator publishes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    """A table's contract: its grain, key, physical layout and columns."""

    name: str
    layer: str  # "silver" or "gold"
    grain: str
    key: tuple[str, ...]
    partition_by: str | None
    cluster_by: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        """Spark DDL string, e.g. for ``spark.read.schema(...)``."""
        return ", ".join(f"`{c.name}` {c.type}" for c in self.columns)


def _c(name: str, type_: str, description: str, nullable: bool = True) -> Column:
    return Column(name, type_, description, nullable)


_PLACE = (
    _c("periphery_id", "string", "periphery code (Kallikratis, 1-13)"),
    _c("periphery", "string", "periphery name as the API spells it"),
)

MEASUREMENTS = TableSpec(
    name="measurements",
    layer="silver",
    grain="one row per speed test (measurement_id)",
    key=("measurement_id",),
    partition_by="measurement_date",
    cluster_by=("user_id", "regional_unit_id"),
    columns=(
        _c("measurement_id", "bigint", "natural key of the test", nullable=False),
        _c("measured_at", "timestamp", "time of the test, UTC", nullable=False),
        _c("measurement_date", "date", "local (Europe/Athens) date of the test", nullable=False),
        _c("measurement_hour_local", "int", "local hour of the test, 0-23", nullable=False),
        _c("is_dst_ambiguous", "boolean", "local time fell in the repeated autumn DST hour", nullable=False),
        _c("user_id", "string", "keyed pseudonym (HMAC-SHA256) of the client IP", nullable=False),
        _c("connection_id", "string", "registered line code"),
        _c("download_mbps", "double", "measured downstream speed"),
        _c("upload_mbps", "double", "measured upstream speed"),
        _c("rtt_ms", "double", "round-trip time"),
        _c("loss_pct", "double", "packet loss, percent"),
        _c("jitter_ms", "double", "jitter"),
        _c("os_name", "string", "client operating system"),
        _c("os_version", "string", "client operating system version"),
        _c("os_architecture", "string", "client operating system architecture"),
        _c("isp", "string", "provider; null when the API sent an empty string"),
        _c("contract_download_mbps", "double", "contracted download speed"),
        _c("contract_upload_mbps", "double", "contracted upload speed"),
        _c("postal_code", "string", "postal code, 5 digits"),
        _c("municipality_id", "string", "municipality code"),
        _c("municipality", "string", "municipality name"),
        _c("regional_unit_id", "string", "regional unit code"),
        _c("regional_unit", "string", "regional unit name"),
        *_PLACE,
        _c("fetched_at", "timestamp", "when the Bronze copy this row came from was fetched, UTC", nullable=False),
        _c("bronze_file", "string", "Bronze object this row came from (lineage)", nullable=False),
    ),
)

QUARANTINE = TableSpec(
    name="quarantine",
    layer="silver",
    grain="one row per rejected Bronze record",
    key=("bronze_file", "record_index"),
    partition_by="measurement_date",
    cluster_by=("reason",),
    columns=(
        _c("bronze_file", "string", "Bronze object the record came from", nullable=False),
        _c("record_index", "bigint", "position of the record in that object", nullable=False),
        _c("measurement_id", "bigint", "the record's id, if it had a usable one"),
        _c("measurement_date", "date", "local date of the test; the Bronze day it came with when its time is unreadable", nullable=False),
        _c("reason", "string", "first reason, for grouping", nullable=False),
        _c("reasons", "array<string>", "every reason the record failed", nullable=False),
        _c("record_json", "string", "the record as received, with client_ip replaced by user_id", nullable=False),
        _c("fetched_at", "timestamp", "when the Bronze copy was fetched, UTC", nullable=False),
    ),
)

SESSIONS = TableSpec(
    name="sessions",
    layer="silver",
    grain="one row per user session (no gap over the session gap between tests)",
    key=("session_id",),
    partition_by="session_date",
    cluster_by=("user_id", "behaviour_bucket"),
    columns=(
        _c("session_id", "string", "user_id and start time, hashed", nullable=False),
        _c("user_id", "string", "keyed pseudonym of the client IP", nullable=False),
        _c("session_date", "date", "local date the session started", nullable=False),
        _c("started_at", "timestamp", "first test, UTC", nullable=False),
        _c("ended_at", "timestamp", "last test, UTC", nullable=False),
        _c("test_count", "int", "tests in the session", nullable=False),
        _c("behaviour_bucket", "string", "1, 2-3 or 4+ tests", nullable=False),
        _c("previous_session_ended_at", "timestamp", "end of the user's previous session, UTC"),
        _c("is_returning", "boolean", "previous session ended within the returning window", nullable=False),
        _c("periphery_id", "string", "periphery of the session's first test"),
        _c("periphery", "string", "periphery name"),
        _c("regional_unit_id", "string", "regional unit of the session's first test"),
        _c("isp", "string", "provider of the session's first test"),
        _c("median_download_mbps", "double", "median download over the session's tests"),
        _c("median_upload_mbps", "double", "median upload over the session's tests"),
        _c("median_loss_pct", "double", "median loss over the session's tests"),
        _c("median_jitter_ms", "double", "median jitter over the session's tests"),
        _c("median_rtt_ms", "double", "median RTT over the session's tests"),
    ),
)

# Slices: every dashboard-facing Gold table is cut by area and ISP, each cut
# computed from the tests themselves (a median over the users of the slice),
# so the dashboard never has to rebuild a median from the medians of parts.
AREA_COUNTRY, AREA_PERIPHERY, AREA_REGIONAL_UNIT = "country", "periphery", "regional_unit"
COUNTRY_ID = "GR"  # area_id of the country slice
COUNTRY_NAME = "ΕΛΛΑΔΑ"  # its name, spelt like the API's periphery names
ALL_ISPS = "all"  # isp of the slice over every provider
SLICE_KEY = ("area_level", "area_id", "isp")
_SLICE = (
    _c("area_level", "string", "country, periphery or regional_unit", nullable=False),
    _c("area_id", "string", "'GR' for the country, else the periphery or regional unit code", nullable=False),
    _c("isp", "string", "provider, or 'all' for every test (those naming no provider included)", nullable=False),
)
_SLICE_LABELS = (
    _c("area", "string", "area name as the API spells it ('ΕΛΛΑΔΑ' for the country)"),
    _c("periphery_id", "string", "periphery holding the area (null for the country)"),
    _c("periphery", "string", "name of that periphery"),
)
_SLICE_GRAIN = "area (country, periphery or regional unit) and ISP (or all)"

_SPEED_STATS = (
    _c("tests", "bigint", "number of tests", nullable=False),
    _c("users", "bigint", "distinct users (null when suppressed)"),
    _c("sessions", "bigint", "sessions started"),
    _c("download_mean_test_mbps", "double", "mean download over raw tests (the original's figure)"),
    _c("download_p25_mbps", "double", "first quartile of per-user daily median download"),
    _c("download_median_mbps", "double", "median of per-user daily median download"),
    _c("download_p75_mbps", "double", "third quartile of per-user daily median download"),
    _c("download_logavg_mbps", "double", "geometric mean of per-user daily median download"),
    _c("upload_mean_test_mbps", "double", "mean upload over raw tests"),
    _c("upload_p25_mbps", "double", "first quartile of per-user daily median upload"),
    _c("upload_median_mbps", "double", "median of per-user daily median upload"),
    _c("upload_p75_mbps", "double", "third quartile of per-user daily median upload"),
    _c("upload_logavg_mbps", "double", "geometric mean of per-user daily median upload"),
    _c("rtt_mean_ms", "double", "mean RTT over tests (the original's figure)"),
    _c("rtt_median_ms", "double", "median of per-user daily median RTT"),
    _c("jitter_median_ms", "double", "median of per-user daily median jitter"),
    _c("loss_median_pct", "double", "median of per-user daily median loss"),
    _c("loss_mean_pct", "double", "mean loss over tests (the original's figure)"),
    _c("is_suppressed", "boolean", "fewer than k distinct users: statistics nulled", nullable=False),
)

AREA_ISP_METRICS = TableSpec(
    name="area_isp_metrics",
    layer="gold",
    grain=f"one row per measurement_date, {_SLICE_GRAIN}",
    key=("measurement_date", *SLICE_KEY),
    partition_by="measurement_date",
    cluster_by=("area_level", "isp", "periphery_id", "area_id"),
    columns=(
        _c("measurement_date", "date", "local date", nullable=False),
        *_SLICE,
        *_SLICE_LABELS,
        *_SPEED_STATS,
    ),
)

# Over a week or a month each user contributes one value, the median of all their
# tests of the period in the slice (not a mean of their daily medians), so a
# period's median is exact where the daily tables could only be averaged.
PERIOD_WEEK, PERIOD_MONTH = "week", "month"
_PERIOD_SPEED_STATS = tuple(
    replace(c, description=c.description.replace("per-user daily median", "per-user period median"))
    for c in _SPEED_STATS
    if c.name != "sessions"  # sessions are counted by start date: the daily sums are exact already
)

AREA_ISP_PERIOD_METRICS = TableSpec(
    name="area_isp_period_metrics",
    layer="gold",
    grain=f"one row per period (ISO week or calendar month), {_SLICE_GRAIN}",
    key=("period_kind", "period_start", *SLICE_KEY),
    partition_by="period_start",
    cluster_by=("period_kind", "area_level", "isp", "area_id"),
    columns=(
        _c("period_kind", "string", "week (ISO, Monday to Sunday) or month (calendar)", nullable=False),
        _c("period_start", "date", "first local day of the period (a Monday, or the 1st)", nullable=False),
        _c("period_end", "date", "last local day of the period", nullable=False),
        *_SLICE,
        *_SLICE_LABELS,
        *_PERIOD_SPEED_STATS,
    ),
)

REGIONAL_METRICS = TableSpec(
    name="regional_metrics",
    layer="gold",
    grain="one row per measurement_date and periphery",
    key=("measurement_date", "periphery_id"),
    partition_by="measurement_date",
    cluster_by=("periphery_id",),
    columns=(
        _c("measurement_date", "date", "local date", nullable=False),
        _c("periphery_id", "string", "periphery code", nullable=False),
        _c("periphery", "string", "periphery name"),
        *_SPEED_STATS,
    ),
)

REGIONAL_UNIT_METRICS = TableSpec(
    name="regional_unit_metrics",
    layer="gold",
    grain="one row per measurement_date and regional unit",
    key=("measurement_date", "regional_unit_id"),
    partition_by="measurement_date",
    cluster_by=("periphery_id", "regional_unit_id"),
    columns=(
        _c("measurement_date", "date", "local date", nullable=False),
        _c("regional_unit_id", "string", "regional unit code", nullable=False),
        _c("regional_unit", "string", "regional unit name"),
        _c("periphery_id", "string", "periphery code"),
        _c("periphery", "string", "periphery name"),
        *_SPEED_STATS,
    ),
)

USER_RETENTION = TableSpec(
    name="user_retention",
    layer="gold",
    grain=f"one row per session_date, {_SLICE_GRAIN}, and user type",
    key=("session_date", *SLICE_KEY, "user_type"),
    partition_by="session_date",
    cluster_by=("area_level", "isp", "area_id"),
    columns=(
        _c("session_date", "date", "local date the sessions started", nullable=False),
        *_SLICE,
        _c("user_type", "string", "returning or new_or_transient", nullable=False),
        _c("sessions", "bigint", "sessions started (placed by their first test)"),
        _c("users", "bigint", "distinct users"),
        _c("is_suppressed", "boolean", "fewer than k distinct users", nullable=False),
    ),
)

COHORT_RETENTION = TableSpec(
    name="cohort_retention",
    layer="gold",
    grain=f"one row per cohort week, {_SLICE_GRAIN}, and weeks since first seen",
    key=("cohort_week", *SLICE_KEY, "weeks_since_first"),
    partition_by="cohort_week",
    cluster_by=("area_level", "isp", "area_id"),
    columns=(
        _c("cohort_week", "date", "Monday of the week of the users' first session in the slice", nullable=False),
        *_SLICE,
        _c("weeks_since_first", "int", "0 for the first week", nullable=False),
        _c("cohort_users", "bigint", "users first seen in the slice in the cohort week (null when suppressed)"),
        _c("active_users", "bigint", "of those, users with a session in the slice in this week"),
        _c("retention_share", "double", "active_users / cohort_users"),
        _c("is_suppressed", "boolean", "fewer than k distinct users", nullable=False),
    ),
)

FRUSTRATION_STAIRCASE = TableSpec(
    name="frustration_staircase",
    layer="gold",
    grain=f"one row per session_date, {_SLICE_GRAIN}, and behaviour bucket",
    key=("session_date", *SLICE_KEY, "behaviour_bucket"),
    partition_by="session_date",
    cluster_by=("area_level", "isp", "area_id", "behaviour_bucket"),
    columns=(
        _c("session_date", "date", "local date the sessions started", nullable=False),
        *_SLICE,
        _c("behaviour_bucket", "string", "1, 2-3 or 4+ tests per session", nullable=False),
        _c("sessions", "bigint", "sessions"),
        _c("users", "bigint", "distinct users"),
        _c("median_download_mbps", "double", "median of the sessions' median download"),
        _c("median_loss_pct", "double", "median of the sessions' median loss"),
        _c("median_jitter_ms", "double", "median of the sessions' median jitter"),
        _c("median_rtt_ms", "double", "median of the sessions' median RTT"),
        _c("is_suppressed", "boolean", "fewer than k distinct users", nullable=False),
    ),
)

CONTRACT_ATTAINMENT = TableSpec(
    name="contract_attainment",
    layer="gold",
    grain=f"one row per measurement_date, {_SLICE_GRAIN}",
    key=("measurement_date", *SLICE_KEY),
    partition_by="measurement_date",
    cluster_by=("area_level", "isp", "periphery_id", "area_id"),
    columns=(
        _c("measurement_date", "date", "local date", nullable=False),
        *_SLICE,
        *_SLICE_LABELS,
        _c("user_days", "bigint", "users with a test and a contract speed that day"),
        _c("users", "bigint", "distinct users"),
        _c("share_reaching_low", "double", "share of user-days at >= the low threshold of contract (default 50%)"),
        _c("share_reaching_high", "double", "share of user-days at >= the high threshold of contract (default 80%)"),
        _c("median_attainment", "double", "median of per-user-day download / contract download"),
        _c("is_suppressed", "boolean", "fewer than k distinct users", nullable=False),
    ),
)

HOURLY_PROFILE = TableSpec(
    name="hourly_profile",
    layer="gold",
    grain=f"one row per measurement_date, {_SLICE_GRAIN}, and local hour",
    key=("measurement_date", *SLICE_KEY, "hour_local"),
    partition_by="measurement_date",
    cluster_by=("area_level", "isp", "area_id"),
    columns=(
        _c("measurement_date", "date", "local date", nullable=False),
        *_SLICE,
        _c("hour_local", "int", "local hour 0-23", nullable=False),
        _c("tests", "bigint", "tests"),
        _c("users", "bigint", "distinct users"),
        _c("median_download_mbps", "double", "median of per-user median download in the hour"),
        _c("is_suppressed", "boolean", "fewer than k distinct users", nullable=False),
    ),
)

SPEED_HISTOGRAM = TableSpec(
    name="speed_histogram",
    layer="gold",
    grain=f"one row per month, {_SLICE_GRAIN}, and log-spaced download bucket",
    key=("month", *SLICE_KEY, "bucket_index"),
    partition_by="month",
    cluster_by=("area_level", "isp", "area_id"),
    columns=(
        _c("month", "date", "first day of the local month", nullable=False),
        *_SLICE,
        _c("bucket_index", "int", "0 for the lowest bucket", nullable=False),
        _c("bucket_lower_mbps", "double", "inclusive lower edge", nullable=False),
        _c("bucket_upper_mbps", "double", "exclusive upper edge (null for the last)"),
        _c("users", "bigint", "users whose monthly median download falls in the bucket"),
        _c("share_of_users", "double", "users / all users of the month and slice"),
        _c("is_suppressed", "boolean", "fewer than k distinct users in the month and slice", nullable=False),
    ),
)

QUALITY_RESULTS = TableSpec(
    name="quality_results",
    layer="gold",
    grain="one row per run and check",
    key=("run_id", "check_name"),
    partition_by="run_date",
    cluster_by=("stage",),
    columns=(
        _c("run_id", "string", "run that executed the check", nullable=False),
        _c("run_date", "date", "UTC date of the run", nullable=False),
        _c("stage", "string", "silver or gold", nullable=False),
        _c("check_name", "string", "what was checked", nullable=False),
        _c("severity", "string", "critical (fails the stage) or warning", nullable=False),
        _c("passed", "boolean", "outcome", nullable=False),
        _c("observed", "string", "what was found"),
        _c("expected", "string", "what was expected"),
        _c("checked_at", "timestamp", "UTC", nullable=False),
    ),
)

SILVER_TABLES = (MEASUREMENTS, QUARANTINE, SESSIONS)
GOLD_TABLES = (
    AREA_ISP_METRICS,
    AREA_ISP_PERIOD_METRICS,
    REGIONAL_METRICS,
    REGIONAL_UNIT_METRICS,
    USER_RETENTION,
    COHORT_RETENTION,
    FRUSTRATION_STAIRCASE,
    CONTRACT_ATTAINMENT,
    HOURLY_PROFILE,
    SPEED_HISTOGRAM,
    QUALITY_RESULTS,
)
TABLES = {t.name: t for t in SILVER_TABLES + GOLD_TABLES}

_BIGQUERY_TYPES = {
    "bigint": "INT64",
    "int": "INT64",
    "double": "FLOAT64",
    "string": "STRING",
    "boolean": "BOOL",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def bigquery_type(spark_type: str) -> tuple[str, str]:
    """(BigQuery type, mode) for a Spark SQL type name."""
    if spark_type.startswith("array<") and spark_type.endswith(">"):
        return _BIGQUERY_TYPES[spark_type[6:-1]], "REPEATED"
    return _BIGQUERY_TYPES[spark_type], "NULLABLE"
