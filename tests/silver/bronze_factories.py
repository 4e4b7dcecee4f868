"""Tiny Bronze days for Silver tests, written by the real Bronze writer (gzip JSON arrays + manifests)."""

from __future__ import annotations

import datetime as dt
import json

from gnp.bronze import ingest as bronze
from gnp.core.config import DateParams, Params, StorageParams
from gnp.core.registry import Registry
from gnp.source.contract import FIELDS
from gnp.source.hyperion import DayFetch
from gnp.source.hyperion_body import measurement_day

UTC = dt.timezone.utc
FETCHED = dt.datetime(2025, 10, 27, 6, 0, tzinfo=UTC)


def lake_params(tmp_path, **sections) -> Params:
    return Params(
        env="test",
        dates=DateParams(date_from=dt.date(2025, 10, 25), date_to=dt.date(2025, 10, 27)),
        storage=StorageParams(lake=str(tmp_path / "lake"), artifacts=str(tmp_path / "artifacts")),
        **sections,
    )


def record(measurement_id, time: str | None = "2025-10-26 10:00:00", ip: str | None = "80.191.12", **overrides) -> dict:
    """One API record as it arrives: floats for ids and codes, Greek place names."""
    rec = {
        "measurement_id": measurement_id,
        "measurement_time": time,
        "connection_id": 5551.0,
        "client_ip": ip,
        "measured_downstream_mbps": 48.5,
        "measured_upstream_mbps": 4.9,
        "measured_rtt_msec": 21.0,
        "measured_loss_percentage": 0.0,
        "measured_jitter_msec": 1.5,
        "client_operating_system": "Windows",
        "client_operating_system_version": "10",
        "client_operating_system_architecture": "x86_64",
        "ISP": "Cosmote",
        "contract_download_mbps": 50.0,
        "contract_upload_mbps": 5.0,
        "connection_postal_code": 19016.0,
        "connection_municipality_id": 44.0,
        "connection_regional_unit_id": 47.0,
        "connection_periphery_id": 9.0,
        "connection_municipality": "ΣΠΑΤΩΝ - ΑΡΤΕΜΙΔΟΣ",
        "connection_regional_unit": "Ανατολικής Αττικής",
        "connection_periphery": "ΑΤΤΙΚΗΣ",
    }
    assert set(rec) == set(FIELDS)
    rec.update(overrides)
    return rec


def write_day(
    registry: Registry, day: dt.date, records: list[dict], fetched_at: dt.datetime = FETCHED,
    body: bytes | None = None, run_id: str = "",
):
    """Store ``records`` (or a raw ``body``) as a new Bronze version of ``day``."""
    body = json.dumps(records, ensure_ascii=False).encode("utf-8") if body is None else body
    fetch = DayFetch(
        day=day,
        body=body,
        status=200,
        url=f"http://127.0.0.1/api/v1/query/hyperion?date_from={day}&date_to={day}",
        fetched_at=fetched_at,
        elapsed_s=0.1,
        attempts=1,
        record_count=len(records),
        records_outside_day=sum(measurement_day(r) != day for r in records),
        fields=tuple(sorted(set().union(*records))) if records else (),
    )
    version, _ = bronze.write_version(registry, fetch, "test", run_id)
    return version
