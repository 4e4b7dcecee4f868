import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from gnp.core.config import load_params
from gnp.core.schemas import MEASUREMENTS, QUARANTINE, TABLES, TableSpec
from gnp.serving.bigquery_tables import (
    EMULATOR_HOST_ENV,
    PublishError,
    bigquery_client,
    bigquery_schema,
    field_shape,
    table_definition,
)

# Written out by hand, not derived from schemas.bigquery_type, so a wrong mapping shows.
EXPECTED_TYPES = {
    "bigint": ("INT64", "NULLABLE"),
    "int": ("INT64", "NULLABLE"),
    "double": ("FLOAT64", "NULLABLE"),
    "string": ("STRING", "NULLABLE"),
    "boolean": ("BOOL", "NULLABLE"),
    "date": ("DATE", "NULLABLE"),
    "timestamp": ("TIMESTAMP", "NULLABLE"),
    "array<string>": ("STRING", "REPEATED"),
}


@pytest.mark.parametrize("spec", TABLES.values(), ids=list(TABLES))
def test_bigquery_schema_follows_the_spec_column_by_column(spec):
    expected = []
    for c in spec.columns:
        type_, mode = EXPECTED_TYPES[c.type]
        expected.append((c.name, type_, "REQUIRED" if mode == "NULLABLE" and not c.nullable else mode, c.description))

    found = [(f.name, f.field_type, f.mode, f.description) for f in bigquery_schema(spec)]

    assert found == expected, f"expected {expected}, found {found}"


@pytest.mark.parametrize("spec", TABLES.values(), ids=list(TABLES))
def test_relaxed_schema_keeps_types_and_repetition_but_requires_nothing(spec):
    strict, relaxed = field_shape(bigquery_schema(spec)), field_shape(bigquery_schema(spec, relaxed=True))

    expected = [(n, t, "REPEATED" if m == "REPEATED" else "NULLABLE") for n, t, m in strict]
    assert relaxed == expected, f"expected {expected}, found {relaxed}"


def test_field_shape_reads_legacy_type_names_as_standard_ones():
    legacy = [bigquery.SchemaField("n", "INTEGER"), bigquery.SchemaField("x", "FLOAT"), bigquery.SchemaField("b", "BOOLEAN")]

    found = field_shape(legacy)

    expected = [("n", "INT64", "NULLABLE"), ("x", "FLOAT64", "NULLABLE"), ("b", "BOOL", "NULLABLE")]
    assert found == expected, f"expected {expected}, found {found}"


@pytest.mark.parametrize("spec", TABLES.values(), ids=list(TABLES))
def test_table_definition_partitions_by_day_and_clusters_as_the_spec_says(spec):
    table = table_definition(spec, f"p.d.{spec.name}")

    found = (table.time_partitioning.type_, table.time_partitioning.field, table.clustering_fields)
    expected = ("DAY", spec.partition_by, list(spec.cluster_by) or None)
    assert found == expected, f"expected {expected}, found {found}"


def test_table_definition_refuses_more_than_four_clustering_columns():
    spec = TableSpec(**{**MEASUREMENTS.__dict__, "cluster_by": ("user_id", "isp", "os_name", "periphery_id", "postal_code")})

    with pytest.raises(PublishError, match="at most 4 columns"):
        table_definition(spec, "p.d.t")


def test_table_definition_refuses_a_partition_column_that_is_not_a_date():
    spec = TableSpec(**{**QUARANTINE.__dict__, "partition_by": "record_index"})

    with pytest.raises(PublishError, match="must be a date, found bigint"):
        table_definition(spec, "p.d.t")


def test_client_talks_to_the_emulator_anonymously_when_its_host_is_set(tmp_path, monkeypatch):
    params_file = tmp_path / "p.yaml"
    params_file.write_text(
        "env: t\ndates: {date_from: '2025-01-01', date_to: '2025-01-02'}\n"
        "warehouse: {kind: bigquery, project: proj-x, location: europe-west4}\n"
    )
    monkeypatch.setenv(EMULATOR_HOST_ENV, "127.0.0.1:9050")

    client = bigquery_client(load_params(params_file))

    found = (client.project, client.location, client._connection.API_BASE_URL, type(client._credentials))
    expected = ("proj-x", "europe-west4", "http://127.0.0.1:9050", AnonymousCredentials)
    assert found == expected, f"expected {expected}, found {found}"
