"""Silver from Bronze in DuckDB SQL: the benchmark's reference, and a cross-check of Spark's counts.

It follows the rules as ``rules`` states them from the documentation
(the record in ``gnp.source.contract``, the README's semantics) and builds the relations that
``reference_sql.gold`` reads, plus the quarantine, as tables:

    con = duckdb.connect(path)
    counts = build_silver(con, bronze_versions, key, params.semantics)
    expected = reference_gold(con, params.semantics)

Bronze is read with ``read_json`` as gzip JSON arrays, every field as text.
Differences from the Spark stage, all outside what the sample produces:
a file that is not valid JSON fails the read here (Spark quarantines it as
``malformed_json``), and unusual number spellings (``1e+16``, hex floats) are
not guaranteed to be read alike. The pseudonym is the same HMAC-SHA256:
DuckDB has no ``hmac`` function, so it is built from two ``sha256`` calls over
the key's inner and outer pads (RFC 2104); the pads reach DuckDB as data in a
temporary table, never as literals in the SQL text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

import duckdb

from gnp.core.config import SemanticsParams
from gnp.core.schemas import MEASUREMENTS, QUARANTINE, SESSIONS, TableSpec
from gnp.devtools.reference_sql.relations import REFERENCE_SCHEMA, SilverRelations, duckdb_type
from gnp.devtools.reference_sql.rules import (
    API_FIELDS,
    CODES,
    CONTRACTS,
    FEW_TESTS,
    FEW_TESTS_MAX,
    ID_FIELD,
    IP_FIELD,
    LOCAL_TIME_FORMAT,
    LOCAL_TIME_PATTERN,
    MANY_TESTS,
    MEASURED,
    ONE_TEST,
    POSTAL_CODE_DIGITS,
    POSTAL_CODE_FIELD,
    TEXTS,
    TIME_FIELD,
    TIME_ZONE,
    code,
    literal,
    number,
    present,
    upper_limits,
)

QUARANTINE_RELATION = f"{REFERENCE_SCHEMA}.quarantine"
_FILES = "ref_bronze_files"
_KEY = "ref_pseudonym_pads"
_FLAGGED = "ref_flagged"
_FROM_OTHER_DAY = "coalesce(measurement_date <> bronze_date, false)"
HMAC_BLOCK_BYTES = 64  # SHA-256's block size
INNER_PAD, OUTER_PAD = 0x36, 0x5C
MICROS_PER_MINUTE = 60 * 1_000_000
MICROS_PER_DAY = 24 * 60 * MICROS_PER_MINUTE
_SESSION_MEDIANS = {
    "median_download_mbps": "download_mbps",
    "median_upload_mbps": "upload_mbps",
    "median_loss_pct": "loss_pct",
    "median_jitter_ms": "jitter_ms",
    "median_rtt_ms": "rtt_ms",
}


class BronzeVersion(Protocol):
    """What the reference reads of one stored Bronze version: the data object and its lineage.

    Stated here, not imported: the Spark side's ``silver.parse.BronzeFile``
    (what ``list_bronze_files`` returns) has these attributes and is passed as it is.
    """

    @property
    def location(self) -> str: ...  # path or URI of the gzip JSON array
    @property
    def bronze_file(self) -> str: ...  # "<day folder>/<object name>", Silver's lineage value
    @property
    def bronze_date(self) -> dt.date: ...  # the day the version was fetched for
    @property
    def fetched_at(self) -> dt.datetime: ...  # UTC


@dataclass(frozen=True)
class SilverCounts:
    """Where the Bronze records went, as ``measurements.Accounting`` counts them."""

    bronze_records: int
    silver_rows: int
    quarantine_rows: int
    duplicates: int
    rows_without_place: int
    other_partitions: int  # always 0: the reference builds every partition
    kept_from_other_day: int
    outside_plan: int  # always 0, as other_partitions
    sessions: int

    def as_dict(self) -> dict:
        return asdict(self)


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The key's inner and outer HMAC-SHA256 pads (a key longer than a block is hashed first)."""
    block = hashlib.sha256(key).digest() if len(key) > HMAC_BLOCK_BYTES else key
    block = block.ljust(HMAC_BLOCK_BYTES, b"\0")
    return bytes(b ^ INNER_PAD for b in block), bytes(b ^ OUTER_PAD for b in block)


