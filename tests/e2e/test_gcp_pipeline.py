"""End to end in the cloud layout: `gnp run` with gs:// Bronze, lakehouse and artifacts, and BigQuery.

Stand-ins that speak the real protocols: fake-gcs-server for Cloud Storage,
local-bigquery for BigQuery (it loads gs:// URIs over HTTP from
fake-gcs-server; bqemulator reads gs:// only from a shared folder and takes a
lakehouse leaf's Hive-style folder for a column), and the fake data.gov.gr
server for the api source, so the same HTTP client runs. The params are
gcp.yaml's with the endpoints swapped; the code path is the local default's.

One run over four days in the default suite; with ``make test-heavy`` two more,
as the pipeline lives: an incremental run of the last two days, and a
``--full-refresh`` of the last one. After each, every BigQuery table must hold
exactly its lakehouse table's rows. Before the
incremental run BigQuery is made stale in partitions that run must rewrite
(the day before its range) and in one it must not touch, so the check sees
that publish replaces exactly what the run wrote.

Every client reaches Cloud Storage through tests/create_only_gcs.py, which
gives the artifacts bucket the pipeline's real rights there: create and read,
no replace, no delete (fake-gcs-server alone allows overwrites).

Checked here only against emulators, never against Google Cloud:
- every gs:// read, listing, upload and delete (gcsfs, anonymous), the
  one-object snapshot write standing for an atomic commit, and the
  create-only artifacts bucket (a proxy's 403, standing for IAM's);
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
import math
import secrets
from collections import Counter

import gcsfs
import nbformat
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from bigquery_emulator import running_fake_gcs, running_local_bigquery
from create_only_gcs import create_only_proxy
from pandas.testing import assert_frame_equal

from gnp.bronze import ingest as bronze
from gnp.core import manifest, storage
from gnp.core.config import load_params
from gnp.core.registry import Registry, join
from gnp.core.schemas import TABLES
from gnp.dashboard.figures import dashboard_figures
from gnp.dashboard.headline import headline
from gnp.dashboard.queries import Filters
from gnp.dashboard.selection import filter_options
from gnp.dashboard.source import open_gold
from gnp.source import fake_api
from gnp.lake import lakehouse
from gnp.orchestration import runner
from gnp.serving import warehouse
from gnp.serving.bigquery_tables import EMULATOR_HOST_ENV, bigquery_client

# Whole pipelines (two each) on 2 cores: far longer than the suite's 900 s default per test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2700)]
GCP_PARAMS = runner.PROJECT_ROOT / "params" / "gcp.yaml"
STAGES = ["ingest", "silver", "gold", "publish"]
DAYS = ["2025-10-25", "2025-10-26", "2025-10-27", "2025-10-28"]  # around the DST change
BUCKETS = {"bronze": "gnp-test-bronze", "lake": "gnp-test-lake", "artifacts": "gnp-test-artifacts"}
INCREMENTAL = (DAYS[2], DAYS[3])  # the second run's range
# Made stale in BigQuery before the incremental run: (table, partition value).
_DAY = [dt.date.fromisoformat(day) for day in DAYS]
STALE_REWRITTEN = [("sessions", _DAY[1]), ("frustration_staircase", _DAY[1])]  # the day before its range
STALE_UNTOUCHED = [("measurements", _DAY[0])]  # outside everything it rewrites


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


def _value(value, column_type: str):
    """One cell in a form both sides share: Parquet (Spark) and BigQuery type the same value differently."""
    if column_type.startswith("array"):
        return tuple(value) if value is not None else ()  # BigQuery answers a NULL REPEATED as []
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if column_type == "timestamp":
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).value // 1000  # microseconds UTC
    if isinstance(value, float):
        return float(f"{value:.12g}")
    return value


def _row(values, spec) -> tuple:
    return tuple(_value(v, c.type) for v, c in zip(values, spec.columns))


def warehouse_rows(client, registry: Registry) -> dict[str, Counter]:
    """Every BigQuery base table's rows, as a multiset."""
    found = {}
    for spec in TABLES.values():
        columns = ", ".join(f"`{c}`" for c in spec.column_names)
        result = client.query(f"SELECT {columns} FROM `{registry.table_id(spec.name)}`").result()
        found[spec.name] = Counter(_row(row.values(), spec) for row in result)
    return found


