"""Data quality checks as data: each check is a row of schemas.QUALITY_RESULTS.

Row-level checks are ``Check`` values (a condition that marks a bad row and the
share of bad rows allowed). ``evaluate_checks`` turns each table's checks into
one aggregate, collected as one small Spark action per table, a few tables at
once (``gnp.lake.parallel``). One action over the union of every table's
aggregates was slower (Gold's fourteen tables, a day of 24 records, 2 cores,
warm: 4.1-4.6 s against 2.8-3.4 s). Reading a table back just after its
commit costs more than its checks, so Gold checks the rows it committed, kept
in Spark's cache by the write (``gnp.gold.steps``): its check step went from
13-17 s to 4.2-4.7 s on that day, and a whole warm Silver+Gold pass from 48-52 s
to 31-34 s (a busy machine; the two codes run back to back).
Numbers computed elsewhere (the accounting invariant, schema drift) become
results through small constructors.
A failed critical check fails the stage (``assert_critical_passed``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from functools import reduce

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from gnp.core.config import SemanticsParams
from gnp.core.errors import GnpError
from gnp.core.schemas import MEASUREMENTS, QUALITY_RESULTS, SESSIONS, TABLES, TableSpec
from gnp.lake import parallel

CRITICAL = "critical"
WARNING = "warning"
MAX_LOSS_PCT = 100.0
KEY_NOT_NULL = "key_not_null"
KEY_UNIQUE = "key_unique"

# Share of Silver measurements allowed to lack a value before a warning: the API
# often omits the ISP and the contract, rarely the place or the speeds.
NULL_SHARE_LIMITS = {
    "download_mbps": 0.05,
    "upload_mbps": 0.05,
    "rtt_ms": 0.05,
    "periphery_id": 0.05,
    "regional_unit_id": 0.05,
    "contract_download_mbps": 0.5,
}


class QualityError(GnpError):
    """A critical check failed; the message lists each failure, expected vs observed."""


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    run_date: dt.date
    checked_at: dt.datetime  # UTC


@dataclass(frozen=True)
class CheckResult:
    """One row of quality_results (fields in the spec's column order)."""

    run_id: str
    run_date: dt.date
    stage: str
    check_name: str
    severity: str
    passed: bool
    observed: str | None
    expected: str | None
    checked_at: dt.datetime


@dataclass(frozen=True)
class Check:
    """A row-level check: ``violations`` is true for a bad row; at most ``max_share`` of rows may be bad."""

    name: str
    severity: str
    violations: SparkColumn
    max_share: float = 0.0


def result(run: RunInfo, stage: str, name: str, severity: str, passed: bool, observed: str, expected: str) -> CheckResult:
    return CheckResult(run.run_id, run.run_date, stage, name, severity, bool(passed), observed, expected, run.checked_at)


def not_null_checks(spec: TableSpec) -> list[Check]:
    """Critical: the spec's non-nullable columns hold no null."""
    required = [c.name for c in spec.columns if not c.nullable]
    if not required:
        return []
    return [Check("required_columns_not_null", CRITICAL, _any_null(required))]


def measurement_checks(semantics: SemanticsParams) -> list[Check]:
    """Range checks (critical: Silver nulls or quarantines impossible values) and null shares (warnings)."""
    ranges = {
        "download_mbps": (0.0, semantics.max_download_mbps),
        "upload_mbps": (0.0, semantics.max_upload_mbps),
        "rtt_ms": (0.0, semantics.max_rtt_ms),
        "loss_pct": (0.0, MAX_LOSS_PCT),
        "jitter_ms": (0.0, None),
        "contract_download_mbps": (0.0, None),
        "measurement_hour_local": (0, 23),
    }
    checks = [Check(f"{col}_in_range", CRITICAL, _out_of_range(col, lo, hi)) for col, (lo, hi) in ranges.items()]
    checks += [Check(f"{col}_null_share", WARNING, F.col(col).isNull(), limit) for col, limit in NULL_SHARE_LIMITS.items()]
    return checks


def session_checks() -> list[Check]:
    """Critical: test counts, buckets consistent with them, and ordered start and end."""
    n = F.col("test_count")
    bucket = F.when(n == 1, "1").when(n <= 3, "2-3").otherwise("4+")
    return [
        Check("test_count_positive", CRITICAL, n < 1),
        Check("behaviour_bucket_matches_test_count", CRITICAL, ~F.col("behaviour_bucket").eqNullSafe(bucket)),
        Check("ended_not_before_started", CRITICAL, F.col("ended_at") < F.col("started_at")),
    ]


def evaluate_checks(
    run: RunInfo, stage: str, tables: dict[str, tuple[DataFrame, TableSpec, Sequence[Check]]]
) -> list[CheckResult]:
    """Key unique and not null for every table, plus its ``Check``s; one Spark action per table, a few at once.

    Args:
        tables: table name -> (frame, its spec, extra checks).
    """
    collected = parallel.each(lambda item: _violation_counts(item[0], *item[1]).collect(), tables.items())
    counts = {(r.table_name, r.check): (r.rows, r.violations) for rows in collected for r in rows}
    results = []
    for name, (_, spec, checks) in tables.items():
        limits = [(KEY_UNIQUE, CRITICAL, 0.0)] + [(c.name, c.severity, c.max_share) for c in _row_checks(spec, checks)]
        for check, severity, max_share in limits:
            rows, bad = counts[(name, check)]
            share = bad / rows if rows else 0.0
            observed = f"{bad} of {rows} rows" if max_share == 0 else f"{share:.4f} ({bad} of {rows} rows)"
            expected = "0 rows" if max_share == 0 else f"<= {max_share}"
            results.append(result(run, stage, f"{name}.{check}", severity, share <= max_share, observed, expected))
    return results


def silver_targets(measurements: DataFrame, sessions: DataFrame, semantics: SemanticsParams) -> dict:
    """``evaluate_checks`` input for the Silver stage: required columns, ranges, null shares, sessions."""
    return {
        MEASUREMENTS.name: (measurements, MEASUREMENTS, not_null_checks(MEASUREMENTS) + measurement_checks(semantics)),
        SESSIONS.name: (sessions, SESSIONS, not_null_checks(SESSIONS) + session_checks()),
    }


def gold_targets(tables: dict[str, DataFrame]) -> dict:
    """``evaluate_checks`` input for the Gold stage: key and required columns of every table given."""
    return {name: (df, TABLES[name], not_null_checks(TABLES[name])) for name, df in tables.items()}


def accounting_check(
    run: RunInfo, bronze_records: int, silver_rows: int, quarantined: int, duplicates: int, other_partitions: int = 0
) -> CheckResult:
    """Critical: every Bronze record read is in Silver, in quarantine, counted as a duplicate, or another partition's.

    ``other_partitions``: records read from neighbouring Bronze days only to
    judge copies, whose partition this run does not rewrite (the run that does
    accounts for them).
    """
    accounted = silver_rows + quarantined + duplicates + other_partitions
    observed = (f"{bronze_records} bronze records; {silver_rows} silver + {quarantined} quarantined"
                f" + {duplicates} duplicates + {other_partitions} of other partitions = {accounted}")
    return result(run, "silver", "accounting_invariant", CRITICAL, bronze_records == accounted, observed,
                  "bronze records = silver + quarantined + duplicates + records of partitions not rewritten")


def day_volume_checks(run: RunInfo, volumes: Sequence) -> list[CheckResult]:
    """Warnings: Bronze days stored empty, and days far thinner than their neighbours (``gnp.bronze.volume``).

    Args:
        volumes: ``gnp.bronze.volume.DayVolume`` of the run's days.
    """
    from gnp.bronze.volume import EMPTY, NEIGHBOUR_DAYS, THIN, THIN_SHARE

    def listed(status: str) -> str:
        found = [f"{v.day} ({v.records} records)" for v in volumes if v.status == status]
        return ", ".join(found) if found else "none"

    empty, thin = listed(EMPTY), listed(THIN)
    return [
        result(run, "silver", "bronze.empty_days", WARNING, empty == "none", empty,
               "every stored day has records (an empty day is fetched again while young)"),
        result(run, "silver", "bronze.thin_days", WARNING, thin == "none", thin,
               f"no day under {THIN_SHARE:.0%} of the median of its stored neighbours (±{NEIGHBOUR_DAYS} days)"),
    ]  # fmt: skip


def schema_drift_check(run: RunInfo, unexpected_fields: Iterable[str], missing_fields: Iterable[str]) -> CheckResult:
    """Warning: the source sent fields the parser does not know, or left out fields it expects."""
    unexpected, missing = sorted(unexpected_fields), sorted(missing_fields)
    observed = f"unexpected fields: {unexpected or 'none'}; missing fields: {missing or 'none'}"
    return result(run, "silver", "source_schema_drift", WARNING, not unexpected and not missing, observed,
                  "the documented Hyperion fields, no more, no fewer")


def results_frame(spark: SparkSession, results: Sequence[CheckResult]) -> DataFrame:
    """The results as a quality_results frame (exact spec columns and types)."""
    return spark.createDataFrame([astuple(r) for r in results], QUALITY_RESULTS.ddl())


def assert_critical_passed(results: Iterable[CheckResult]) -> None:
    """Raise QualityError naming every failed critical check with expected and observed values."""
    failed = [r for r in results if r.severity == CRITICAL and not r.passed]
    if failed:
        lines = [f"- {r.check_name} ({r.stage}): expected {r.expected}, observed {r.observed}" for r in failed]
        raise QualityError(f"{len(failed)} critical quality check(s) failed:\n" + "\n".join(lines))


def _row_checks(spec: TableSpec, checks: Sequence[Check]) -> list[Check]:
    return [Check(KEY_NOT_NULL, CRITICAL, _any_null(list(spec.key))), *checks]


def _violation_counts(name: str, df: DataFrame, spec: TableSpec, checks: Sequence[Check]) -> DataFrame:
    # Two levels instead of count_distinct: rows per key (the duplicates), then one total row.
    row_checks = _row_checks(spec, checks)
    per_key = df.groupBy(*spec.key).agg(
        F.count(F.lit(1)).alias("rows"),
        *[F.count(F.when(c.violations, True)).alias(f"v{i}") for i, c in enumerate(row_checks)],
    )
    totals = per_key.agg(
        F.coalesce(F.sum("rows"), F.lit(0)).alias("rows"),
        F.count(F.lit(1)).alias("distinct_keys"),
        *[F.coalesce(F.sum(f"v{i}"), F.lit(0)).alias(f"v{i}") for i in range(len(row_checks))],
    )
    violations = {c.name: F.col(f"v{i}") for i, c in enumerate(row_checks)}
    violations[KEY_UNIQUE] = F.col("rows") - F.col("distinct_keys")
    long = F.explode(F.array(*[
        F.struct(F.lit(check).alias("check"), F.col("rows").cast("bigint").alias("rows"),
                 v.cast("bigint").alias("violations"))
        for check, v in violations.items()
    ]))
    return totals.select(F.lit(name).alias("table_name"), long.alias("c")).select("table_name", "c.*")


def _any_null(columns: list[str]) -> SparkColumn:
    return reduce(lambda a, b: a | b, [F.col(c).isNull() for c in columns])


def _out_of_range(col: str, lo: float, hi: float | None) -> SparkColumn:
    below = F.col(col) < F.lit(lo)
    return below | (F.col(col) > F.lit(hi)) if hi is not None else below
