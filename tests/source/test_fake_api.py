"""The fake data.gov.gr API over loopback: what it serves, its two modes (open, token-protected), its faults."""

import datetime as dt
import json
import time

import pytest
import requests

from gnp.source import fake_api, sample

DAY = dt.date(2025, 10, 26)
SAMPLE = {"seed": 3, "tests_per_day": 200, "users": 150}


@pytest.fixture
def api():
    with fake_api.serving(empty_days=frozenset({dt.date(2025, 10, 1)}), **SAMPLE) as server:
        yield server


def get(api, date_from=DAY, date_to=None, token=None, timeout=5.0, path="/query/hyperion"):
    return requests.get(
        f"{api.base_url}{path}",
        params={"date_from": str(date_from), "date_to": str(date_to or date_from)},
        headers={"Authorization": f"Token {token or api.token}"},
        timeout=timeout,
    )


def test_serves_the_sample_day_as_one_json_array(api):
    response = get(api)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    expected = json.loads(json.dumps(sample.records_for_day(DAY, **SAMPLE)))
    assert response.json() == expected, "the served day differs from the sample generator's"


def test_a_range_is_inclusive_and_counted_per_day(api):
    response = get(api, DAY, DAY + dt.timedelta(days=2))
    days = {r["measurement_time"][:10] for r in response.json() if r["measurement_time"][:4] == "2025"}
    assert days == {"2025-10-26", "2025-10-27", "2025-10-28"}
    assert api.requests_per_day == {DAY + dt.timedelta(days=i): 1 for i in range(3)}
    assert api.requests_total == 1


def test_empty_day_is_an_empty_array(api):
    response = get(api, dt.date(2025, 10, 1))
    assert (response.status_code, response.content) == (200, b"[]")


def test_listens_on_loopback_only_and_hides_its_token(api):
    assert api.base_url.startswith("http://127.0.0.1:")
    assert api.token not in repr(api)


def plain_get(api, headers):
    return requests.get(f"{api.base_url}/query/hyperion", params={"date_from": str(DAY), "date_to": str(DAY)},
                        headers=headers, timeout=5)  # fmt: skip


@pytest.mark.parametrize("token", ["wrong-token", ""])
def test_protected_by_default_a_missing_or_wrong_token_is_401(api, token):
    assert api.mode == fake_api.PROTECTED and api.token
    response = plain_get(api, {"Authorization": f"Token {token}"} if token else {})
    assert response.status_code == 401, f"expected 401, found {response.status_code}"
    assert "detail" in response.json()


def test_a_protected_api_can_refuse_with_403():
    with fake_api.serving(auth_status=403, **SAMPLE) as api:
        assert plain_get(api, {}).status_code == 403
        assert plain_get(api, {"Authorization": f"Token {api.token}"}).status_code == 200


def test_open_mode_asks_for_no_token_ignores_any_and_counts_those_sent():
    with fake_api.serving(mode=fake_api.OPEN, **SAMPLE) as api:
        assert api.token is None and "open" in repr(api)
        bare, with_header = plain_get(api, {}), plain_get(api, {"Authorization": "Token whatever-1234"})
        assert (bare.status_code, with_header.status_code) == (200, 200)
        assert bare.content == with_header.content
        assert (api.requests_total, api.requests_with_authorization) == (2, 1)
        api.set_faults(reject_token=True)  # a protected-mode fault: an open API has no token to revoke
        assert plain_get(api, {}).status_code == 200


@pytest.mark.parametrize("options", [{"token": "a-token", "mode": fake_api.OPEN}, {"mode": "half-open"}])
def test_a_mode_that_makes_no_sense_is_refused(options):
    with pytest.raises(ValueError, match="mode"):
        fake_api.FakeHyperionApi(**options)


@pytest.mark.parametrize(
    "date_from, date_to",
    [("2025-10-26", "not-a-date"), ("2025-10-27", "2025-10-26"), ("2025-10-01", "2025-12-01"), ("", "")],
)
def test_bad_dates_are_400(api, date_from, date_to):
    response = get(api, date_from, date_to)
    assert response.status_code == 400 and "detail" in response.json()


def test_unknown_path_is_404(api):
    assert get(api, path="/query/nope").status_code == 404


def test_status_faults_are_used_up_one_request_each(api):
    api.set_faults(too_many_requests=1, retry_after="7", server_errors=1, unavailable=1)
    first, second, third, fourth = (get(api) for _ in range(4))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert (second.status_code, third.status_code, fourth.status_code) == (500, 503, 200)
    assert api.requests_per_day[DAY] == 4


def test_truncated_then_non_json_bodies(api):
    api.set_faults(non_json=1, truncated=1)
    cut = get(api)
    with pytest.raises(ValueError):
        json.loads(cut.content)
    html = get(api)
    assert html.status_code == 200 and html.content.startswith(b"<html>")
    assert len(cut.content) < len(get(api).content)


def test_hang_outlasts_a_client_timeout_then_the_server_answers_again(api):
    api.set_faults(hangs=1, hang_s=3.0)
    with pytest.raises(requests.Timeout):
        get(api, timeout=0.3)
    assert get(api).status_code == 200


def test_latency_and_bad_token_switches(api):
    api.set_faults(latency_s=0.3)
    start = time.perf_counter()
    assert get(api).status_code == 200
    assert time.perf_counter() - start >= 0.3
    api.set_faults(latency_s=0.0, reject_token=True)
    assert get(api).status_code == 401


def test_broken_days_fail_every_time(api):
    api.set_faults(broken_days=frozenset({DAY}))
    assert [get(api).status_code for _ in range(3)] == [500, 500, 500]
    assert get(api, DAY + dt.timedelta(days=1)).status_code == 200


def test_unknown_fault_is_refused(api):
    with pytest.raises(AttributeError, match="unknown fault"):
        api.set_faults(explode=1)
