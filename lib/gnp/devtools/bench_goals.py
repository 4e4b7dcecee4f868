"""One report over a bench's history sizes: a line per size, and the speed goals, each met or not.

Pure functions over the per-size reports of ``bench_report.assemble_report``:
``bench`` measures, this module compares sizes with each other and with the
goals, so it is tested on made-up figures without running anything.
"""

from __future__ import annotations

from gnp.devtools.bench_report import DUCKDB, FULL, SPARK, fmt, ratio, split
from gnp.devtools.bench_report import to_markdown as size_markdown

FIRST_RUN_MAX_S = 90.0  # make run on an empty lake (the local params' 33 days), on 2 cores
SAMPLE_DAILY_MAX_S = 30.0  # a new day on the lake that first run left, end to end
DAILY_MAX_S = 45.0  # the daily run after a packed history (0.5M to 5M rows)
GROWN_DAILY_MAX_S = 45.0  # the daily run after a history grown by months
DAILY_MAX_GROWTH = 1.2  # the daily run at the largest history over the smallest
FULL_REFRESH_MAX_RATIO = {1_000_000: 4.0, 5_000_000: 2.0}  # Spark Silver+Gold over DuckDB's, by history rows
PEAK_RSS_MAX_MB = 4096.0  # the Spark JVM tree during the largest full refresh


def size_summary(report: dict) -> dict:
    """A size's headline figures from its report: full refresh, its ratio and memory, the daily run."""
    full = {row["stage"]: row["wall_s"] for row in report["stages"] if row["engine"] == SPARK and row["run"] == FULL}
    check = report["cross_check"]
    daily = report.get("daily_run") or {}
    return {
        "rows": report["rows"],
        "months": report.get("months"),  # a history grown by months; None: packed into ``days``
        "bronze_records": report["ingest"].get("bronze_records"),
        "days": report["days"],
        "spark_silver_s": full.get("silver"),
        "spark_gold_s": full.get("gold"),
        "spark_total_s": report["totals"][SPARK]["silver+gold_s"],
        "duckdb_s": report["totals"][DUCKDB]["silver+gold_s"],
        "ratio": report["ratios_spark_over_duckdb"]["silver+gold"],
        "spark_peak_rss_mb": report["totals"][SPARK]["peak_rss_mb"],
        "daily_wall_s": daily.get("wall_s"),
        "daily_new_day_records": daily.get("new_day_records"),
        "daily_server_startup_s": daily.get("server_startup_s"),
        "daily_stages": daily.get("stages", {}),
        "equal": all(check["silver_counts_match"].values()) and not any(check["gold_differences"].values()),
    }


def _goal(goal: str, figure: str, met: bool | None) -> dict:
    return {"goal": goal, "figure": figure, "met": met}


def daily_goal(summary: list[dict]) -> dict:
    goal = (f"daily run independent of history: at most {DAILY_MAX_GROWTH}x from the smallest history to the "
            f"largest, and at most {DAILY_MAX_S:.0f} s")
    runs = [s for s in summary if s["daily_wall_s"] is not None and not s["months"]]  # packed: same days, more rows
    if not runs:
        return _goal(goal, "no daily run measured", None)
    small, large = runs[0], runs[-1]
    growth = ratio(large["daily_wall_s"], small["daily_wall_s"])
    figure = (f"{fmt(small['daily_wall_s'], ' s')} at {fmt(small['bronze_records'])} records, "
              f"{fmt(large['daily_wall_s'], ' s')} at {fmt(large['bronze_records'])} records")
    if len(runs) < 2:
        return _goal(goal, f"{figure}; one size only, the growth needs two", None)
    met = growth is not None and growth <= DAILY_MAX_GROWTH and max(s["daily_wall_s"] for s in runs) <= DAILY_MAX_S
    return _goal(goal, f"{figure}: {fmt(growth, 'x')}", met)


def grown_daily_goal(size: dict) -> dict:
    """The daily run on a history grown by months at the daily volume: what a user meets after that long."""
    goal = f"daily run after {size['months']} months of history: at most {GROWN_DAILY_MAX_S:.0f} s"
    if size["daily_wall_s"] is None:
        return _goal(goal, "no daily run measured", None)
    figure = f"{fmt(size['daily_wall_s'], ' s')} at {fmt(size['bronze_records'])} records over {fmt(size['days'])} days"
    return _goal(goal, figure, size["daily_wall_s"] <= GROWN_DAILY_MAX_S)


def _label(size: dict) -> str:
    return f"{size['months']} months, {fmt(size['rows'])}" if size["months"] else fmt(size["rows"])


def full_refresh_goal(summary: list[dict], rows: int, max_ratio: float) -> dict:
    goal = f"full refresh at {rows:,} rows: Spark Silver+Gold within {max_ratio:g}x of DuckDB"
    found = [s for s in summary if s["rows"] == rows and not s["months"]]
    if not found:
        return _goal(goal, f"not measured: {rows:,} is not among this bench's sizes", None)
    size = found[0]
    figure = f"{fmt(size['spark_total_s'], ' s')} against {fmt(size['duckdb_s'], ' s')}: {fmt(size['ratio'], 'x')}"
    return _goal(goal, figure, None if size["ratio"] is None else size["ratio"] <= max_ratio)


def memory_goal(summary: list[dict]) -> dict:
    largest = max(summary, key=lambda s: s["rows"])
    goal = f"peak RSS of the largest full refresh (Spark JVM tree) at most {PEAK_RSS_MAX_MB:,.0f} MB"
    peak = largest["spark_peak_rss_mb"]
    return _goal(goal, f"{fmt(peak, ' MB')} at {largest['rows']:,} rows", None if peak is None else peak <= PEAK_RSS_MAX_MB)


