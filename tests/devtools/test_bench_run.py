"""`gnp bench --rows 20000,40000`, for real: the first run and its new day, two history sizes, one report.

The real console script in a subprocess: real ingest of generated Bronze, a real
Spark Connect server and papermill for the full refresh and for each daily run,
the DuckDB reference in its own process and its Gold cross-check. Small sizes
only: the figures are not the point, their presence and their honesty are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gnp.orchestration import runner

# Two sizes, each a full refresh and a daily run of every stage: about 16 min per size at a load of 15 on 2 cores.
# About 16 min per size on 2 cores: outside the default suite (`make test-heavy`); the bench's parts are
# tested in-process in test_bench_report.py and test_bench_probe.py, its reference in test_reference_sql*.py.
pytestmark = [pytest.mark.slow, pytest.mark.heavy, pytest.mark.timeout(3600)]
GNP = Path(sys.executable).with_name("gnp")  # the console script installed in the venv beside this python
CI_PARAMS = Path(__file__).resolve().parents[2] / "params" / "ci.yaml"
SIZES = (20_000, 40_000)


def test_one_bench_reports_daily_runs_and_full_refresh_ratios_at_both_sizes(tmp_path):
    params = yaml.safe_load(CI_PARAMS.read_text())  # its Spark settings and a daily new day of 300 tests
    params["storage"] = {"lake": str(tmp_path / "lake"), "artifacts": str(tmp_path / "artifacts")}
    params["warehouse"]["duckdb_path"] = str(tmp_path / "warehouse.duckdb")
    params["privacy"] = {"pseudonym_key_file": str(tmp_path / "secrets" / "pseudonym.key")}
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))

    result = subprocess.run([str(GNP), "bench", "--params", str(params_file), "--rows", "40000,20000", "--months", "0"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=3500, env=dict(os.environ))

    assert result.returncode == 0, f"gnp bench failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    [report_file] = (tmp_path / "artifacts" / "bench").glob("*-first-run-20000-40000rows.json")
    report = json.loads(report_file.read_text())
    first_run = report["first_run"]  # the params' own days (ci: 4) on an empty lake, then the day after
    assert (first_run["date_from"], first_run["date_to"], first_run["days"]) == ("2025-10-25", "2025-10-28", 4)
    assert list(first_run["empty_lake"]["stages"]) == [stage.name for stage in runner.discover_stages()]
    assert first_run["one_day"]["date"] == "2025-10-29" and 0 < first_run["one_day"]["new_day_records"] < 1000
    assert first_run["empty_lake"]["wall_s"] > sum(first_run["empty_lake"]["stages"].values()) / 2 > 0
    assert report["rows"] == list(SIZES) and [s["rows"] for s in report["summary"]] == list(SIZES)
    every_stage = [stage.name for stage in runner.discover_stages()]
    read_only = {stage.name for stage in runner.discover_stages() if stage.read_only}
    for size, summary in zip(report["sizes"], report["summary"]):
        rows = summary["rows"]
        # Honest sizes: each size's own Bronze, about its rows (whole tests per day over 30 days).
        assert abs(summary["bronze_records"] - rows) <= 0.05 * rows, summary
        assert summary["ratio"] and summary["spark_total_s"] and summary["duckdb_s"], summary
        assert summary["spark_peak_rss_mb"] > 100, summary
        assert summary["equal"], f"Spark and the DuckDB reference differ at {rows} rows: {size['cross_check']}"
        daily = size["daily_run"]
        assert daily["date"] == "2025-10-31" and daily["tests_per_day"] == 300, daily
        assert 0 < daily["new_day_records"] < 1000, "the daily run's new day is the params' sample day, not the history's"
        assert list(daily["stages"]) == every_stage, "the daily run runs every stage, as `gnp run` does"
        # Wall clock of the whole run: every stage (the read-only ones side by side: the longest of them), plus the
        # server start and the runner's own time.
        one_after_another = sum(s for name, s in daily["stages"].items() if name not in read_only)
        side_by_side = max(s for name, s in daily["stages"].items() if name in read_only)
        assert daily["wall_s"] > one_after_another + side_by_side + daily["server_startup_s"] - 1, daily
        assert daily["server_startup_s"] > 0, daily
    goals = {goal["goal"].split(":")[0]: goal for goal in report["goals"]}
    assert goals["daily run independent of history"]["met"] is not None, "two sizes measure the daily run's growth"
    figure = goals["daily run independent of history"]["figure"]
    assert all(f"at {s['bronze_records']:,} records" in figure for s in report["summary"]), figure
    assert goals["full refresh at 1,000,000 rows"]["met"] is None, "no 1M size in this bench"
    assert goals["peak RSS of the largest full refresh (Spark JVM tree) at most 4,096 MB"]["met"] is not None

    printed = result.stdout
    for summary in report["summary"]:
        assert f"| {summary['rows']:,} | {summary['bronze_records']:,} |" in printed, printed[-3000:]
    assert printed.count("Daily run (`gnp run --from 2025-10-31 --to 2025-10-31`, every stage") == 2, printed[-3000:]
    assert "\nGoals:\n" in printed and "- make run on an empty lake, 2025-10-25..2025-10-28 (4 days): " in printed
    leftovers = [p for p in (tmp_path / "artifacts" / "bench").glob("*rows/*rows/lake")]
    assert not leftovers, f"a size's lake was kept without --keep-data: {leftovers}"
