"""Publishing to BigQuery: SQL and partition selection (fast), and load jobs against bqemulator (slow).

The emulator tests read the base tables back: decorator writes fail silently
on emulators, so only what a SELECT returns counts. What the emulator cannot
show is said in the test that would need it.
"""

import datetime as dt
import json
import secrets
from pathlib import Path

import fsspec
import nbformat
import papermill
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bigquery_emulator import running_emulator, running_fake_gcs, running_local_bigquery
from google.cloud import bigquery

from gnp.core import manifest, storage
from gnp.core.config import load_params
from gnp.core.registry import Registry, join
from gnp.core.schemas import (
    COHORT_RETENTION,
    MEASUREMENTS,
    QUALITY_RESULTS,
    QUARANTINE,
    REGIONAL_METRICS,
    SESSIONS,
    SPEED_HISTOGRAM,
    TABLES,
    TableSpec,
)
from gnp.lake import lakehouse
from gnp.quality import results
from gnp.serving.bigquery_tables import (
    EMULATOR_HOST_ENV,
    PublishError,
    bigquery_client,
    bigquery_schema,
    ensure_table,
    field_shape,
)
from serving.bigquery_faults import faulty_bigquery

from gnp.serving.publish import (
    PUBLISHED,
    expand_sources,
    load_staging,
    partitions_to_replace,
    publish_all,
    publish_table,
    record_published,
    replace_partitions_sql,
    rewritten_partitions,
)

