"""The run plan: computed once by the runner, recorded as plan.json, loaded by the stages, exact in JSON.

Fast tests on real Bronze files (the Bronze writer, no Spark); slow ones run
the runner with papermill: once with stub notebooks (the plan is computed once
and every stage loads it), once with the real Silver and Gold notebooks and a
stage between them that stores a Bronze version late.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import nbformat
import pytest
import yaml

from gnp.core import manifest
from gnp.core.config import load_params
from gnp.core.errors import UsageError
from gnp.core.registry import Registry
from gnp.lake import lakehouse
from gnp.orchestration import runner, runplan
from gnp.silver import stage as silver_stage
from silver.bronze_factories import record, write_day
import stub_notebooks

from orchestration.plan_days import (DAY, DAY_ANSWER, FIRST_FETCH, LATE_ANSWER, LATE_FETCH, NEXT, OTHER,
                                      UTC)

from ci_params import CI_SPARK_SECTION

TESTS = Path(__file__).resolve().parents[1]


def params_file(folder: Path, first: dt.date = DAY, last: dt.date = DAY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump({
        "env": "test",
        "dates": {"date_from": first.isoformat(), "date_to": last.isoformat()},
        "storage": {"lake": str(folder / "lake"), "artifacts": str(folder / "artifacts")},
        "warehouse": {"kind": "duckdb", "duckdb_path": str(folder / "warehouse.duckdb")},
        "privacy": {"pseudonym_key_file": str(folder / "secrets" / "pseudonym.key")},
        "spark": CI_SPARK_SECTION,  # the runs here start a server: the suite's JVM options
    }))
    return path


def setup(folder: Path, first: dt.date = DAY, last: dt.date = DAY):
    params = load_params(params_file(folder, first, last))
    return params, Registry.from_params(params)


# --- fast: no Spark ------------------------------------------------------------

def test_the_plan_survives_its_json_exactly_with_iso_dates(tmp_path):
    params, registry = setup(tmp_path)
    write_day(registry, DAY, DAY_ANSWER, FIRST_FETCH)
    write_day(registry, NEXT, LATE_ANSWER[2:], FIRST_FETCH, run_id="r1")

    for full_refresh in (False, True):
        plan = runplan.compute(params, registry, "r1", full_refresh)
        text = json.dumps(runplan.to_json(plan))
        back = runplan.from_json(json.loads(text))

        assert back == plan, f"expected {plan}, found {back}"
        assert type(back.silver.days) is tuple and type(back.tables["measurements"] or ()) is tuple, back
    incremental = runplan.to_json(runplan.compute(params, registry, "r1", False))
    assert incremental["silver"]["days"] == ["2025-11-05", "2025-11-06"], incremental["silver"]
    assert incremental["tables"]["sessions"] == ["2025-11-04", "2025-11-05", "2025-11-06"], incremental["tables"]
    assert incremental["tables"]["cohort_retention"] is None, incremental["tables"]
    assert incremental["silver"]["bronze_versions"][0][0] == "2025-11-05", incremental["silver"]["bronze_versions"]
    full = runplan.compute(params, registry, "r1", True)
    assert set(full.tables.values()) == {None}, f"expected every partition on a full refresh, found {full.tables}"


def test_the_tables_are_what_the_stages_record(tmp_path):
    params, registry = setup(tmp_path)
    write_day(registry, DAY, DAY_ANSWER, FIRST_FETCH)
    plan = runplan.compute(params, registry, "r1", False)

    from gnp.gold import stage as gold_stage

    expected = {**silver_stage.rewritten(plan.silver), **gold_stage.rewritten(plan.gold)}
    found = {name: None if only is None else list(only) for name, only in plan.tables.items()}
    assert found == expected, f"expected {expected}, found {found}"
    assert plan.tables["speed_histogram"] == (dt.date(2025, 11, 1),), plan.tables


def test_a_stage_loads_the_recorded_plan_and_a_later_bronze_version_does_not_change_it(tmp_path):
    params, registry = setup(tmp_path)
    write_day(registry, DAY, DAY_ANSWER, FIRST_FETCH)
    recorded = runplan.compute(params, registry, "r1", False)
    location = runplan.record(recorded, registry)
    write_day(registry, DAY, LATE_ANSWER, LATE_FETCH, run_id="r1")  # stored after the plan

    loaded = runplan.for_stage(params, registry, "r1", False)
    again = runplan.compute(params, registry, "r1", False)

    assert location == manifest.plan_location(registry, "r1") and Path(location).name == "plan.json", location
    assert loaded == recorded and loaded.silver.days == (DAY,), f"expected the recorded plan, found {loaded}"
    assert "recorded by the runner at" in loaded.describe() and location in loaded.describe(), loaded.describe()
    assert again.silver.days == (DAY, NEXT), f"a new plan would see the late version: {again.silver.days}"
    with pytest.raises(FileExistsError):
        runplan.record(again, registry)  # written once, never replaced


def test_a_notebook_run_alone_computes_its_plan_and_says_so(tmp_path):
    params, registry = setup(tmp_path)
    write_day(registry, DAY, DAY_ANSWER, FIRST_FETCH)

    alone = runplan.for_stage(params, registry, "", False)
    unplanned = runplan.for_stage(params, registry, "old-run", False)

    assert "computed by this notebook (no run id)" in alone.describe(), alone.describe()
    assert "computed by this notebook (run old-run recorded no plan)" in unplanned.describe(), unplanned.describe()
    assert alone.silver == silver_stage.plan(params, registry, False, ""), alone


def test_a_stage_given_another_full_refresh_than_its_run_is_refused(tmp_path):
    params, registry = setup(tmp_path)
    runplan.record(runplan.compute(params, registry, "r1", False), registry)

    with pytest.raises(UsageError, match="planned with full_refresh=False.*given full_refresh=True"):
        runplan.for_stage(params, registry, "r1", True)


def test_only_the_bronze_versions_the_plan_saw_are_consumed(tmp_path):
    """A refetch stored after the plan (here: with a test of the next day) is left to the next run."""
    params, registry = setup(tmp_path)
    write_day(registry, DAY, DAY_ANSWER, FIRST_FETCH)
    plan = runplan.compute(params, registry, "r1", False)
    write_day(registry, DAY, LATE_ANSWER, LATE_FETCH)

    silver_stage.record_consumed(registry, plan.silver)
    following = runplan.compute(*setup(tmp_path, OTHER, OTHER), "r2", False)

    assert following.silver.run_days == (DAY, OTHER), f"expected DAY unconsumed, found {following.silver.run_days}"
    assert following.silver.days == (DAY, NEXT, OTHER), following.silver.days


# --- slow: the runner ----------------------------------------------------------

def stub_notebook(path: Path, *cells: str, plan: bool) -> None:
    stub_notebooks.stub_notebook(path, *cells, plan=plan)


LOADS_THE_PLAN = "import gnp.orchestration.runplan\nprint(gnp.orchestration.runplan.for_context(ctx).describe())"


def outputs_text(path: Path) -> str:
    return json.dumps([c.get("outputs", []) for c in nbformat.read(path, as_version=4).cells])


@pytest.mark.slow
def test_the_runner_computes_the_plan_once_after_ingest_and_every_stage_loads_it(tmp_path, monkeypatch):
    path = params_file(tmp_path / "run")
    books = tmp_path / "notebooks"
    books.mkdir()
    # The "ingest" stores a Bronze version of a day outside the range: the plan must see this run's fetch.
    stub_notebook(books / "10_ingest.ipynb", f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
                  "import datetime as dt\nfrom gnp.core.config import load_params\nfrom gnp.core.registry import Registry\n"
                  "from silver.bronze_factories import record, write_day\n"
                  f"write_day(Registry.from_params(load_params(params_file)), dt.date(2025, 11, 1), "
                  f"[record(9, '2025-11-01 10:00:00')], run_id=run_id)", plan=False)
    stub_notebook(books / "20_silver.ipynb", LOADS_THE_PLAN, plan=True)
    stub_notebook(books / "30_gold.ipynb", LOADS_THE_PLAN, plan=True)
    stub_notebook(books / "40_publish.ipynb", LOADS_THE_PLAN, plan=True)
    calls = []
    compute = runplan.compute
    monkeypatch.setattr(runplan, "compute", lambda *args, **kw: calls.append(args[2]) or compute(*args, **kw))

    result = runner.run(str(path), notebooks=books, log=lambda *_: None)

    assert result.ok, json.dumps(result.manifest["stages"], indent=1)
    run_dir = Path(result.run_dir)
    assert calls == [result.run_id], f"expected the plan computed once, for this run, found {calls}"
    assert result.manifest["plan"] == str(run_dir / "plan.json"), result.manifest.get("plan")
    registry = Registry.from_params(load_params(path))
    recorded = runplan.load(registry, result.run_id)
    assert recorded.silver.run_days == (dt.date(2025, 11, 1), DAY), f"expected the ingest's day, found {recorded}"
    for name in ("20_silver", "30_gold", "40_publish"):
        text = outputs_text(run_dir / f"{name}.ipynb")
        assert "recorded by the runner at" in text and "2025-11-01, 2025-11-05" in text, f"{name}: {text[:1500]}"


@pytest.mark.slow
def test_a_plan_that_cannot_be_computed_stops_the_run_before_its_first_stage(tmp_path, monkeypatch):
    books = tmp_path / "notebooks"
    books.mkdir()
    stub_notebook(books / "20_silver.ipynb", "raise SystemExit('must not run')", plan=True)
    monkeypatch.setattr(runplan, "compute", lambda *args, **kw: (_ for _ in ()).throw(OSError("Bronze unreadable")))

    result = runner.run(str(params_file(tmp_path / "run")), notebooks=books, log=lambda *_: None)

    saved = json.loads((Path(result.run_dir) / "manifest.json").read_text())
    assert not result.ok and saved["stages"] == [] and saved["status"] == "failed", saved
    assert saved["plan"] is None and "Bronze unreadable" in saved["plan_error"], saved


def late_stage(folder: Path) -> Path:
    """The real Silver and Gold notebooks, with a stage between them that stores a refetch of DAY."""
    books = folder / "notebooks"
    books.mkdir(parents=True)
    for name in ("20_silver.ipynb", "30_gold.ipynb"):
        shutil.copy(runner.NOTEBOOKS / name, books / name)
    stub_notebook(books / "25_late.ipynb", f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
                  "from gnp.core.config import load_params\nfrom gnp.core.registry import Registry\n"
                  "from orchestration.plan_days import LATE_ANSWER, LATE_FETCH, DAY\nfrom silver.bronze_factories import write_day\n"
                  "write_day(Registry.from_params(load_params(params_file)), DAY, LATE_ANSWER, LATE_FETCH, run_id=run_id)",
                  plan=False)
    return books


def measurement_dates(registry: Registry) -> dict[int, dt.date]:
    files = ", ".join(f"'{f}'" for f in lakehouse.current_files(registry.table_path("measurements")))
    rows = duckdb.connect().execute(f"SELECT measurement_id, measurement_date FROM read_parquet([{files}])").fetchall()
    return dict(rows)


# Two runs of the real Silver and Gold notebooks, about 4 min: `make test-heavy`. In the default suite the
# rule is checked in-process: tests/silver/test_stage.py (unconsumed days, a day refilled by its own ingest).
@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.timeout(1800)
def test_gold_rewrites_the_recorded_plan_and_a_version_stored_during_the_run_goes_to_the_next_run(tmp_path):
    folder = tmp_path / "run"
    params, registry = setup(folder)
    write_day(registry, DAY, DAY_ANSWER, FIRST_FETCH)
    write_day(registry, OTHER, [record(7, f"{OTHER} 10:00:00", ip="10.0.0.7")], FIRST_FETCH)
    books = late_stage(tmp_path)

    first = runner.run(str(params_file(folder)), notebooks=books, log=print)

    assert first.ok, json.dumps(first.manifest["stages"], indent=1)
    plan = runplan.load(registry, first.run_id)
    gold = {o["name"]: o["partitions"] for o in first.manifest["outputs"] if o["stage"] == "gold"}
    assert plan.gold.days == (DAY - dt.timedelta(days=1), DAY), plan.gold
    assert gold["area_isp_metrics"] == [str(DAY - dt.timedelta(days=1)), str(DAY)], f"Gold planned again: {gold}"
    assert gold == {name: None if only is None else [d.isoformat() for d in only]
                    for name, only in plan.tables.items() if name in gold}, gold
    assert 3 not in measurement_dates(registry), "the late version's test reached Silver in the run that missed it"

    second = runner.run(str(params_file(folder, OTHER, OTHER)), notebooks=books, stages=["silver", "gold"], log=print)

    assert second.ok, json.dumps(second.manifest["stages"], indent=1)
    following = runplan.load(registry, second.run_id)
    assert following.silver.run_days == (DAY, OTHER), f"expected DAY unconsumed, found {following.silver}"
    assert NEXT in following.gold.days, following.gold
    assert measurement_dates(registry)[3] == NEXT, "expected the late test on its own date after the next run"


@pytest.mark.slow
def test_the_runner_marks_the_plans_bronze_consumed_only_once_gold_and_publish_succeeded(tmp_path):
    # Stub stages: what counts is when the runner records the consumed versions, not what the stages write.
    books = tmp_path / "notebooks"
    books.mkdir()
    for name in ("20_silver", "30_gold"):
        stub_notebook(books / f"{name}.ipynb", "pass", plan=True)
    stub_notebook(books / "40_publish.ipynb", "raise RuntimeError('BigQuery load failed')", plan=True)
    params, registry = setup(tmp_path / "run")
    write_day(registry, DAY, DAY_ANSWER, FIRST_FETCH)

    failed = runner.run(str(params_file(tmp_path / "run")), notebooks=books, log=lambda *_: None)

    assert not failed.ok and silver_stage.read_consumed(registry) is None, "a failed publish consumed the days"
    assert runplan.compute(params, registry, "next", False).silver.run_days == (DAY,)

    stub_notebook(books / "40_publish.ipynb", "pass", plan=True)
    done = runner.run(str(params_file(tmp_path / "run")), notebooks=books, log=lambda *_: None)

    assert done.ok, json.dumps(done.manifest["stages"], indent=1)
    assert silver_stage.read_consumed(registry) == {DAY: runplan.load(registry, done.run_id).silver.bronze_versions[0][1]}
    # Silver alone consumes nothing: Gold has not built from those versions.
    write_day(registry, DAY, LATE_ANSWER, LATE_FETCH)
    runner.run(str(params_file(tmp_path / "run")), stages=["silver"], notebooks=books, log=lambda *_: None)
    assert silver_stage.read_consumed(registry)[DAY] != runplan.compute(params, registry, "x", False).silver.bronze_versions[0][1]