def lakehouse_rows(registry: Registry) -> dict[str, Counter]:
    """Every lakehouse table's current rows, as a multiset, read from the Parquet files in the bucket."""
    fs = storage.filesystem(registry.lake)
    found = {}
    for spec in TABLES.values():
        rows = Counter()
        for pattern in lakehouse.current_files(registry.table_path(spec.name)):
            for path in fs.glob(pattern):
                with fs.open(path, "rb") as fh:
                    table = pq.ParquetFile(fh).read(columns=spec.column_names)
                rows.update(_row(r, spec) for r in zip(*(table.column(c).to_pylist() for c in spec.column_names)))
        found[spec.name] = rows
    return found


def without(rows: dict[str, Counter], partitions: list[tuple[str, dt.date]]) -> dict[str, Counter]:
    """``rows`` minus the rows of the given (table, partition value) pairs."""
    kept = {}
    for name, counter in rows.items():
        spec = TABLES[name]
        index = spec.column_names.index(spec.partition_by) if spec.partition_by else None
        dropped = {value for table, value in partitions if table == name}
        kept[name] = Counter({r: n for r, n in counter.items() if index is None or r[index] not in dropped})
    return kept


def differences(expected: dict[str, Counter], found: dict[str, Counter]) -> dict[str, str]:
    """Tables whose rows differ: how many rows are missing from or extra in ``found``."""
    out = {}
    for name in TABLES:
        missing, extra = expected[name] - found[name], found[name] - expected[name]
        if missing or extra:
            sample = next(iter(missing or extra))
            out[name] = f"{sum(missing.values())} missing, {sum(extra.values())} extra, e.g. {sample}"
    return out


def make_stale(client, registry: Registry, partitions: list[tuple[str, dt.date]]) -> None:
    for name, value in partitions:
        column = TABLES[name].partition_by
        client.query(f"DELETE FROM `{registry.table_id(name)}` WHERE `{column}` = DATE '{value}'").result()


def recorded_partitions(registry: Registry, run_id: str) -> set[tuple[str, dt.date]]:
    """(table, partition) pairs the run's Silver and Gold stages recorded as rewritten."""
    return {(o["name"], dt.date.fromisoformat(v)) for stage in ("silver", "gold")
            for o in manifest.read_outputs(registry, run_id, stage) for v in o.get("partitions") or []}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """The first run against the stand-ins; yields what the checks need (``cloud_lifecycle`` adds two runs)."""
    folder = tmp_path_factory.mktemp("gcp-pipeline")
    token = secrets.token_urlsafe(24)
    with (
        pytest.MonkeyPatch.context() as env,
        running_fake_gcs(folder / "gcs") as gcs_endpoint,
        create_only_proxy(gcs_endpoint, {BUCKETS["artifacts"]}) as gate,
        running_local_bigquery(folder / "bigquery", gcs_endpoint) as bq,
        fake_api.serving(token, seed=7, tests_per_day=300, users=400) as api,
    ):
        # The runner's notebooks and Spark server are child processes: they inherit this environment.
        env.setenv("STORAGE_EMULATOR_HOST", gate.endpoint)
        env.setenv(EMULATOR_HOST_ENV, bq.endpoint)
        env.setenv("HYPERION_TOKEN", token)
        env.setenv("GNP_PSEUDONYM_KEY", secrets.token_hex(32))
        gcsfs.GCSFileSystem.clear_instance_cache()  # instances keep the endpoint they were made with
        for bucket in BUCKETS.values():
            storage.filesystem("gs://").mkdir(bucket)
        params_file = gcp_params_in(folder, api.base_url, bq.project)
        params = load_params(params_file)
        registry, client = Registry.from_params(params), bigquery_client(params)
        for dataset in (registry.silver_dataset, registry.gold_dataset):  # Terraform's part: publish never creates one
            client.create_dataset(f"{registry.bigquery_project}.{dataset}")
        runs, checks = {}, {}

        def check(name: str, stale: list[tuple[str, dt.date]] = ()) -> None:
            lake = lakehouse_rows(registry)
            checks[name] = {"differences": differences(without(lake, list(stale)), warehouse_rows(client, registry)),
                            "empty": sorted(n for n in TABLES if not lake[n])}

        runs["full"] = runner.run(params_file, stages=STAGES, log=print)
        check("full")
        yield {"registry": registry, "client": client, "runs": runs, "checks": checks, "check": check,
               "gate": gate, "token": token, "folder": folder, "params_file": params_file}
    gcsfs.GCSFileSystem.clear_instance_cache()