D1, D2, D3 = dt.date(2025, 10, 25), dt.date(2025, 10, 26), dt.date(2025, 10, 27)
ARROW_TYPES = {
    "bigint": pa.int64(),
    "int": pa.int32(),
    "double": pa.float64(),
    "string": pa.string(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "array<string>": pa.list_(pa.string()),
}


# --- fast: no BigQuery ------------------------------------------------------

def test_table_output_records_the_partitions_written_and_their_column(tmp_path):
    registry = Registry.from_params(_params(tmp_path, "p"))
    commit(registry.table_path("measurements"), MEASUREMENTS, {d: spec_rows(MEASUREMENTS, d) for d in (D1, D2, D3)})

    some = results.table_output(registry, "measurements", [D3, D1, D3])
    whole = results.table_output(registry, "measurements")

    expected = {"name": "measurements", "location": registry.table_path("measurements"), "rows": 6,
                "partition_by": "measurement_date", "partitions": [D1.isoformat(), D3.isoformat()]}
    assert some == expected, f"expected {expected}, found {some}"
    assert (whole["rows"], whole["partitions"]) == (9, None), f"expected every partition (null), found {whole}"


def record_run(params, run_id: str, silver: dict, gold: dict) -> None:
    """Output records as the Silver and Gold stages write them: table -> partitions (None: whole table)."""
    registry = Registry.from_params(params)
    for stage, tables in (("silver", silver), ("gold", gold)):
        outputs = [{"name": name, "location": registry.table_path(name), "rows": 1,
                    "partition_by": TABLES[name].partition_by,
                    "partitions": None if values is None else [v.isoformat() for v in values]}
                   for name, values in tables.items()]
        manifest.record_outputs(params, run_id, stage, outputs)


def test_publish_replaces_what_silver_and_gold_recorded_and_quality_results_whole(tmp_path):
    params = _params(tmp_path, "p")
    record_run(params, "r1", silver={"measurements": [D3, D2], "sessions": [D1, D2, D3]},
               gold={"speed_histogram": [dt.date(2025, 10, 1)], "cohort_retention": None})

    found = partitions_to_replace(Registry.from_params(params), "r1", full_refresh=False)

    expected = {"measurements": [D2, D3], "sessions": [D1, D2, D3], "cohort_retention": None,
                "speed_histogram": [dt.date(2025, 10, 1)], "quality_results": None}
    assert found == expected, f"expected {expected}, found {found}"


def test_full_refresh_replaces_every_partition_of_every_table_whatever_was_recorded(tmp_path):
    params = _params(tmp_path, "p")
    record_run(params, "r2", silver={"measurements": [D3]}, gold={})

    found = partitions_to_replace(Registry.from_params(params), "r2", full_refresh=True)

    expected = {spec.name: None for spec in PUBLISHED}
    assert found == expected, f"expected {expected}, found {found}"


def test_a_run_without_records_rewrote_nothing_and_old_records_without_partitions_mean_whole_tables(tmp_path):
    params = _params(tmp_path, "p")
    registry = Registry.from_params(params)
    manifest.record_outputs(params, "old", "silver", [{"name": "sessions", "location": "x", "rows": 3}])

    assert rewritten_partitions(registry, "never-ran") == {}, "expected nothing recorded for an unknown run"
    assert rewritten_partitions(registry, "") == {}, "expected nothing recorded outside a run"
    found = rewritten_partitions(registry, "old")
    assert found == {"sessions": None}, f"expected the whole table for a record without partitions, found {found}"


def test_publish_replaces_the_plans_partitions_of_each_table_a_stage_recorded_and_no_other(tmp_path):
    params = _params(tmp_path, "p")
    record_run(params, "r3", silver={"measurements": [D3, D2], "sessions": [D1, D2, D3]}, gold={})
    planned = {"measurements": (D2, D3), "quarantine": (D2, D3), "sessions": (D1, D2, D3),
               "area_isp_metrics": (D1, D2, D3), "cohort_retention": None}

    found = partitions_to_replace(Registry.from_params(params), "r3", False, planned)

    # Gold is planned but recorded nothing (it did not run): it is not published.
    expected = {"measurements": [D2, D3], "sessions": [D1, D2, D3], "quality_results": None}
    assert found == expected, f"expected {expected}, found {found}"


def test_a_record_that_disagrees_with_the_plan_is_an_error_naming_both(tmp_path):
    params = _params(tmp_path, "p")
    record_run(params, "r4", silver={"measurements": [D2, D3]}, gold={"cohort_retention": None})
    registry = Registry.from_params(params)

    with pytest.raises(PublishError, match="measurements: run r4's stages recorded rewriting 2025-10-26, 2025-10-27, "
                                           "but its plan says 2025-10-27;"):
        partitions_to_replace(registry, "r4", False, {"measurements": (D3,), "cohort_retention": None})
    with pytest.raises(PublishError, match="cohort_retention: .* recorded rewriting every partition, but its plan "
                                           "says nothing"):
        partitions_to_replace(registry, "r4", False, {"measurements": (D2, D3)})


def test_replace_sql_deletes_the_named_partitions_and_inserts_every_spec_column_in_one_transaction():
    sql = replace_partitions_sql(SESSIONS, "p.s.sessions", "p.s.stage", [D1, D2])

    columns = ", ".join(f"`{c}`" for c in SESSIONS.column_names)
    expected = (
        "BEGIN TRANSACTION;\n"
        "DELETE FROM `p.s.sessions` WHERE `session_date` IN (DATE '2025-10-25', DATE '2025-10-26');\n"
        f"INSERT INTO `p.s.sessions` ({columns})\nSELECT {columns} FROM `p.s.stage`;\n"
        "COMMIT TRANSACTION;"
    )
    assert sql == expected, f"expected {expected!r}, found {sql!r}"


def test_replace_sql_for_a_full_refresh_deletes_every_row():
    sql = replace_partitions_sql(SESSIONS, "p.s.sessions", "p.s.stage", None)

    assert "DELETE FROM `p.s.sessions` WHERE TRUE;" in sql, f"expected a delete of every row, found {sql!r}"


def test_expand_sources_lists_local_files_and_leaves_gcs_globs_to_bigquery(tmp_path):
    for name in ("b.parquet", "a.parquet", "c.json"):
        (tmp_path / name).write_bytes(b"x")

    found = expand_sources([str(tmp_path / "*.parquet"), "gs://bucket/t/_writes/w/__d=2025-01-01/*.parquet"])

    expected = [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet"), "gs://bucket/t/_writes/w/__d=2025-01-01/*.parquet"]
    assert found == expected, f"expected {expected}, found {found}"


# --- helpers: a lakehouse written the way gnp.lake.lakehouse lays it out ---------

def _params(tmp_path, project):
    tag = secrets.token_hex(3)
    path = tmp_path / "params.yaml"
    path.write_text(
        "env: test\n"
        f"dates: {{date_from: '{D1}', date_to: '{D3}'}}\n"
        "storage: {lake: lake, artifacts: artifacts}\n"
        f"warehouse: {{kind: bigquery, project: {project}, location: EU, "
        f"silver_dataset: silver_{tag}, gold_dataset: gold_{tag}}}\n"
    )
    return load_params(path)


def spec_rows(spec: TableSpec, partition: dt.date, n: int = 3, version: int = 0) -> list[dict]:
    """``n`` rows of the spec's columns in one partition; the last row nulls every nullable column."""
    rows = []
    for i in range(n):
        is_null_row = i == n - 1 and n > 1
        row = {}
        for c in spec.columns:
            if c.name == spec.partition_by:
                value = partition
            elif is_null_row and c.nullable:
                value = None
            else:
                value = {
                    "bigint": partition.toordinal() * 1000 + i,
                    "int": i,
                    "double": i * 1.5 + version + (0.25 if c.name.endswith("_pct") else 0),
                    "string": f"{c.name}-{partition}-{i}",
                    "boolean": i % 2 == 0,
                    "date": partition - dt.timedelta(days=i),
                    "timestamp": dt.datetime.combine(partition, dt.time(23, 59, 59, 999999), dt.timezone.utc)
                    - dt.timedelta(minutes=i),
                    "array<string>": [f"reason-{i}", "ü"] if i else [],
                }[c.type]
            row[c.name] = value
        rows.append(row)
    return rows


DELTA_TYPES = {"bigint": "long", "int": "integer", "double": "double", "string": "string", "boolean": "boolean",
               "date": "date", "timestamp": "timestamp",
               "array<string>": {"type": "array", "elementType": "string", "containsNull": True}}


def commit(table_path: str, spec: TableSpec, partitions: dict, drop=()) -> None:
    """Replace ``partitions`` (value -> rows) and drop ``drop`` in one Delta commit, as ``lakehouse.replace_partitions`` would.

    The files are laid out as Spark's Delta writes them (hive-style partition
    folders, the partition column inside the files too; timestamps as INT96,
    ints as INT32); the commit is a JSON log entry written here, no Spark needed.
    """
    version = lakehouse.version(table_path)
    version = 0 if version is None else version + 1
    now = int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000)
    column = spec.partition_by
    actions = []
    if version == 0:
        fields = [{"name": c.name, "type": DELTA_TYPES[c.type], "nullable": True, "metadata": {}} for c in spec.columns]
        actions += [{"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
                    {"metaData": {"id": secrets.token_hex(16), "format": {"provider": "parquet", "options": {}},
                                  "schemaString": json.dumps({"type": "struct", "fields": fields}),
                                  "partitionColumns": [column], "configuration": {}, "createdTime": now}}]
    else:
        replaced = [*drop, *partitions]
        for uri in lakehouse.current_files(table_path, only=replaced):
            relative = uri[len(table_path.rstrip("/")) + 1:] if uri.startswith(table_path) else uri
            actions.append({"remove": {"path": relative, "deletionTimestamp": now, "dataChange": True}})
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in spec.columns])
    for value, rows in partitions.items():
        relative = f"{column}={value.isoformat()}/part-{version:05d}-{secrets.token_hex(4)}.c000.snappy.parquet"
        location = join(table_path, relative)
        storage.ensure_dir(location.rsplit("/", 1)[0])
        with fsspec.open(location, "wb") as fh:
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), fh, use_deprecated_int96_timestamps=True)
        size = storage.filesystem(location).size(location)
        actions.append({"add": {"path": relative, "partitionValues": {column: value.isoformat()}, "size": size,
                                "modificationTime": now, "dataChange": True}})
    actions.append({"commitInfo": {"timestamp": now, "operation": "WRITE", "userMetadata": "test"}})
    log = join(table_path, lakehouse.DELTA_LOG, f"{version:020d}.json")
    storage.write_bytes(log, "\n".join(json.dumps(a) for a in actions).encode() + b"\n")


