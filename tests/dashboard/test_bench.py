"""``gnp bench-dashboard`` end to end on the synthetic Gold: two visitors, the filter changes, the table."""

from __future__ import annotations

import os

import pytest

from gnp.devtools.dashboard_bench import DashboardBenchOptions, markdown, run_dashboard_bench
from gnp.devtools.dashboard_probe import CHROMIUM


@pytest.mark.slow
def test_the_bench_times_every_visit_and_change_and_prints_medians_and_maxima(gold_params_file):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")

    result = run_dashboard_bench(str(gold_params_file), DashboardBenchOptions(visitors=2, spacing_s=1.0, pool=1))

    assert len(result.visits) == 2 and all(seconds > 0 for _, seconds in result.visits), result.visits
    labels = [label for label, _, _ in result.changes]
    assert len(labels) == 10 and labels[0] == "visitor 1: periphery" and labels[-1] == "visitor 2: all ISPs again"
    assert all(0 < kernel <= seconds for _, seconds, kernel in result.changes), result.changes
    assert result.kernels >= 2 and len(result.kernel_mb) == result.kernels
    table = markdown(result)
    assert "last run's Gold" in table and "Visits: median" in table and "Filter changes: median" in table, table


def test_gold_is_summarised_or_found_missing(gold_params, tmp_path):
    from gnp.devtools.dashboard_bench import gold_summary

    summary = gold_summary(gold_params)
    assert summary is not None and summary.startswith("2024-12-09 .. 2025-02-06 (60 days)"), summary
    missing = gold_params.model_copy(update={"warehouse": gold_params.warehouse.model_copy(
        update={"duckdb_path": str(tmp_path / "absent.duckdb")})})
    assert gold_summary(missing) is None, "expected no Gold found, so that the bench builds one"