def first_run_goals(first_run: dict) -> list[dict]:
    """What a new user meets: the first run on an empty lake, then a new day on the lake it left."""
    days, empty, one_day = first_run["days"], first_run["empty_lake"], first_run["one_day"]
    return [
        _goal(f"make run on an empty lake ({days} days of the sample source, every stage): at most "
              f"{FIRST_RUN_MAX_S:.0f} s", fmt(empty["wall_s"], " s"), empty["wall_s"] <= FIRST_RUN_MAX_S),
        _goal(f"a new day on that lake (one-day make run): at most {SAMPLE_DAILY_MAX_S:.0f} s",
              f"{fmt(one_day['wall_s'], ' s')}, {fmt(one_day['new_day_records'])} new records",
              one_day["wall_s"] <= SAMPLE_DAILY_MAX_S),
    ]


def goals(summary: list[dict], first_run: dict | None = None) -> list[dict]:
    """Every speed goal, smallest size first in ``summary``; ``met`` is None where this bench cannot tell."""
    found = first_run_goals(first_run) if first_run else []
    if summary:
        found += [daily_goal(summary), *(grown_daily_goal(s) for s in summary if s["months"]),
                  *(full_refresh_goal(summary, rows, limit) for rows, limit in FULL_REFRESH_MAX_RATIO.items()),
                  memory_goal(summary)]
    return found


def assemble_bench(meta: dict, size_reports: list[dict], first_run: dict | None = None) -> dict:
    """The bench's report: its meta, the first run (if measured), each size's report, a summary line per size,
    the goals."""
    size_reports = sorted(size_reports, key=lambda report: report["rows"])
    summary = [size_summary(report) for report in size_reports]
    return {**meta, "first_run": first_run, "sizes": size_reports, "summary": summary,
            "goals": goals(summary, first_run)}


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT MET", None: "not measured"}[met]


def to_markdown(report: dict) -> str:
    """Summary per size, the daily runs' stage split, the goals; then each size's full report."""
    histories = [f"history sizes {', '.join(f'{rows:,}' for rows in report['rows'])} rows over {report['days']} days "
                 f"each"] if report["rows"] else []
    if report.get("months"):
        histories.append(f"{report['months']} months at the daily volume")
    if report.get("first_run"):
        histories.insert(0, "the first run on an empty lake and a new day after it")
    lines = [f"## Benchmark {report['bench_id']}", "", f"Machine: {report['machine']}; {'; and '.join(histories)}."]
    if report.get("first_run"):
        lines += ["", *first_run_lines(report["first_run"])]
    if report["summary"]:
        lines += ["", *history_lines(report)]
    lines += ["", "Goals:"]
    lines += [f"- {goal['goal']}: {goal['figure']}: **{_verdict(goal['met'])}**" for goal in report["goals"]]
    for size in report["sizes"]:
        lines += ["", size_markdown(size, heading="###").rstrip("\n")]
    return "\n".join(lines) + "\n"


def first_run_lines(first_run: dict) -> list[str]:
    """The first run's two runs: wall clock, the server's start and each stage."""
    empty, one_day = first_run["empty_lake"], first_run["one_day"]
    return [
        "What a new user meets (the params' own source, every stage, the Spark Connect server start included):",
        f"- make run on an empty lake, {first_run['date_from']}..{first_run['date_to']} ({first_run['days']} days): "
        f"{fmt(empty['wall_s'], ' s')} wall clock; server start {fmt(empty.get('server_startup_s'), ' s')}, "
        f"{split(empty['stages'])}; peak {fmt(empty.get('peak_rss_mb'), ' MB')}",
        f"- then a new day, {one_day['date']} ({fmt(one_day['new_day_records'])} new records; {one_day['plan']}): "
        f"{fmt(one_day['wall_s'], ' s')} wall clock; server start {fmt(one_day.get('server_startup_s'), ' s')}, "
        f"{split(one_day['stages'])}; peak {fmt(one_day.get('peak_rss_mb'), ' MB')}",
    ]


def history_lines(report: dict) -> list[str]:
    """A line per history (full refresh against DuckDB, the daily run after it), then the daily runs by stage."""
    lines = ["| history rows (target) | Bronze records | Spark silver s | Spark gold s | Spark total s | DuckDB s | "
             "Spark / DuckDB | Spark peak RSS MB | results equal | daily run s |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for s in report["summary"]:
        lines.append(f"| {_label(s)} | {fmt(s['bronze_records'])} | {fmt(s['spark_silver_s'])} | "
                     f"{fmt(s['spark_gold_s'])} | {fmt(s['spark_total_s'])} | {fmt(s['duckdb_s'])} | "
                     f"{fmt(s['ratio'], 'x')} | {fmt(s['spark_peak_rss_mb'])} | {'yes' if s['equal'] else 'NO'} | "
                     f"{fmt(s['daily_wall_s'])} |")
    daily = [s for s in report["summary"] if s["daily_wall_s"] is not None]
    if daily:
        lines += ["", "Daily run (a new day after the history, every stage, server start included), by stage:"]
        lines += [f"- {fmt(s['bronze_records'])} records of history over {fmt(s['days'])} days, "
                  f"{fmt(s['daily_new_day_records'])} new: "
                  f"{fmt(s['daily_wall_s'], ' s')} wall clock; server start {fmt(s['daily_server_startup_s'], ' s')}, "
                  f"{split(s['daily_stages'])}"
                  for s in daily]
    return lines