def read_back(client: bigquery.Client, table_id: str, spec: TableSpec) -> list[dict]:
    """Every row of the base table, ordered by the spec's key."""
    order = ", ".join(f"`{k}`" for k in spec.key)
    return [dict(r.items()) for r in client.query(f"SELECT * FROM `{table_id}` ORDER BY {order}").result()]


def by_key(rows: list[dict], spec: TableSpec) -> list[dict]:
    return sorted(rows, key=lambda r: tuple(r[k] for k in spec.key))


# --- slow: against the emulator --------------------------------------------

@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with running_emulator(tmp_path_factory.mktemp("bqemulator")) as running:
        yield running


@pytest.fixture
def params(tmp_path, emulator):
    return _params(tmp_path, emulator.project)


@pytest.fixture
def registry(params):
    return Registry.from_params(params)


def create_datasets(client: bigquery.Client, registry: Registry) -> None:
    """What Terraform's first apply does (publish never creates a dataset)."""
    for dataset in (registry.silver_dataset, registry.gold_dataset):
        client.create_dataset(f"{registry.bigquery_project}.{dataset}", exists_ok=True)


@pytest.fixture
def client(params, emulator, monkeypatch):
    monkeypatch.setenv(EMULATOR_HOST_ENV, emulator.endpoint)
    client = bigquery_client(params)
    create_datasets(client, Registry.from_params(params))
    return client


