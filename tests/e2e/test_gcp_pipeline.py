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

Each run is the pipeline workflow's steps, each as the identity that runs it
(tests/terraform_rights.py reads both from .github/workflows/pipeline.yml and
terraform/): `gnp run --stages ingest` as the GitHub deployer, then Silver,
Gold and publish as the Cloud Run job's service account, and the dashboard's
queries as its own. Each identity reaches the emulators only through its own
proxies (tests/rights_proxy.py), which answer 403 as Cloud Storage and
BigQuery would to whatever Terraform's grants to it do not allow: read, list,
create, replace and delete per bucket; jobs, table reads and writes per
dataset. The test itself stands for Terraform and for the checks, and talks to
the emulators directly.

Checked here only against emulators, never against Google Cloud:
- every gs:// read, listing, upload and delete (gcsfs, anonymous), the
  one-object snapshot write standing for an atomic commit, and each identity's
  rights (a proxy's 403, standing for IAM's: roles mapped to permissions by
  hand in terraform_rights.py; no IAM conditions, organisation policies,
  Workload Identity Federation or Secret Manager);
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

import contextlib
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
import terraform_rights
import yaml
from bigquery_emulator import running_fake_gcs, running_local_bigquery
from ci_params import JAVA_OPTIONS, SHUFFLE_PARTITIONS
from rights_proxy import rights_bigquery_proxy, rights_gcs_proxy
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
    data["spark"].update(driver_memory="2g", java_options=JAVA_OPTIONS, shuffle_partitions=SHUFFLE_PARTITIONS)
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
    hcl = terraform_rights.terraform()
    steps = terraform_rights.workflow_steps(hcl=hcl)  # [(ingest as the deployer), (the rest as the job's account)]
    dashboard = terraform_rights.dashboard_identity(hcl)
    with (
        pytest.MonkeyPatch.context() as env,
        running_fake_gcs(folder / "gcs") as gcs_endpoint,
        running_local_bigquery(folder / "bigquery", gcs_endpoint) as bq,  # reads gs:// as BigQuery's own service
        fake_api.serving(token, seed=7, tests_per_day=300, users=400) as api,
        contextlib.ExitStack() as proxies,
    ):
        # The test stands for Terraform and for the checks: it talks to the emulators directly.
        env.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
        env.setenv(EMULATOR_HOST_ENV, bq.endpoint)
        env.setenv("HYPERION_TOKEN", token)
        env.setenv("GNP_PSEUDONYM_KEY", secrets.token_hex(32))
        gcsfs.GCSFileSystem.clear_instance_cache()  # instances keep the endpoint they were made with
        for bucket in BUCKETS.values():
            storage.filesystem("gs://").mkdir(bucket)
        params_file = gcp_params_in(folder, api.base_url, bq.project)
        params = load_params(params_file)
        registry, client = Registry.from_params(params), bigquery_client(params)
        datasets = {"silver": f"{registry.bigquery_project}.{registry.silver_dataset}",
                    "gold": f"{registry.bigquery_project}.{registry.gold_dataset}"}
        for dataset in datasets.values():  # Terraform's part: publish never creates one
            client.create_dataset(dataset)
        # Each identity's proxies, enforcing what Terraform grants it on these buckets and datasets.
        gates = {}
        for identity in dict.fromkeys([s.identity for s in steps] + ([dashboard] if dashboard else [])):
            rights = terraform_rights.rights_of(identity, hcl).concrete(BUCKETS, datasets)
            gates[identity] = {"storage": proxies.enter_context(rights_gcs_proxy(gcs_endpoint, rights)),
                               "bigquery": proxies.enter_context(rights_bigquery_proxy(bq.endpoint, rights)),
                               "rights": rights}

        @contextlib.contextmanager
        def acting_as(identity: str):
            """The runner, its Spark server and its kernels (child processes inherit this) reach the emulators
            through ``identity``'s proxies; back to direct access afterwards."""
            with pytest.MonkeyPatch.context() as as_identity:
                as_identity.setenv("STORAGE_EMULATOR_HOST", gates[identity]["storage"].endpoint)
                as_identity.setenv(EMULATOR_HOST_ENV, gates[identity]["bigquery"].endpoint)
                gcsfs.GCSFileSystem.clear_instance_cache()
                try:
                    yield
                finally:
                    gcsfs.GCSFileSystem.clear_instance_cache()

        def run_workflow(**options) -> list[tuple[terraform_rights.Step, runner.RunResult]]:
            """The workflow's steps in order, each as its identity; a failed step ends it, as on GitHub."""
            done = []
            for step in steps:
                with acting_as(step.identity):
                    try:
                        done.append((step, runner.run(params_file, stages=list(step.stages), log=print, **options)))
                    except Exception as exc:  # e.g. the lake lock refused: say which step, and what was refused
                        gate = gates[step.identity]
                        raise AssertionError(f"{step.name} as {step.identity} failed: {exc}\nrefused: "
                                             f"{gate['storage'].denied + gate['bigquery'].denied}") from exc
                if not done[-1][1].ok:
                    break
            return done

        runs, checks = {}, {}

        def check(name: str, stale: list[tuple[str, dt.date]] = ()) -> None:
            lake = lakehouse_rows(registry)
            checks[name] = {"differences": differences(without(lake, list(stale)), warehouse_rows(client, registry)),
                            "empty": sorted(n for n in TABLES if not lake[n])}

        runs["full"] = run_workflow()
        check("full")
        yield {"registry": registry, "client": client, "runs": runs, "checks": checks, "check": check,
               "gates": gates, "steps": steps, "dashboard": dashboard, "acting_as": acting_as,
               "run_workflow": run_workflow, "token": token, "folder": folder, "params_file": params_file}
    gcsfs.GCSFileSystem.clear_instance_cache()


