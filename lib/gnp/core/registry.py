"""The one place that turns params into locations: folders, URIs and table ids.

No notebook or function elsewhere builds a path or a table name. Local folders
and ``gs://`` URIs go through the same code: a location is a string joined
with ``/``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gnp.core.config import Params
from gnp.core.schemas import TABLES

BRONZE_DATASET = "hyperion"
PSEUDONYM_FINGERPRINT = "_pseudonym_key.json"  # beside the Silver tables; not a table
BRONZE_CONSUMED = "_bronze_consumed.json"  # the Bronze version of each day that Silver and Gold last built from
PUBLISHED = "_published.json"  # each table's last Delta version published to BigQuery, and where
AUDITED = "_audited.json"  # each table's last version whose checks passed: what readers read
BRONZE_INDEX = "_bronze_index.json"  # what each Bronze version's manifest says, read once (``gnp.bronze.index``)


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])


@dataclass(frozen=True)
class Registry:
    lake: str
    bronze: str
    artifacts: str
    duckdb_path: str
    bigquery_project: str | None
    silver_dataset: str
    gold_dataset: str
    warehouse_kind: str

    @classmethod
    def from_params(cls, params: Params) -> "Registry":
        wh = params.warehouse
        lake = params.resolve(params.storage.lake)
        return cls(
            lake=lake,
            bronze=params.resolve(params.storage.bronze) or join(lake, "bronze"),
            artifacts=params.resolve(params.storage.artifacts),
            duckdb_path=params.resolve(wh.duckdb_path),
            bigquery_project=wh.project,
            silver_dataset=wh.silver_dataset,
            gold_dataset=wh.gold_dataset,
            warehouse_kind=wh.kind,
        )

    # Bronze ------------------------------------------------------------
    @property
    def bronze_root(self) -> str:
        return join(self.bronze, BRONZE_DATASET)

    def bronze_day(self, day: dt.date) -> str:
        """Folder holding every fetched version of one measurement day."""
        return join(self.bronze_root, f"measurement_date={day.isoformat()}")

    # Silver / Gold -----------------------------------------------------
    def table_path(self, name: str) -> str:
        spec = TABLES[name]
        return join(self.lake, spec.layer, name)

    def table_id(self, name: str) -> str:
        """Warehouse id: ``silver.measurements`` in DuckDB, ``project.dataset.table`` in BigQuery."""
        spec = TABLES[name]
        dataset = self.silver_dataset if spec.layer == "silver" else self.gold_dataset
        if self.warehouse_kind == "bigquery":
            return f"{self.bigquery_project}.{dataset}.{name}"
        return f"{dataset}.{name}"

    @property
    def pseudonym_fingerprint(self) -> str:
        """Fingerprint of the pseudonym key Silver's user ids were made with (``gnp.silver.pseudonym``)."""
        return join(self.lake, "silver", PSEUDONYM_FINGERPRINT)

    @property
    def bronze_consumed(self) -> str:
        """Each Bronze day's version the last complete Silver + Gold build read (``gnp.silver.stage``)."""
        return join(self.lake, "silver", BRONZE_CONSUMED)

    @property
    def bronze_index(self) -> str:
        """What every Bronze version's manifest says, kept so a run reads only new manifests (``gnp.bronze.index``)."""
        return join(self.lake, "silver", BRONZE_INDEX)

    @property
    def audited(self) -> str:
        """Each Silver and Gold table's last version whose critical checks passed (``gnp.quality.audit``)."""
        return join(self.lake, AUDITED)

    @property
    def published(self) -> str:
        """Each table's last Delta version published to BigQuery (``gnp.serving.publish``)."""
        return join(self.lake, PUBLISHED)

    @property
    def maintenance(self) -> str:
        """When each Silver and Gold table was last vacuumed (``gnp.lake.maintenance``)."""
        return join(self.lake, "_maintenance.json")

    # Runs --------------------------------------------------------------
    @property
    def runs_root(self) -> str:
        return join(self.artifacts, "runs")

    def run_dir(self, run_id: str) -> str:
        return join(self.runs_root, run_id)

    def bench_dir(self) -> str:
        return join(self.artifacts, "bench")