@pytest.mark.slow
def test_publish_all_creates_every_table_from_its_spec_and_loads_its_rows(client, registry, params):
    """Schema, DAY partitioning on partition_by and clustering fields as read back from table metadata.

    The emulator stores and returns partitioning and clustering as given; that
    BigQuery really prunes and clusters by them cannot be seen here.
    """
    expected_rows = {}
    for spec in TABLES.values():
        first, second = (dt.date(2025, 9, 1), dt.date(2025, 10, 1)) if spec is SPEED_HISTOGRAM else (D1, D2)
        partitions = {first: spec_rows(spec, first), second: spec_rows(spec, second, n=1)}
        expected_rows[spec.name] = by_key(partitions[first] + partitions[second], spec)
        commit(registry.table_path(spec.name), spec, partitions)

    published = publish_all(client, registry, partitions_to_replace(registry, "", full_refresh=True))

    found_counts = {p.name: (p.rows, p.files, p.partitions, p.skipped) for p in published}
    expected_counts = {name: (4, 2, None, None) for name in TABLES}
    assert found_counts == expected_counts, f"expected {expected_counts}, found {found_counts}"
    first_output = published[0].output()
    expected_output = {"name": "measurements", "location": registry.table_id("measurements"), "rows": 4, "partitions": None}
    assert first_output == expected_output, f"expected {expected_output}, found {first_output}"
    for spec in TABLES.values():
        table = client.get_table(registry.table_id(spec.name))
        partitioning = table.time_partitioning
        found = (field_shape(table.schema), partitioning.type_, partitioning.field, table.clustering_fields)
        expected = (field_shape(bigquery_schema(spec)), "DAY", spec.partition_by, list(spec.cluster_by) or None)
        assert found == expected, f"{spec.name}: expected {expected}, found {found}"
        contents = read_back(client, registry.table_id(spec.name), spec)
        assert contents == expected_rows[spec.name], f"{spec.name}: expected {expected_rows[spec.name]}, found {contents}"
    datasets = (params.warehouse.silver_dataset, params.warehouse.gold_dataset)
    tables = sorted(t.table_id for d in datasets for t in client.list_tables(d))
    assert tables == sorted(TABLES), f"expected only the base tables (staging dropped), found {tables}"


@pytest.mark.slow
def test_republishing_the_same_dates_leaves_identical_contents(client, registry):
    table_path, table_id = registry.table_path("measurements"), registry.table_id("measurements")
    commit(table_path, MEASUREMENTS, {d: spec_rows(MEASUREMENTS, d) for d in (D1, D2, D3)})

    publish_table(client, registry, MEASUREMENTS, [D1, D2, D3])
    first = read_back(client, table_id, MEASUREMENTS)
    again = publish_table(client, registry, MEASUREMENTS, [D1, D2, D3])
    second = read_back(client, table_id, MEASUREMENTS)

    expected = by_key([r for d in (D1, D2, D3) for r in spec_rows(MEASUREMENTS, d)], MEASUREMENTS)
    assert first == expected, f"expected {expected}, found {first}"
    assert second == first, f"expected the same rows after republishing, found {second}"
    assert (again.rows, again.partitions) == (9, [D1.isoformat(), D2.isoformat(), D3.isoformat()]), f"found {again}"


@pytest.mark.slow
def test_republishing_one_date_replaces_exactly_that_date_with_changed_values(client, registry):
    table_path, table_id = registry.table_path("sessions"), registry.table_id("sessions")
    commit(table_path, SESSIONS, {d: spec_rows(SESSIONS, d) for d in (D1, D2, D3)})
    publish_table(client, registry, SESSIONS, None)
    before = read_back(client, table_id, SESSIONS)
    changed = spec_rows(SESSIONS, D2, n=2, version=7)  # one row fewer, and new medians
    commit(table_path, SESSIONS, {D2: changed})
    # The lakehouse now differs on D1 too, but only D2 is republished: D1 must keep its published rows.
    commit(table_path, SESSIONS, {D1: spec_rows(SESSIONS, D1, version=100)})

    published = publish_table(client, registry, SESSIONS, [D2])
    after = read_back(client, table_id, SESSIONS)

    untouched = [r for r in before if r["session_date"] != D2]
    expected = by_key(untouched + changed, SESSIONS)
    assert after == expected, f"expected {expected}, found {after}"
    assert after != before, "expected the changed D2 values to show up"
    assert (published.rows, published.files) == (2, 1), f"expected 2 rows from 1 file, found {published}"


