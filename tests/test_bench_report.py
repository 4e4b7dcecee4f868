"""The benchmark report: figures, ratios and the cross-check assembled from measured phases (no timing)."""

from __future__ import annotations

from gnp.devtools.bench import server_startup_s
from gnp.devtools.bench_report import assemble_report, ratio, rows_per_second, to_markdown

META = {"bench_id": "b1", "rows": 1000, "days": 2, "machine": "2 cores, 24 GB, load 1.0 at start"}
INGEST = {"wall_s": 3.0, "bronze_records": 1010, "cached": False}


def _spark(silver, gold, startup=8.0, input_rows=None):
    return {"stages": {"silver": silver, "gold": gold}, "server_startup_s": startup, "peak_rss_mb": 900.0,
            "cpu_s": 30.0, "load": [1.0, 1.5], "input_rows": input_rows or {"silver": 1010, "gold": 1000}}


def _reference(**changes):
    phase = {"stages": {"silver": 2.0, "gold": 0.5}, "peak_rss_mb": 300.0, "cpu_s": 3.0, "load": [1.5, 1.2],
             "counts": {"measurements": 1000, "quarantine": 5, "sessions": 700},
             "spark_counts": {"measurements": 1000, "quarantine": 5, "sessions": 700},
             "gold_differences": {"regional_metrics": 0, "hourly_profile": 0}}
    return {**phase, **changes}


def test_report_has_a_row_per_engine_run_and_stage_with_rows_per_second():
    incremental = _spark(6.0, 4.0, startup=7.0, input_rows={"silver": 40, "gold": 400})

    report = assemble_report(META, INGEST, _spark(10.0, 5.0), incremental, _reference())

    found = [(r["engine"], r["run"], r["stage"], r["wall_s"], r["input_rows"], r["rows_per_s"]) for r in report["stages"]]
    expected = [
        ("spark", "full refresh", "silver", 10.0, 1010, 101.0),
        ("spark", "full refresh", "gold", 5.0, 1000, 200.0),
        ("duckdb", "full refresh", "silver", 2.0, 1010, 505.0),
        ("duckdb", "full refresh", "gold", 0.5, 1000, 2000.0),
        ("spark", "one-day incremental", "silver", 6.0, 40, 6.7),
        ("spark", "one-day incremental", "gold", 4.0, 400, 100.0),
    ]
    assert found == expected, f"expected {expected}, found {found}"


def test_ratios_are_spark_over_duckdb_from_the_same_run():
    report = assemble_report(META, INGEST, _spark(10.0, 5.0), None, _reference())

    expected = {"silver": 5.0, "gold": 10.0, "silver+gold": 6.0, "silver+gold+server startup": 9.2, "cpu": 10.0}
    assert report["ratios_spark_over_duckdb"] == expected, f"expected {expected}, found {report['ratios_spark_over_duckdb']}"
    assert report["totals"]["one-day incremental"] is None


def test_missing_or_zero_figures_give_no_ratio_instead_of_failing():
    assert (ratio(None, 2.0), ratio(3.0, 0.0), rows_per_second(100, None), rows_per_second(0, 2.0)) == (None,) * 4
    report = assemble_report(META, INGEST, _spark(10.0, None, startup=None), None, _reference())
    ratios = report["ratios_spark_over_duckdb"]
    assert ratios["silver"] == 5.0 and ratios["gold"] is None and ratios["silver+gold"] is None, ratios
    assert "n/a" in to_markdown(report)


def test_cross_check_flags_count_mismatches_and_gold_differences_in_the_markdown():
    reference = _reference(counts={"measurements": 999, "quarantine": 5, "sessions": 700},
                           gold_differences={"regional_metrics": 2, "hourly_profile": 0})

    report = assemble_report(META, INGEST, _spark(10.0, 5.0), None, reference)
    markdown = to_markdown(report)

    assert report["cross_check"]["silver_counts_match"] == {"measurements": False, "quarantine": True, "sessions": True}
    assert "DIFFER for measurements" in markdown and "DIFFERS: {'regional_metrics': 2}" in markdown, markdown
    assert "| spark | full refresh | silver | 10.0 | 1,010 | 101.0 |" in markdown, markdown


def test_equal_counts_and_gold_read_as_equal():
    markdown = to_markdown(assemble_report(META, INGEST, _spark(10.0, 5.0), None, _reference()))

    assert "Silver row counts equal" in markdown and "Gold equal cell by cell" in markdown, markdown


def test_server_startup_is_the_time_from_the_start_message_to_the_next_message():
    marks = [(0.0, "run x: 2 stage(s)"), (1.0, "starting the run's Spark Connect server (loopback) ..."),
             (9.5, "[1/2] silver ..."), (20.0, "[1/2] silver succeeded in 10.5 s")]

    assert server_startup_s(marks) == 8.5
    assert server_startup_s(marks[:1] + marks[2:]) is None
