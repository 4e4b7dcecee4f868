import datetime as dt
from dataclasses import fields, replace

import pytest
from chispa import assert_df_equality
from silver_factories import measurement, measurements_df, session, sessions_df, spec_frame

from gnp.bronze.volume import EMPTY, OK, THIN, classify
from gnp.core.config import SemanticsParams
from gnp.core.schemas import HOURLY_PROFILE, QUALITY_RESULTS
from gnp.quality.checks import (
    CRITICAL,
    WARNING,
    CheckResult,
    QualityError,
    RunInfo,
    accounting_check,
    assert_critical_passed,
    day_volume_checks,
    evaluate_checks,
    gold_targets,
    results_frame,
    schema_drift_check,
    silver_targets,
)

RUN = RunInfo("run-1", dt.date(2025, 3, 5), dt.datetime(2025, 3, 5, 6, 0, tzinfo=dt.timezone.utc))
D1 = dt.date(2025, 3, 3)


def _by_name(results):
    return {r.check_name: r for r in results}


def test_gold_key_checks_catch_duplicate_and_null_keys(spark):
    good = spec_frame(
        spark,
        HOURLY_PROFILE,
        [dict(measurement_date=D1, area_level="periphery", area_id="9", isp="all", hour_local=h, tests=1, is_suppressed=True) for h in (8, 9)],
    )
    bad = spec_frame(
        spark,
        HOURLY_PROFILE,
        [
            dict(measurement_date=D1, area_level="periphery", area_id="9", isp="all", hour_local=8, tests=1, is_suppressed=True),
            dict(measurement_date=D1, area_level="periphery", area_id="9", isp="all", hour_local=8, tests=2, is_suppressed=True),  # duplicate key
            dict(measurement_date=D1, area_level="periphery", area_id=None, isp="all", hour_local=8, tests=1, is_suppressed=False),  # null key
            dict(measurement_date=D1, area_level="periphery", area_id=None, isp="all", hour_local=8, tests=None, is_suppressed=False),  # and again
        ],
    )

    results = _by_name(
        evaluate_checks(
            RUN,
            "gold",
            gold_targets({"hourly_profile": good}) | {"broken": (bad, HOURLY_PROFILE, [])},
        )
    )

    assert results["hourly_profile.key_unique"].passed and results["hourly_profile.key_not_null"].passed
    assert results["hourly_profile.required_columns_not_null"].passed
    unique = results["broken.key_unique"]
    assert (unique.passed, unique.observed, unique.expected) == (False, "2 of 4 rows", "0 rows"), f"found {unique}"
    not_null = results["broken.key_not_null"]
    assert (not_null.passed, not_null.observed) == (False, "2 of 4 rows"), f"found {not_null}"
    assert {r.severity for r in results.values()} == {CRITICAL}


def test_silver_checks_report_ranges_as_critical_and_null_shares_as_warnings(spark):
    rows = [measurement(i, "u", D1, 9, "9", 10.0, upload=1.0, rtt=20.0, contract=50.0) for i in range(1, 19)]
    rows.append(measurement(19, "u", D1, 9, None, 10.0, upload=1.0, rtt=20.0))
    rows.append(measurement(20, "u", D1, 9, None, 20_000.0, upload=1.0, rtt=20.0, loss=101.0))
    rows.append(measurement(20, "u", D1, 9, "9", None))  # duplicate id, and the null row
    sessions = [session("u", D1, 9, 2, "9"), dict(session("v", D1, 9, 5, "9"), behaviour_bucket="2-3")]
    semantics = SemanticsParams(max_download_mbps=10_000.0)

    results = _by_name(
        evaluate_checks(
            RUN, "silver", silver_targets(measurements_df(spark, rows), sessions_df(spark, sessions), semantics)
        )
    )

    failed = sorted(name for name, r in results.items() if not r.passed)
    expected_failed = [
        "measurements.download_mbps_in_range",
        "measurements.key_unique",
        "measurements.loss_pct_in_range",
        "measurements.periphery_id_null_share",  # 2 of 21 > 0.05
        "measurements.regional_unit_id_null_share",
        "sessions.behaviour_bucket_matches_test_count",
    ]
    assert failed == expected_failed, f"expected failures {expected_failed}, found {failed}"
    share = results["measurements.periphery_id_null_share"]
    assert (share.severity, share.observed, share.expected) == (WARNING, "0.0952 (2 of 21 rows)", "<= 0.05")
    assert results["measurements.download_mbps_null_share"].passed  # 1 of 21 is under 0.05
    assert results["measurements.download_mbps_in_range"].severity == CRITICAL


def test_accounting_counts_records_of_partitions_not_rewritten():
    check = accounting_check(RUN, 10, 5, 1, 1, other_partitions=3)
    assert check.passed and "3 of other partitions" in check.observed, check
    assert not accounting_check(RUN, 10, 5, 1, 1).passed


