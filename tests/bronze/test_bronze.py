import datetime as dt
import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

from gnp.bronze import ingest as bronze
from gnp.core import storage
from gnp.core.config import ParamsError, load_params
from gnp.core.registry import Registry
from gnp.source import fake_api
from gnp.source.hyperion import DayFetch, HyperionAuthError, HyperionError, HyperionFetchError, open_api_client

CANARY = "canary-token-0b5e11"
TOKEN_ENV = "GNP_TEST_HYPERION_TOKEN"
DAY = dt.date(2025, 10, 26)
FIRST, LAST = dt.date(2025, 10, 24), dt.date(2025, 10, 28)
SAMPLE = {"seed": 11, "tests_per_day": 120, "users": 100}
FAST_SOURCE = {"timeout_s": 2.0, "max_retries": 2, "backoff_s": 0.01, "max_backoff_s": 0.05, "concurrency": 2}


def make_params(tmp_path: Path, source: dict, **dates):
    data = {
        "env": "test",
        "source": {"token_env": TOKEN_ENV, **FAST_SOURCE, **source},
        "dates": {"date_from": str(FIRST), "date_to": str(LAST), "lookback_days": 1, **dates},
        "storage": {"lake": str(tmp_path / "lake"), "artifacts": str(tmp_path / "artifacts")},
        "warehouse": {"duckdb_path": str(tmp_path / "warehouse.duckdb")},
        "privacy": {"pseudonym_key_file": str(tmp_path / "secrets" / "pseudonym.key")},
    }
    path = tmp_path / "params" / "test.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return load_params(path)


def a_fetch(day=DAY, body=b'[{"measurement_id": 1, "measurement_time": "2025-10-26 03:15:00"}]', second=0):
    return DayFetch(
        day=day, body=body, status=200, url=f"http://127.0.0.1:1/api/v1/query/hyperion?date_from={day}&date_to={day}",
        fetched_at=dt.datetime(2025, 11, 1, 12, 0, second, 123456, tzinfo=dt.timezone.utc), elapsed_s=0.2,
        attempts=1, record_count=1, records_outside_day=0, fields=("measurement_id", "measurement_time"),
    )  # fmt: skip


@pytest.fixture
def registry(tmp_path):
    return Registry.from_params(make_params(tmp_path, {"kind": "sample"}))


@pytest.fixture
def api():
    with fake_api.serving(CANARY, **SAMPLE) as server:
        yield server


@pytest.fixture
def api_params(tmp_path, api, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, CANARY)
    return make_params(tmp_path, {"kind": "api", "base_url": api.base_url})


def every_file_bytes(root: Path):
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            yield path, data
            if path.suffix == ".gz":
                yield path, gzip.decompress(data)


def assert_no_canary(root: Path, *texts: str):
    for path, data in every_file_bytes(root):
        assert CANARY.encode() not in data, f"the token leaked into {path}"
    for text in texts:
        assert CANARY not in text, f"the token leaked into: {text[:300]}"


def test_a_version_is_the_exact_body_gzipped_with_a_manifest(registry):
    fetch = a_fetch()
    version, manifest = bronze.write_version(registry, fetch, "api", run_id="run-1")
    digest = hashlib.sha256(fetch.body).hexdigest()
    assert version.folder == registry.bronze_day(DAY)
    assert version.name == f"20251101T120000.123456Z-{digest[:12]}"
    assert gzip.decompress(storage.read_bytes(version.data_path)) == fetch.body
    assert version.read_body() == fetch.body and version.fetched_at == fetch.fetched_at
    assert storage.read_json(version.manifest_path) == manifest == {
        "format": 1, "measurement_date": "2025-10-26", "data_file": version.name + ".json.gz",
        "compression": "gzip", "request_url": fetch.url, "status": 200, "bytes": len(fetch.body),
        "stored_bytes": len(storage.read_bytes(version.data_path)), "sha256": digest, "record_count": 1,
        "records_outside_day": 0, "measurement_dates": ["2025-10-26"], "fields": ["measurement_id", "measurement_time"],
        "fetched_at": "2025-11-01T12:00:00.123456+00:00", "elapsed_s": 0.2, "attempts": 1,
        "response_sha256": None, "source_kind": "api", "run_id": "run-1",
    }  # fmt: skip