def _raw(field: str) -> str:
    return f'"raw_{field}"'


def _typed_sql() -> str:
    """Bronze text -> Silver-named columns; the raw text stays beside them as ``raw_<field>``."""
    time_text = present(_raw(TIME_FIELD))
    zone = literal(TIME_ZONE)
    cols = [
        f"TRY_CAST({code(_raw(ID_FIELD))} AS BIGINT) AS measurement_id",
        f"CASE WHEN regexp_matches({time_text}, {literal(LOCAL_TIME_PATTERN)}) "
        f"THEN try_strptime({time_text}, {literal(LOCAL_TIME_FORMAT)}) END AS local_time",
        *[f"{code(_raw(f))} AS {name}" for name, f in CODES.items()],
        *[f"{number(_raw(f))} AS {name}__any" for name, f in MEASURED.items()],
        *[f"{present(_raw(f))} AS {name}" for name, f in TEXTS.items()],
        *[f"{number(_raw(f))} AS {name}__any" for name, f in CONTRACTS.items()],
        f"CASE WHEN length({code(_raw(POSTAL_CODE_FIELD))}) = {POSTAL_CODE_DIGITS} "
        f"THEN {code(_raw(POSTAL_CODE_FIELD))} END AS postal_code",
        f"sha256(k.outer_pad || unhex(sha256(k.inner_pad || encode({present(_raw(IP_FIELD))})))) AS user_id",
    ]
    # README "Semantics": in the repeated autumn hour the first occurrence (summer time) is taken.
    # DuckDB reads such a time as its second occurrence; the first is one hour earlier exactly
    # when that instant shows the same wall-clock time (and the row is is_dst_ambiguous).
    candidate = f"timezone({zone}, local_time)"
    earlier = f"{candidate} - INTERVAL 1 HOUR"
    measured_at = f"CASE WHEN timezone({zone}, {earlier}) = local_time THEN {earlier} ELSE {candidate} END"
    # NaN is read as a number but means "not measured" (the record: missing names come as
    # "NaN"); a zero or negative contract means unknown (rules.CONTRACTS).
    measured = [f"CASE WHEN NOT isnan({n}__any) THEN {n}__any END AS {n}" for n in MEASURED]
    contracts = [f"CASE WHEN {n}__any > 0 THEN {n}__any END AS {n}" for n in CONTRACTS]
    return f"""
    typed AS (SELECT lined.*, {', '.join(cols)} FROM lined CROSS JOIN {_KEY} k),
    timed AS (SELECT * EXCLUDE ({', '.join(f'{n}__any' for n in (*MEASURED, *CONTRACTS))}),
                     {measured_at} AS measured_at, {', '.join(measured + contracts)} FROM typed),
    dated AS (
        SELECT *, CASE WHEN measured_at IS NOT NULL THEN CAST(local_time AS DATE) END AS measurement_date,
               CASE WHEN measured_at IS NOT NULL THEN hour(local_time) END AS measurement_hour_local,
               coalesce(timezone({zone}, measured_at + INTERVAL 1 HOUR) = local_time, false) AS is_dst_ambiguous
        FROM timed)"""


def _reasons_sql(semantics: SemanticsParams) -> str:
    """Every rule a record breaks, in judging order.

    The rules: the natural key and the time must be there and readable, the IP
    there (a user is its pseudonym), and a measure readable, not negative and
    not absurd (the record, in ``gnp.source.contract``). The names are the values
    of ``quarantine.reason`` that Spark's Silver writes, the contract compared.
    """
    def unreadable(field: str, value: str) -> str:
        return f"{present(_raw(field))} IS NOT NULL AND {value} IS NULL"

    rules = [
        ("missing_measurement_id", f"{present(_raw(ID_FIELD))} IS NULL"),
        ("unparseable_measurement_id", unreadable(ID_FIELD, "measurement_id")),
        ("missing_measurement_time", f"{present(_raw(TIME_FIELD))} IS NULL"),
        ("unparseable_measurement_time", unreadable(TIME_FIELD, "measured_at")),
        ("missing_client_ip", "user_id IS NULL"),
    ]
    for name, limit in upper_limits(semantics).items():
        rules += [
            (f"unparseable_{name}", unreadable(MEASURED[name], name)),
            (f"negative_{name}", f"{name} < 0"),
            (f"absurd_{name}", f"{name} > CAST({float(limit)!r} AS DOUBLE)"),
        ]
    flags = ", ".join(f"CASE WHEN {condition} THEN {literal(name)} END" for name, condition in rules)
    return f"list_filter([{flags}], lambda r: r IS NOT NULL)"


