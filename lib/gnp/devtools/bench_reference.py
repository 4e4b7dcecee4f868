"""The DuckDB phase of ``gnp bench``: the SQL reference's Silver and Gold, timed, in a process of its own.

A separate process so its memory is its own to measure and nothing of it stays
in the bench's process; after the timed part it compares, untimed, its counts
and Gold with what Spark committed to the same lake.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path

import psutil

from gnp.core.config import load_params
from gnp.core.registry import Registry
from gnp.devtools.bench import SILVER_TABLES, BenchError, bronze_files
from gnp.devtools.bench_probe import PeakSampler


def reference_worker(params_file: str, db_path: str, out_path: str) -> None:
    """The DuckDB phase, run in its own process: timed Silver and Gold, then the untimed cross-check."""
    import duckdb

    from gnp.core.schemas import TABLES
    from gnp.devtools.reference_sql import compare_tables, reference_gold
    from gnp.devtools.reference_sql.silver import build_silver
    from gnp.lake import lakehouse
    from gnp.quality.results import committed_rows
    from gnp.serving.warehouse import view_sql
    from gnp.silver import pseudonym

    params = load_params(params_file)
    registry = Registry.from_params(params)
    files, key = bronze_files(params), pseudonym.load_key(params)
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
