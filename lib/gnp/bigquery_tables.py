"""BigQuery clients, schemas and tables derived from the table specs (``gnp.schemas``).

Every table is partitioned by DAY on its spec's ``partition_by`` column (always
a DATE) and clustered by its ``cluster_by`` columns. A ``month`` column holds
first days of months, so each month is one daily partition: one partitioning
rule for every table, and the same DELETE by partition value replaces a month
or a day.
"""

from __future__ import annotations

import os

from google.api_core.exceptions import NotFound
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from gnp.config import Params
from gnp.schemas import TableSpec, bigquery_type

EMULATOR_HOST_ENV = "BIGQUERY_EMULATOR_HOST"  # set only when testing against a local emulator
MAX_CLUSTERING_FIELDS = 4  # BigQuery's limit
PARTITION_TYPE = bigquery.TimePartitioningType.DAY
REQUIRED = "REQUIRED"
NULLABLE = "NULLABLE"
REPEATED = "REPEATED"
# BigQuery answers with legacy type names for tables created with standard ones.
_STANDARD_TYPES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}


class PublishError(RuntimeError):
    """A BigQuery table cannot take the spec's data as it is."""


def bigquery_client(params: Params) -> bigquery.Client:
    """A client for the params' project and location.

    Real BigQuery authenticates with Application Default Credentials (Workload
    Identity in the cloud). When ``BIGQUERY_EMULATOR_HOST`` is set, the same
    client talks to that endpoint without credentials.
    """
    wh = params.warehouse
    host = os.environ.get(EMULATOR_HOST_ENV, "")
    if not host:
        return bigquery.Client(project=wh.project, location=wh.location)
    endpoint = host if "://" in host else f"http://{host}"
    return bigquery.Client(
        project=wh.project,
        location=wh.location,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )


def bigquery_schema(spec: TableSpec, *, relaxed: bool = False) -> list[bigquery.SchemaField]:
    """The spec's columns as BigQuery fields, with their descriptions.

    Args:
        relaxed: every non-repeated field NULLABLE (staging tables: the base
            table's REQUIRED fields check the rows when they are inserted).
    """
    fields = []
    for column in spec.columns:
        type_, mode = bigquery_type(column.type)
        if mode == NULLABLE and not column.nullable and not relaxed:
            mode = REQUIRED
        fields.append(bigquery.SchemaField(column.name, type_, mode=mode, description=column.description))
    return fields


def field_shape(fields: list[bigquery.SchemaField]) -> list[tuple[str, str, str]]:
    """(name, standard type, mode) per field: what two schemas must share to hold the same rows."""
    return [(f.name, _STANDARD_TYPES.get(f.field_type, f.field_type), f.mode or NULLABLE) for f in fields]


def table_definition(spec: TableSpec, table_id: str) -> bigquery.Table:
    """The base table: spec schema, DAY partitions on ``partition_by``, clustered by ``cluster_by``."""
    if len(spec.cluster_by) > MAX_CLUSTERING_FIELDS:
        raise PublishError(
            f"{spec.name}: BigQuery clusters by at most {MAX_CLUSTERING_FIELDS} columns, "
            f"the spec names {len(spec.cluster_by)}: {list(spec.cluster_by)}"
        )
    table = bigquery.Table(table_id, schema=bigquery_schema(spec))
    table.description = f"{spec.layer}: {spec.grain}"
    if spec.partition_by:
        partition_type = dict((c.name, c.type) for c in spec.columns).get(spec.partition_by)
        if partition_type != "date":
            raise PublishError(f"{spec.name}: partition column {spec.partition_by} must be a date, found {partition_type}")
        table.time_partitioning = bigquery.TimePartitioning(type_=PARTITION_TYPE, field=spec.partition_by)
    table.clustering_fields = list(spec.cluster_by) or None
    return table


def ensure_dataset(client: bigquery.Client, dataset_id: str, location: str) -> bigquery.Dataset:
    """Create the dataset (``project.dataset``) if absent."""
    dataset = bigquery.Dataset(dataset_id)
    dataset.location = location
    return client.create_dataset(dataset, exists_ok=True)


def ensure_table(client: bigquery.Client, spec: TableSpec, table_id: str, location: str) -> bigquery.Table:
    """Create the base table (and its dataset, in ``location``) if absent.

    An existing table with another schema is an error, not something to patch
    silently: changing a published contract is a decision (and a migration).
    """
    wanted = table_definition(spec, table_id)
    try:
        existing = client.get_table(table_id)
    except NotFound:
        ensure_dataset(client, f"{wanted.project}.{wanted.dataset_id}", location)
        return client.create_table(wanted)
    if field_shape(existing.schema) != field_shape(wanted.schema):
        raise PublishError(
            f"{table_id}: existing schema differs from the {spec.name} spec: "
            f"expected {field_shape(wanted.schema)}, found {field_shape(existing.schema)}"
        )
    return existing
