"""The benchmark report: figures, ratios and the cross-check assembled from measured phases (no timing)."""

from __future__ import annotations

import pytest

from gnp.core.errors import UsageError
from gnp.devtools import bench
from gnp.devtools.bench import BenchOptions, parse_sizes, server_startup_s
from gnp.devtools.bench_goals import assemble_bench
from gnp.devtools.bench_goals import to_markdown as bench_markdown
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


# --- several history sizes in one report, and the goals ---

def _size(rows, spark_total, duckdb_total, daily_s, peak_mb=900.0, gold_differences=0, months=None, days=30):
    """A made-up size report: Spark's silver/gold split 60/40, DuckDB's 80/20; a daily run of ``daily_s``."""
    spark = _spark(round(spark_total * 0.6, 1), round(spark_total * 0.4, 1))
    spark["peak_rss_mb"] = peak_mb
    daily = {**_spark(3.0, 4.0, startup=5.0, input_rows={"silver": 300, "gold": 900}), "wall_s": daily_s,
             "stages": {"ingest": 1.0, "silver": 3.0, "gold": 4.0, "publish": 0.5, "report": 2.0},
             "date": "2025-10-31", "tests_per_day": 300, "new_day_records": 301}
    reference = _reference(stages={"silver": round(duckdb_total * 0.8, 1), "gold": round(duckdb_total * 0.2, 1)},
                           gold_differences={"regional_metrics": gold_differences})
    meta = {**META, "bench_id": f"b1 at {rows:,} rows", "rows": rows, "days": days, "months": months}
    return assemble_report(meta, {**INGEST, "bronze_records": rows + 7}, spark, daily, reference)


BENCH_META = {"bench_id": "b1", "rows": [500_000, 1_000_000, 5_000_000], "days": 30, "machine": META["machine"]}