@pytest.fixture(scope="module")
def cloud_lifecycle(cloud):
    """An incremental run over stale BigQuery partitions, then a ``--full-refresh``: two more runs (heavy)."""
    registry, client, params_file, check = cloud["registry"], cloud["client"], cloud["params_file"], cloud["check"]
    make_stale(client, registry, STALE_REWRITTEN + STALE_UNTOUCHED)
    cloud["runs"]["incremental"] = runner.run(params_file, date_from=INCREMENTAL[0], date_to=INCREMENTAL[1],
                                              stages=STAGES, log=print)
    cloud["rewritten"] = rewritten = recorded_partitions(registry, cloud["runs"]["incremental"].run_id)
    check("incremental", [p for p in STALE_REWRITTEN + STALE_UNTOUCHED if p not in rewritten])
    cloud["runs"]["full_refresh"] = runner.run(params_file, date_from=DAYS[-1], date_to=DAYS[-1], stages=STAGES,
                                               full_refresh=True, log=print)
    check("full_refresh")
    return cloud


def test_every_run_succeeds_in_every_stage(cloud):
    for name, run in cloud["runs"].items():
        statuses = [(s["stage"], s["status"]) for s in run.manifest["stages"]]
        expected = [(stage, "succeeded") for stage in STAGES]
        assert run.ok and statuses == expected, f"{name}: expected {expected}, found {json.dumps(run.manifest['stages'], indent=1)}"


def test_bronze_is_in_its_bucket_with_a_manifest_per_version(cloud):
    registry = cloud["registry"]
    assert registry.bronze_root == f"gs://{BUCKETS['bronze']}/hyperion", f"found {registry.bronze_root}"
    found = {}
    for day in DAYS:
        versions = bronze.list_versions(registry, dt.date.fromisoformat(day))
        found[day] = [(storage.exists(v.data_path), v.manifest()["record_count"] > 0) for v in versions]
    expected = {day: [(True, True)] for day in DAYS}  # one version each: the later runs fetched nothing
    assert found == expected, f"expected {expected}, found {found}"


def test_every_table_is_a_delta_table_in_the_lake_bucket_written_by_spark_itself(cloud):
    registry = cloud["registry"]
    missing = [n for n in TABLES if not storage.exists(join(registry.table_path(n), lakehouse.DELTA_LOG))]
    assert registry.lake.startswith("gs://") and missing == [], f"expected a _delta_log per table, missing {missing}"
    engines = {lakehouse.history(registry.table_path(n), 1)[0]["engine"].split("/")[0] for n in TABLES}
    assert engines == {"Apache-Spark"}, engines


