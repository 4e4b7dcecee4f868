"""The Bronze index: a run reads only the manifests it has not read before, and plans exactly as without it."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from gnp.bronze import index
from gnp.bronze import ingest as bronze
from gnp.core import storage
from gnp.core.config import DateParams
from gnp.core.registry import Registry
from gnp.silver import parse
from gnp.silver import stage as silver_stage
from silver.bronze_factories import lake_params, record, write_day

UTC = dt.timezone.utc
FIRST = dt.date(2025, 9, 1)
HISTORY = 30  # days in Bronze before the daily run
FETCHED = dt.datetime(2025, 10, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def manifest_reads(monkeypatch) -> list[str]:
    """Every manifest read through the storage layer, in order."""
    reads: list[str] = []
    real = storage.read_bytes

    def counting(location: str) -> bytes:
        if location.endswith(bronze.MANIFEST_SUFFIX):
            reads.append(location)
        return real(location)

    monkeypatch.setattr(storage, "read_bytes", counting)
    return reads


def _a_day(registry: Registry, day: dt.date, fetched_at: dt.datetime = FETCHED, n: int = 1):
    return write_day(registry, day, [record(day.toordinal() * 10 + i, time=f"{day} 10:00:0{i}") for i in range(n)],
                     fetched_at=fetched_at)


def _plan_and_read(params, registry: Registry, day: dt.date):
    """What a one-day run reads of Bronze's manifests: its plan (every version), then Silver's flag (the planned days)."""
    params = params.model_copy(update={"dates": DateParams(date_from=day, date_to=day)})
    plan = silver_stage.plan(params, registry)
    return plan, parse.list_bronze_files(registry, plan.bronze_days)


@pytest.fixture
def history(tmp_path):
    params = lake_params(tmp_path)
    registry = Registry.from_params(params)
    for n in range(HISTORY):
        _a_day(registry, FIRST + dt.timedelta(days=n))
    return params, registry


def test_a_daily_run_reads_only_the_new_manifests_and_plans_as_without_the_index(history, manifest_reads):
    params, registry = history
    last = FIRST + dt.timedelta(days=HISTORY - 1)
    _plan_and_read(params, registry, last)
    assert len(manifest_reads) == HISTORY, f"expected each of the {HISTORY} manifests read once, found {manifest_reads}"

    # The next day: a new day, and the day before it fetched again (a late test): two new versions.
    new_day = last + dt.timedelta(days=1)
    _a_day(registry, new_day, fetched_at=FETCHED + dt.timedelta(hours=1))
    _a_day(registry, last, fetched_at=FETCHED + dt.timedelta(hours=1), n=2)
    manifest_reads.clear()
    with_index = _plan_and_read(params, registry, new_day)
    read_names = sorted(os.path.basename(p) for p in manifest_reads)
    new_names = sorted(f"{v.name}{bronze.MANIFEST_SUFFIX}" for d in (last, new_day) for v in bronze.list_versions(registry, d)[-1:])
    assert read_names == new_names, f"expected only the two new manifests read, found {read_names}"

    # Deleted, the index is built again from every manifest, and the plan and the files are the same.
    os.remove(registry.bronze_index)
    manifest_reads.clear()
    without_index = _plan_and_read(params, registry, new_day)
    assert len(manifest_reads) == HISTORY + 2, f"expected every manifest read again, found {len(manifest_reads)}"
    assert with_index == without_index, f"expected the same plan and files, found\n{with_index}\n{without_index}"
    plan, files = with_index
    assert plan.run_days == (new_day,) and set(plan.bronze_days) == {new_day}, plan
    assert [f.record_count for f in files] == [1], files


def test_an_unreadable_or_stale_index_is_built_again(history, manifest_reads):
    params, registry = history
    every_day = [FIRST + dt.timedelta(days=n) for n in range(HISTORY)]
    expected = parse.list_bronze_files(registry, every_day)  # builds the index
    assert len(manifest_reads) == HISTORY

    # A version removed from Bronze (by hand: the pipeline never does) and an entry for it left in the index.
    gone = bronze.list_versions(registry, every_day[3])[0]
    os.remove(gone.manifest_path)
    os.remove(gone.data_path)
    manifest_reads.clear()
    files = parse.list_bronze_files(registry, every_day)
    assert manifest_reads == [] and files == expected[:3] + expected[4:], "expected the removed version left out"
    assert index.key(gone) not in index.load(registry), "expected its entry dropped from the index"

    # Half an index (written by a tool outside the pipeline): every manifest is read again, nothing is lost.
    with open(registry.bronze_index, "r+b") as fh:
        fh.truncate(os.path.getsize(registry.bronze_index) // 2)
    manifest_reads.clear()
    assert parse.list_bronze_files(registry, every_day) == files
    assert len(manifest_reads) == HISTORY - 1, f"expected {HISTORY - 1} manifests read, found {len(manifest_reads)}"
    saved = json.loads(open(registry.bronze_index, encoding="utf-8").read())
    assert saved["format"] == index.FORMAT and len(saved["versions"]) == HISTORY - 1, saved