def _params_file(tmp_path, extra: str = ""):
    """A base params file for run_bench, every location in ``tmp_path`` (``extra``: more YAML lines)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    params_file = tmp_path / "params.yaml"
    params_file.write_text("env: t\ndates: {date_from: 2025-01-01, date_to: 2025-01-02}\n" + extra +
                           f"storage: {{lake: {tmp_path / 'lake'}, artifacts: {tmp_path / 'artifacts'}}}\n"
                           f"warehouse: {{duckdb_path: {tmp_path / 'warehouse.duckdb'}}}\n")
    return params_file


def _goals(report):
    return {goal["goal"].split(":")[0]: goal["met"] for goal in report["goals"]}


def test_sizes_come_from_a_comma_list_or_one_number_ascending_and_once_each():
    assert parse_sizes("5000000,500000, 1000000,500000") == (500_000, 1_000_000, 5_000_000)
    assert parse_sizes(20000) == (20000,) and parse_sizes("1_000_000") == (1_000_000,)
    assert parse_sizes("none") == (), "no packed history: the grown one alone (--months)"
    assert BenchOptions().sizes == (500_000, 1_000_000, 5_000_000), "the default sizes: 0.5M, 1M, 5M rows"
    one = BenchOptions(rows="40000,20000").for_size(20000)
    assert (one.size, one.tests_per_day, one.new_day.isoformat()) == (20000, 667, "2025-10-31")
    for wrong in ("abc", "", "1000,-5", "0"):
        with pytest.raises(UsageError, match="--rows takes sample row counts separated by commas"):
            parse_sizes(wrong)
    with pytest.raises(ValueError, match="for_size"):
        BenchOptions(rows="1,2").tests_per_day


def test_a_size_report_keeps_its_figures_and_adds_the_daily_run_wall_clock_and_split():
    report = _size(1_000_000, 100.0, 40.0, daily_s=20.0)

    assert report["daily_run"] == {
        "date": "2025-10-31", "history_records": 1_000_007, "tests_per_day": 300, "new_day_records": 301,
        "wall_s": 20.0, "server_startup_s": 5.0, "stages": {"ingest": 1.0, "silver": 3.0, "gold": 4.0,
                                                           "publish": 0.5, "report": 2.0}, "peak_rss_mb": 900.0}
    assert report["ratios_spark_over_duckdb"]["silver+gold"] == 2.5
    markdown = to_markdown(report, heading="###")
    assert markdown.startswith("### Benchmark b1 at 1,000,000 rows"), markdown
    assert ("Daily run (`gnp run --from 2025-10-31 --to 2025-10-31`, every stage, a new day of 301 records after the "
            "history): 20.0 s wall clock, of which server start 5.00 s; ingest 1.00 s, silver 3.00 s, gold 4.00 s, "
            "publish 0.50 s, report 2.00 s") in markdown, markdown


def test_one_report_over_sizes_has_a_line_per_size_and_each_goal_met_or_not():
    sizes = [_size(5_000_000, 500.0, 200.0, daily_s=23.0, peak_mb=4200.0), _size(500_000, 50.0, 10.0, daily_s=20.0),
             _size(1_000_000, 70.0, 20.0, daily_s=21.0)]

    report = assemble_bench(BENCH_META, sizes)

    assert [s["rows"] for s in report["sizes"]] == [500_000, 1_000_000, 5_000_000], "sizes are smallest first"
    first = report["summary"][0]
    assert first == {"rows": 500_000, "months": None, "bronze_records": 500_007, "days": 30, "spark_silver_s": 30.0,
                     "spark_gold_s": 20.0, "spark_total_s": 50.0, "duckdb_s": 10.0, "ratio": 5.0,
                     "spark_peak_rss_mb": 900.0, "daily_wall_s": 20.0, "daily_new_day_records": 301,
                     "daily_server_startup_s": 5.0, "daily_stages": sizes[1]["daily_run"]["stages"], "equal": True}
    figures = {goal["goal"].split(":")[0]: goal["figure"] for goal in report["goals"]}
    assert figures == {
        "daily run independent of history": "20.0 s at 500,007 records, 23.0 s at 5,000,007 records: 1.15x",
        "full refresh at 1,000,000 rows": "70.0 s against 20.0 s: 3.50x",
        "full refresh at 5,000,000 rows": "500.0 s against 200.0 s: 2.50x",
        "peak RSS of the largest full refresh (Spark JVM tree) at most 4,096 MB": "4,200.0 MB at 5,000,000 rows",
    }
    assert list(_goals(report).values()) == [True, True, False, False]
    markdown = bench_markdown(report)
    assert "| 1,000,000 | 1,000,007 | 42.0 | 28.0 | 70.0 | 20.0 | 3.50x | 900.0 | yes | 21.0 |" in markdown, markdown
    assert ("- full refresh at 5,000,000 rows: Spark Silver+Gold within 2x of DuckDB: 500.0 s against 200.0 s: "
            "2.50x: **NOT MET**") in markdown, markdown
    assert "- daily run independent of history" in markdown and "1.15x: **met**" in markdown, markdown
    assert "- 5,000,007 records of history over 30 days, 301 new: 23.0 s wall clock; server start 5.00 s, ingest 1.00 s" in markdown
    assert markdown.count("### Benchmark b1 at ") == 3, "each size's full report follows the summary"


def test_the_daily_goal_fails_on_growth_or_on_seconds_and_needs_two_sizes():
    grows = assemble_bench(BENCH_META, [_size(500_000, 50.0, 10.0, daily_s=10.0), _size(5_000_000, 9.0, 9.0, daily_s=12.5)])
    slow = assemble_bench(BENCH_META, [_size(500_000, 50.0, 10.0, daily_s=46.0), _size(5_000_000, 9.0, 9.0, daily_s=46.0)])
    one = assemble_bench(BENCH_META, [_size(20_000, 50.0, 10.0, daily_s=10.0)])

    assert grows["goals"][0]["met"] is False and grows["goals"][0]["figure"].endswith("1.25x"), grows["goals"][0]
    assert slow["goals"][0]["met"] is False and slow["goals"][0]["figure"].endswith("1.00x"), slow["goals"][0]
    assert one["goals"][0]["met"] is None and "one size only" in one["goals"][0]["figure"]
    not_measured = [g for g in one["goals"] if g["met"] is None]
    assert len(not_measured) == 3, "no daily growth, no 1M, no 5M: not measured rather than met or failed"
    assert "not measured: 1,000,000 is not among this bench's sizes: **not measured**" in bench_markdown(one)


def test_a_size_whose_results_differ_shows_in_the_summary():
    report = assemble_bench(BENCH_META, [_size(500_000, 50.0, 10.0, daily_s=10.0, gold_differences=2)])

    assert report["summary"][0]["equal"] is False
    assert "| 5.00x | 900.0 | NO | 10.0 |" in bench_markdown(report)


def test_run_bench_benches_each_size_smallest_first_and_writes_one_report(tmp_path, monkeypatch):
    # Only the sizes' loop and the report files: each size's phases (real Spark) are run_bench's one stand-in here.
    import json

    from gnp.devtools import bench

    params_file = _params_file(tmp_path)
    benched = []

    def one_size(base, options, bench_dir, folder, meta, log):
        benched.append((options.size, folder.name))
        return _size(options.size, 10.0, 5.0, daily_s=float(options.size) / 1000)

    monkeypatch.setattr(bench, "bench_size", one_size)
    report, markdown = bench.run_bench(str(params_file), BenchOptions(rows="40000,20000", first_run=False),
                                       log=lambda message: None)

    assert benched == [(20000, "20000rows"), (40000, "40000rows")], benched  # no --months: no grown history
    [written] = (tmp_path / "artifacts" / "bench").glob("*-20000-40000rows.json")
    assert json.loads(written.read_text())["goals"] == report["goals"]
    assert (tmp_path / "artifacts" / "bench" / "latest.md").read_text() == markdown
    assert report["goals"][0]["figure"] == "20.0 s at 20,007 records, 40.0 s at 40,007 records: 2.00x", report["goals"][0]


def test_a_history_grown_by_months_ends_where_the_packed_ones_end_at_the_daily_volume():
    grown = BenchOptions(rows="20000", months=24).for_months(2000)
    packed = BenchOptions(rows="20000", months=24).for_size(20000)
    assert (grown.first_day.isoformat(), grown.last_day.isoformat(), grown.days) == ("2023-10-31", "2025-10-30", 731)
    assert (grown.size, grown.tests_per_day, grown.daily_tests) == (1_462_000, 2000, 2000), "the new day's volume too"
    assert (packed.first_day.isoformat(), packed.days, packed.new_day) == ("2025-10-01", 30, grown.new_day)
    assert (grown.label, grown.folder_name) == ("24 months at 2,000 tests a day (1,462,000 rows)", "24months")
    assert bench.history_days(1) == 31 and bench.history_days(8) == 245  # from 2025-02-28: February has no 31st
    with pytest.raises(UsageError, match="--months takes a number of months"):
        bench.history_days(-1)


def test_the_grown_history_has_its_own_goal_and_stays_out_of_the_packed_sizes_growth():
    sizes = [_size(500_000, 50.0, 10.0, daily_s=20.0), _size(5_000_000, 500.0, 200.0, daily_s=23.0),
             _size(1_462_000, 90.0, 30.0, daily_s=50.0, months=24, days=731)]

    report = assemble_bench({**BENCH_META, "months": 24}, sizes)

    figures = {goal["goal"]: (goal["figure"], goal["met"]) for goal in report["goals"]}
    assert figures["daily run after 24 months of history: at most 45 s"] == (
        "50.0 s at 1,462,007 records over 731 days", False)
    growth = [f for g, f in figures.items() if g.startswith("daily run independent of history")]
    assert growth == [("20.0 s at 500,007 records, 23.0 s at 5,000,007 records: 1.15x", True)], growth
    assert figures["full refresh at 1,000,000 rows: Spark Silver+Gold within 4x of DuckDB"][1] is None
    markdown = bench_markdown(report)
    assert "| 24 months, 1,462,000 | 1,462,007 |" in markdown, markdown
    assert "- 1,462,007 records of history over 731 days, 301 new: 50.0 s wall clock" in markdown, markdown
    assert "rows over 30 days each; and 24 months at the daily volume." in markdown, markdown
    alone = bench_markdown(assemble_bench({**BENCH_META, "rows": [], "months": 24}, sizes[2:]))
    assert "; 24 months at the daily volume." in alone and "history sizes" not in alone, alone


def test_run_bench_adds_the_grown_history_at_the_params_daily_volume(tmp_path, monkeypatch):
    from gnp.devtools import bench as bench_module

    params_file = _params_file(tmp_path, "source: {kind: sample, sample_tests_per_day: 40}\n")
    benched = []

    def one_size(base, options, bench_dir, folder, meta, log):
        benched.append((options.size, options.days, folder.name))
        return _size(options.size, 10.0, 5.0, daily_s=1.0, months=options.months if options.grown else None,
                     days=options.days)

    monkeypatch.setattr(bench_module, "bench_size", one_size)
    report, _ = bench_module.run_bench(str(params_file), BenchOptions(rows="20000", months=2, first_run=False),
                                       log=lambda m: None)

    assert benched == [(20000, 30, "20000rows"), (61 * 40, 61, "2months")], benched
    assert [(s["rows"], s["months"]) for s in report["summary"]] == [(2440, 2), (20000, None)], "by rows"
    assert report["months"] == 2
    assert len(list((tmp_path / "artifacts" / "bench").glob("*-20000rows-2months.json"))) == 1
    with pytest.raises(UsageError, match="--rows none needs --months"):
        bench_module.run_bench(str(params_file), BenchOptions(rows="none", first_run=False), log=lambda m: None)


def test_the_grown_historys_params_span_its_months_at_the_daily_volume_with_the_daily_runs_users(tmp_path):
    from gnp.core.config import Params

    base = Params(env="t", source={"kind": "sample", "sample_tests_per_day": 2000},
                  dates={"date_from": "2025-01-01", "date_to": "2025-01-02"})
    grown = BenchOptions(rows="none", months=24).for_months(2000)

    params = bench.bench_params(base, grown, tmp_path, tmp_path / "bronze")
    daily = bench.bench_params(base, grown, tmp_path, tmp_path / "bronze", tests_per_day=2000)

    assert params["dates"] == {"date_from": "2023-10-31", "date_to": "2025-10-30", "lookback_days": 1}
    assert (params["source"]["sample_tests_per_day"], params["source"]["sample_users"]) == (2000, 3000)
    assert daily["source"] == params["source"], "the new day's tests come from the history's users"


FIRST_RUN = {"days": 33, "date_from": "2025-09-29", "date_to": "2025-10-31",
             "empty_lake": {"wall_s": 95.0, "server_startup_s": 6.0, "peak_rss_mb": 2000.0,
                            "stages": {"ingest": 20.0, "silver": 30.0, "gold": 35.0}},
             "one_day": {"wall_s": 31.0, "server_startup_s": 6.0, "peak_rss_mb": 1500.0, "date": "2025-11-01",
                         "new_day_records": 2010, "plan": "silver incremental: days 2025-11-01..2025-11-01",
                         "stages": {"ingest": 1.0, "silver": 9.0, "gold": 12.0}}}


def test_the_first_run_and_its_new_day_come_first_in_the_report_each_with_its_goal():
    alone = assemble_bench({**BENCH_META, "rows": [], "months": None}, [], FIRST_RUN)

    assert [(g["goal"], g["figure"], g["met"]) for g in alone["goals"]] == [
        ("make run on an empty lake (33 days of the sample source, every stage): at most 90 s", "95.0 s", False),
        ("a new day on that lake (one-day make run): at most 30 s", "31.0 s, 2,010 new records", False),
    ], "without histories, no history goal is reported (not even as not measured)"
    markdown = bench_markdown(alone)
    assert "Machine: 2 cores, 24 GB, load 1.0 at start; the first run on an empty lake and a new day after it." in markdown
    assert ("- make run on an empty lake, 2025-09-29..2025-10-31 (33 days): 95.0 s wall clock; server start 6.00 s, "
            "ingest 20.0 s, silver 30.0 s, gold 35.0 s; peak 2,000.0 MB") in markdown, markdown
    assert ("- then a new day, 2025-11-01 (2,010 new records; silver incremental: days 2025-11-01..2025-11-01): "
            "31.0 s wall clock; server start 6.00 s, ingest 1.00 s, silver 9.00 s, gold 12.0 s") in markdown, markdown
    assert "| history rows (target)" not in markdown

    quick = {**FIRST_RUN, "empty_lake": {**FIRST_RUN["empty_lake"], "wall_s": 80.0},
             "one_day": {**FIRST_RUN["one_day"], "wall_s": 29.0}}
    both = assemble_bench(BENCH_META, [_size(500_000, 50.0, 10.0, daily_s=20.0)], quick)
    assert [g["met"] for g in both["goals"][:2]] == [True, True] and len(both["goals"]) == 6, both["goals"]
    markdown = bench_markdown(both)
    assert markdown.index("make run on an empty lake") < markdown.index("| history rows (target)"), markdown


def test_the_first_runs_params_are_the_base_params_with_every_location_in_its_folder(tmp_path):
    from gnp.core.config import Params, load_params

    base = load_params(str(bench.__file__).replace("lib/gnp/devtools/bench.py", "params/local.yaml"))

    data = bench.first_run_params(base, tmp_path)
    written = load_params(str(bench._write_params(data, tmp_path / "params.yaml")))

    assert isinstance(written, Params)
    assert (written.source, written.dates, written.semantics) == (base.source, base.dates, base.semantics)
    assert written.spark == base.spark.model_copy(update={"remote": None})
    assert (written.storage.lake, written.storage.artifacts) == (str(tmp_path / "lake"), str(tmp_path / "artifacts"))
    assert written.storage.bronze is None and written.warehouse.kind == "duckdb"
    assert written.warehouse.duckdb_path == str(tmp_path / "warehouse.duckdb")
    assert written.privacy.pseudonym_key_file == str(tmp_path / "secrets" / "pseudonym.key")


def test_run_bench_runs_the_first_run_before_the_histories_and_alone_with_no_history(tmp_path, monkeypatch):
    params_file = _params_file(tmp_path)
    phases = []

    def first_run(base, folder, log):
        phases.append(("first run", folder.name))
        (folder / "lake").mkdir(parents=True)
        return FIRST_RUN

    def one_size(base, options, bench_dir, folder, meta, log):
        phases.append((options.size, folder.name))
        return _size(options.size, 10.0, 5.0, daily_s=1.0)

    monkeypatch.setattr(bench, "first_run_phase", first_run)
    monkeypatch.setattr(bench, "bench_size", one_size)
    report, _ = bench.run_bench(str(params_file), BenchOptions(rows="20000"), log=lambda m: None)
    alone, _ = bench.run_bench(str(params_file), BenchOptions(rows="none"), log=lambda m: None)

    assert phases == [("first run", "first-run"), (20000, "20000rows"), ("first run", "first-run")], phases
    assert report["first_run"] == FIRST_RUN and alone["first_run"] == FIRST_RUN and alone["summary"] == []
    reports = sorted(p.name for p in (tmp_path / "artifacts" / "bench").glob("*.json"))
    assert [name.split("Z", 1)[1] for name in reports] == ["-first-run-20000rows.json", "-first-run.json"], reports
    assert not list((tmp_path / "artifacts" / "bench").glob("*/first-run/lake")), "the first run's lake goes"


def test_the_first_run_phase_runs_the_params_days_then_the_next_day_on_the_same_lake(tmp_path, monkeypatch):
    # The phase's own logic only: which runs, on which params and days. The runs themselves are real in `make bench`
    # and in the heavy bench test.
    from gnp.core.config import load_params

    base = load_params(str(_params_file(tmp_path / "base", "source: {kind: sample, sample_tests_per_day: 40}\n")))
    runs = []

    def phase(params_file, log, **run_kwargs):
        runs.append((load_params(str(params_file)).storage.lake, run_kwargs))
        return {"run_id": f"run-{len(runs)}", "wall_s": 10.0 * len(runs), "stages": {"ingest": 1.0}}

    monkeypatch.setattr(bench, "spark_phase", phase)
    monkeypatch.setattr(bench, "input_rows", lambda params, run_id, full_refresh: {"plan": f"plan of {run_id}"})

    found = bench.first_run_phase(base, tmp_path / "first-run", log=lambda m: None)

    lake = str(tmp_path / "first-run" / "lake")
    assert runs == [(lake, {}), (lake, {"date_from": "2025-01-03", "date_to": "2025-01-03"})], runs
    assert (found["days"], found["date_from"], found["date_to"]) == (2, "2025-01-01", "2025-01-02")
    assert found["empty_lake"]["wall_s"] == 10.0 and found["one_day"]["wall_s"] == 20.0
    assert (found["one_day"]["date"], found["one_day"]["plan"], found["one_day"]["new_day_records"]) == (
        "2025-01-03", "plan of run-2", 0), "no Bronze was written: the new day has no records"