@pytest.mark.slow
def test_a_day_the_lakehouse_no_longer_has_is_removed_and_other_days_stay(client, registry):
    table_path, table_id = registry.table_path("measurements"), registry.table_id("measurements")
    commit(table_path, MEASUREMENTS, {d: spec_rows(MEASUREMENTS, d) for d in (D1, D2, D3)})
    publish_table(client, registry, MEASUREMENTS, None)
    commit(table_path, MEASUREMENTS, {}, drop=[D3])

    published = publish_table(client, registry, MEASUREMENTS, [D3])
    after = read_back(client, table_id, MEASUREMENTS)

    expected = by_key([r for d in (D1, D2) for r in spec_rows(MEASUREMENTS, d)], MEASUREMENTS)
    assert after == expected, f"expected D1 and D2 only, found {after}"
    assert (published.rows, published.files) == (0, 0), f"expected nothing loaded, found {published}"


@pytest.mark.slow
def test_a_recorded_month_replaces_that_month_in_a_month_partitioned_table(client, registry):
    september, october = dt.date(2025, 9, 1), dt.date(2025, 10, 1)
    table_path, table_id = registry.table_path("speed_histogram"), registry.table_id("speed_histogram")
    commit(table_path, SPEED_HISTOGRAM, {m: spec_rows(SPEED_HISTOGRAM, m) for m in (september, october)})
    publish_table(client, registry, SPEED_HISTOGRAM, None)
    new_october = spec_rows(SPEED_HISTOGRAM, october, n=4, version=3)
    commit(table_path, SPEED_HISTOGRAM, {october: new_october})

    published = publish_table(client, registry, SPEED_HISTOGRAM, [october])
    after = read_back(client, table_id, SPEED_HISTOGRAM)

    expected = by_key(spec_rows(SPEED_HISTOGRAM, september) + new_october, SPEED_HISTOGRAM)
    assert after == expected, f"expected September as before and the new October, found {after}"
    assert published.partitions == [october.isoformat()], f"expected only October, found {published.partitions}"


@pytest.mark.slow
def test_a_table_missing_from_the_lakehouse_is_skipped_not_emptied(client, registry):
    table_path, table_id = registry.table_path("quality_results"), registry.table_id("quality_results")
    commit(table_path, QUALITY_RESULTS, {D1: spec_rows(QUALITY_RESULTS, D1)})
    publish_table(client, registry, QUALITY_RESULTS, None)
    storage.filesystem(table_path).rm(table_path, recursive=True)  # e.g. a lake location mistyped in the params

    published = publish_table(client, registry, QUALITY_RESULTS, None)
    after = read_back(client, table_id, QUALITY_RESULTS)

    assert published.skipped and published.rows == 0, f"expected a skip, found {published}"
    expected = by_key(spec_rows(QUALITY_RESULTS, D1), QUALITY_RESULTS)
    assert after == expected, f"expected the published rows to stay, found {after}"


@pytest.mark.slow
def test_no_partitions_publish_nothing_and_leave_the_table_as_it_is(client, registry):
    table_path, table_id = registry.table_path("measurements"), registry.table_id("measurements")
    commit(table_path, MEASUREMENTS, {D1: spec_rows(MEASUREMENTS, D1)})
    publish_table(client, registry, MEASUREMENTS, None)

    published = publish_table(client, registry, MEASUREMENTS, [])
    after = read_back(client, table_id, MEASUREMENTS)

    assert (published.rows, published.partitions) == (0, []), f"expected nothing published, found {published}"
    assert after == by_key(spec_rows(MEASUREMENTS, D1), MEASUREMENTS), f"expected D1 as published, found {after}"


@pytest.mark.slow
def test_an_existing_table_with_another_schema_is_refused(client, registry, params):
    table_id = registry.table_id("quality_results")
    client.create_table(bigquery.Table(table_id, schema=[bigquery.SchemaField("run_id", "STRING")]))

    with pytest.raises(PublishError, match="existing schema differs"):
        ensure_table(client, QUALITY_RESULTS, table_id)


@pytest.mark.slow
def test_a_missing_dataset_is_an_error_naming_the_terraform_step_and_nothing_is_created(tmp_path, emulator, monkeypatch):
    """Publish never creates a dataset: BigQuery checks datasets.create even to answer "exists"."""
    monkeypatch.setenv(EMULATOR_HOST_ENV, emulator.endpoint)
    params = _params(tmp_path, emulator.project)  # datasets of its own, never created
    registry, client = Registry.from_params(params), bigquery_client(params)
    commit(registry.table_path("measurements"), MEASUREMENTS, {D1: spec_rows(MEASUREMENTS, D1)})
    silver = f"{registry.bigquery_project}.{registry.silver_dataset}"

    with pytest.raises(PublishError) as publishing:
        publish_all(client, registry, partitions_to_replace(registry, "", full_refresh=True))
    with pytest.raises(PublishError) as creating_a_table:
        ensure_table(client, MEASUREMENTS, registry.table_id("measurements"))

    for raised in (publishing, creating_a_table):
        message = str(raised.value)
        named = [part in message for part in (silver, "does not exist", "terraform apply", "terraform/README.md")]
        assert all(named), f"expected the dataset and the Terraform step named, found {message!r}"
    datasets = sorted(d.dataset_id for d in client.list_datasets())
    assert registry.silver_dataset not in datasets, f"expected no dataset created, found {datasets}"


