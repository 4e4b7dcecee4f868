"""The chapter notebooks executed by papermill on two different synthetic Gold sets: their sentences follow the data.

Gold B is Gold A with Attica's download statistics cut to a fifth and seed 8's
noise, so the regions chapter must name another fastest periphery and Attica
among the slowest, and every chapter's sentences must differ. Real papermill,
the project kernel, DuckDB files read through the chapters' read path.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import papermill
import pytest
from dashboard.synthetic_gold import synthetic_gold, write_gold_duckdb, write_params

from gnp.core import context
from gnp.orchestration import kernels
from gnp.orchestration.runner import kernel_name

pytestmark = pytest.mark.slow
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHAPTERS = ["60_regions", "70_providers", "80_frustration"]
ATTICA = "9"
SPEEDS = ["download_mean_test_mbps", "download_p25_mbps", "download_median_mbps", "download_p75_mbps",
          "download_logavg_mbps"]


def slow_attica(frames):
    cut = {}
    for table in ("area_isp_metrics", "area_isp_period_metrics"):
        metrics = frames[table].copy()
        attica = metrics["area_id"].str.startswith(ATTICA) & (metrics["periphery_id"] == ATTICA)
        metrics.loc[attica, SPEEDS] = metrics.loc[attica, SPEEDS] / 5
        cut[table] = metrics
    return {**frames, **cut}


def findings_text(executed: Path) -> str:
    """Every Markdown output of the executed notebook: the chapter's sentences."""
    nb = nbformat.read(executed, as_version=4)
    return "\n".join(out["data"]["text/markdown"] for cell in nb.cells if cell.cell_type == "code"
                     for out in cell.get("outputs", []) if "text/markdown" in out.get("data", {}))


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Each chapter on each Gold, three notebooks at a time (each in a thread and kernel of its own, as the
    runner runs the read-only stages)."""
    golds = {"a": synthetic_gold(7), "b": slow_attica(synthetic_gold(8))}
    jobs = {}
    for name, frames in golds.items():
        folder = tmp_path_factory.mktemp(f"gold-{name}")
        write_gold_duckdb(folder / "warehouse.duckdb", frames)
        params_file = write_params(folder, folder / "warehouse.duckdb")
        for chapter in CHAPTERS:
            jobs[name, chapter] = (params_file, folder / f"{chapter}.ipynb")

    def execute(job):
        # As the runner does: a kernel started in the notebooks' folder (papermill's ``cwd`` would change the
        # working directory of the whole process, which the threads share) and handed to papermill.
        params_file, target = jobs[job]
        km = kernels.start(kernel_name(), NOTEBOOKS)
        papermill.execute_notebook(str(NOTEBOOKS / f"{job[1]}.ipynb"), str(target),
                                   parameters={"params_file": str(params_file)}, kernel_name=kernel_name(),
                                   engine_name=kernels.ENGINE, km=km, progress_bar=False)
        return target

    with ThreadPoolExecutor(max_workers=len(CHAPTERS)) as pool:
        return dict(zip(jobs, pool.map(execute, jobs)))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_states_findings_and_draws_charts(executed, chapter):
    nb = nbformat.read(executed["a", chapter], as_version=4)
    svgs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) >= 3, f"{chapter}: expected 3 SVG charts, found {len(svgs)}"
    text = findings_text(executed["a", chapter])
    assert text.count("\n- ") >= 4 and "This chapter reads Gold for 9 Dec 2024 to 6 Feb 2025" in text, text


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_sentences_change_with_the_gold_they_read(executed, chapter):
    a, b = findings_text(executed["a", chapter]), findings_text(executed["b", chapter])
    assert a != b, f"{chapter}: the same sentences on two different Gold sets:\n{a}"
    numbers = lambda s: re.findall(r"\d[\d,.]*", s)  # noqa: E731
    assert numbers(a) != numbers(b), f"{chapter}: the numbers did not change"


def test_the_regions_chapter_names_the_new_fastest_and_slowest(executed):
    a, b = findings_text(executed["a", "60_regions"]), findings_text(executed["b", "60_regions"])
    assert "the fastest was ΑΤΤΙΚΗΣ" in a, a
    assert "the fastest was ΑΤΤΙΚΗΣ" not in b and "the slowest ΑΤΤΙΚΗΣ" in b, b


def test_in_a_run_a_chapter_reads_the_run_contexts_days_not_the_yaml(tmp_path):
    """The run's days are January 2025, one whole month of the synthetic Gold (the YAML says 9 Dec to 6 Feb): the
    rankings are Gold's exact medians, no "≈". The chapter gets the context file only, as from the runner."""
    write_gold_duckdb(tmp_path / "warehouse.duckdb", synthetic_gold(7))
    params_file = write_params(tmp_path, tmp_path / "warehouse.duckdb")
    run = context.build(str(params_file), "2025-01-01", "2025-01-31", run_id="r-january")
    context.record(run)
    target = tmp_path / "60_regions.ipynb"
    papermill.execute_notebook(str(NOTEBOOKS / "60_regions.ipynb"), str(target),
                               parameters={"run_context": run.location, "params_file": "/nonexistent.yaml"},
                               kernel_name=kernel_name(), cwd=str(NOTEBOOKS), progress_bar=False)
    text = findings_text(target)
    ranking = next(line for line in text.splitlines() if "the fastest was" in line)
    assert "This chapter reads Gold for 1 Jan 2025 to 31 Jan 2025" in text, text
    assert "medians over the month are exact" in text and "Mbps" in ranking and "≈" not in ranking, text
