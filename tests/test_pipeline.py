"""End to end: `gnp run` on the ci params, as CI and a new user run it.

Real papermill, a real Spark Connect server, the real HTTP client against the
fake data.gov.gr server, real Parquet and DuckDB. One run, then the same range
again, then checks that need both.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest
import yaml

from gnp import lakehouse, runner
from gnp.config import load_params
from gnp.reference_sql import compare_tables, reference_gold, register_silver
from gnp.registry import Registry
from gnp.schemas import GOLD_TABLES, TABLES

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


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    params_file = ci_params_in(folder)
    first = runner.run(str(params_file), stages=STAGES, log=print)
    registry = Registry.from_params(load_params(params_file))
    gold_after_first = gold_snapshot(registry) if first.ok else {}
    second = runner.run(str(params_file), stages=STAGES, log=print)
    return params_file, registry, first, second, gold_after_first


def test_the_run_succeeds_and_keeps_every_executed_notebook_and_a_manifest(two_runs):
    _, registry, first, _, _ = two_runs
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


def test_bronze_holds_each_day_as_received(two_runs):
    params_file, registry, first, _, _ = two_runs
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
    _, registry, first, _, _ = two_runs
    con = duckdb.connect(registry.duckdb_path, read_only=True)
    rows = con.execute(
        f"SELECT run_id, passed, observed FROM {registry.table_id('quality_results')} "
        "WHERE check_name = 'accounting_invariant' ORDER BY run_id"
    ).fetchall()
    assert [r[0] for r in rows] == sorted([first.run_id, two_runs[3].run_id]), rows
    assert all(r[1] for r in rows), rows


def test_running_the_same_range_again_gives_identical_gold(two_runs):
    _, registry, first, second, gold_after_first = two_runs
    assert second.ok, json.dumps(second.manifest["stages"], indent=1)
    again = gold_snapshot(registry)
    for name, rows in gold_after_first.items():
        assert rows, f"{name} is empty after the first run"
        assert again[name] == rows, f"{name} changed between two runs of the same range"


def test_spark_gold_matches_an_independent_duckdb_sql_recomputation(two_runs):
    params_file, registry, _, _, _ = two_runs
    params = load_params(params_file)
    con = duckdb.connect()
    register_silver(con, {name: lakehouse.current_files(registry.table_path(name)) for name in ("measurements", "sessions")})
    expected = reference_gold(con, params.semantics)
    wh = duckdb.connect(registry.duckdb_path, read_only=True)
    found = {name: wh.execute(f"SELECT * FROM {registry.table_id(name)}").df() for name in expected}
    differences = {name: diff for name, diff in compare_tables(found, expected).items() if diff}
    assert not differences, f"Spark Gold and the DuckDB SQL reference disagree: {differences}"
