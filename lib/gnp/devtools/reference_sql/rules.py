"""The Hyperion record and the Silver rules, stated here from the documentation, not taken from the Spark code.

Sources, cited at each rule:
- the record's documentation in ``gnp.source.contract`` ("the record"): its
  fields, how they arrive and the dirt to expect;
- README "Semantics and statistics": users, sessions and behaviour buckets;
- README "Semantics and statistics" and the Silver row of "The stages": dates,
  the autumn hour, deduplication, quarantine, buckets;
- schemas.py: the Silver column names these rules fill (the table contract);
- where neither says it, the Silver docstrings that define the behaviour
  (``silver/cleaning.py``, ``silver/measurements.py``), named as such.

The Spark stage states the same rules in its own code. Two statements that
agree on the same Bronze (``tests/devtools/test_reference_sql_silver.py``) are the check;
a constant shared by both would agree with itself whether right or wrong.
"""

from __future__ import annotations

from gnp.core.config import SemanticsParams

# The record (gnp.source.contract): every field the API publishes, in its order.
API_FIELDS = (
    "measurement_id", "measurement_time", "connection_id", "client_ip",
    "measured_downstream_mbps", "measured_upstream_mbps", "measured_rtt_msec",
    "measured_loss_percentage", "measured_jitter_msec",
    "client_operating_system", "client_operating_system_version",
    "client_operating_system_architecture", "ISP",
    "contract_download_mbps", "contract_upload_mbps", "connection_postal_code",
    "connection_municipality_id", "connection_regional_unit_id", "connection_periphery_id",
    "connection_municipality", "connection_regional_unit", "connection_periphery",
)  # fmt: skip
ID_FIELD = "measurement_id"  # "the natural key (dedup on it)"
TIME_FIELD = "measurement_time"  # "local time, Europe/Athens, no offset"
IP_FIELD = "client_ip"  # "personal data": only its keyed pseudonym reaches Silver
POSTAL_CODE_FIELD = "connection_postal_code"  # "float, e.g. 19016.0 ... a code, not a number"

# Silver column (schemas.MEASUREMENTS) <- API field, by how the field arrives (the record).
CODES = {  # ids that "come as floats" (44.0) but are codes, not numbers
    "connection_id": "connection_id",
    "municipality_id": "connection_municipality_id",
    "regional_unit_id": "connection_regional_unit_id",
    "periphery_id": "connection_periphery_id",
}
TEXTS = {  # strings; missing place names "come as null or the string NaN", the ISP "often empty"
    "os_name": "client_operating_system",
    "os_version": "client_operating_system_version",
    "os_architecture": "client_operating_system_architecture",
    "isp": "ISP",
    "municipality": "connection_municipality",
    "regional_unit": "connection_regional_unit",
    "periphery": "connection_periphery",
}
MEASURED = {  # floats that "can be negative or absurd": judged, and quarantined when they are
    "download_mbps": "measured_downstream_mbps",
    "upload_mbps": "measured_upstream_mbps",
    "rtt_ms": "measured_rtt_msec",
    "loss_pct": "measured_loss_percentage",
    "jitter_ms": "measured_jitter_msec",
}
CONTRACTS = {  # the contract's speeds; zero or less means unknown (silver/cleaning.py, positive_or_null)
    "contract_download_mbps": "contract_download_mbps",
    "contract_upload_mbps": "contract_upload_mbps",
}

# Missing values: the record says the API sends null, "NaN" or the empty
# string; "null" and "None" guard against the usual exporters. One rule, also
# stated by the Spark cleaning (silver/cleaning.py): compared after trimming
# spaces, in any case ("NONE", " NaN " and "nUlL" are missing too).
MISSING_MARKERS = ("", "nan", "null", "none")

TIME_ZONE = "Europe/Athens"  # the record: measurement_time is Athens wall-clock time
LOCAL_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"  # "string YYYY-MM-DD HH:MM:SS"
LOCAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# A code sent as a float ("44.0") or an integer ("44") is its digits, leading zeros dropped
# (the record: ids and postal codes arrive as floats; silver/cleaning.py clean_code).
CODE_PATTERN = r"^0*(\d+?)(?:\.0+)?$"
POSTAL_CODE_DIGITS = 5  # a Greek postal code has five digits (silver/cleaning.py clean_postal_code)
MAX_LOSS_PCT = 100.0  # "packet loss, percent": more than all packets is absurd

# README "Semantics and statistics": behaviour bucket of a session by its test count.
ONE_TEST, FEW_TESTS, MANY_TESTS = "1", "2-3", "4+"
FEW_TESTS_MAX = 3


def upper_limits(semantics: SemanticsParams) -> dict[str, float]:
    """Above these a measured value is absurd (the record: measured values "may be negative or absurd").

    The speed and RTT limits are params; jitter, a variation of the RTT, has the
    RTT's limit (silver/measurements.py upper_limits). Judged in this order.
    """
    return {
        "download_mbps": semantics.max_download_mbps,
        "upload_mbps": semantics.max_upload_mbps,
        "rtt_ms": semantics.max_rtt_ms,
        "loss_pct": MAX_LOSS_PCT,
        "jitter_ms": semantics.max_rtt_ms,
    }


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def present(text: str) -> str:
    """SQL: the text trimmed of spaces, or null when it is one of the MISSING_MARKERS in any case.

    Spaces only (U+0020), as a text field is trimmed in Silver: DuckDB's bare
    ``trim`` also removes other white space, such as a no-break space.
    """
    markers = ", ".join(literal(m) for m in MISSING_MARKERS)
    trimmed = f"trim({text}, ' ')"
    return f"CASE WHEN lower({trimmed}) NOT IN ({markers}) THEN {trimmed} END"


def code(text: str) -> str:
    """SQL: a code's clean digits ('44.0' -> '44'), or null."""
    return f"nullif(regexp_extract({present(text)}, {literal(CODE_PATTERN)}, 1), '')"


def number(text: str) -> str:
    """SQL: the text as DOUBLE, null when missing or not a number (NaN stays NaN here; see ``silver``)."""
    return f"TRY_CAST({present(text)} AS DOUBLE)"