def _record_json() -> str:
    fields = ", ".join("user_id := user_id" if f == IP_FIELD else f"{f} := {_raw(f)}" for f in API_FIELDS)
    return f"CAST(to_json(struct_pack({fields})) AS VARCHAR)"


def flagged_sql(files: Sequence[str], semantics: SemanticsParams) -> str:
    """One row per Bronze record with its Silver values, reasons, duplicate flag and position in its file."""
    columns = "{" + ", ".join(f"{literal(f)}: 'VARCHAR'" for f in API_FIELDS) + "}"
    raw = ", ".join(f'"{f}" AS {_raw(f)}' for f in API_FIELDS)
    # One copy per test (README, the Silver stage): valid first, then from its own day's request,
    # then the latest fetch; then the later file name and position, so the choice is total.
    best_first = ("PARTITION BY measurement_id ORDER BY len(reasons) > 0, "
                  f"{_FROM_OTHER_DAY}, fetched_at DESC, bronze_file DESC, row_id DESC")
    return f"""
    CREATE OR REPLACE TEMP TABLE {_FLAGGED} AS
    WITH scanned AS (
        -- read in file order, so a row number orders the records within each file
        SELECT {raw}, filename AS location, row_number() OVER () AS row_id
        FROM read_json([{', '.join(literal(f) for f in files)}], format = 'array', compression = 'gzip',
                       columns = {columns}, filename = true)),
    lined AS (SELECT scanned.*, f.bronze_file, f.bronze_date, f.fetched_at
              FROM scanned JOIN {_FILES} f USING (location)),
    {_typed_sql()},
    judged AS (SELECT *, {_reasons_sql(semantics)} AS reasons FROM dated)
    SELECT *,
           measurement_id IS NOT NULL AND row_number() OVER ({best_first}) > 1 AS is_duplicate,
           row_id - min(row_id) OVER (PARTITION BY bronze_file) AS record_index,
           CASE WHEN len(reasons) > 0 THEN {_record_json()} END AS record_json
    FROM judged"""


def _spec_select(spec: TableSpec, source: str, exprs: dict[str, str] | None = None) -> str:
    exprs = exprs or {}
    cols = ", ".join(f"CAST({exprs.get(c.name, c.name)} AS {duckdb_type(c.type)}) AS {c.name}" for c in spec.columns)
    return f"SELECT {cols} FROM {source}"