# --- slow: the publish notebook, executed by papermill ----------------------

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "40_publish.ipynb"


def execute_notebook(output: Path, **parameters) -> str:
    """Run the notebook on the project kernel; its outputs as text."""
    papermill.execute_notebook(
        str(NOTEBOOK), str(output), parameters=parameters, kernel_name="gnp", cwd=str(NOTEBOOK.parent),
        progress_bar=False,
    )
    return json.dumps([cell.get("outputs", []) for cell in nbformat.read(output, as_version=4).cells])


@pytest.mark.slow
def test_notebook_skips_publishing_for_the_local_warehouse(tmp_path):
    params_file = tmp_path / "local.yaml"
    params_file.write_text(
        f"env: test\ndates: {{date_from: '{D1}', date_to: '{D1}'}}\nstorage: {{lake: lake, artifacts: artifacts}}\n"
    )

    text = execute_notebook(tmp_path / "out.ipynb", params_file=str(params_file), run_id="r-local")

    assert "nothing to publish" in text, f"expected the skip message, found {text[:2000]}"
    recorded = json.loads((tmp_path / "artifacts" / "runs" / "r-local" / "outputs" / "publish.json").read_text())
    assert recorded == [], f"expected no outputs recorded, found {recorded}"


@pytest.mark.slow
def test_notebook_publishes_what_the_run_recorded_and_everything_on_full_refresh(client, registry, params, tmp_path):
    # Day 1 of measurements counts as published by an earlier run (recorded; its rows are not loaded here, so
    # a publish of anything beyond what changed since would show), and so do sessions as they are.
    commit(registry.table_path("measurements"), MEASUREMENTS, {D1: spec_rows(MEASUREMENTS, D1)})
    record_published(registry, "measurements", 0)
    commit(registry.table_path("measurements"), MEASUREMENTS, {d: spec_rows(MEASUREMENTS, d) for d in (D2, D3)})
    commit(registry.table_path("sessions"), SESSIONS, {d: spec_rows(SESSIONS, d) for d in (D1, D2)})
    record_published(registry, "sessions", 0)
    # The run rewrote measurements of D2..D3 and sessions from the day before (D1); D1 measurements are not its.
    record_run(params, "r-bq", silver={"measurements": [D2, D3], "sessions": [D1, D2, D3]}, gold={})

    text = execute_notebook(
        tmp_path / "out.ipynb", params_file=params.params_file, date_from=str(D2), date_to=str(D3), run_id="r-bq"
    )

    recorded = json.loads(storage.read_bytes(join(registry.run_dir("r-bq"), "outputs", "publish.json")))
    expected = [
        {"name": "measurements", "location": registry.table_id("measurements"), "rows": 6,
         "partitions": [D2.isoformat(), D3.isoformat()]},
        {"name": "sessions", "location": registry.table_id("sessions"), "rows": 6,
         "partitions": [D1.isoformat(), D2.isoformat(), D3.isoformat()]},
    ]
    assert recorded == expected, f"expected {expected}, found {recorded}"
    found = read_back(client, registry.table_id("measurements"), MEASUREMENTS)
    expected_rows = by_key([r for d in (D2, D3) for r in spec_rows(MEASUREMENTS, d)], MEASUREMENTS)
    assert found == expected_rows, f"expected D2 and D3 only, found {found}"
    sessions = read_back(client, registry.table_id("sessions"), SESSIONS)
    expected_sessions = by_key([r for d in (D1, D2) for r in spec_rows(SESSIONS, d)], SESSIONS)
    assert sessions == expected_sessions, f"expected the day before the range too, found {sessions}"
    summary_shown = "regional_metrics" in text and "not rewritten by this run" in text
    assert summary_shown, f"expected the summary table with skipped tables, found {text[:2000]}"

    execute_notebook(tmp_path / "full.ipynb", params_file=params.params_file, date_from=str(D3), date_to=str(D3),
                     run_id="r-bq-full", full_refresh=True)

    found = read_back(client, registry.table_id("measurements"), MEASUREMENTS)
    expected_rows = by_key([r for d in (D1, D2, D3) for r in spec_rows(MEASUREMENTS, d)], MEASUREMENTS)
    assert found == expected_rows, f"expected every day after a full refresh, found {found}"


