"""A local stand-in for data.gov.gr's Hyperion endpoint, serving the sample source.

It speaks the same protocol as the real service (``GET
/api/v1/query/hyperion?date_from=&date_to=``, one JSON array for the whole
inclusive range) and listens on 127.0.0.1 only. It serves in one of two modes:
``OPEN``, as data.gov.gr appears to since mid-2025 (no token asked, any
``Authorization`` header ignored), or ``PROTECTED``, as it did before
(``Authorization: Token <token>`` required, anything else refused: 401, or 403).
Tests and demos inject faults through ``Faults``, also while it runs, and read
``requests_per_day`` to check retries and ``requests_with_authorization`` to
check that a client without a token sends no header.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import threading
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

from gnp.core.config import SourceParams
from gnp.source.sample import DEFAULT_DIRT_RATE, records_for_day
from gnp.source.hyperion import HyperionClient

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
API_PREFIX = "/api/v1"
QUERY_PATH = f"{API_PREFIX}/query/hyperion"
OPEN, PROTECTED = "open", "protected"
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
    reject_token: bool = False  # protected mode: refuse whatever the token (a revoked token)
    broken_days: frozenset[dt.date] = frozenset()  # always 500 for a range touching these days
    # Days the portal has published only in part (late data): the share of their records served, e.g. {day: 0.5}.
    partial_days: dict[dt.date, float] = field(default_factory=dict)


COUNTED_FAULTS = ("too_many_requests", "server_errors", "unavailable", "hangs", "truncated", "non_json")


class FakeHyperionApi:
    """The fake server. ``base_url`` and ``token`` are what a client needs; the token is not in repr.

    ``mode`` is ``PROTECTED`` (the default; ``token``, or a random one, is required) or ``OPEN``
    (no token: ``token`` is None). ``auth_status`` is what a refused request gets (401, or 403).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        mode: str = PROTECTED,
        auth_status: int = 401,
        port: int = 0,
        seed: int = 42,
        tests_per_day: int = 2000,
        users: int = 3000,
        dirt_rate: float = DEFAULT_DIRT_RATE,
        empty_days: frozenset[dt.date] = frozenset(),
        max_range_days: int = MAX_RANGE_DAYS,
        faults: Faults | None = None,
    ):
        if mode not in (OPEN, PROTECTED):
            raise ValueError(f"mode must be {OPEN!r} or {PROTECTED!r}, not {mode!r}")
        if mode == OPEN and token:
            raise ValueError("an open fake API asks for no token: pass mode='protected' to require one")
        self.mode = mode
        self.token = None if mode == OPEN else token or secrets.token_urlsafe(24)
        self.auth_status = auth_status
        self.faults = faults or Faults()
        self.sample = {"seed": seed, "tests_per_day": tests_per_day, "users": users, "dirt_rate": dirt_rate}
        self.empty_days = frozenset(empty_days)
        self.max_range_days = max_range_days
        self.requests_total = 0
        self.requests_with_authorization = 0
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
        return f"FakeHyperionApi(base_url={self.base_url!r}, mode={self.mode!r}, requests_total={self.requests_total})"

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
    def count(self, days: list[dt.date], authorization: str | None) -> None:
        with self._lock:
            self.requests_total += 1
            self.requests_with_authorization += authorization is not None
            self.requests_per_day.update(days)

    def refuses(self, authorization: str | None) -> bool:
        """Whether a request with this ``Authorization`` header is refused (only ever in protected mode)."""
        if self.mode == OPEN:
            return False
        expected = f"Token {self.token}".encode("utf-8")
        return self.faults.reject_token or not secrets.compare_digest((authorization or "").encode("utf-8"), expected)

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
                day_records = records_for_day(day, **self.sample)
                share = self.faults.partial_days.get(day, 1.0)
                records.extend(day_records[: int(len(day_records) * share)])
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
        # UTF-8, not \u escapes: the portal's errors look like Django REST framework's, which sends Greek as is.
        self._send(status, json.dumps({"detail": message}, ensure_ascii=False).encode("utf-8"), headers)

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        api: FakeHyperionApi = self.server.api  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        if url.path.rstrip("/") != QUERY_PATH:
            return self._detail(404, "Not found.")
        days, problem = _parse_range(url.query, api.max_range_days)
        authorization = self.headers.get("Authorization")
        api.count(days or [], authorization)
        faults = api.faults
        if api.refuses(authorization):
            # The portal's old answer to a bad token (pydatagovgr's tests before July 2025): "wrong token".
            return self._detail(api.auth_status, "Λανθασμένο token")
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
    """Run a fake server for the duration of a ``with`` block; yields it (``.base_url``, ``.token``).

    Protected unless ``mode=OPEN`` is passed (then ``.token`` is None).
    """
    api = FakeHyperionApi(token, **options)
    with api:
        yield api


@contextmanager
def open_sample_client(source: SourceParams, *, progress: bool = True) -> Iterator[HyperionClient]:
    """A client of the sample source: this fake server on loopback, open as the real API now appears to be,
    for a ``with`` block.

    The sample travels the same HTTP path as real data, without a token as ``make live`` does by default.
    ``source.sample_*`` set the generator; the client's retries and concurrency are the params' as for the API.
    """
    sample = {"seed": source.sample_seed, "tests_per_day": source.sample_tests_per_day, "users": source.sample_users}
    with (
        serving(mode=OPEN, **sample) as api,
        HyperionClient.from_source(source, None, base_url=api.base_url, progress=progress) as client,
    ):
        yield client


def serve_forever(port: int = 8765, token: str | None = None, mode: str = PROTECTED, **options) -> None:
    """Serve until interrupted (the ``gnp fake-api`` command). Prints where, in which mode and with which token."""
    api = FakeHyperionApi(token, mode=mode, port=port, **options)
    print(f"fake data.gov.gr API at {api.base_url} (127.0.0.1 only, {api.mode}); Ctrl-C stops it")
    query = f"{api.base_url}/query/hyperion?date_from=2025-10-26&date_to=2025-10-26"
    if api.token:
        print(f"its token (a fake one, for this server only): {api.token}")
        print(f"try: curl -H 'Authorization: Token {api.token}' '{query}'")
    else:
        print(f"try: curl '{query}'")
    try:
        api._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        api._httpd.server_close()
