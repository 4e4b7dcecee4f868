"""BigQuery clients, schemas and tables derived from the table specs (``gnp.core.schemas``).

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

from gnp.core.config import Params
from gnp.core.errors import GnpError
from gnp.core.schemas import TableSpec, bigquery_type

EMULATOR_HOST_ENV = "BIGQUERY_EMULATOR_HOST"  # set only when testing against a local emulator
MAX_CLUSTERING_FIELDS = 4  # BigQuery's limit
PARTITION_TYPE = bigquery.TimePartitioningType.DAY
REQUIRED = "REQUIRED"
NULLABLE = "NULLABLE"
REPEATED = "REPEATED"
# BigQuery answers with legacy type names for tables created with standard ones.
_STANDARD_TYPES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}


class PublishError(GnpError):
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


def missing_dataset_message(dataset_id: str) -> str:
    """What to do when the dataset is absent: Terraform creates datasets, the pipeline never does."""
    return (
        f"BigQuery dataset {dataset_id} does not exist. The pipeline never creates datasets (its service account "
        "holds roles/bigquery.dataEditor, which may not): Terraform does. Run `terraform apply` in terraform/ "
        "(google_bigquery_dataset.silver and .gold in bigquery.tf; terraform/README.md, \"First apply\", step 4), "
        "then check that warehouse.project, warehouse.silver_dataset and warehouse.gold_dataset in the params "
        "name those datasets (`terraform output bigquery_datasets`)."
    )


def require_datasets(client: bigquery.Client, dataset_ids) -> None:
    """Raise PublishError naming the Terraform step if any dataset (``project.dataset``) is missing."""
    for dataset_id in dataset_ids:
        try:
            client.get_dataset(dataset_id)
        except NotFound:
            raise PublishError(missing_dataset_message(dataset_id)) from None


def ensure_table(client: bigquery.Client, spec: TableSpec, table_id: str) -> bigquery.Table:
    """Create the base table if absent, in its existing dataset (never the dataset: see ``require_datasets``).

    An existing table with another schema is an error, not something to patch
    silently: changing a published contract is a decision (and a migration).
    A table takes its dataset's location.
    """
    wanted = table_definition(spec, table_id)
    try:
        existing = client.get_table(table_id)
    except NotFound:
        require_datasets(client, [f"{wanted.project}.{wanted.dataset_id}"])
        return client.create_table(wanted)
    if field_shape(existing.schema) != field_shape(wanted.schema):
        raise PublishError(
            f"{table_id}: existing schema differs from the {spec.name} spec: "
            f"expected {field_shape(wanted.schema)}, found {field_shape(existing.schema)}"
        )
    return existing
