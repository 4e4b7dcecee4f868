"""End to end in the cloud layout: `gnp run` with gs:// Bronze, lakehouse and artifacts, and BigQuery.

Stand-ins that speak the real protocols: fake-gcs-server for Cloud Storage,
local-bigquery for BigQuery (it loads gs:// URIs over HTTP from
fake-gcs-server; bqemulator reads gs:// only from a shared folder and takes a
lakehouse leaf's Hive-style folder for a column), and the fake data.gov.gr
server for the api source, so the same HTTP client runs. The params are
gcp.yaml's with the endpoints swapped; the code path is the local default's.
Two runs of the same range, then checks that need both.

Checked here only against emulators, never against Google Cloud:
- every gs:// read, listing, upload and delete (gcsfs, anonymous), the
  one-object snapshot write standing for an atomic commit, and papermill
  writing executed notebooks to gs:// through its own GCS handler;
- BigQuery load jobs from wildcard gs:// URIs under Hive-style leaf folders
  (``__measurement_date=...``): real BigQuery ignores folder names unless hive
  partitioning options are set, which the load does not set;
- the publish transaction (DELETE + INSERT), and the tables' DAY partitioning
  and clustering, which the emulator stores but does not act on;
- the dashboard's queries with typed named parameters returning DuckDB's
  numbers: local-bigquery runs BigQuery SQL on DuckDB (translated by sqlglot),
  so this shows the SQL and parameters are accepted and typed alike, not that
  BigQuery's engine (NULL ordering, numeric types) agrees;
- dataset location: local-bigquery accepts EU but answers as if all were US.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

import nbformat
import pyarrow.parquet as pq
import pytest
import yaml
from pandas.testing import assert_frame_equal

from bigquery_emulator import running_fake_gcs, running_local_bigquery
from gnp import bronze, fake_api, lakehouse, runner, staging, storage, warehouse
from gnp.bigquery_tables import EMULATOR_HOST_ENV, bigquery_client
from gnp.config import load_params
from gnp.dashboard.figures import dashboard_figures
from gnp.dashboard.headline import headline
from gnp.dashboard.queries import Filters
from gnp.dashboard.selection import filter_options
from gnp.dashboard.source import open_gold
from gnp.registry import Registry, join
from gnp.schemas import TABLES

# Whole pipelines (two each) on 2 cores: far longer than the suite's 900 s default per test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2700)]
GCP_PARAMS = runner.PROJECT_ROOT / "params" / "gcp.yaml"
STAGES = ["ingest", "silver", "gold", "publish"]
DAYS = ["2025-10-25", "2025-10-26", "2025-10-27", "2025-10-28"]  # around the DST change
BUCKETS = {"bronze": "gnp-test-bronze", "lake": "gnp-test-lake", "artifacts": "gnp-test-artifacts"}
PER_RUN_TABLES = {"quality_results"}  # keyed by run: a second run adds its own rows


def gcp_params_in(folder, api_base_url: str, project: str) -> str:
    """gcp.yaml pointed at the stand-ins: a small range, the fake API, the test buckets and project."""
    data = yaml.safe_load(GCP_PARAMS.read_text())
    data["env"] = "gcp-test"
    data["source"].update(base_url=api_base_url, concurrency=2, timeout_s=20, max_retries=2, backoff_s=0.2,
                          max_backoff_s=2)
    # No lookback: the second run fetches nothing, so every table can be compared whole.
    data["dates"] = {"date_from": DAYS[0], "date_to": DAYS[-1], "lookback_days": 0}
    data["storage"] = {purpose: f"gs://{bucket}" for purpose, bucket in BUCKETS.items()}
    data["warehouse"]["project"] = project
    data["spark"]["driver_memory"] = "2g"
    path = folder / "gcp-test.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def warehouse_rows(client, registry: Registry) -> dict[str, list[tuple]]:
    """Every BigQuery base table's rows, ordered by the table's key."""
    found = {}
    for spec in TABLES.values():
        order = ", ".join(f"`{k}`" for k in spec.key)
        sql = f"SELECT * FROM `{registry.table_id(spec.name)}` ORDER BY {order}"
        found[spec.name] = [tuple(row.values()) for row in client.query(sql).result()]
    return found


def lakehouse_rows(registry: Registry, name: str) -> int:
    """Rows of a lakehouse table's current version, from the Parquet footers in the bucket."""
    fs = storage.filesystem(registry.lake)
    files = [f for pattern in lakehouse.current_files(registry.table_path(name)) for f in fs.glob(pattern)]
    total = 0
    for path in files:
        with fs.open(path, "rb") as fh:
            total += pq.ParquetFile(fh).metadata.num_rows
    return total


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """Both runs against the stand-ins; yields what the checks need."""
    folder = tmp_path_factory.mktemp("gcp-pipeline")
    token = secrets.token_urlsafe(24)
    with (
        pytest.MonkeyPatch.context() as env,
        running_fake_gcs(folder / "gcs") as gcs_endpoint,
        running_local_bigquery(folder / "bigquery", gcs_endpoint) as bq,
        fake_api.serving(token, seed=7, tests_per_day=300, users=400) as api,
    ):
        # The runner's notebooks and Spark server are child processes: they inherit this environment.
        env.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
        env.setenv(EMULATOR_HOST_ENV, bq.endpoint)
        env.setenv("HYPERION_TOKEN", token)
        env.setenv("GNP_PSEUDONYM_KEY", secrets.token_hex(32))
        env.setenv(staging.CACHE_DIR_ENV, str(folder / "cache"))
        for bucket in BUCKETS.values():
            storage.filesystem("gs://").mkdir(bucket)
        params_file = gcp_params_in(folder, api.base_url, bq.project)
        params = load_params(params_file)
        registry, client = Registry.from_params(params), bigquery_client(params)
        first = runner.run(params_file, stages=STAGES, log=print)
        after_first = warehouse_rows(client, registry) if first.ok else {}
        second = runner.run(params_file, stages=STAGES, log=print)
        yield {"registry": registry, "client": client, "first": first, "second": second,
               "after_first": after_first, "token": token, "folder": folder, "params_file": params_file}


