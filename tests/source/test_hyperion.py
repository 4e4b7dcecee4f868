"""The real client against the real fake server over loopback, one test per fault, in both of its modes.

``api`` is the token-protected fake (the canary token's tests); ``either`` is each mode in turn, with the
client a user of that mode would have: no token for the open fake, the canary for the protected one.
"""

import datetime as dt
import json
import logging
import random
import time

import pytest
import requests

from gnp.source import fake_api
from gnp.source.hyperion import (
    HyperionAuthError,
    HyperionClient,
    HyperionFetchError,
    HyperionRequestError,
    _Secret,
    backoff_s,
    chunk_days,
    retry_after_s,
)

CANARY = "canary-token-7f3a9c"
DAY = dt.date(2025, 10, 26)
SAMPLE = {"seed": 5, "tests_per_day": 150, "users": 120}
FAST = {"timeout_s": 2.0, "max_retries": 3, "backoff_s": 0.01, "max_backoff_s": 0.05, "progress": False}


@pytest.fixture
def api():
    with fake_api.serving(CANARY, empty_days=frozenset({dt.date(2025, 10, 1)}), **SAMPLE) as server:
        yield server


@pytest.fixture(params=[fake_api.OPEN, fake_api.PROTECTED])
def either(request):
    """(server, the client's token) for each mode: an open fake and no token, a protected one and the canary."""
    token = CANARY if request.param == fake_api.PROTECTED else None
    with fake_api.serving(token, mode=request.param, empty_days=frozenset({dt.date(2025, 10, 1)}), **SAMPLE) as server:
        yield server, token


@pytest.fixture(autouse=True)
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def client_for(api, token=CANARY, **options):
    return HyperionClient(api.base_url, token, token_env="GNP_TEST_TOKEN", **{**FAST, **options})


def fetch(api, days, **options):
    with client_for(api, **options) as client:
        return sorted(client.fetch_days(days), key=lambda f: f.day)


def direct_body(api, day):
    headers = {"Authorization": f"Token {api.token}"} if api.token else {}
    response = requests.get(f"{api.base_url}/query/hyperion", params={"date_from": str(day), "date_to": str(day)},
                            headers=headers, timeout=5)  # fmt: skip
    return response.content


def assert_no_canary(caplog, *texts):
    for text in (*texts, caplog.text, *(str(r.args) for r in caplog.records)):
        assert CANARY not in text, f"the token leaked into: {text[:300]}"


def test_a_day_is_returned_exactly_as_received(either, all_logs):
    api, token = either
    [day] = fetch(api, [DAY], token=token)
    assert day.body == direct_body(api, DAY), "the body differs from what the server sent"
    assert (day.day, day.status, day.attempts) == (DAY, 200, 1)
    assert day.record_count == len(json.loads(day.body)) > 150
    assert day.url == f"{api.base_url}/query/hyperion?date_from=2025-10-26&date_to=2025-10-26"
    assert "measurement_time" in day.fields and day.response_sha256 is None
    assert_no_canary(all_logs, repr(day), day.url)


def test_several_days_concurrently_one_request_each(either):
    api, token = either
    days = [DAY + dt.timedelta(days=i) for i in range(5)]
    fetched = fetch(api, days, token=token, concurrency=3)
    assert [f.day for f in fetched] == days
    assert all(f.body == direct_body(api, f.day) for f in fetched)
    assert all(api.requests_per_day[d] == 2 for d in days), "one fetch plus one direct read per day"


def test_multi_day_requests_are_split_per_measurement_day_byte_for_byte():
    days = [DAY + dt.timedelta(days=i) for i in range(5)]
    with fake_api.serving(CANARY, dirt_rate=0.0, **SAMPLE) as clean:
        fetched = fetch(clean, days, days_per_request=3)
        assert [f.day for f in fetched] == days
        assert clean.requests_total == 2, f"expected 2 requests (3 + 2 days), found {clean.requests_total}"
        for f in fetched:
            assert f.body == direct_body(clean, f.day), f"the split of {f.day} differs from a one-day answer"
            first, last = (days[0], days[2]) if f.day <= days[2] else (days[3], days[4])
            assert f.url.endswith(f"date_from={first}&date_to={last}") and f.response_sha256


def test_empty_day_is_an_empty_array_not_an_error(either):
    api, token = either
    [day] = fetch(api, [dt.date(2025, 10, 1)], token=token)
    assert (day.body, day.record_count, day.fields) == (b"[]", 0, ())


def test_latency_is_waited_out(api):
    api.set_faults(latency_s=0.4)
    start = time.perf_counter()
    [day] = fetch(api, [DAY])
    assert day.attempts == 1 and time.perf_counter() - start >= 0.4


