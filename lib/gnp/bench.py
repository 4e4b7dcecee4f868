"""``gnp bench``: the Spark pipeline against the DuckDB SQL reference on the same generated Bronze.

Phases, one after another so they never share the CPU:
1. Bronze: ``rows`` sample records over ``days`` days, ingested by the real
   ingest stage (timed, not compared). The result is kept in a cache under
   the bench folder and hard-linked into each bench (Bronze is append-only),
   so a second bench of the same size skips the generation.
2. Spark full refresh of silver and gold through the real runner (papermill,
   one Spark Connect server), stage times from the run manifest.
3. The DuckDB reference (``reference_sql``): Silver from Bronze and every Gold
   table, in its own process; then, untimed, its counts and Gold are compared
   with what Spark committed.
4. Spark one-day incremental run: the last day fetched again, ``--from D --to D``.

Peak memory is sampled with psutil: the Spark JVM process tree, and the
DuckDB process. Everything lands in ``<artifacts>/bench/<bench id>/``; the
reports (JSON, markdown) in ``<artifacts>/bench/``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import multiprocessing
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

from gnp import bench_report, manifest, runner
from gnp.config import Params, load_params
from gnp.errors import GnpError
from gnp.registry import Registry

FIRST_DAY = dt.date(2025, 10, 1)  # 30 days from here include the DST change on 2025-10-26
SAMPLE_INTERVAL_S = 0.25
USERS_PER_DAILY_TEST = 1.5  # the local params' ratio: 3000 users for 2000 tests a day
MIN_USERS = 3000
SERVER_START_MESSAGE = "starting the run's Spark Connect server"
SILVER_TABLES = ("measurements", "quarantine", "sessions")
MB = 1024 * 1024


class BenchError(GnpError):
    """A phase of the benchmark failed; the message says which and where to look."""


@dataclass(frozen=True)
class BenchOptions:
    rows: int = 1_000_000
    days: int = 30
    seed: int = 42
    incremental: bool = True
    keep_data: bool = False  # keep the bench's lake, Bronze copy and DuckDB file
    fresh_bronze: bool = False  # generate Bronze again even if the cache has it

    @property
    def tests_per_day(self) -> int:
        return math.ceil(self.rows / self.days)

    @property
    def last_day(self) -> dt.date:
        return FIRST_DAY + dt.timedelta(days=self.days - 1)


class PeakSampler:
    """Samples the summed RSS and the CPU time of a set of processes in a thread; keeps the peak."""

    def __init__(self, find: Callable[[], list[psutil.Process]], interval_s: float = SAMPLE_INTERVAL_S):
        self._find, self._interval = find, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak_bytes = 0
        self._cpu: dict[int, float] = {}

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for proc in self._find():
                try:
                    total += proc.memory_info().rss
                    times = proc.cpu_times()
                    self._cpu[proc.pid] = times.user + times.system
                except psutil.Error:
                    continue
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self._interval)

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return round(self.peak_bytes / MB, 1)

    @property
    def cpu_s(self) -> float:
        """CPU time of every process seen, as last sampled (a process's CPU until shortly before it ended)."""
        return round(sum(self._cpu.values()), 1)


def spark_jvm_trees() -> list[psutil.Process]:
    """Java processes below this one (the run's Spark Connect server), with their children."""
    found: dict[int, psutil.Process] = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.name() == "java":
                found.update({p.pid: p for p in [proc, *proc.children(recursive=True)]})
        except psutil.Error:
            continue
    return list(found.values())


def bench_params(base: Params, options: BenchOptions, folder: Path, bronze: Path) -> dict:
    """Params of a bench: the sample source sized by ``options``, every location inside ``folder``.

    Spark and semantics settings come from the base params, so the bench
    measures what the pipeline runs; the Spark session is always local.
    """
    return {
        "env": "bench",
        "source": {"kind": "sample", "sample_seed": options.seed, "sample_tests_per_day": options.tests_per_day,
                   "sample_users": max(MIN_USERS, int(options.tests_per_day * USERS_PER_DAILY_TEST))},
        "dates": {"date_from": FIRST_DAY.isoformat(), "date_to": options.last_day.isoformat(), "lookback_days": 1},
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
    cache = bench_dir / "bronze-cache" / f"seed{options.seed}-rows{options.rows}-days{options.days}"
    done = cache / "_complete.json"
    generate = options.fresh_bronze or not done.exists()
    if generate:
        shutil.rmtree(cache, ignore_errors=True)
        params_file = _write_params(bench_params(base, options, cache, cache / "bronze"), cache / "params.yaml")
        log(f"[bench] generating and ingesting {options.rows:,} sample rows over {options.days} days ...")
        result, _ = _run(params_file, log, stages=["ingest"])
        files = _bronze_files(load_params(params_file))
        info = {"wall_s": result.manifest["stages"][0]["duration_s"], "bronze_records": sum(f.record_count for f in files),
                "bronze_files": len(files)}
        done.write_text(json.dumps(info), encoding="utf-8")
    info = {**json.loads(done.read_text(encoding="utf-8")), "cached": not generate}
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(cache / "bronze", target, copy_function=os.link)
    return info


def _bronze_files(params: Params):
    from gnp.silver import parse
    from gnp.silver.stage import bronze_days

    registry = Registry.from_params(params)
    return parse.list_bronze_files(registry, bronze_days(registry))


def spark_phase(params_file: Path, log, **run_kwargs) -> dict:
    """One runner call with the JVM sampled; stage times from its manifest."""
    load_before = os.getloadavg()[0]
    with PeakSampler(spark_jvm_trees) as sampler:
        result, marks = _run(params_file, log, **run_kwargs)
    return {
        "run_id": result.run_id,
        "stages": {s["stage"]: s["duration_s"] for s in result.manifest["stages"]},
        "server_startup_s": server_startup_s(marks),
        "peak_rss_mb": sampler.peak_mb,
        "cpu_s": sampler.cpu_s,
        "load": [load_before, os.getloadavg()[0]],
    }


def input_rows(params: Params, full_refresh: bool) -> dict:
    """Rows each stage reads: Bronze records for silver, committed measurements of its read days for gold."""
    from gnp import lakehouse
    from gnp.gold import stage as gold_stage
    from gnp.results import committed_rows
    from gnp.silver import parse
    from gnp.silver import stage as silver_stage

    registry = Registry.from_params(params)
    silver_plan = silver_stage.plan(params, registry, full_refresh)
    gold_plan = gold_stage.plan(silver_plan)
    measurements = registry.table_path("measurements")
    return {
        "silver": sum(f.record_count for f in parse.list_bronze_files(registry, silver_plan.bronze_days)),
        "gold": committed_rows(measurements, None if full_refresh else gold_plan.read_days),
        "plan": f"silver {silver_plan.describe()}; gold {gold_plan.describe()}",
        "measurement_partitions": len(lakehouse.partitions(measurements)),
    }


def reference_worker(params_file: str, db_path: str, out_path: str) -> None:
    """The DuckDB phase, run in its own process: timed Silver and Gold, then the untimed cross-check."""
    import duckdb

    from gnp import lakehouse
    from gnp.reference_sql import compare_tables, reference_gold
    from gnp.reference_sql.silver import build_silver
    from gnp.results import committed_rows
    from gnp.schemas import TABLES
    from gnp.silver import pseudonym
    from gnp.warehouse import view_sql

    params = load_params(params_file)
    registry = Registry.from_params(params)
    files, key = _bronze_files(params), pseudonym.load_key(params)
    started = time.monotonic()
    con = duckdb.connect(db_path)
    counts = build_silver(con, files, key, params.semantics)
    silver_done = time.monotonic()
    expected = reference_gold(con, params.semantics)
    gold_done = time.monotonic()
    con.execute("CREATE SCHEMA IF NOT EXISTS spark_gold")
    for name in expected:
        con.execute(view_sql(con, f"spark_gold.{name}", TABLES[name], lakehouse.current_files(registry.table_path(name))))
    found = {name: con.execute(f"SELECT * FROM spark_gold.{name}").df() for name in expected}
    differences = compare_tables(found, expected)
    result = {
        "stages": {"silver": round(silver_done - started, 1), "gold": round(gold_done - silver_done, 1)},
        "counts": {"measurements": counts.silver_rows, "quarantine": counts.quarantine_rows, "sessions": counts.sessions},
        "spark_counts": {name: committed_rows(registry.table_path(name)) for name in SILVER_TABLES},
        "gold_differences": {name: len(found) for name, found in differences.items()},
        "gold_difference_examples": {name: found[:3] for name, found in differences.items() if found},
    }
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")


def reference_phase(params_file: Path, folder: Path) -> dict:
    """``reference_worker`` in a fresh process, its RSS and CPU sampled."""
    out = folder / "reference.json"
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=reference_worker, args=(str(params_file), str(folder / "reference.duckdb"), str(out)))
    load_before = os.getloadavg()[0]
    process.start()
    watched = psutil.Process(process.pid)
    with PeakSampler(lambda: [watched, *watched.children(recursive=True)] if watched.is_running() else []) as sampler:
        process.join()
    if process.exitcode != 0:
        raise BenchError(f"the DuckDB reference failed with exit code {process.exitcode} (see its output above)")
    return {**json.loads(out.read_text(encoding="utf-8")), "peak_rss_mb": sampler.peak_mb, "cpu_s": sampler.cpu_s,
            "load": [load_before, os.getloadavg()[0]]}


def machine() -> str:
    memory_gb = psutil.virtual_memory().total / 1024**3
    return f"{psutil.cpu_count()} cores, {memory_gb:.0f} GB, load {os.getloadavg()[0]:.1f} at start"


def run_bench(params_file: str, options: BenchOptions, log=print) -> tuple[dict, str]:
    """Run every phase and write the reports; returns the report and its markdown."""
    import duckdb
    import pyspark

    base = load_params(params_file)
    bench_dir = Path(Registry.from_params(base).bench_dir())
    bench_id = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{options.rows}rows"
    folder = bench_dir / bench_id
    started = time.monotonic()
    meta = {"bench_id": bench_id, "rows": options.rows, "days": options.days, "machine": machine(),
            "versions": {"pyspark": pyspark.__version__, "duckdb": duckdb.__version__, "python": sys.version.split()[0]},
            "git": manifest.git_commit(runner.PROJECT_ROOT), "spark": base.spark.model_dump(mode="json")}
    ingest = prepare_bronze(base, options, bench_dir, folder / "bronze", log)
    params_file_bench = _write_params(bench_params(base, options, folder, folder / "bronze"), folder / "params.yaml")
    params = load_params(params_file_bench)
    log(f"[bench {time.monotonic() - started:.0f} s] Spark full refresh of silver and gold ...")
    spark_full = spark_phase(params_file_bench, log, stages=["silver", "gold"], full_refresh=True)
    spark_full["input_rows"] = input_rows(params, full_refresh=True)
    log(f"[bench {time.monotonic() - started:.0f} s] DuckDB SQL reference on the same Bronze ...")
    reference = reference_phase(params_file_bench, folder)
    incremental = None
    if options.incremental:
        day = options.last_day.isoformat()
        log(f"[bench {time.monotonic() - started:.0f} s] Spark one-day incremental run ({day} fetched again) ...")
        incremental = spark_phase(params_file_bench, log, stages=["ingest", "silver", "gold"],
                                  date_from=day, date_to=day, refetch=True)
        rows = input_rows(load_params(params_file_bench, {"dates.date_from": day, "dates.date_to": day}), False)
        incremental.update(input_rows=rows, plan=rows["plan"])
    report = bench_report.assemble_report(meta, ingest, spark_full, incremental, reference)
    markdown = bench_report.to_markdown(report)
    (bench_dir / f"{bench_id}.json").write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    for name in (f"{bench_id}.md", "latest.md"):
        (bench_dir / name).write_text(markdown, encoding="utf-8")
    if not options.keep_data:
        for leftover in ("lake", "bronze", "reference.duckdb", "reference.duckdb.wal", "warehouse.duckdb"):
            path = folder / leftover
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    log(f"[bench {time.monotonic() - started:.0f} s] reports: {bench_dir / bench_id}.json and .md")
    return report, markdown