def test_refetch_adds_a_version_and_leaves_the_old_one_untouched(registry):
    old, _ = bronze.write_version(registry, a_fetch(second=0), "api")
    old_bytes, old_mtime = storage.read_bytes(old.data_path), os.stat(old.data_path).st_mtime_ns
    new, _ = bronze.write_version(registry, a_fetch(body=b"[]", second=5), "api")
    assert [v.name for v in bronze.list_versions(registry, DAY)] == [old.name, new.name]
    assert bronze.latest_version(registry, DAY) == new
    assert storage.read_bytes(old.data_path) == old_bytes and os.stat(old.data_path).st_mtime_ns == old_mtime


def test_an_existing_version_is_never_overwritten(registry):
    bronze.write_version(registry, a_fetch(), "api")
    with pytest.raises(bronze.BronzeError, match="append-only"):
        bronze.write_version(registry, a_fetch(), "api")


def test_a_version_without_manifest_is_an_interrupted_write_and_ignored(registry):
    version, _ = bronze.write_version(registry, a_fetch(), "api")
    storage.write_bytes(f"{registry.bronze_day(DAY)}/20251102T000000.000000Z-abcdefabcdef.json.gz", b"partial")
    assert bronze.list_versions(registry, DAY) == [version]
    assert bronze.latest_version(registry, DAY + dt.timedelta(days=1)) is None


def test_a_tampered_body_fails_its_checksum(registry):
    version, _ = bronze.write_version(registry, a_fetch(), "api")
    Path(version.data_path).write_bytes(gzip.compress(b"[]"))
    with pytest.raises(bronze.BronzeError, match="checksum"):
        version.read_body()


@pytest.mark.parametrize(
    "present, lookback, refetch, expected_fetch",
    [
        ([], 0, False, [24, 25, 26, 27, 28]),
        ([24, 25, 26, 27, 28], 0, False, []),
        ([24, 25, 26, 27, 28], 2, False, [27, 28]),
        ([24, 26], 1, False, [25, 27, 28]),
        ([24, 25, 26, 27, 28], 0, True, [24, 25, 26, 27, 28]),
    ],
)
def test_plan_days_skips_present_days_but_refetches_the_lookback(registry, present, lookback, refetch, expected_fetch):
    for d in present:
        bronze.write_version(registry, a_fetch(day=dt.date(2025, 10, d)), "api")
    fetch, skip = bronze.plan_days(registry, FIRST, LAST, lookback, refetch)
    assert [d.day for d in fetch] == expected_fetch, f"expected to fetch {expected_fetch}, found {fetch}"
    assert sorted(fetch + skip) == [FIRST + dt.timedelta(days=i) for i in range(5)]


def test_ingest_is_idempotent_and_the_token_appears_in_no_file(tmp_path, api, api_params):
    registry = Registry.from_params(api_params)
    first = bronze.ingest_range(api_params, registry, run_id="r1", progress=False)
    assert first.totals().set_index("action")["days"].to_dict() == {"fetched": 5}
    assert all(api.requests_per_day[FIRST + dt.timedelta(days=i)] == 1 for i in range(5))
    for row in first.to_frame().itertuples():
        version = bronze.latest_version(registry, row.measurement_date)
        assert len(json.loads(version.read_body())) == row.records == version.manifest()["record_count"]
    again = bronze.ingest_range(api_params, registry, run_id="r2", progress=False)
    assert again.totals().set_index("action")["days"].to_dict() == {"fetched": 1, "skipped": 4}
    assert [len(bronze.list_versions(registry, FIRST + dt.timedelta(days=i))) for i in range(5)] == [1, 1, 1, 1, 2]
    refetched = again.to_frame().query("action == 'fetched'").iloc[0]
    assert refetched.measurement_date == LAST
    assert again.outputs() == [
        {
            "name": "bronze.hyperion",
            "measurement_date": "2025-10-28",
            "location": bronze.latest_version(registry, LAST).data_path,
            "rows": refetched.records,
        }
    ]
    refetch = api_params.model_copy(update={"dates": api_params.dates.model_copy(update={"refetch": True})})
    bronze.ingest_range(refetch, registry, progress=False)
    assert len(bronze.list_versions(registry, FIRST)) == 2
    assert_no_canary(tmp_path, repr(first.rows), repr(again.to_frame()))


def test_a_refused_token_stops_with_a_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    with fake_api.serving("the-real-token", **SAMPLE) as other:
        monkeypatch.setenv(TOKEN_ENV, CANARY)
        params = make_params(tmp_path, {"kind": "api", "base_url": other.base_url})
        with pytest.raises(HyperionAuthError) as error:
            bronze.ingest_range(params, Registry.from_params(params), progress=False)
    assert TOKEN_ENV in str(error.value)
    assert not (tmp_path / "lake").exists()
    assert_no_canary(tmp_path, str(error.value), repr(error.value))