def test_executed_notebooks_and_the_manifest_are_in_the_artifacts_bucket_each_written_once(cloud):
    assert cloud["gate"].refused == [], f"expected no artifact replaced or deleted, found {cloud['gate'].refused}"
    run = cloud["runs"]["full"]
    assert run.run_dir.startswith(f"gs://{BUCKETS['artifacts']}/runs/"), f"found {run.run_dir}"
    fs = storage.filesystem(run.run_dir)
    found = sorted(p.split(f"{run.run_id}/", 1)[1] for p in fs.find(run.run_dir))
    stages = ["10_ingest", "20_silver", "30_gold", "40_publish"]
    expected = sorted([f"{s}.ipynb" for s in stages] + [f"book/{s}.html" for s in stages] + [
        "book/index.html", "context.json", "manifest.json", "plan.json",
        "outputs/gold.json", "outputs/ingest.json", "outputs/publish.json", "outputs/silver.json"])
    assert found == expected, f"expected {expected}, found {found}"
    manifest = storage.read_json(join(run.run_dir, "manifest.json"))
    assert manifest == json.loads(json.dumps(run.manifest, default=str)), "expected the manifest the runner returned"
    published = {o["name"] for o in manifest["outputs"] if o["stage"] == "publish"}
    assert published == set(TABLES), f"expected every table published, found {sorted(published)}"
    notebook = nbformat.reads(storage.read_bytes(join(run.run_dir, "40_publish.ipynb")).decode(), as_version=4)
    executed = [c for c in notebook.cells if c.cell_type == "code" and c.get("execution_count")]
    assert executed, "expected the executed publish notebook, with executed cells"
    book = storage.read_bytes(join(run.run_dir, "book", "index.html")).decode()
    assert run.run_id in book and "40_publish.html" in book, "expected the run's book, linking its pages"


def test_the_api_token_is_in_no_artifact(cloud):
    fs = storage.filesystem(cloud["runs"]["full"].run_dir)
    paths = [p for run in cloud["runs"].values() for p in fs.find(run.run_dir)]
    leaked = [p for p in paths if cloud["token"].encode() in fs.cat_file(p)]
    assert paths and leaked == [], f"expected no artifact to hold the token, found it in {leaked}"


def test_after_the_first_run_every_bigquery_table_holds_its_lakehouse_rows(cloud):
    found = cloud["checks"]["full"]
    assert found == {"differences": {}, "empty": []}, f"expected equal, non-empty tables, found {found}"


# Publish's partition replacement is tested in-process against the BigQuery emulator in test_publish.py;
# these two repeat it through whole runs, four minutes more: `make test-heavy`.
@pytest.mark.heavy
def test_an_incremental_run_replaces_exactly_the_partitions_it_rewrote(cloud_lifecycle):
    cloud = cloud_lifecycle
    """The day before the range is rewritten (sessions, daily Gold) and must be replaced; the rest stays as it was."""
    rewritten = cloud["rewritten"]
    assert set(STALE_REWRITTEN) <= rewritten and not set(STALE_UNTOUCHED) & rewritten, (
        f"expected the run to record {STALE_REWRITTEN} and not {STALE_UNTOUCHED}, found {sorted(rewritten)}")
    found = cloud["checks"]["incremental"]["differences"]
    assert found == {}, f"expected every table equal to the lakehouse but for {STALE_UNTOUCHED}, found {found}"


@pytest.mark.heavy
def test_a_full_refresh_replaces_every_partition(cloud_lifecycle):
    cloud = cloud_lifecycle
    found = cloud["checks"]["full_refresh"]["differences"]
    assert found == {}, f"expected every table equal to the lakehouse, {STALE_UNTOUCHED} restored, found {found}"


def local_copies(uris: list[str], root) -> list[str]:
    """Download a version's files (DuckDB here reads local files only)."""
    copies = []
    for uri in uris:
        target = root / uri.removeprefix("gs://")
        target.parent.mkdir(parents=True, exist_ok=True)
        storage.filesystem(uri).get_file(uri, str(target))
        copies.append(str(target))
    return copies


def local_duckdb_params(cloud) -> str:
    """The same params with the local DuckDB warehouse, its views over local copies of the lakehouse's leaves."""
    data = yaml.safe_load(open(cloud["params_file"]).read())
    data["warehouse"] = {"kind": "duckdb", "duckdb_path": str(cloud["folder"] / "warehouse.duckdb")}
    path = cloud["folder"] / "duckdb-test.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    registry = cloud["registry"]
    files = {name: local_copies(lakehouse.current_files(registry.table_path(name)), cloud["folder"] / "copies")
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