def test_both_runs_succeed_in_every_stage(cloud):
    for run in (cloud["first"], cloud["second"]):
        statuses = [(s["stage"], s["status"]) for s in run.manifest["stages"]]
        expected = [(stage, "succeeded") for stage in STAGES]
        assert run.ok and statuses == expected, f"expected {expected}, found {json.dumps(run.manifest['stages'], indent=1)}"


def test_bronze_is_in_its_bucket_with_a_manifest_per_version(cloud):
    registry = cloud["registry"]
    assert registry.bronze_root == f"gs://{BUCKETS['bronze']}/hyperion", f"found {registry.bronze_root}"
    found = {}
    for day in DAYS:
        versions = bronze.list_versions(registry, dt.date.fromisoformat(day))
        found[day] = [(storage.exists(v.data_path), v.manifest()["record_count"] > 0) for v in versions]
    expected = {day: [(True, True)] for day in DAYS}  # one version each: the second run fetched nothing
    assert found == expected, f"expected {expected}, found {found}"


def test_every_table_has_a_committed_snapshot_in_the_lake_bucket(cloud):
    registry = cloud["registry"]
    missing = [n for n in TABLES if not storage.exists(join(registry.table_path(n), lakehouse.SNAPSHOT))]
    assert registry.lake.startswith("gs://") and missing == [], f"expected a snapshot per table, missing {missing}"


def test_executed_notebooks_and_the_manifest_are_in_the_artifacts_bucket(cloud):
    run = cloud["first"]
    assert run.run_dir.startswith(f"gs://{BUCKETS['artifacts']}/runs/"), f"found {run.run_dir}"
    found = [n for n in storage.listdir(run.run_dir) if n.endswith((".ipynb", ".json"))]
    expected = ["10_ingest.ipynb", "20_silver.ipynb", "30_gold.ipynb", "40_publish.ipynb", "manifest.json"]
    assert found == expected, f"expected {expected}, found {found}"
    manifest = storage.read_json(join(run.run_dir, "manifest.json"))
    assert manifest == json.loads(json.dumps(run.manifest, default=str)), "expected the manifest the runner returned"
    published = {o["name"] for o in manifest["outputs"] if o["stage"] == "publish"}
    assert published == set(TABLES), f"expected every table published, found {sorted(published)}"
    notebook = nbformat.reads(storage.read_bytes(join(run.run_dir, "40_publish.ipynb")).decode(), as_version=4)
    executed = [c for c in notebook.cells if c.cell_type == "code" and c.get("execution_count")]
    assert executed, "expected the executed publish notebook, with executed cells"


