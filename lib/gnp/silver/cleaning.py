"""Column -> Column cleaners for raw Hyperion values (all arrive as text, see ``parse``).

Local time: ``measurement_time`` is Europe/Athens wall-clock time without an
offset. On the last Sunday of October the hour 03:00-03:59 happens twice and
the text cannot say which. Rule: such a time is read as its first occurrence,
on summer time (EEST, UTC+3), and ``is_dst_ambiguous`` marks it so an analysis
can leave that hour out. A time inside the hour skipped in spring (03:00-03:59
on the last Sunday of March; no correct clock shows it) is moved an hour
forward, as java.time does. The local date and hour are read from the text as
published, so they never depend on the rule.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

TIME_ZONE = "Europe/Athens"
LOCAL_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
# A code sent as a float ("44.0") or an integer ("44"); leading zeros dropped.
CODE_PATTERN = r"^0*(\d+?)(?:\.0+)?$"
POSTAL_CODE_DIGITS = 5
# Missing values: the API spells one as null, "" or "NaN" (the record, gnp.source.contract);
# "null" and "None" guard against the usual exporters. Compared after trimming spaces,
# in any case ("NONE", " nUlL "), the rule the DuckDB reference states too.
# Only text as short as a marker is lower-cased: lower-casing every value of
# every field cost more than the rest of the cleaning.
MISSING_MARKERS = ("", "nan", "null", "none")
MISSING_MARKER_BYTES = max(len(m) for m in MISSING_MARKERS)
DST_SHIFT_HOURS = 1  # Athens moves its clocks by one hour


def null_if_missing(text: Column) -> Column:
    """Trimmed text, or null for the API's spellings of a missing value (``MISSING_MARKERS``, any case)."""
    trimmed = F.trim(text)
    # The byte length is known without reading the text, and AND stops before lower() on longer values.
    is_marker = (F.octet_length(trimmed) <= MISSING_MARKER_BYTES) & F.lower(trimmed).isin(*MISSING_MARKERS)
    return F.when(~is_marker, trimmed)


def clean_code(text: Column) -> Column:
    """A code sent as a number, as clean digits: ``'44.0'`` -> ``'44'``; anything else -> null."""
    return F.nullif(F.regexp_extract(null_if_missing(text), CODE_PATTERN, 1), F.lit(""))


def clean_postal_code(text: Column) -> Column:
    """A Greek postal code: exactly five digits after cleaning (``'19016.0'`` -> ``'19016'``), else null."""
    code = clean_code(text)
    return F.when(F.length(code) == POSTAL_CODE_DIGITS, code)


def parse_id(text: Column) -> Column:
    """A numeric id as bigint (``'44.0'`` -> 44); null when missing or not a whole number."""
    return clean_code(text).try_cast("bigint")


def parse_number(text: Column) -> Column:
    """A measured value as double; null when missing, NaN or not a number (infinity is kept)."""
    value = null_if_missing(text).try_cast("double")
    return F.when(~F.isnan(value), value)


def positive_or_null(value: Column) -> Column:
    """Keep values above zero; a zero or negative contract speed means unknown."""
    return F.when(value > 0, value)


def _time_part(text: Column, start: int, length: int) -> Column:
    return F.substring(text, start, length).cast("int")


def _wall_clock_in(text: Column, time_zone: str) -> Column:
    """The text read as wall-clock time in ``time_zone``; null when unreadable or impossible."""
    parts = [_time_part(text, *span) for span in ((1, 4), (6, 2), (9, 2), (12, 2), (15, 2), (18, 2))]
    return F.when(text.rlike(LOCAL_TIME_PATTERN), F.try_make_timestamp(*parts, timezone=F.lit(time_zone)))


def local_time_to_utc(text: Column) -> Column:
    """``YYYY-MM-DD HH:MM:SS`` Athens time -> UTC timestamp (repeated autumn hour: first occurrence)."""
    return _wall_clock_in(null_if_missing(text), TIME_ZONE)


def local_date(text: Column) -> Column:
    """The local date as published (only for text that ``local_time_to_utc`` can read)."""
    return F.make_date(_time_part(text, 1, 4), _time_part(text, 6, 2), _time_part(text, 9, 2))


def local_hour(text: Column) -> Column:
    return _time_part(text, 12, 2)


def is_dst_ambiguous(measured_at: Column, text: Column) -> Column:
    """The local time exists twice: one hour later, Athens clocks show the same time again."""
    same_wall_clock = F.from_utc_timestamp(F.timestamp_add("HOUR", F.lit(DST_SHIFT_HOURS), measured_at), TIME_ZONE) == _wall_clock_in(
        null_if_missing(text), "UTC"
    )
    return F.coalesce(same_wall_clock, F.lit(False))


def pseudonymise(ip: Column, inner_key: Column, outer_key: Column) -> Column:
    """Lower-case hex HMAC-SHA256 of the trimmed IP; null IP -> null.

    HMAC spelled out (RFC 2104) with Spark 4.2's SHA-256: ``inner_key`` and
    ``outer_key`` are the key padded to 64 bytes and XORed with 0x36 and 0x5c
    (``pseudonym.key_frame`` computes them once). Spark's own ``hmac`` function
    arrives in 4.3, and Delta 4.4 pins this project to Spark 4.2.
    """
    inner = F.unhex(F.sha2(F.concat(inner_key, null_if_missing(ip).cast("binary")), 256))
    return F.sha2(F.concat(outer_key, inner), 256)