def test_429_is_retried_after_retry_after(api):
    api.set_faults(too_many_requests=1, retry_after="1")
    start = time.perf_counter()
    [day] = fetch(api, [DAY])
    waited = time.perf_counter() - start
    assert day.attempts == 2 and api.requests_per_day[DAY] == 2
    assert waited >= 1.0, f"Retry-After: 1 not honoured (backoff alone is 0.05 s), waited {waited:.2f} s"


@pytest.mark.parametrize("fault", ["server_errors", "unavailable"])
def test_5xx_twice_then_success(either, fault):
    api, token = either
    api.set_faults(**{fault: 2})
    [day] = fetch(api, [DAY], token=token)
    assert day.attempts == 3 and api.requests_per_day[DAY] == 3
    assert day.body == direct_body(api, DAY)


def test_timeout_then_success(api):
    api.set_faults(hangs=1, hang_s=5.0)
    [day] = fetch(api, [DAY], timeout_s=0.5)
    assert day.attempts == 2 and day.body == direct_body(api, DAY)


@pytest.mark.parametrize("fault", ["truncated", "non_json"])
def test_broken_bodies_are_retried_never_returned(api, fault, all_logs):
    api.set_faults(**{fault: 2})
    [day] = fetch(api, [DAY])
    assert day.attempts == 3 and day.body == direct_body(api, DAY)
    assert "not complete JSON" in all_logs.text, "the retry should say why"


def test_broken_body_in_a_multi_day_answer_is_retried(api):
    api.set_faults(truncated=1)
    fetched = fetch(api, [DAY, DAY + dt.timedelta(days=1)], days_per_request=2)
    assert [f.attempts for f in fetched] == [2, 2]


@pytest.mark.parametrize("how", ["wrong token", "revoked token"])
def test_refused_token_fails_fast_with_what_to_do(api, how, all_logs):
    if how == "revoked token":
        api.set_faults(reject_token=True)
    start = time.perf_counter()
    with pytest.raises(HyperionAuthError) as error:
        fetch(api, [DAY], token="not-the-token" if how == "wrong token" else CANARY)
    assert time.perf_counter() - start < 1.0 and api.requests_total == 1, "no retry on 401"
    assert "GNP_TEST_TOKEN" in str(error.value) and "401" in str(error.value)
    assert "refused the token" in str(error.value), "a sent token that is refused is named as such"
    assert_no_canary(all_logs, str(error.value), repr(error.value))


@pytest.mark.parametrize("token", [None, ""])
def test_without_a_token_requests_carry_no_authorization_header(token):
    with fake_api.serving(mode=fake_api.OPEN, **SAMPLE) as api:
        with client_for(api, token=token) as client:
            assert "with_token=False" in repr(client)
            fetched = list(client.fetch_days([DAY, DAY + dt.timedelta(days=1)]))
        assert len(fetched) == 2 and api.requests_total == 2
        assert api.requests_with_authorization == 0, "a client without a token sent an Authorization header"


def test_with_a_token_the_open_api_still_gets_it_in_the_header_only(all_logs):
    with fake_api.serving(mode=fake_api.OPEN, **SAMPLE) as api:
        fetched = fetch(api, [DAY])
        assert api.requests_with_authorization == 1
    assert_no_canary(all_logs, repr(fetched), fetched[0].url)


@pytest.mark.parametrize("status", [401, 403])
def test_without_a_token_a_refusal_says_the_endpoint_asked_for_one_and_which_variable(status):
    with fake_api.serving(auth_status=status, **SAMPLE) as api:
        start = time.perf_counter()
        with pytest.raises(HyperionAuthError) as error:
            fetch(api, [DAY], token=None)
        assert time.perf_counter() - start < 1.0 and api.requests_total == 1, f"no retry on {status}"
    message = str(error.value)
    assert f"HTTP {status}" in message and "asked for a token" in message and "GNP_TEST_TOKEN" in message, message
    assert "refused the token" not in message and "\n" not in message, message
    assert "Λανθασμένο token" in message, "the server's own words, decoded, help to tell why"


@pytest.mark.parametrize("token", [CANARY + "\n", CANARY + "\r\n", " " + CANARY, "canary token", CANARY + "\x00"])
def test_a_token_with_whitespace_or_control_characters_fails_before_any_request(api, token, all_logs):
    with pytest.raises(HyperionAuthError) as error:
        client_for(api, token=token)
    message = str(error.value)
    assert "GNP_TEST_TOKEN" in message and "strip" in message and "whitespace or control" in message, message
    assert api.requests_total == 0
    assert_no_canary(all_logs, message, repr(error.value))