def sessions_sql(measurements: str, semantics: SemanticsParams) -> str:
    """Sessions (schemas.SESSIONS) from measurements, as README "Semantics" defines them.

    A gap of exactly ``session_gap_minutes`` stays in the session, measured in UTC
    instants; a session is dated by its first test's local date; it is returning
    when the user's previous session ended at most ``returning_window_days`` earlier.
    """
    gap_micros = semantics.session_gap_minutes * MICROS_PER_MINUTE
    window_micros = semantics.returning_window_days * MICROS_PER_DAY
    medians = ", ".join(f"quantile_cont({src}, 0.5) AS {name}" for name, src in _SESSION_MEDIANS.items())
    by_time = "PARTITION BY user_id ORDER BY measured_at, measurement_id"
    bucket = (f"CASE WHEN test_count = 1 THEN '{ONE_TEST}' WHEN test_count <= {FEW_TESTS_MAX} THEN '{FEW_TESTS}' "
              f"ELSE '{MANY_TESTS}' END")
    previous = (f"CASE WHEN epoch_us(started_at) - epoch_us(previous_ended_at) <= {window_micros} "
                f"THEN previous_ended_at END")
    cells = f"""
    WITH ordered AS (SELECT *, lag(measured_at) OVER ({by_time}) AS previous_test_at FROM {measurements}),
    marked AS (SELECT *, previous_test_at IS NULL
                         OR epoch_us(measured_at) - epoch_us(previous_test_at) > {gap_micros} AS is_session_start
               FROM ordered),
    numbered AS (SELECT *, sum(CAST(is_session_start AS INTEGER)) OVER (
                     {by_time} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_number
                 FROM marked),
    grouped AS (
        SELECT user_id, min(measured_at) AS started_at, max(measured_at) AS ended_at, count(*) AS test_count,
               max(CASE WHEN is_session_start THEN previous_test_at END) AS previous_ended_at,
               arg_min(struct_pack(measurement_date, periphery_id, periphery, regional_unit_id, isp),
                       (measured_at, measurement_id)) AS first_test,
               {medians}
        FROM numbered GROUP BY user_id, session_number)
    """
    exprs = {
        "session_id": "sha256(user_id || '|' || CAST(epoch_us(started_at) AS VARCHAR))",
        "session_date": "first_test.measurement_date",
        "behaviour_bucket": bucket,
        "previous_session_ended_at": previous,
        "is_returning": f"({previous}) IS NOT NULL",
        **{c: f"first_test.{c}" for c in ("periphery_id", "periphery", "regional_unit_id", "isp")},
    }
    return cells + _spec_select(SESSIONS, "grouped", exprs)


def _register_inputs(con: duckdb.DuckDBPyConnection, files: Sequence[BronzeVersion], key: bytes) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_FILES} "
                "(location VARCHAR, bronze_file VARCHAR, bronze_date DATE, fetched_at TIMESTAMPTZ)")
    con.executemany(f"INSERT INTO {_FILES} VALUES (?, ?, ?, ?)",
                    [(f.location, f.bronze_file, f.bronze_date, f.fetched_at) for f in files])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_KEY} (inner_pad BLOB, outer_pad BLOB)")
    con.execute(f"INSERT INTO {_KEY} VALUES (?, ?)", list(hmac_pads(key)))


def build_silver(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[BronzeVersion],
    key: bytes,
    semantics: SemanticsParams,
    relations: SilverRelations = SilverRelations(),
) -> SilverCounts:
    """Create measurements, quarantine and sessions tables from Bronze versions; returns the counts.

    Sets the connection's time zone to UTC (sessions and dates must not depend on it).
    """
    if not files:
        raise ValueError("no Bronze files to read")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {REFERENCE_SCHEMA}")
    _register_inputs(con, files, key)
    con.execute(flagged_sql([f.location for f in files], semantics))
    kept, rejected = "NOT is_duplicate AND len(reasons) = 0", "NOT is_duplicate AND len(reasons) > 0"
    con.execute(f"CREATE OR REPLACE TABLE {relations.measurements} AS "
                + _spec_select(MEASUREMENTS, f"{_FLAGGED} WHERE {kept}"))
    # A test is filed under its own local date (the record: "a test belongs to the local date of
    # its own measurement_time"); a record with an unreadable time has none: under its Bronze day.
    quarantine = {"measurement_date": "coalesce(measurement_date, bronze_date)", "reason": "reasons[1]"}
    con.execute(f"CREATE OR REPLACE TABLE {QUARANTINE_RELATION} AS "
                + _spec_select(QUARANTINE, f"{_FLAGGED} WHERE {rejected}", quarantine))
    con.execute(f"CREATE OR REPLACE TABLE {relations.sessions} AS " + sessions_sql(relations.measurements, semantics))
    counts = con.execute(f"""
        SELECT count(*), count(*) FILTER ({kept}), count(*) FILTER ({rejected}), count(*) FILTER (is_duplicate),
               count(*) FILTER ({kept} AND (periphery_id IS NULL OR regional_unit_id IS NULL)),
               0, count(*) FILTER ({kept} AND {_FROM_OTHER_DAY}), 0,
               (SELECT count(*) FROM {relations.sessions})
        FROM {_FLAGGED}""").fetchone()
    con.execute(f"DROP TABLE {_FLAGGED}")
    return SilverCounts(*counts)
