"""End to end: `gnp run` on the ci params, as CI and a new user run it.

Real papermill, a real Spark Connect server, the real HTTP client against the
fake data.gov.gr server, real Delta tables and DuckDB. One run, then the same
range again by two `gnp run` processes at once (the lake lock makes one wait),
then a run whose Gold check is broken on purpose, then checks that need them.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from gnp.core.config import load_params
from gnp.core.registry import Registry
from gnp.core.schemas import GOLD_TABLES, TABLES
from gnp.dashboard import report
from gnp.devtools.reference_sql import compare_tables, reference_gold, register_silver
from gnp.lake import lakehouse
from gnp.orchestration import runner

# Whole pipelines (two each) on 2 cores: far longer than the suite's 900 s default per test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2700)]
CI_PARAMS = Path(__file__).resolve().parents[1] / "params" / "ci.yaml"
STAGES = ["ingest", "silver", "gold", "report"]


def ci_params_in(folder: Path, **changes) -> Path:
    """The ci params with every location inside ``folder``."""
    data = yaml.safe_load(CI_PARAMS.read_text())
    data["storage"] = {"lake": str(folder / "lake"), "artifacts": str(folder / "artifacts")}
    data["warehouse"]["duckdb_path"] = str(folder / "warehouse.duckdb")
    data["privacy"] = {"pseudonym_key_file": str(folder / "secrets" / "pseudonym.key")}
    for section, values in changes.items():
        data.setdefault(section, {}).update(values)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def gold_snapshot(registry: Registry) -> dict[str, list[tuple]]:
    con = duckdb.connect(registry.duckdb_path, read_only=True)
    try:
        return {
            spec.name: con.execute(f"SELECT * FROM {registry.table_id(spec.name)} ORDER BY ALL").fetchall()
            for spec in GOLD_TABLES
            if spec.name != "quality_results"
        }
    finally:
        con.close()


def lake_snapshot(registry: Registry) -> dict[str, list[tuple]]:
    """Every Silver and Gold table's current rows (but quality_results), read from its Delta files."""
    con = duckdb.connect()
    found = {}
    for name in TABLES:
        files = lakehouse.current_files(registry.table_path(name))
        if name != "quality_results" and files:
            listed = ", ".join(f"'{f}'" for f in files)
            # Lineage names the Bronze version a row came from: a refetch of the lookback day makes a new one.
            lineage = [c for c in ("fetched_at", "bronze_file", "record_index") if c in TABLES[name].column_names]
            columns = f"* EXCLUDE ({', '.join(lineage)})" if lineage else "*"
            # The lookback day's refetch adds a Bronze version, and a record no time can be read from is
            # quarantined once per version: without lineage those rows repeat, whatever ran concurrently.
            distinct = "DISTINCT " if name == "quarantine" else ""
            found[name] = con.execute(f"SELECT {distinct}{columns} FROM read_parquet([{listed}]) ORDER BY ALL").fetchall()
    return found


