"""``gnp bench``: the Spark pipeline against the DuckDB SQL reference on the same generated Bronze.

One bench runs one or several histories and writes one report. Two kinds:
- packed: ``--rows 500000,1000000,5000000``, each that many rows over one
  month (``--days``, 30), sizes that stress the engine;
- grown by months: ``--months 24``, two years at the base params' daily
  volume (2,000 tests a day for the local params), the history a daily run
  meets after the real source has run that long.
Every history ends the day before the same new day, so every daily run meets
the same day. Per history, one phase after another so they never share the CPU:
1. Bronze: ``rows`` sample records over ``days`` days, ingested by the real
   ingest stage (timed, not compared). Each size has its own Bronze, kept in
   a cache under the bench folder and hard-linked into each bench (Bronze is
   append-only), so a later bench of the same size skips the generation. A
   size is its own 30 days, not a prefix of a larger size's days: every
   size's daily run then meets the same new day after the same dates.
2. Spark full refresh of silver and gold through the real runner (papermill,
   one Spark Connect server), stage times from the run manifest.
3. The DuckDB reference (``bench_reference``): Silver from Bronze and every
   Gold table, in its own process; then, untimed, its counts and Gold are
   compared with what Spark committed.
4. The daily run, as a user meets it: ``gnp run --from D --to D`` of the new
   day after the history (at the base params' sample rate, 2,000 tests for
   the local params), every stage, the Spark Connect server start included,
   timed by the wall clock around the whole run; stage times from its manifest.

Before the histories, what a new user meets first (``first_run_phase``; off
with ``--no-first-run``): ``make run`` on an empty lake, the base params as
they are (the local params: 33 days of the sample source), then one new day
on the lake that run left, the sample lake's daily run.

Peak memory is sampled with psutil: the Spark JVM process tree, and the
DuckDB process. Everything lands in ``<artifacts>/bench/<bench id>/<rows>rows/``;
the reports (JSON, markdown) in ``<artifacts>/bench/``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from gnp.core import manifest
from gnp.core.config import Params, load_params
from gnp.core.errors import GnpError, UsageError
from gnp.core.registry import Registry
from gnp.devtools import bench_goals, bench_report
from gnp.devtools.bench_probe import PeakSampler, machine, spark_jvm_trees
from gnp.orchestration import runner

NEW_DAY = dt.date(2025, 10, 31)  # the daily run's day; a history is the days before it (30 include the DST change)
USERS_PER_DAILY_TEST = 1.5  # the local params' ratio: 3000 users for 2000 tests a day
MIN_USERS = 3000
SERVER_START_MESSAGE = "starting the run's Spark Connect server"
SILVER_TABLES = ("measurements", "quarantine", "sessions")
# The daily run is measured at 0.5M and 5M rows of history (its growth), the full refresh at 1M and 5M.
DEFAULT_SIZES = (500_000, 1_000_000, 5_000_000)


def history_days(months: int) -> int:
    """Days of a history of ``months`` calendar months ending the day before ``NEW_DAY``."""
    if months < 1:
        raise UsageError(f"--months takes a number of months of history, at least 1 (0: none); found {months}")
    year, month = divmod(NEW_DAY.year * 12 + NEW_DAY.month - 1 - months, 12)
    first = dt.date(year, month + 1, min(NEW_DAY.day, calendar.monthrange(year, month + 1)[1]))
    return (NEW_DAY - first).days


class BenchError(GnpError):
    """A phase of the benchmark failed; the message says which and where to look."""


def parse_sizes(rows: int | str | tuple[int, ...]) -> tuple[int, ...]:
    """History sizes from ``--rows``: one count or several separated by commas; ascending, each once ("none": no
    packed history, for a bench of the grown one alone)."""
    if isinstance(rows, str) and rows.strip().lower() == "none":
        return ()
    items = [rows] if isinstance(rows, int) else rows.split(",") if isinstance(rows, str) else list(rows)
    try:
        sizes = sorted({int(str(item).strip().replace("_", "")) for item in items})
    except ValueError:
        sizes = []
    if not sizes or sizes[0] < 1:
        raise UsageError(f"--rows takes sample row counts separated by commas, e.g. 500000,1000000,5000000; "
                         f"(or none, with --months); found {rows!r}")
    return tuple(sizes)


@dataclass(frozen=True)
class BenchOptions:
    rows: int | str | tuple[int, ...] = DEFAULT_SIZES  # one history size, or several for one report
    days: int = 30
    seed: int = 42
    incremental: bool = True  # the daily run after each size's full refresh
    keep_data: bool = False  # keep the bench's lake, Bronze copy and DuckDB file
    fresh_bronze: bool = False  # generate Bronze again even if the cache has it
    daily_tests: int | None = None  # tests on the daily run's new day; None: the base params' sample rate
    months: int = 0  # add a history grown by this many months at the daily volume (0: none)
    grown: bool = False  # this options' one history is the grown one (set by ``for_months``)
    first_run: bool = True  # first the base params' run on an empty lake, then one new day on it

    @property
    def sizes(self) -> tuple[int, ...]:
        return parse_sizes(self.rows)

    def for_size(self, rows: int) -> "BenchOptions":
        """The options of one packed history: ``rows`` over ``days``."""
        return replace(self, rows=rows, grown=False)

    def for_months(self, daily_tests: int) -> "BenchOptions":
        """The options of the history grown by ``months`` at ``daily_tests`` a day (the new day's volume too)."""
        days = history_days(self.months)
        return replace(self, rows=days * daily_tests, days=days, grown=True, daily_tests=daily_tests)

    @property
    def label(self) -> str:
        """How the report names this history."""
        if self.grown:
            return f"{self.months} months at {self.tests_per_day:,} tests a day ({self.size:,} rows)"
        return f"{self.size:,} rows"

    @property
    def folder_name(self) -> str:
        return f"{self.months}months" if self.grown else f"{self.size}rows"

    @property
    def size(self) -> int:
        sizes = self.sizes
        if len(sizes) != 1:
            raise ValueError(f"options of {len(sizes)} sizes have no one size: take one with for_size()")
        return sizes[0]

    @property
    def tests_per_day(self) -> int:
        return math.ceil(self.size / self.days)

    @property
    def first_day(self) -> dt.date:
        return NEW_DAY - dt.timedelta(days=self.days)

    @property
    def last_day(self) -> dt.date:
        return NEW_DAY - dt.timedelta(days=1)

    @property
    def new_day(self) -> dt.date:
        """The daily run's day: the first after the history (the same for every history)."""
        return NEW_DAY


def bench_params(base: Params, options: BenchOptions, folder: Path, bronze: Path, tests_per_day: int | None = None) -> dict:
    """Params of a bench: the sample source sized by ``options``, every location inside ``folder``.

    Spark and semantics settings come from the base params, so the bench
    measures what the pipeline runs; the Spark session is always local.
    ``tests_per_day`` sets another daily volume (the daily run's new day)
    for the same users as the history, so returning users return.
    """
    return {
        "env": "bench",
        "source": {"kind": "sample", "sample_seed": options.seed,
                   "sample_tests_per_day": tests_per_day or options.tests_per_day,
                   "sample_users": max(MIN_USERS, int(options.tests_per_day * USERS_PER_DAILY_TEST))},
        "dates": {"date_from": options.first_day.isoformat(), "date_to": options.last_day.isoformat(), "lookback_days": 1},
        "storage": {"lake": str(folder / "lake"), "bronze": str(bronze), "artifacts": str(folder / "artifacts")},
        "warehouse": {"kind": "duckdb", "duckdb_path": str(folder / "warehouse.duckdb")},
        "spark": {**base.spark.model_dump(mode="json"), "remote": None},
        "semantics": base.semantics.model_dump(mode="json"),
        "privacy": {"pseudonym_key_file": str(folder / "secrets" / "pseudonym.key")},
    }


def _write_params(data: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run(params_file: Path, log, **kwargs) -> tuple[runner.RunResult, list[tuple[float, str]]]:
    marks: list[tuple[float, str]] = []

    def logged(message: str) -> None:
        marks.append((time.monotonic(), message))
        log(f"  {message}")

    result = runner.run(str(params_file), log=logged, **kwargs)
    if not result.ok:
        failed = [s for s in result.manifest["stages"] if s["status"] != "succeeded"]
        raise BenchError(f"run {result.run_id} failed: {failed[-1].get('error') if failed else 'unknown'}")
    return result, marks


def server_startup_s(marks: list[tuple[float, str]]) -> float | None:
    """Seconds from the runner's 'starting the server' message to its next message."""
    for (at, message), (next_at, _) in zip(marks, marks[1:]):
        if message.startswith(SERVER_START_MESSAGE):
            return round(next_at - at, 1)
    return None


def prepare_bronze(base: Params, options: BenchOptions, bench_dir: Path, target: Path, log) -> dict:
    """Bronze for the bench's size at ``target`` (hard links to the cache); generated into the cache if absent."""
    cache = bench_dir / "bronze-cache" / f"seed{options.seed}-rows{options.size}-days{options.days}"
    done = cache / "_complete.json"
    generate = options.fresh_bronze or not done.exists()
    if generate:
        shutil.rmtree(cache, ignore_errors=True)
        params_file = _write_params(bench_params(base, options, cache, cache / "bronze"), cache / "params.yaml")
        log(f"generating and ingesting {options.size:,} sample rows over {options.days} days ...")
        result, _ = _run(params_file, log, stages=["ingest"])
        files = bronze_files(load_params(params_file))
        info = {"wall_s": result.manifest["stages"][0]["duration_s"], "bronze_records": sum(f.record_count for f in files),
                "bronze_files": len(files)}
        done.write_text(json.dumps(info), encoding="utf-8")
    info = {**json.loads(done.read_text(encoding="utf-8")), "cached": not generate}
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(cache / "bronze", target, copy_function=os.link)
    return info


def bronze_files(params: Params):
    from gnp.silver import parse
    from gnp.silver.stage import bronze_days

    registry = Registry.from_params(params)
    return parse.list_bronze_files(registry, bronze_days(registry))


def spark_phase(params_file: Path, log, **run_kwargs) -> dict:
    """One runner call with the JVM sampled; its wall clock, and stage times from its manifest."""
    load_before = os.getloadavg()[0]
    with PeakSampler(spark_jvm_trees) as sampler:
        started = time.monotonic()
        result, marks = _run(params_file, log, **run_kwargs)
        wall_s = round(time.monotonic() - started, 1)
    return {
        "run_id": result.run_id,
        "wall_s": wall_s,
        "stages": {s["stage"]: s["duration_s"] for s in result.manifest["stages"]},
        "server_startup_s": server_startup_s(marks),
        "peak_rss_mb": sampler.peak_mb,
        "cpu_s": sampler.cpu_s,
        "load": [load_before, os.getloadavg()[0]],
    }


def input_rows(params: Params, run_id: str, full_refresh: bool) -> dict:
    """Rows each stage of run ``run_id`` read: Bronze records for silver, committed measurements of its read days for gold.

    From the plan the run recorded: planned again after the run, a day the run
    caught up on (unconsumed then, consumed now) would be missing.
    """
    from gnp.lake import lakehouse
    from gnp.orchestration import runplan
    from gnp.quality.results import committed_rows
    from gnp.silver import parse

    registry = Registry.from_params(params)
    plan = runplan.load(registry, run_id) or runplan.compute(params, registry, run_id, full_refresh)
    silver_plan, gold_plan = plan.silver, plan.gold
    measurements = registry.table_path("measurements")
    return {
        "silver": sum(f.record_count for f in parse.list_bronze_files(registry, silver_plan.bronze_days)),
        "gold": committed_rows(measurements, None if full_refresh else gold_plan.read_days),
        "plan": f"silver {silver_plan.describe()}; gold {gold_plan.describe()}",
        "measurement_partitions": len(lakehouse.partitions(measurements)),
    }


def daily_phase(base: Params, options: BenchOptions, folder: Path, log) -> dict:
    """The daily run on a lake holding the history: every stage of ``gnp run --from D --to D`` for a new day."""
    from gnp.silver import parse

    day = options.new_day
    tests = options.daily_tests or base.source.sample_tests_per_day
    params_file = _write_params(bench_params(base, options, folder, folder / "bronze", tests), folder / "daily.yaml")
    phase = spark_phase(params_file, log, date_from=day.isoformat(), date_to=day.isoformat())
    params = load_params(params_file, {"dates.date_from": day.isoformat(), "dates.date_to": day.isoformat()})
    rows = input_rows(params, phase["run_id"], full_refresh=False)
    new_records = sum(f.record_count for f in parse.list_bronze_files(Registry.from_params(params), [day]))
    return {**phase, "input_rows": rows, "plan": rows["plan"], "date": day.isoformat(), "tests_per_day": tests,
            "new_day_records": new_records}


def first_run_params(base: Params, folder: Path) -> dict:
    """The base params as ``make run`` takes them (source, days, Spark, semantics), every location inside ``folder``."""
    data = base.model_dump(mode="json")
    data["storage"] = {**data["storage"], "lake": str(folder / "lake"), "bronze": None,
                       "artifacts": str(folder / "artifacts")}
    data["warehouse"] = {"kind": "duckdb", "duckdb_path": str(folder / "warehouse.duckdb")}
    data["privacy"] = {**data["privacy"], "pseudonym_key_file": str(folder / "secrets" / "pseudonym.key")}
    data["spark"] = {**data["spark"], "remote": None}
    return data


def first_run_phase(base: Params, folder: Path, log) -> dict:
    """What a new user meets: every stage of the base params' days on an empty lake (``make run`` after the
    install), then ``gnp run --from D --to D`` of the next day on the lake that left (the sample lake's day)."""
    from gnp.silver import parse

    params_file = _write_params(first_run_params(base, folder), folder / "params.yaml")
    first, last = base.dates.date_from, base.dates.date_to
    log(f"first run: every stage of {first}..{last} on an empty lake (make run after the install) ...")
    empty = spark_phase(params_file, log)
    day = last + dt.timedelta(days=1)
    log(f"first run: one new day, {day}, on the lake it left ...")
    one_day = spark_phase(params_file, log, date_from=day.isoformat(), date_to=day.isoformat())
    params = load_params(params_file, {"dates.date_from": day.isoformat(), "dates.date_to": day.isoformat()})
    rows = input_rows(params, one_day["run_id"], full_refresh=False)
    new_records = sum(f.record_count for f in parse.list_bronze_files(Registry.from_params(params), [day]))
    return {"days": (last - first).days + 1, "date_from": first.isoformat(), "date_to": last.isoformat(),
            "empty_lake": empty, "one_day": {**one_day, "input_rows": rows, "plan": rows["plan"],
                                             "date": day.isoformat(), "new_day_records": new_records}}


def bench_size(base: Params, options: BenchOptions, bench_dir: Path, folder: Path, meta: dict, log) -> dict:
    """Every phase for one history size; its report (``bench_report.assemble_report``)."""
    from gnp.devtools.bench_reference import reference_phase

    rows, label = options.size, options.label
    ingest = prepare_bronze(base, options, bench_dir, folder / "bronze", log)
    params_file = _write_params(bench_params(base, options, folder, folder / "bronze"), folder / "params.yaml")
    log(f"{label}: Spark full refresh of silver and gold ...")
    spark_full = spark_phase(params_file, log, stages=["silver", "gold"], full_refresh=True)
    spark_full["input_rows"] = input_rows(load_params(params_file), spark_full["run_id"], full_refresh=True)
    log(f"{label}: DuckDB SQL reference on the same Bronze ...")
    reference = reference_phase(params_file, folder)
    daily = None
    if options.incremental:
        log(f"{label}: daily run of {options.new_day} (every stage) ...")
        daily = daily_phase(base, options, folder, log)
    size_meta = {**meta, "bench_id": f"{meta['bench_id']} at {label}", "rows": rows, "days": options.days,
                 "months": options.months if options.grown else None}
    report = bench_report.assemble_report(size_meta, ingest, spark_full, daily, reference)
    if not options.keep_data:  # a size's lake goes before the next size's: the largest needs the disk
        for leftover in ("lake", "bronze", "reference.duckdb", "reference.duckdb.wal", "warehouse.duckdb"):
            path = folder / leftover
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return report


def run_bench(params_file: str, options: BenchOptions, log=print) -> tuple[dict, str]:
    """Run every size's phases and write one report; returns the report and its markdown."""
    import duckdb
    import pyspark

    base = load_params(params_file)
    bench_dir = Path(Registry.from_params(base).bench_dir())
    sizes = options.sizes
    histories = [options.for_size(rows) for rows in sizes]
    if options.months:
        histories.append(options.for_months(options.daily_tests or base.source.sample_tests_per_day))
    if not histories and not options.first_run:
        raise UsageError("nothing to bench: --rows none needs --months N (a history grown by N months), "
                         "or the first run (without --no-first-run)")
    grown = f"-{options.months}months" if options.months else ""
    packed = f"-{'-'.join(map(str, sizes))}rows" if sizes else ""
    first = "-first-run" if options.first_run else ""
    bench_id = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}{first}{packed}{grown}"
    started = time.monotonic()

    def progress(message: str) -> None:
        log(f"[bench {time.monotonic() - started:.0f} s] {message}")

    meta = {"bench_id": bench_id, "rows": list(sizes), "days": options.days, "months": options.months or None,
            "machine": machine(),
            "versions": {"pyspark": pyspark.__version__, "duckdb": duckdb.__version__, "python": sys.version.split()[0]},
            "git": manifest.git_commit(runner.PROJECT_ROOT), "spark": base.spark.model_dump(mode="json")}
    first_run = None
    if options.first_run:
        folder = bench_dir / bench_id / "first-run"
        first_run = first_run_phase(base, folder, progress)
        if not options.keep_data:
            for leftover in ("lake", "warehouse.duckdb"):
                path = folder / leftover
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    size_reports = [
        bench_size(base, history, bench_dir, bench_dir / bench_id / history.folder_name,
                   {key: meta[key] for key in ("bench_id", "machine")}, progress)
        for history in histories
    ]
    report = bench_goals.assemble_bench(meta, size_reports, first_run)
    markdown = bench_goals.to_markdown(report)
    bench_dir.mkdir(parents=True, exist_ok=True)
    (bench_dir / f"{bench_id}.json").write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    for name in (f"{bench_id}.md", "latest.md"):
        (bench_dir / name).write_text(markdown, encoding="utf-8")
    progress(f"reports: {bench_dir / bench_id}.json and .md")
    return report, markdown
