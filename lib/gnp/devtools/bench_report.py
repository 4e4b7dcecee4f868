"""The benchmark's report: figures assembled from the measured phases, as data and as markdown.

Pure functions: ``bench`` measures, this module only arranges and divides, so
it is tested without running anything.
"""

from __future__ import annotations

STAGES = ("silver", "gold")
SPARK, DUCKDB = "spark", "duckdb"
FULL, INCREMENTAL = "full refresh", "one-day incremental"


def rows_per_second(rows: int | None, seconds: float | None) -> float | None:
    if not rows or not seconds:
        return None
    return round(rows / seconds, 1)


def ratio(spark_s: float | None, duckdb_s: float | None) -> float | None:
    """How many times as long Spark took; None when either is missing or zero."""
    if not spark_s or not duckdb_s:
        return None
    return round(spark_s / duckdb_s, 2)


def _stage_rows(engine: str, run: str, phase: dict, input_rows: dict[str, int | None]) -> list[dict]:
    rows = []
    for stage in STAGES:
        seconds = phase["stages"].get(stage)
        rows.append({
            "engine": engine, "run": run, "stage": stage, "wall_s": seconds,
            "input_rows": input_rows.get(stage), "rows_per_s": rows_per_second(input_rows.get(stage), seconds),
        })
    return rows


def _total(phase: dict) -> float | None:
    seconds = [phase["stages"].get(s) for s in STAGES]
    return round(sum(seconds), 1) if all(s is not None for s in seconds) else None


def assemble_report(meta: dict, ingest: dict, spark_full: dict, spark_incremental: dict | None, reference: dict) -> dict:
    """One report from the phases ``bench`` measured.

    Args:
        meta: bench id, sizes, machine, versions.
        ingest: ``wall_s``, ``bronze_records``, ``cached`` (Bronze reused from an earlier bench).
        spark_full, spark_incremental: ``stages`` (stage -> wall s from the run manifest), ``wall_s``
            (the whole runner call), ``server_startup_s``, ``peak_rss_mb``, ``cpu_s``, ``load``,
            ``input_rows`` (stage -> rows read). The incremental run is the daily run: also ``date``,
            ``tests_per_day`` and ``new_day_records`` of its new day.
        reference: the DuckDB phase: ``stages``, ``peak_rss_mb``, ``cpu_s``, ``load``, ``counts``,
            ``spark_counts`` and ``gold_differences`` (table -> differences found against Spark's Gold).
    """
    full_rows = spark_full.get("input_rows", {})
    stage_rows = _stage_rows(SPARK, FULL, spark_full, full_rows) + _stage_rows(DUCKDB, FULL, reference, full_rows)
    if spark_incremental:
        stage_rows += _stage_rows(SPARK, INCREMENTAL, spark_incremental, spark_incremental.get("input_rows", {}))
    spark_total, duckdb_total = _total(spark_full), _total(reference)
    startup = spark_full.get("server_startup_s")
    ratios = {stage: ratio(spark_full["stages"].get(stage), reference["stages"].get(stage)) for stage in STAGES}
    ratios["silver+gold"] = ratio(spark_total, duckdb_total)
    ratios["silver+gold+server startup"] = ratio(spark_total + startup if spark_total and startup else None, duckdb_total)
    ratios["cpu"] = ratio(spark_full.get("cpu_s"), reference.get("cpu_s"))
    counts_match = {
        name: reference["counts"].get(name) == rows for name, rows in reference.get("spark_counts", {}).items()
    }
    return {
        **meta,
        "ingest": ingest,
        "stages": stage_rows,
        "totals": {
            SPARK: {"silver+gold_s": spark_total, "server_startup_s": startup, "peak_rss_mb": spark_full.get("peak_rss_mb"),
                    "cpu_s": spark_full.get("cpu_s"), "load": spark_full.get("load")},
            DUCKDB: {"silver+gold_s": duckdb_total, "peak_rss_mb": reference.get("peak_rss_mb"),
                     "cpu_s": reference.get("cpu_s"), "load": reference.get("load")},
            INCREMENTAL: None if not spark_incremental else {
                "silver+gold_s": _total(spark_incremental), "server_startup_s": spark_incremental.get("server_startup_s"),
                "peak_rss_mb": spark_incremental.get("peak_rss_mb"), "cpu_s": spark_incremental.get("cpu_s"),
                "load": spark_incremental.get("load"),
                "plan": spark_incremental.get("plan"),
            },
        },
        "daily_run": daily_run(spark_incremental, ingest.get("bronze_records")),
        "ratios_spark_over_duckdb": ratios,
        "cross_check": {
            "silver_counts_match": counts_match,
            "duckdb_counts": reference.get("counts", {}),
            "spark_counts": reference.get("spark_counts", {}),
            "gold_differences": reference.get("gold_differences", {}),
        },
    }