def job_run(runs: list) -> runner.RunResult:
    """The run of the workflow step that wrote Silver and Gold."""
    return next(run for step, run in runs if "silver" in step.stages)


@pytest.fixture(scope="module")
def cloud_lifecycle(cloud):
    """An incremental run over stale BigQuery partitions, then a ``--full-refresh``: two more runs (heavy)."""
    registry, client, check, run_workflow = cloud["registry"], cloud["client"], cloud["check"], cloud["run_workflow"]
    make_stale(client, registry, STALE_REWRITTEN + STALE_UNTOUCHED)
    cloud["runs"]["incremental"] = run_workflow(date_from=INCREMENTAL[0], date_to=INCREMENTAL[1])
    cloud["rewritten"] = rewritten = recorded_partitions(registry, job_run(cloud["runs"]["incremental"]).run_id)
    check("incremental", [p for p in STALE_REWRITTEN + STALE_UNTOUCHED if p not in rewritten])
    cloud["runs"]["full_refresh"] = run_workflow(date_from=DAYS[-1], date_to=DAYS[-1], full_refresh=True)
    check("full_refresh")
    return cloud


def test_every_run_succeeds_in_every_stage(cloud):
    for name, runs in cloud["runs"].items():
        found = [(step.identity, s["stage"], s["status"]) for step, run in runs for s in run.manifest["stages"]]
        expected = [(step.identity, stage, "succeeded") for step in cloud["steps"] for stage in step.stages]
        assert [stage for _, stage, _ in expected] == STAGES, f"expected the workflow to run {STAGES}, found {expected}"
        assert all(run.ok for _, run in runs) and found == expected, (
            f"{name}: expected {expected}, found "
            f"{json.dumps([run.manifest['stages'] for _, run in runs], indent=1, default=str)}")