def gnp_run_process(params_file: Path, run_id: str) -> subprocess.Popen:
    gnp = Path(sys.executable).parent / "gnp"
    return subprocess.Popen([str(gnp), "run", "--params", str(params_file), "--stages", "ingest,silver,gold",
                             "--run-id", run_id], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def notebooks_with_a_broken_gold_rule(folder: Path) -> Path:
    """The stage notebooks, with a critical Gold check that always fails added to the Gold checks."""
    target = folder / "notebooks"
    shutil.copytree(runner.NOTEBOOKS, target)
    gold = target / "30_gold.ipynb"
    text = gold.read_text()
    marker = 'checks = quality.evaluate_checks(run, \\"gold\\", quality.gold_targets(written))\\n'
    assert marker in text, "the Gold checks cell changed: update this test"
    broken = marker + 'checks.append(quality.result(run, \\"gold\\", \\"broken_on_purpose\\", quality.CRITICAL, False, \\"1\\", \\"0\\"))\\n'
    gold.write_text(text.replace(marker, broken))
    return target


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    params_file = ci_params_in(folder, storage={"lock_wait_s": 2400})
    first = runner.run(str(params_file), stages=STAGES, log=print)
    registry = Registry.from_params(load_params(params_file))
    gold_after_first = gold_snapshot(registry) if first.ok else {}
    lake_after_first = lake_snapshot(registry) if first.ok else {}
    # The same range again, by two `gnp run` at once: one waits for the other's lake lock.
    both = [gnp_run_process(params_file, run_id) for run_id in ("run-concurrent-a", "run-concurrent-b")]
    logs = [proc.communicate(timeout=2400)[0] for proc in both]
    concurrent = [(proc.returncode, log) for proc, log in zip(both, logs)]
    second = runner.RunResult("run-concurrent-b", registry.run_dir("run-concurrent-b"), both[1].returncode == 0,
                              json.loads(Path(registry.run_dir("run-concurrent-b"), "manifest.json").read_text()))
    return params_file, registry, first, second, gold_after_first, lake_after_first, concurrent


@pytest.fixture(scope="module")
def broken_run(two_runs, tmp_path_factory):
    params_file, registry = two_runs[0], two_runs[1]
    before = {name: lakehouse.current_files(registry.table_path(name)) for name in TABLES}
    result = runner.run(str(params_file), stages=["silver", "gold"], run_id="run-broken", log=print,
                        notebooks=notebooks_with_a_broken_gold_rule(tmp_path_factory.mktemp("broken")))
    return registry, before, result


def test_the_run_succeeds_and_keeps_every_executed_notebook_and_a_manifest(two_runs):
    _, registry, first = two_runs[:3]
    assert first.ok, json.dumps(first.manifest["stages"], indent=1)
    run_dir = Path(first.run_dir)
    executed = sorted(p.name for p in run_dir.glob("*.ipynb"))
    assert executed == ["10_ingest.ipynb", "20_silver.ipynb", "30_gold.ipynb", "50_report.ipynb"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and [s["status"] for s in manifest["stages"]] == ["succeeded"] * 4
    report = (run_dir / "dashboard.html").read_text(encoding="utf-8")
    assert report.count("<svg") >= 8 and "ΑΤΤΙΚΗΣ" in report and "<input" not in report, report[:500]
    written = {o["name"]: o for o in manifest["outputs"] if o["stage"] in ("silver", "gold")}
    assert set(written) == set(TABLES) - {"quality_results"}, sorted(written)
    assert all(o["rows"] > 0 for o in written.values()), written
    assert {o["name"] for o in manifest["outputs"] if o["stage"] == "ingest"} == {"bronze.hyperion"}
    # One plan for the run, written beside the notebooks: what Silver and Gold recorded rewriting is the plan's.
    plan = json.loads((run_dir / "plan.json").read_text())
    assert manifest["plan"] == str(run_dir / "plan.json"), manifest.get("plan")
    recorded = {name: o["partitions"] for name, o in written.items()}
    assert recorded == plan["tables"], f"expected the plan's partitions {plan['tables']}, found {recorded}"
    assert plan["silver"]["run_days"] == ["2025-10-25", "2025-10-26", "2025-10-27", "2025-10-28"], plan["silver"]


def test_bronze_holds_each_day_as_received(two_runs):
    params_file, registry = two_runs[:2]
    params = load_params(params_file)
    days = sorted(Path(registry.bronze_root).glob("measurement_date=*"))
    assert [d.name[-10:] for d in days] == ["2025-10-25", "2025-10-26", "2025-10-27", "2025-10-28"]
    for day in days:
        versions = sorted(day.glob("*.json.gz"))
        assert versions, f"no Bronze version in {day}"
        records = json.loads(gzip.decompress(versions[0].read_bytes()))
        assert isinstance(records, list) and len(records) > params.source.sample_tests_per_day // 2
        assert {"measurement_id", "client_ip", "measured_downstream_mbps"} <= set(records[0])


def test_every_bronze_record_is_accounted_for(two_runs):
    _, registry, first = two_runs[:3]
    con = duckdb.connect(registry.duckdb_path, read_only=True)
    rows = con.execute(
        f"SELECT run_id, passed, observed FROM {registry.table_id('quality_results')} "
        "WHERE check_name = 'accounting_invariant' ORDER BY run_id"
    ).fetchall()
    assert [r[0] for r in rows] == sorted([first.run_id, "run-concurrent-a", "run-concurrent-b"]), rows
    assert all(r[1] for r in rows), rows


def test_running_the_same_range_again_gives_identical_gold(two_runs):
    _, registry, first, second, gold_after_first = two_runs[:5]
    assert second.ok, json.dumps(second.manifest["stages"], indent=1)
    again = gold_snapshot(registry)
    for name, rows in gold_after_first.items():
        assert rows, f"{name} is empty after the first run"
        assert again[name] == rows, f"{name} changed between two runs of the same range"


def test_two_runs_at_once_take_turns_and_leave_every_table_as_one_run_does(two_runs):
    _, registry, _, _, _, lake_after_first, concurrent = two_runs
    for code, log in concurrent:
        assert code == 0, log[-3000:]
    assert lake_snapshot(registry) == lake_after_first, "two concurrent runs left other data than one run"
    for name in TABLES:  # commits of one run are never interleaved with the other's
        runs = [c["run_id"] for c in reversed(lakehouse.history(registry.table_path(name)))]
        concurrent_runs = [r for r in runs if r and r.startswith("run-concurrent-")]
        changes = sum(1 for a, b in zip(concurrent_runs, concurrent_runs[1:]) if a != b)
        assert changes <= 1, f"{name}: commits of the two runs interleave: {runs}"


def test_every_silver_and_gold_table_is_a_delta_table_and_the_manifest_has_its_versions(two_runs):
    _, registry, first = two_runs[:3]
    for name in TABLES:
        assert Path(registry.table_path(name), lakehouse.DELTA_LOG).is_dir(), f"{name} has no _delta_log"
    # Whichever of the two concurrent runs took the lock last made the table's last commit.
    last = lakehouse.history(registry.table_path("measurements"))[0]["run_id"]
    assert last in ("run-concurrent-a", "run-concurrent-b"), last
    versions = json.loads(Path(registry.run_dir(last), "manifest.json").read_text())["table_versions"]
    assert set(versions) == set(TABLES), sorted(versions)
    measurements = versions["measurements"]
    assert measurements["after"] == measurements["before"] + 1, f"expected one commit per run, found {measurements}"
    assert first.manifest["table_versions"]["measurements"]["before"] is None


def test_a_run_whose_critical_check_fails_publishes_nothing_and_the_dashboard_still_draws(broken_run):
    registry, before, result = broken_run
    assert not result.ok and "broken_on_purpose" in result.manifest["stages"][-1].get("error", ""), result.manifest
    # Silver passed its checks and keeps its new version; every table of the failing stage is as before.
    gold = [name for name, spec in TABLES.items() if spec.layer == "gold" and name != "quality_results"]
    after = {name: lakehouse.current_files(registry.table_path(name)) for name in gold}
    assert after == {name: before[name] for name in gold}, "a failing version stayed current"
    assert lakehouse.history(registry.table_path("regional_metrics"))[0]["operation"] == "RESTORE"
    con = duckdb.connect()
    files = ", ".join(f"'{f}'" for f in lakehouse.current_files(registry.table_path("quality_results")))
    failed = con.execute(f"SELECT check_name FROM read_parquet([{files}]) WHERE run_id = 'run-broken' AND NOT passed").fetchall()
    assert failed == [("broken_on_purpose",)], failed
    params = load_params(two_runs_params(registry))
    page = Path(report.write_run_report(params, "after-broken")).read_text(encoding="utf-8")
    assert page.count("<svg") >= 8, page[:500]


def two_runs_params(registry: Registry) -> str:
    return str(Path(registry.lake).parent / "params.yaml")


def test_spark_gold_matches_an_independent_duckdb_sql_recomputation(two_runs):
    params_file, registry = two_runs[:2]
    params = load_params(params_file)
    con = duckdb.connect()
    register_silver(con, {name: lakehouse.current_files(registry.table_path(name)) for name in ("measurements", "sessions")})
    expected = reference_gold(con, params.semantics)
    wh = duckdb.connect(registry.duckdb_path, read_only=True)
    found = {name: wh.execute(f"SELECT * FROM {registry.table_id(name)}").df() for name in expected}
    differences = {name: diff for name, diff in compare_tables(found, expected).items() if diff}
    assert not differences, f"Spark Gold and the DuckDB SQL reference disagree: {differences}"
