"""A local stand-in for data.gov.gr's Hyperion endpoint, serving the sample source.

It speaks the same protocol as the real service (``GET
/api/v1/query/hyperion?date_from=&date_to=`` with ``Authorization: Token``,
one JSON array for the whole inclusive range) and listens on 127.0.0.1 only.
Tests and demos inject faults through ``Faults``, also while it runs, and read
``requests_per_day`` to check retries.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

from gnp.core.config import SourceParams
from gnp.devtools.sample import DEFAULT_DIRT_RATE, records_for_day
from gnp.source.hyperion import HyperionClient

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
API_PREFIX = "/api/v1"
QUERY_PATH = f"{API_PREFIX}/query/hyperion"
MAX_RANGE_DAYS = 31  # longer ranges are refused (400), as the real service refuses very long ones
NON_JSON_BODY = b"<html><body><h1>502 Bad Gateway</h1>The upstream server did not answer.</body></html>"


@dataclass
class Faults:
    """Faults to inject. Counters are "the next N requests"; each request takes at most one."""

    latency_s: float = 0.0  # added to every answer
    too_many_requests: int = 0  # answer 429 with Retry-After
    retry_after: str = "1"  # the Retry-After header value sent with 429
    server_errors: int = 0  # answer 500
    unavailable: int = 0  # answer 503
    hangs: int = 0  # wait hang_s, then close without answering
    hang_s: float = 5.0
    truncated: int = 0  # send the first half of the body, then close
    non_json: int = 0  # answer 200 with an HTML page
    reject_token: bool = False  # answer 401 whatever the token (a revoked token)
    broken_days: frozenset[dt.date] = frozenset()  # always 500 for a range touching these days


COUNTED_FAULTS = ("too_many_requests", "server_errors", "unavailable", "hangs", "truncated", "non_json")


class FakeHyperionApi:
    """The fake server. ``base_url`` and ``token`` are what a client needs; the token is not in repr."""

    def __init__(
        self,
        token: str | None = None,
        *,
        port: int = 0,
        seed: int = 42,
        tests_per_day: int = 2000,
        users: int = 3000,
        dirt_rate: float = DEFAULT_DIRT_RATE,
        empty_days: frozenset[dt.date] = frozenset(),
        max_range_days: int = MAX_RANGE_DAYS,
        faults: Faults | None = None,
    ):
        self.token = token or secrets.token_urlsafe(24)
        self.faults = faults or Faults()
        self.sample = {"seed": seed, "tests_per_day": tests_per_day, "users": users, "dirt_rate": dirt_rate}
        self.empty_days = frozenset(empty_days)
        self.max_range_days = max_range_days
        self.requests_total = 0
        self.requests_per_day: Counter[dt.date] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((HOST, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.api = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}{API_PREFIX}"

    def __repr__(self) -> str:
        return f"FakeHyperionApi(base_url={self.base_url!r}, requests_total={self.requests_total})"

    def set_faults(self, **changes) -> None:
        """Change faults while the server runs, e.g. ``set_faults(server_errors=2)``."""
        with self._lock:
            for name, value in changes.items():
                if not hasattr(self.faults, name):
                    raise AttributeError(f"unknown fault {name!r}")
                setattr(self.faults, name, value)

    def start(self) -> "FakeHyperionApi":
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-hyperion", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases handlers that are hanging on purpose
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeHyperionApi":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # Used by the handler ------------------------------------------------
    def count(self, days: list[dt.date]) -> None:
        with self._lock:
            self.requests_total += 1
            self.requests_per_day.update(days)

    def take_fault(self) -> str | None:
        """The counted fault the current request gets, if any (and use it up)."""
        with self._lock:
            for name in COUNTED_FAULTS:
                if getattr(self.faults, name) > 0:
                    setattr(self.faults, name, getattr(self.faults, name) - 1)
                    return name
        return None

    def body_for(self, days: list[dt.date]) -> bytes:
        records = []
        for day in days:
            if day not in self.empty_days:
                records.extend(records_for_day(day, **self.sample))
        return json.dumps(records, ensure_ascii=False, allow_nan=False).encode("utf-8")

    def wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _parse_range(query: str, max_days: int) -> tuple[list[dt.date] | None, str]:
    params = parse_qs(query)
    try:
        first = dt.date.fromisoformat(params["date_from"][0])
        last = dt.date.fromisoformat(params["date_to"][0])
    except (KeyError, IndexError, ValueError):
        return None, "date_from and date_to are required, as YYYY-MM-DD"
    if last < first:
        return None, "date_to is before date_from"
    span = (last - first).days + 1
    if span > max_days:
        return None, f"the range is {span} days; at most {max_days} are served at once"
    return [first + dt.timedelta(days=i) for i in range(span)], ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeDataGovGr/1.0"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
        log.debug("fake api: " + format, *args)

    def _send(self, status: int, body: bytes, headers: dict | None = None, content_type="application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _detail(self, status: int, message: str, headers: dict | None = None) -> None:
        self._send(status, json.dumps({"detail": message}).encode("utf-8"), headers)

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        api: FakeHyperionApi = self.server.api  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        if url.path.rstrip("/") != QUERY_PATH:
            return self._detail(404, "Not found.")
        days, problem = _parse_range(url.query, api.max_range_days)
        api.count(days or [])
        faults = api.faults
        expected = f"Token {api.token}"
        if faults.reject_token or not secrets.compare_digest(
            self.headers.get("Authorization", "").encode("utf-8"), expected.encode("utf-8")
        ):
            return self._detail(401, "Invalid token.")
        if days is None:
            return self._detail(400, problem)
        if faults.latency_s:
            api.wait(faults.latency_s)
        fault = api.take_fault()
        if fault == "hangs":
            api.wait(faults.hang_s)
            self.close_connection = True
            return None
        if fault == "too_many_requests":
            return self._detail(429, "Request was throttled.", {"Retry-After": faults.retry_after})
        if fault == "server_errors" or faults.broken_days.intersection(days):
            return self._detail(500, "Server Error (500)")
        if fault == "unavailable":
            return self._detail(503, "Service Unavailable")
        if fault == "non_json":
            return self._send(200, NON_JSON_BODY, content_type="text/html")
        body = api.body_for(days)
        if fault == "truncated":
            # No Content-Length: the cut is only visible to a client that parses the JSON.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return None
        return self._send(200, body)


@contextmanager
def serving(token: str | None = None, **options) -> Iterator[FakeHyperionApi]:
    """Run a fake server for the duration of a ``with`` block; yields it (``.base_url``, ``.token``)."""
    api = FakeHyperionApi(token, **options)
    with api:
        yield api


@contextmanager
def open_sample_client(source: SourceParams, *, progress: bool = True) -> Iterator[HyperionClient]:
    """A client of the sample source: this fake server on loopback with a random token, for a ``with`` block.

    The sample travels the same HTTP path as real data. ``source.sample_*`` set
    the generator; the client's retries and concurrency are the params' as for the API.
    """
    sample = {"seed": source.sample_seed, "tests_per_day": source.sample_tests_per_day, "users": source.sample_users}
    token = secrets.token_urlsafe(24)
    with (
        serving(token, **sample) as api,
        HyperionClient.from_source(source, token, base_url=api.base_url, progress=progress) as client,
    ):
        yield client


def serve_forever(port: int = 8765, token: str | None = None, **options) -> None:
    """Serve until interrupted (the ``gnp fake-api`` command). Prints where and with which token."""
    api = FakeHyperionApi(token, port=port, **options)
    print(f"fake data.gov.gr API at {api.base_url} (127.0.0.1 only); Ctrl-C stops it")
    print(f"its token (a fake one, for this server only): {api.token}")
    query = f"{api.base_url}/query/hyperion?date_from=2025-10-26&date_to=2025-10-26"
    print(f"try: curl -H 'Authorization: Token {api.token}' '{query}'")
    try:
        api._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        api._httpd.server_close()