def record_plan(registry: Registry, run_id: str, days: tuple, full_refresh: bool = False) -> None:
    """A run plan as the runner records it: measurements of ``days``, sessions and Gold from the day before."""
    from gnp.gold.stage import plan as gold_plan
    from gnp.orchestration import runplan
    from gnp.silver.stage import SilverPlan, rewritten, session_days

    silver = SilverPlan(days, days, days, tuple(session_days(days)), (), full_refresh)
    tables = {name: None if only is None else tuple(only) for name, only in rewritten(silver).items()}
    runplan.record(runplan.RunPlan(run_id, silver, gold_plan(silver), tables), registry)


@pytest.mark.slow
def test_notebook_publishes_the_recorded_plan_and_refuses_a_record_that_disagrees(client, registry, params, tmp_path):
    commit(registry.table_path("measurements"), MEASUREMENTS, {d: spec_rows(MEASUREMENTS, d) for d in (D1, D2)})
    record_published(registry, "measurements", 0)  # by an earlier run; only day 3 was committed since
    commit(registry.table_path("measurements"), MEASUREMENTS, {D3: spec_rows(MEASUREMENTS, D3)})
    record_plan(registry, "r-plan", (D3,))  # the dates passed to the notebook (D1..D3) are not the run's window
    record_run(params, "r-plan", silver={"measurements": [D3]}, gold={})

    text = execute_notebook(tmp_path / "out.ipynb", params_file=params.params_file, date_from=str(D1),
                            date_to=str(D3), run_id="r-plan")

    assert "recorded by the runner at" in text and "measurement_date 2025-10-27" in text, text[:3000]
    found = read_back(client, registry.table_id("measurements"), MEASUREMENTS)
    assert found == by_key(spec_rows(MEASUREMENTS, D3), MEASUREMENTS), f"expected the plan's D3 only, found {found}"
    record_plan(registry, "r-drift", (D3,))
    record_run(params, "r-drift", silver={"measurements": [D2, D3]}, gold={})

    with pytest.raises(papermill.PapermillExecutionError, match="recorded rewriting 2025-10-26, 2025-10-27, but "
                                                               "its plan says 2025-10-27"):
        execute_notebook(tmp_path / "drift.ipynb", params_file=params.params_file, run_id="r-drift")


@pytest.mark.slow
def test_load_staging_reads_gcs_uris_with_a_load_job_from_uri(client, registry, emulator):
    """The gs:// branch (load_table_from_uri with a wildcard URI), on bqemulator's shared folder.

    Only a flat object name is shown: bqemulator reads a Hive-style folder of a
    lakehouse leaf (``__session_date=...``) as an extra column and refuses the
    load, which real BigQuery does not do without hive partitioning options.
    """
    bucket_folder = emulator.gcs_root / "lake-bucket" / f"staging-{secrets.token_hex(3)}"
    bucket_folder.mkdir(parents=True)
    rows = spec_rows(SESSIONS, D1)
    schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in SESSIONS.columns])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), bucket_folder / "part-00000.parquet")
    table_id = registry.table_id("sessions")
    ensure_table(client, SESSIONS, table_id)
    staging_id = f"{table_id}_gcs_staging"

    uri = f"gs://lake-bucket/{bucket_folder.name}/*.parquet"

    loaded = load_staging(client, SESSIONS, staging_id, [uri], client.location)
    found = read_back(client, staging_id, SESSIONS)

    assert loaded == 3, f"expected 3 rows loaded, found {loaded}"
    assert found == by_key(rows, SESSIONS), f"expected {by_key(rows, SESSIONS)}, found {found}"


# --- slow: a gs:// lakehouse, read over HTTP by local-bigquery ----------------

@pytest.fixture(scope="module")
def gcs_endpoint(tmp_path_factory):
    with running_fake_gcs(tmp_path_factory.mktemp("fake-gcs")) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def local_bigquery(tmp_path_factory, gcs_endpoint):
    with running_local_bigquery(tmp_path_factory.mktemp("local-bigquery"), gcs_endpoint) as running:
        yield running