def test_the_scrubber_removes_escaped_repr_json_and_urlencoded_forms():
    token = CANARY + "\n"
    texts = [
        f"raw {token} end",
        f"repr {token!r} end",
        f"header {{'Authorization': {'Token ' + token!r}}}",
        f"json {json.dumps({'t': token})} end",
        f"json of a repr {json.dumps(repr(token))} end",
        f"url ?token={requests.utils.quote(token, safe='')}&x=1",
    ]
    secret = _Secret(token)
    for text in texts:
        scrubbed = secret.scrub(text)
        assert CANARY not in scrubbed and "<secret>" in scrubbed, scrubbed


def test_the_scrubber_removes_the_token_from_the_error_requests_raises_for_it(api):
    # The error this issue found: requests refuses a header with a newline and quotes it, escaped.
    token = CANARY + "\n"
    with pytest.raises(requests.exceptions.InvalidHeader) as error:
        requests.get(api.base_url, headers={"Authorization": f"Token {token}"}, timeout=5)
    assert CANARY in str(error.value), "requests no longer quotes the header: the test proves nothing"
    assert CANARY not in _Secret(token).scrub(str(error.value))


def test_400_fails_fast(api):
    with fake_api.serving(CANARY, max_range_days=2, **SAMPLE) as strict:
        with pytest.raises(HyperionRequestError, match="400.*check the dates"):
            fetch(strict, [DAY + dt.timedelta(days=i) for i in range(3)], days_per_request=3)
        assert strict.requests_total == 1


def test_404_fails_fast_naming_the_setting(api):
    with pytest.raises(HyperionRequestError, match="404.*source.dataset"):
        with HyperionClient(api.base_url, CANARY, dataset="nope", **FAST) as client:
            list(client.fetch_days([DAY]))


def test_retries_exhausted_name_the_day_and_keep_the_others(api, all_logs):
    api.set_faults(broken_days=frozenset({DAY}))
    fetched = []
    with pytest.raises(HyperionFetchError) as error, client_for(api, max_retries=2) as client:
        for day in client.fetch_days([DAY - dt.timedelta(days=1), DAY, DAY + dt.timedelta(days=1)]):
            fetched.append(day.day)
    assert error.value.days == (DAY,)
    assert "2025-10-26" in str(error.value) and "3 attempts" in str(error.value)
    assert sorted(fetched) == [DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=1)]
    assert api.requests_per_day[DAY] == 3
    assert_no_canary(all_logs, str(error.value))


def test_connection_refused_is_retried_then_named(api):
    base_url = api.base_url
    api.stop()
    with pytest.raises(HyperionFetchError, match="2025-10-26 failed 2 attempts.*ConnectionError"):
        with HyperionClient(base_url, CANARY, **{**FAST, "max_retries": 1}) as client:
            list(client.fetch_days([DAY]))


def test_the_token_is_nowhere_but_the_header(api, all_logs):
    client = client_for(api)
    assert CANARY not in repr(client) and CANARY not in str(vars(client))
    fetched = list(client.fetch_days([DAY]))
    assert_no_canary(all_logs, repr(fetched), *(f.url for f in fetched))


def test_backoff_grows_is_capped_jittered_and_honours_retry_after():
    rng = random.Random(1)
    delays = [backoff_s(a, 1.0, 10.0, None, rng) for a in range(1, 8)]
    assert all(0.5 * min(10, 2 ** (a - 1)) <= d <= min(10, 2 ** (a - 1)) for a, d in zip(range(1, 8), delays))
    assert max(delays) <= 10.0
    assert backoff_s(1, 0.01, 0.05, 3.0, rng) == 3.0
    assert backoff_s(1, 0.01, 0.05, 10_000.0, rng) == 300.0, "a bogus Retry-After is bounded"


def test_retry_after_header_forms():
    assert retry_after_s("2") == 2.0 and retry_after_s("0.5") == 0.5
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0, "a date in the past means now"


def test_chunks_cut_runs_of_consecutive_days():
    days = [dt.date(2025, 10, d) for d in (1, 2, 3, 4, 6, 7, 9)]
    chunks = chunk_days(days, 3)
    assert [[d.day for d in c] for c in chunks] == [[1, 2, 3], [4], [6, 7], [9]]


def test_a_client_for_plain_http_off_loopback_refuses_before_any_request():
    # The params refuse such a base_url; a base_url handed to the client directly is checked the same way.
    with pytest.raises(HyperionRequestError, match="in clear") as error:
        HyperionClient("http://data.gov.gr/api/v1", CANARY, **FAST)
    assert CANARY not in str(error.value)