def test_each_step_had_only_the_rights_terraform_grants_its_identity(cloud):
    """No request was refused (a client may have swallowed a 403), and each step's traffic went through its proxy."""
    refused = {f"{identity} ({service})": gate[service].denied + [f"unclassified: {r}"
                                                                  for r in gate[service].unclassified]
               for identity, gate in cloud["gates"].items() for service in ("storage", "bigquery")}
    assert all(not found for found in refused.values()), (
        f"expected no request refused, found {json.dumps(refused, indent=1)}\n"
        + "\n".join(gate["rights"].describe() for gate in cloud["gates"].values()))
    probes = sorted({p for gate in cloud["gates"].values() for p in gate["storage"].probes})
    print(f"refused bucket-metadata probes a client went on without (rights_proxy.py): {probes}")
    used = {identity: set(gate["storage"].used) | set(gate["bigquery"].used)
            for identity, gate in cloud["gates"].items()}
    project = cloud["registry"].bigquery_project
    for step in cloud["steps"]:
        wanted = set()
        if "ingest" in step.stages:
            wanted.add(("storage.objects.create", BUCKETS["bronze"]))
        if "silver" in step.stages:
            wanted |= {("storage.objects.get", BUCKETS["bronze"]), ("storage.objects.create", BUCKETS["lake"])}
        if "publish" in step.stages:
            wanted.add(("bigquery.jobs.create", project))
        wanted.add(("storage.objects.create", BUCKETS["artifacts"]))
        assert wanted <= used[step.identity], (f"{step.name} as {step.identity}: expected its requests through "
                                               f"its proxies, missing {wanted - used[step.identity]}")


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
    """Each step's run has its own folder (write-once: the rights test sees no replacement refused)."""
    planned = {s.name for s in runner.discover_stages() if s.needs_plan}
    notebooks = {s.name: s.notebook.stem for s in runner.discover_stages()}
    for step, run in cloud["runs"]["full"]:
        assert run.run_dir.startswith(f"gs://{BUCKETS['artifacts']}/runs/"), f"found {run.run_dir}"
        fs = storage.filesystem(run.run_dir)
        found = sorted(p.split(f"{run.run_id}/", 1)[1] for p in fs.find(run.run_dir))
        stages = [notebooks[s] for s in step.stages]
        expected = sorted([f"{s}.ipynb" for s in stages] + [f"book/{s}.html" for s in stages]
                          + [f"outputs/{s}.json" for s in step.stages]
                          + ["book/index.html", "context.json", "manifest.json"]
                          + (["plan.json"] if planned & set(step.stages) else []))
        assert found == expected, f"{step.name}: expected {expected}, found {found}"
        manifest = storage.read_json(join(run.run_dir, "manifest.json"))
        assert manifest == json.loads(json.dumps(run.manifest, default=str)), f"{step.name}: expected the manifest"
        book = storage.read_bytes(join(run.run_dir, "book", "index.html")).decode()
        assert run.run_id in book and f"{stages[-1]}.html" in book, "expected the run's book, linking its pages"
    run = job_run(cloud["runs"]["full"])
    published = {o["name"] for o in run.manifest["outputs"] if o["stage"] == "publish"}
    assert published == set(TABLES), f"expected every table published, found {sorted(published)}"
    notebook = nbformat.reads(storage.read_bytes(join(run.run_dir, "40_publish.ipynb")).decode(), as_version=4)
    executed = [c for c in notebook.cells if c.cell_type == "code" and c.get("execution_count")]
    assert executed, "expected the executed publish notebook, with executed cells"


def test_the_api_token_is_in_no_artifact(cloud):
    fs = storage.filesystem(f"gs://{BUCKETS['artifacts']}")
    paths = [p for runs in cloud["runs"].values() for _, run in runs for p in fs.find(run.run_dir)]
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
    # BigQuery as the dashboard's own identity, through its proxies (none: as the test itself).
    dashboard = cloud["acting_as"](cloud["dashboard"]) if cloud["dashboard"] else contextlib.nullcontext()
    with dashboard, open_gold(on_bigquery) as bq, open_gold(on_duckdb) as duck:
        units = [filter_options(g).regional_units.sort_values("regional_unit_id", ignore_index=True) for g in (bq, duck)]
        assert_frame_equal(*units, check_dtype=False, obj="regional units")  # SELECT DISTINCT: no order
        for f in filters:
            assert_frame_equal(headline(bq, f), headline(duck, f), check_dtype=False, obj=f"headline for {f}")
            for figure in dashboard_figures(on_duckdb):
                expected = figure.query(duck, f)
                assert f != filters[0] or len(expected), f"{figure.key}: expected rows for the default selection"
                assert_frame_equal(figure.query(bq, f), expected, check_dtype=False, obj=f"{figure.key} for {f}")
    if cloud["dashboard"]:
        gate = cloud["gates"][cloud["dashboard"]]
        refused = gate["bigquery"].denied + gate["storage"].denied + gate["bigquery"].unclassified
        assert refused == [], f"expected the dashboard's queries within its rights, found {refused}"
        used = gate["bigquery"].used[("bigquery.tables.getData", f"{cloud['registry'].bigquery_project}."
                                                                   f"{cloud['registry'].gold_dataset}")]
        assert used, f"expected the dashboard's queries through its proxy, found {dict(gate['bigquery'].used)}"