def test_without_a_token_the_open_api_is_ingested_with_no_authorization_header(tmp_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with fake_api.serving(mode=fake_api.OPEN, **SAMPLE) as api:
        params = make_params(tmp_path, {"kind": "api", "base_url": api.base_url})
        registry = Registry.from_params(params)
        summary = bronze.ingest_range(params, registry, run_id="open", progress=False)
        assert (api.requests_total, api.requests_with_authorization) == (5, 0)
    assert summary.totals().set_index("action")["days"].to_dict() == {"fetched": 5}
    manifest = bronze.latest_version(registry, DAY).manifest()
    assert manifest["source_kind"] == "api" and manifest["run_id"] == "open" and manifest["record_count"] > 0


def test_without_a_token_a_protected_api_stops_saying_which_variable_to_set_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with fake_api.serving(**SAMPLE) as api:
        params = make_params(tmp_path, {"kind": "api", "base_url": api.base_url})
        with pytest.raises(HyperionAuthError, match=f"asked for a token.*{TOKEN_ENV}"):
            bronze.ingest_range(params, Registry.from_params(params), progress=False)
    assert not (tmp_path / "lake").exists()


def test_a_required_token_that_is_missing_names_the_variable_before_any_request(tmp_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with fake_api.serving(mode=fake_api.OPEN, **SAMPLE) as api:
        params = make_params(tmp_path, {"kind": "api", "base_url": api.base_url, "token_required": True})
        with pytest.raises(ParamsError, match=f"{TOKEN_ENV} is not set.*token_required"):
            bronze.ingest_range(params, Registry.from_params(params), progress=False)
        assert api.requests_total == 0


def test_failed_days_are_named_the_rest_stored_and_a_rerun_fills_the_gap(tmp_path, api, api_params):
    registry = Registry.from_params(api_params)
    api.set_faults(broken_days=frozenset({DAY}))
    with pytest.raises(HyperionFetchError, match="2025-10-26.*4 other days were stored") as error:
        bronze.ingest_range(api_params, registry, progress=False)
    assert error.value.days == (DAY,)
    assert [bool(bronze.list_versions(registry, FIRST + dt.timedelta(days=i))) for i in range(5)] == [
        True,
        True,
        False,
        True,
        True,
    ]
    api.set_faults(broken_days=frozenset())
    rerun = bronze.ingest_range(api_params, registry, progress=False).to_frame()
    assert rerun.loc[rerun.action == "fetched", "measurement_date"].tolist() == [DAY, LAST]
    assert_no_canary(tmp_path, str(error.value))


def test_multi_day_requests_still_land_one_folder_per_day(tmp_path, api, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, CANARY)
    params = make_params(tmp_path, {"kind": "api", "base_url": api.base_url, "days_per_request": 3})
    registry = Registry.from_params(params)
    summary = bronze.ingest_range(params, registry, progress=False)
    assert api.requests_total == 2
    expected = [f"measurement_date={FIRST + dt.timedelta(days=i)}" for i in range(5)]
    assert storage.listdir(registry.bronze_root) == expected
    manifests = [bronze.latest_version(registry, d).manifest() for d in summary.to_frame().measurement_date]
    assert all(m["response_sha256"] and m["request_url"].count("date_from") == 1 for m in manifests)


def test_the_sample_source_travels_the_same_http_path(tmp_path):
    params = make_params(tmp_path, {"kind": "sample", "sample_tests_per_day": 50, "sample_users": 40})
    registry = Registry.from_params(params)
    frame = bronze.ingest_range(params, registry, progress=False).to_frame()  # the opener source.kind names
    assert frame.action.tolist() == ["fetched"] * 5 and (frame.records >= 50).all()
    manifest = bronze.latest_version(registry, DAY).manifest()
    assert manifest["source_kind"] == "sample" and manifest["request_url"].startswith("http://127.0.0.1:")
    with fake_api.open_sample_client(params.source, progress=False) as client:
        assert client.source_kind == "sample" and client.url.startswith("http://127.0.0.1:")


def test_the_real_api_client_refuses_a_sample_source_and_names_the_sample_client(tmp_path):
    params = make_params(tmp_path, {"kind": "sample"})
    with pytest.raises(HyperionError, match="gnp.source.fake_api.open_sample_client"):
        bronze.ingest_range(params, Registry.from_params(params), open_api_client, progress=False)
    assert not (tmp_path / "lake").exists()


def _empty_fetch(day):
    return DayFetch(
        day=day, body=b"[]", status=200, url="http://127.0.0.1:1/api/v1/query/hyperion", attempts=1,
        fetched_at=dt.datetime(2025, 11, 1, 12, 0, tzinfo=dt.timezone.utc), elapsed_s=0.1,
        record_count=0, records_outside_day=0, fields=(),
    )  # fmt: skip


def test_an_empty_day_is_fetched_again_while_young_counted_from_today(registry):
    bronze.write_version(registry, _empty_fetch(DAY), "api")
    for d in (FIRST, LAST):
        bronze.write_version(registry, a_fetch(day=d), "api")

    def fetched(today, days=14):
        return bronze.plan_days(registry, FIRST, LAST, empty_refetch_days=days, today=today)[0]

    # 24 and 28 have records, 25 and 27 were never stored, 26 is stored empty.
    assert fetched(DAY + dt.timedelta(days=14)) == [dt.date(2025, 10, 25), DAY, dt.date(2025, 10, 27)]
    assert fetched(DAY + dt.timedelta(days=15)) == [dt.date(2025, 10, 25), dt.date(2025, 10, 27)]
    assert fetched(DAY, days=0) == [dt.date(2025, 10, 25), DAY, dt.date(2025, 10, 27)]


def test_measurement_dates_are_the_local_dates_silver_can_read():
    records = [
        {"measurement_time": "2025-10-26 23:59:59"}, {"measurement_time": " 2025-10-27 00:10:00 "},
        {"measurement_time": "27/10/2025 10:00"}, {"measurement_time": None}, {"measurement_time": 20251028},
        {"other": 1},
    ]  # fmt: skip
    assert bronze.measurement_dates(json.dumps(records).encode()) == ["2025-10-26", "2025-10-27"]
    assert bronze.measurement_dates(b'[{"measurement_time": "2025-10-26 10:00:00"') == []


def test_a_young_empty_day_before_the_range_is_fetched_again_too(registry):
    # A daily run asks for one day; a day stored empty a week earlier may have been published since.
    week_before = FIRST - dt.timedelta(days=7)
    long_ago = FIRST - dt.timedelta(days=30)
    for day in (week_before, long_ago):
        bronze.write_version(registry, _empty_fetch(day), "api")
    bronze.write_version(registry, a_fetch(day=FIRST - dt.timedelta(days=3)), "api")  # has records

    fetched, _ = bronze.plan_days(registry, LAST, LAST, empty_refetch_days=14, today=LAST)
    assert fetched == [LAST, week_before], fetched
    assert long_ago not in fetched
    assert bronze.plan_days(registry, LAST, LAST, empty_refetch_days=0, today=LAST)[0] == [LAST]


def test_a_one_day_run_refetches_the_lookback_before_it_and_a_late_day_ends_complete(tmp_path, monkeypatch):
    # The portal publishes half of a day at first; the next day's run (its range is that next day alone) must
    # fetch it again, so Bronze ends with the whole day. Days before the range that Bronze lacks are left alone.
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    late, today = LAST - dt.timedelta(days=1), LAST
    with fake_api.serving(mode=fake_api.OPEN, **SAMPLE) as api:
        api.set_faults(partial_days={late: 0.5})
        source = {"kind": "api", "base_url": api.base_url}
        first = make_params(tmp_path, source, date_from=str(late), date_to=str(late), lookback_days=2)
        registry = Registry.from_params(first)
        bronze.ingest_range(first, registry, run_id="day-1", progress=False)
        half = bronze.latest_version(registry, late).manifest()["record_count"]

        api.set_faults(partial_days={})  # the portal has completed the day since
        daily = make_params(tmp_path, source, date_from=str(today), date_to=str(today), lookback_days=2)
        summary = bronze.ingest_range(daily, registry, run_id="day-2", progress=False)
        whole = len(fake_api.records_for_day(late, **SAMPLE))

    fetched = sorted(summary.to_frame().query("action == 'fetched'").measurement_date)
    assert fetched == [late, today], f"expected the run of {today} to fetch {late} again, found {fetched}"
    assert 0 < half < whole, f"the first fetch should hold part of the day: {half} of {whole}"
    versions = bronze.list_versions(registry, late)
    assert [v.manifest()["record_count"] for v in versions] == [half, whole], "expected the day complete in Bronze"
    never_stored = late - dt.timedelta(days=1)
    assert api.requests_per_day[never_stored] == 0 and not bronze.list_versions(registry, never_stored)