def daily_run(phase: dict | None, history_records: int | None) -> dict | None:
    """The daily run as a user meets it: the wall clock of the whole run, and where it went."""
    if not phase:
        return None
    return {"date": phase.get("date"), "history_records": history_records, "tests_per_day": phase.get("tests_per_day"),
            "new_day_records": phase.get("new_day_records"), "wall_s": phase.get("wall_s"),
            "server_startup_s": phase.get("server_startup_s"), "stages": phase.get("stages", {}),
            "peak_rss_mb": phase.get("peak_rss_mb")}


def split(stages: dict[str, float | None]) -> str:
    """``ingest 2.1 s, silver 10.4 s, ...`` in run order."""
    return ", ".join(f"{stage} {fmt(seconds, ' s')}" for stage, seconds in stages.items()) or "n/a"


def fmt(value, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.1f}{suffix}" if abs(value) >= 10 else f"{value:.2f}{suffix}"
    if isinstance(value, int):
        return f"{value:,}{suffix}"
    return f"{value}{suffix}"


def _load(value) -> str:
    return "n/a" if not value else " / ".join(f"{x:.1f}" for x in value)


def to_markdown(report: dict, heading: str = "##") -> str:
    """The report as markdown: per-stage figures, totals with memory and load, ratios, cross-check, daily run."""
    lines = [
        f"{heading} Benchmark {report['bench_id']}",
        "",
        f"{fmt(report['ingest'].get('bronze_records'))} Bronze records over {report['days']} days "
        f"(target {fmt(report['rows'])}); machine: {report['machine']}. "
        f"Ingest {fmt(report['ingest'].get('wall_s'), ' s')}"
        f"{' (Bronze reused from an earlier bench)' if report['ingest'].get('cached') else ''}, not compared.",
        "",
        "| engine | run | stage | wall s | input rows | rows/s |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in report["stages"]:
        lines.append(f"| {row['engine']} | {row['run']} | {row['stage']} | {fmt(row['wall_s'])} | "
                     f"{fmt(row['input_rows'])} | {fmt(row['rows_per_s'])} |")
    lines += ["", "| | silver+gold s | server startup s | peak RSS MB | CPU s | load before / after |",
              "|---|---:|---:|---:|---:|---|"]
    for name, total in report["totals"].items():
        if total:
            lines.append(f"| {name} | {fmt(total['silver+gold_s'])} | {fmt(total.get('server_startup_s'))} | "
                         f"{fmt(total['peak_rss_mb'])} | {fmt(total.get('cpu_s'))} | {_load(total.get('load'))} |")
    lines += ["", "Spark / DuckDB, measured in this run: " + ", ".join(
        f"{name} {fmt(value, 'x')}" for name, value in report["ratios_spark_over_duckdb"].items())]
    check = report["cross_check"]
    mismatched = [name for name, same in check["silver_counts_match"].items() if not same]
    differing = {name: n for name, n in check["gold_differences"].items() if n}
    lines += ["", "Cross-check: Silver row counts "
              + ("equal" if not mismatched else f"DIFFER for {', '.join(mismatched)}")
              + f" ({', '.join(f'{k} {fmt(v)}' for k, v in check['spark_counts'].items())}); Gold "
              + ("equal cell by cell" if not differing else f"DIFFERS: {differing}") + "."]
    incremental = report["totals"].get(INCREMENTAL)
    daily = report.get("daily_run")
    if daily:
        lines += ["", f"Daily run (`gnp run --from {daily['date']} --to {daily['date']}`, every stage, a new day of "
                  f"{fmt(daily['new_day_records'])} records after the history): {fmt(daily['wall_s'], ' s')} "
                  f"wall clock, of which server start {fmt(daily['server_startup_s'], ' s')}; "
                  f"{split(daily['stages'])}; Spark peak RSS {fmt(daily['peak_rss_mb'], ' MB')}."]
    if incremental and incremental.get("plan"):
        lines += ["", f"Incremental plan: {incremental['plan']}"]
    lines += ["", "Spark stage times are the run manifest's (papermill, kernel start, quality checks and "
              "writes included); the Spark Connect server start is shown apart. Peak RSS: the Spark JVM "
              "process tree, and the DuckDB reference's own process, each page counted once (summed PSS, "
              "or one process's kernel-tracked peak if larger; see gnp.devtools.bench_probe)."]
    return "\n".join(lines) + "\n"