def test_the_api_token_is_in_no_artifact(cloud):
    run = cloud["first"]
    fs = storage.filesystem(run.run_dir)
    leaked = [p for p in fs.find(run.run_dir) if cloud["token"].encode() in fs.cat_file(p)]
    assert leaked == [], f"expected no artifact to hold the token, found it in {leaked}"


def test_bigquery_holds_the_lakehouse_rows_of_every_table(cloud):
    registry = cloud["registry"]
    rows = warehouse_rows(cloud["client"], registry)
    expected = {name: lakehouse_rows(registry, name) for name in TABLES}
    found = {name: len(rows[name]) for name in TABLES}
    assert found == expected, f"expected the lakehouse's row counts, found {found}"
    assert all(expected.values()), f"expected rows in every table, found {expected}"


def test_a_second_run_of_the_same_range_leaves_bigquery_as_it_was(cloud):
    before, after = cloud["after_first"], warehouse_rows(cloud["client"], cloud["registry"])
    changed = [n for n in TABLES if n not in PER_RUN_TABLES and after[n] != before[n]]
    assert before and changed == [], f"expected identical tables after the second run, these changed: {changed}"
    first_id, second_id = cloud["first"].run_id, cloud["second"].run_id
    run_ids = sorted({row[0] for row in after["quality_results"]})
    kept = [r for r in after["quality_results"] if r[0] == first_id]
    assert run_ids == sorted([first_id, second_id]), f"expected results of both runs, found {run_ids}"
    assert kept == [r for r in before["quality_results"] if r[0] == first_id], "expected run 1's results unchanged"


def local_duckdb_params(cloud) -> str:
    """The same params with the local DuckDB warehouse, its views over local copies of the lakehouse's leaves."""
    data = yaml.safe_load(open(cloud["params_file"]).read())
    data["warehouse"] = {"kind": "duckdb", "duckdb_path": str(cloud["folder"] / "warehouse.duckdb")}
    path = cloud["folder"] / "duckdb-test.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    registry = cloud["registry"]
    files = {name: staging.local_copies(list(lakehouse.partitions(registry.table_path(name)).values()))
             for name in TABLES}
    warehouse.refresh_duckdb(Registry.from_params(load_params(path)), files)
    return str(path)


def selections(params) -> list[Filters]:
    """The default selection, then one periphery, one of its regional units, and one ISP."""
    with open_gold(params) as gold:
        options = filter_options(gold)
    base = options.default_filters()
    periphery = options.peripheries[0][1]
    unit = options.regional_units_of(periphery)[0][1]
    isp = options.isps[0][1]
    return [base, Filters(base.date_from, base.date_to, periphery_id=periphery),
            Filters(base.date_from, base.date_to, periphery_id=periphery, regional_unit_id=unit),
            Filters(base.date_from, base.date_to, isp=isp)]


def test_every_dashboard_figure_reads_the_same_numbers_from_bigquery_as_from_duckdb(cloud):
    """BigQuery here is local-bigquery: same SQL text and parameters, the emulator's engine."""
    on_bigquery, on_duckdb = load_params(cloud["params_file"]), load_params(local_duckdb_params(cloud))
    filters = selections(on_duckdb)
    with open_gold(on_bigquery) as bq, open_gold(on_duckdb) as duck:
        units = [filter_options(g).regional_units.sort_values("regional_unit_id", ignore_index=True) for g in (bq, duck)]
        assert_frame_equal(*units, check_dtype=False, obj="regional units")  # SELECT DISTINCT: no order
        for f in filters:
            assert_frame_equal(headline(bq, f), headline(duck, f), check_dtype=False, obj=f"headline for {f}")
            for figure in dashboard_figures(on_duckdb):
                expected = figure.query(duck, f)
                assert f != filters[0] or len(expected), f"{figure.key}: expected rows for the default selection"
                assert_frame_equal(figure.query(bq, f), expected, check_dtype=False, obj=f"{figure.key} for {f}")