@pytest.mark.slow
def test_a_gcs_lakehouse_is_published_with_load_jobs_from_its_uris(tmp_path, gcs_endpoint, local_bigquery, monkeypatch):
    """The cloud layout end to end: lakehouse on gs:// (fake-gcs-server), BigQuery loading the leaves' URIs.

    Runs on local-bigquery, which reads gs:// over HTTP; bqemulator cannot load
    Hive-style leaf folders (see tests/bigquery_emulator.py).
    """
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    monkeypatch.setenv("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # else each gcsfs call waits on a 60 s timeout
    monkeypatch.setenv(EMULATOR_HOST_ENV, local_bigquery.endpoint)
    bucket = f"lake-{secrets.token_hex(3)}"
    storage.filesystem(f"gs://{bucket}").mkdir(bucket)
    params_file = tmp_path / "gcp.yaml"
    params_file.write_text(
        f"env: test\ndates: {{date_from: '{D1}', date_to: '{D3}'}}\n"
        f"storage: {{lake: 'gs://{bucket}/lake', artifacts: 'gs://{bucket}/artifacts'}}\n"
        f"warehouse: {{kind: bigquery, project: {local_bigquery.project}, location: EU}}\n"
    )
    params = load_params(params_file)
    registry, client = Registry.from_params(params), bigquery_client(params)
    create_datasets(client, registry)
    table_path, table_id = registry.table_path("sessions"), registry.table_id("sessions")
    commit(table_path, SESSIONS, {d: spec_rows(SESSIONS, d) for d in (D1, D2, D3)})
    first = publish_table(client, registry, SESSIONS, None)
    changed = spec_rows(SESSIONS, D2, n=2, version=5)
    commit(table_path, SESSIONS, {D2: changed})

    second = publish_table(client, registry, SESSIONS, [D2])
    after = read_back(client, table_id, SESSIONS)

    assert table_path.startswith("gs://") and (first.rows, first.files) == (9, 3), f"found {table_path}, {first}"
    assert (second.rows, second.files) == (2, 1), f"expected 2 rows from 1 file, found {second}"
    expected = by_key(spec_rows(SESSIONS, D1) + changed + spec_rows(SESSIONS, D3), SESSIONS)
    assert after == expected, f"expected {expected}, found {after}"


# --- slow: publish follows the lake, through a proxy that refuses one load job -------------------

DAILY = (MEASUREMENTS, QUARANTINE, SESSIONS, REGIONAL_METRICS)  # each day: one partition, one file, one load job


def _daily_run(registry: Registry, params, run_id: str, day: dt.date, value: int) -> dict:
    """What a daily run's Silver and Gold leave for publish: ``day`` of each table committed, recorded, planned."""
    for spec in DAILY:
        commit(registry.table_path(spec.name), spec, {day: spec_rows(spec, day, version=value)})
    record_run(params, run_id, silver={s.name: [day] for s in DAILY[:3]}, gold={DAILY[3].name: [day]})
    return {spec.name: (day,) for spec in DAILY}


@pytest.mark.slow
def test_a_publish_refused_midway_is_made_good_by_the_next_daily_run(client, registry, params, emulator, monkeypatch):
    with faulty_bigquery(emulator.endpoint) as proxy:
        monkeypatch.setenv(EMULATOR_HOST_ENV, proxy.endpoint)
        through_proxy = bigquery_client(params)
        planned = _daily_run(registry, params, "day-1", D1, 1)
        publish_all(through_proxy, registry, partitions_to_replace(registry, "day-1", False, planned))
        assert proxy.load_jobs == len(DAILY), f"expected one load job per table, found {proxy.load_jobs}"

        planned = _daily_run(registry, params, "day-2", D2, 2)
        proxy.fail_load_job = proxy.load_jobs + 3  # day 2's third table: sessions
        with pytest.raises(Exception, match="injected"):
            publish_all(through_proxy, registry, partitions_to_replace(registry, "day-2", False, planned))
        assert len(proxy.refused) == 1

        planned = _daily_run(registry, params, "day-3", D3, 3)  # the next day's run plans day 3 only
        publish_all(through_proxy, registry, partitions_to_replace(registry, "day-3", False, planned))

    for spec in DAILY:  # the lake holds each day once, as committed; BigQuery must hold exactly that
        lake = by_key([r for day, value in ((D1, 1), (D2, 2), (D3, 3)) for r in spec_rows(spec, day, version=value)],
                      spec)
        assert list(lakehouse.partitions(registry.table_path(spec.name))) == [str(D1), str(D2), str(D3)]
        found = read_back(client, registry.table_id(spec.name), spec)
        assert found == lake, (f"{spec.name}: BigQuery differs from the lake; days in BigQuery "
                               f"{sorted({r[spec.partition_by] for r in found})}, in the lake {[D1, D2, D3]}")