def test_accounting_and_drift_checks_from_numbers():
    ok = accounting_check(RUN, bronze_records=10, silver_rows=7, quarantined=2, duplicates=1)
    lost = accounting_check(RUN, bronze_records=10, silver_rows=7, quarantined=1, duplicates=1)
    drift = schema_drift_check(RUN, unexpected_fields=["new_col"], missing_fields=[])
    no_drift = schema_drift_check(RUN, [], [])

    assert ok.passed and not lost.passed and lost.severity == CRITICAL
    assert "= 9" in lost.observed, f"expected the accounted total in {lost.observed!r}"
    assert (drift.passed, drift.severity) == (False, WARNING) and "new_col" in drift.observed
    assert no_drift.passed


def test_assert_critical_passed_lists_failed_critical_checks_only():
    lost = accounting_check(RUN, 10, 7, 1, 1)
    drift = schema_drift_check(RUN, ["new_col"], [])
    unique = replace(lost, check_name="regional_metrics.key_unique", observed="3 of 9 rows", expected="0 rows")

    assert_critical_passed([drift, accounting_check(RUN, 1, 1, 0, 0)])
    with pytest.raises(QualityError) as failure:
        assert_critical_passed([lost, drift, unique])

    message = str(failure.value)
    assert "2 critical" in message and "source_schema_drift" not in message
    assert "regional_metrics.key_unique (silver): expected 0 rows, observed 3 of 9 rows" in message, message
    assert "accounting_invariant" in message


def test_results_frame_has_the_quality_results_schema(spark):
    results = [accounting_check(RUN, 1, 1, 0, 0), schema_drift_check(RUN, [], ["ISP"])]

    found = results_frame(spark, results)

    assert [f.name for f in fields(CheckResult)] == QUALITY_RESULTS.column_names
    expected = spec_frame(
        spark,
        QUALITY_RESULTS,
        [
            dict(
                run_id="run-1",
                run_date=RUN.run_date,
                stage="silver",
                check_name="accounting_invariant",
                severity="critical",
                passed=True,
                observed=results[0].observed,
                expected=results[0].expected,
                checked_at=RUN.checked_at,
            ),
            dict(
                run_id="run-1",
                run_date=RUN.run_date,
                stage="silver",
                check_name="source_schema_drift",
                severity="warning",
                passed=False,
                observed="unexpected fields: none; missing fields: ['ISP']",
                expected=results[1].expected,
                checked_at=RUN.checked_at,
            ),
        ],
    )
    assert_df_equality(found, expected, ignore_nullable=True)


def test_an_empty_day_and_a_day_far_thinner_than_its_neighbours_are_warnings():
    first = dt.date(2025, 10, 1)
    counts = {first + dt.timedelta(days=k): n for k, n in enumerate(
        [1000, 1100, 900, 0, 150, 1000, 5000, 950, 1050, 300, 1000, 0, 210]
    )}  # fmt: skip
    counts.pop(first + dt.timedelta(days=10))  # never stored: not judged, not a neighbour

    volumes = {v.day.day: v.status for v in classify(counts, list(counts) + [first + dt.timedelta(days=10)])}

    # The median of the stored non-empty neighbours within 7 days is about 1000: 150 is thin, 210 just is not.
    expected = {1: OK, 2: OK, 3: OK, 4: EMPTY, 5: THIN, 6: OK, 7: OK, 8: OK, 9: OK, 10: OK, 12: EMPTY, 13: OK}
    assert volumes == expected, f"expected {expected}, found {volumes}"
    results = _by_name(day_volume_checks(RUN, classify(counts, counts)))
    empty, thin = results["bronze.empty_days"], results["bronze.thin_days"]
    assert (empty.severity, empty.passed, thin.severity, thin.passed) == (WARNING, False, WARNING, False)
    assert empty.observed == "2025-10-04 (0 records), 2025-10-12 (0 records)" and thin.observed == "2025-10-05 (150 records)"
    assert all(r.passed for r in day_volume_checks(RUN, classify({first: 10}, [first])))


def test_saving_a_stages_results_again_replaces_that_run_and_stages_rows_only(spark, tmp_path):
    from silver.bronze_factories import lake_params

    from gnp.core.registry import Registry
    from gnp.lake import lakehouse
    from gnp.quality.results import save_quality_results

    registry = Registry.from_params(lake_params(tmp_path))
    other_run = replace(RUN, run_id="run-0")
    save_quality_results(spark, registry, other_run, "silver", [accounting_check(other_run, 1, 1, 0, 0)])
    save_quality_results(spark, registry, RUN, "silver", [accounting_check(RUN, 2, 1, 0, 0)])  # failed
    save_quality_results(spark, registry, RUN, "gold", [replace(schema_drift_check(RUN, [], []), stage="gold")])
    save_quality_results(spark, registry, RUN, "silver", [accounting_check(RUN, 2, 2, 0, 0)])  # the rerun passes

    path = registry.table_path(QUALITY_RESULTS.name)
    rows = {(r.run_id, r.stage, r.check_name, r.passed)
            for r in lakehouse.read_table(spark, path, QUALITY_RESULTS).collect()}
    assert rows == {("run-0", "silver", "accounting_invariant", True), ("run-1", "silver", "accounting_invariant", True),
                    ("run-1", "gold", "source_schema_drift", True)}, rows
    assert [h["operation"] for h in lakehouse.history(path, 4)] == ["WRITE"] * 4, "one commit per save"
