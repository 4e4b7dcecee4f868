"""Every location comes from the registry, local folder or gs:// alike."""

from __future__ import annotations

import datetime as dt

from gnp.core.config import load_params
from gnp.core.registry import Registry


def registry_for(tmp_path, storage: str, warehouse: str = "") -> Registry:
    path = tmp_path / "p.yaml"
    path.write_text(f"env: t\ndates: {{date_from: 2025-01-01, date_to: 2025-01-02}}\n{storage}{warehouse}")
    return Registry.from_params(load_params(path))


def test_local_paths(tmp_path):
    reg = registry_for(tmp_path, "storage: {lake: lake, artifacts: art}\n")
    assert reg.bronze_day(dt.date(2025, 10, 26)) == f"{tmp_path}/lake/bronze/hyperion/measurement_date=2025-10-26"
    assert reg.table_path("measurements") == f"{tmp_path}/lake/silver/measurements"
    assert reg.table_path("regional_metrics") == f"{tmp_path}/lake/gold/regional_metrics"
    assert reg.run_dir("r1") == f"{tmp_path}/art/runs/r1"
    assert reg.table_id("sessions") == "silver.sessions"


def test_gcs_paths_and_bigquery_ids(tmp_path):
    reg = registry_for(
        tmp_path,
        "storage: {lake: 'gs://gnp-lake/', bronze: 'gs://gnp-bronze', artifacts: 'gs://gnp-artifacts'}\n",
        "warehouse: {kind: bigquery, project: proj, silver_dataset: gnp_silver, gold_dataset: gnp_gold}\n",
    )
    assert reg.bronze_day(dt.date(2025, 1, 1)) == "gs://gnp-bronze/hyperion/measurement_date=2025-01-01"
    assert reg.table_path("quarantine") == "gs://gnp-lake/silver/quarantine"
    assert reg.run_dir("r1") == "gs://gnp-artifacts/runs/r1"
    assert reg.table_id("frustration_staircase") == "proj.gnp_gold.frustration_staircase"
    assert reg.table_id("measurements") == "proj.gnp_silver.measurements"
